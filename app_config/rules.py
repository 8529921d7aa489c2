"""Every rule a configuration value follows, in one place. The config model (app_config.model) validates with these
types, config/targets.schema.json is generated from them (`make schema`), and the smoke and the constructs import
them. A rule's text is what a user reads when a value breaks it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from annotated_types import GroupedMetadata
from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from aws_rules.gateway import GATEWAY_MCP_VERSIONS
from aws_rules.names import COGNITO_RESERVED_WORDS, DEPLOYMENT_TAG

__all__ = [
    "COGNITO_RESERVED_WORDS",
    "DEPLOYMENT_TAG",
    "ENTRY_NAME_MAX",
    "ENTRY_NAME_PATTERN",
    "LOG_RETENTION_PERIODS",
    "MCP_PROTOCOL_VERSIONS",
    "RESERVED_ENTRY_NAMES",
    "RUNTIME_PLATFORM_VERSIONS",
]


def violation(rule: str, *, conceal: bool = False) -> PydanticCustomError:
    """A rule's failure, carrying the text the user reads (app_config.errors shapes it into one line). `conceal`:
    the value may hold a secret, and the message must not show it."""
    return PydanticCustomError("rule", "{rule}", {"rule": rule, "conceal": conceal})


# Hashed by identity: typing hashes Annotated metadata (in unions such as `Description | None`), and a dict cannot be.
@dataclass(frozen=True, eq=False)
class Rule(GroupedMetadata):
    """A rule as `Annotated` metadata (`Annotated[str, text(...)]`): pydantic unpacks it into its validator and its
    JSON Schema, while a type checker sees the plain type."""

    check: Callable[[Any], Any]
    json_schema: dict[str, Any]

    def __iter__(self) -> Iterator[object]:
        yield BeforeValidator(self.check)
        yield WithJsonSchema(self.json_schema)


def text(
    *,
    pattern: str | None = None,
    max_length: int | None = None,
    min_length: int = 1,
    rule: str | None = None,
    conceal: bool = False,
) -> Rule:
    """A string rule: validated against `pattern` (whole value) and the lengths, and described by the same in the
    generated JSON Schema, so the schema and the model cannot disagree. `rule` replaces the default messages, and a
    pattern needs one: a user reads the rule in words, not a regular expression. `conceal`: a refused value is not
    shown (it may be a secret pasted where its name belongs)."""
    if pattern and not rule:
        raise TypeError(f"text(pattern={pattern!r}) needs the rule in words")
    compiled = re.compile(pattern) if pattern else None

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise violation(rule or "must be a string", conceal=conceal)
        if max_length is not None and len(value) > max_length:
            raise violation(rule or f"must be at most {max_length} characters", conceal=conceal)
        if len(value) < min_length:
            raise violation(rule or f"must be at least {min_length} characters", conceal=conceal)
        if compiled is not None and not compiled.fullmatch(value):
            raise violation(rule or "", conceal=conceal)
        return value

    schema: dict[str, Any] = {"type": "string", "minLength": min_length}
    if pattern:
        schema["pattern"] = pattern
    if max_length is not None:
        schema["maxLength"] = max_length
    if rule:
        schema["description"] = rule
    return Rule(check, schema)


def whole_number(low: int, high: int | None, rule: str) -> Rule:
    def check(value: Any) -> int:
        # Not a bool: True is an int to Python.
        if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
            raise violation(rule)
        return value

    schema: dict[str, Any] = {"type": "integer", "minimum": low, "description": rule}
    if high is not None:
        schema["maximum"] = high
    return Rule(check, schema)


def one_of(values: tuple[Any, ...], rule: str | None = None) -> Rule:
    listed = ", ".join(map(str, values))

    types = {type(v) for v in values}

    def check(value: Any) -> Any:
        # By type too: True == 1 in Python, yet true is not a number of days.
        if type(value) not in types or value not in values:
            raise violation(rule or f"must be one of {listed}")
        return value

    return Rule(check, {"enum": list(values)})


# --- names ----------------------------------------------------------------------------------------------------------

# An entry's name is its target's name and tool prefix (<name>___<tool>), and part of its runtime, provider and
# Cognito names: lowercase for the gateway (which lowercases it), no underscores for the target, short enough for
# the runtime's 48 characters after "<prefix>_<env>_".
ENTRY_NAME_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
ENTRY_NAME_MAX = 24
ENTRY_NAME_RULE = (
    f"must be 1-{ENTRY_NAME_MAX} lowercase letters and digits, starting with a letter, in words joined by single "
    "hyphens (no hyphen at the end)"
)
EntryName = Annotated[str, text(pattern=ENTRY_NAME_PATTERN, max_length=ENTRY_NAME_MAX, rule=ENTRY_NAME_RULE)]
# Entry names end up in Cognito domain, pool and credential provider names beside the shared ones.
RESERVED_ENTRY_NAMES = ("gateway", "runtime")

# No hyphen: the IAM grants match this deployment's names by their start (<prefix>-<env>-...), and with a hyphen in
# the prefix another deployment's names could start the same way (mcpgw + dev vs mcpgw-dev + x).
NamePrefix = Annotated[
    str,
    text(
        pattern=r"^[a-z][a-z0-9]*$",
        max_length=20,
        rule="must be 1-20 lowercase letters or digits, starting with a letter, without hyphens "
        "(it starts every stack, gateway, runtime, user pool and Cognito domain name, and IAM grants match "
        "this deployment's names by it)",
    ),
]
EnvName = Annotated[
    str,
    text(
        pattern=r"^[a-z][a-z0-9]{0,7}$",
        rule="must be 1-8 lowercase letters or digits, starting with a letter (it is part of every resource name)",
    ),
]
Region = Annotated[
    str, text(pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[1-9]$", rule="must be an AWS region code such as us-east-1")
]
# Account ids are strings: twelve digits that may start with 0.
AccountId = Annotated[
    str, text(pattern=r"^[0-9]{12}$", rule="must be a 12-digit AWS account id, or unset for an account-agnostic synth")
]

# --- tags ------------------------------------------------------------------------------------------------------------

# Tags every environment must set; `project`, `environment` and DEPLOYMENT_TAG are added by the app.
REQUIRED_TAGS = ("owner", "cost-centre")
# DEPLOYMENT_TAG (aws_rules.names) names the deployment (<prefix>-<env>) on every resource: the custom-resource handler
# reads app clients only of user pools carrying it (an IAM condition on aws:ResourceTag), whichever stack created them,
# and aws_rules checks by it that every account-unique name carries the deployment.
TagValue = Annotated[
    str,
    text(
        pattern=r"^[\w .:/=+\-@]{1,256}$",
        rule="must be a 1-256 character string and the key must not start with 'aws:'",
    ),
]

# --- logs ------------------------------------------------------------------------------------------------------------

# CloudWatch Logs' retention periods, in days, with the name aws-cdk-lib's RetentionDays gives each.
LOG_RETENTION_PERIODS = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1096: "THREE_YEARS",
    1827: "FIVE_YEARS",
    2192: "SIX_YEARS",
    2557: "SEVEN_YEARS",
    2922: "EIGHT_YEARS",
    3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}
RetentionDays = Annotated[
    int,
    one_of(
        tuple(LOG_RETENTION_PERIODS),
        "must be a CloudWatch Logs retention period: " + ", ".join(map(str, LOG_RETENTION_PERIODS)),
    ),
]

# --- gateway and runtime -------------------------------------------------------------------------------------------

# Protocol versions the AgentCore Gateway accepts (its developer guide; the L2 enum of aws-cdk-lib 2.275 stops at
# 2025-06-18, hence MCPProtocolVersion.of). A gateway's versions can be narrowed after create but never extended
# (aws/aws-cli#10346): the default is all of them, and synth refuses adding one to a gateway that exists.
MCP_PROTOCOL_VERSIONS = GATEWAY_MCP_VERSIONS
McpProtocolVersion = Annotated[str, one_of(MCP_PROTOCOL_VERSIONS)]

# AgentCore Gateway's session timeout (its own default 3600), and Runtime's idle timeout (its default 900).
SessionTimeout = Annotated[int, whole_number(900, 28800, "must be whole seconds from 900 to 28800 (AgentCore Gateway)")]
IdleTimeout = Annotated[int, whole_number(60, 28800, "must be whole seconds from 60 to gatewaySessionTimeoutSeconds")]
# AgentCore Runtime platform versions: V1, the create-time default, and V2, which restores each new session from a
# snapshot of the initialized container (faster starts; documented for the HTTP protocol, not yet for MCP).
RUNTIME_PLATFORM_VERSIONS = ("V1", "V2")
PlatformVersion = Annotated[str, one_of(RUNTIME_PLATFORM_VERSIONS)]

# Entries are spread over this many stacks by a hash of their name; changing it re-homes entries (a migration).
Shards = Annotated[int, whole_number(1, 20, "must be an integer from 1 to 20 (changing it re-homes targets)")]
# AgentCore Gateway's default quota (adjustable): "Number of targets per gateway: 100".
TargetQuota = Annotated[int, whole_number(1, None, "must be a positive integer (the account's quota)")]

# --- monitoring --------------------------------------------------------------------------------------------------------

# Who hears of an alarm: email addresses subscribed to the environment's alarm topic (each confirms by email).
AlarmEmail = Annotated[
    str,
    text(
        pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$",
        max_length=254,
        rule="must be an email address (name@domain.tld)",
    ),
]
# Gateway 5xx answers in 5 minutes that raise the alarm.
SystemErrorsThreshold = Annotated[int, whole_number(1, 100000, "must be a whole number of errors from 1 to 100000")]
# The gateway's p99 latency (time to first byte), in milliseconds, that raises the alarm when held for 10 minutes.
LatencyThreshold = Annotated[int, whole_number(100, 900000, "must be whole milliseconds from 100 to 900000")]
# Share of spans CloudWatch Transaction Search indexes (AWS::XRay::TransactionSearchConfig IndexingPercentage).
IndexingPercentage = Annotated[int, whole_number(0, 100, "must be a whole percentage from 0 to 100")]

# --- target entries --------------------------------------------------------------------------------------------------

Description = Annotated[str, text(max_length=180)]
# A target's description: the service allows 200 (botocore bedrock-agentcore-control CreateGatewayTarget
# description), and the app appends " (image <12 hex>, sync <8 hex>)" (36 characters) to a hosted entry's, " (sync <8
# hex>)" to an existing one's: the markers that turn an image, tool lock (or declared tools) or syncToken change into
# a target update.
TARGET_DESCRIPTION_MAX = 160
TargetDescription = Annotated[str, text(max_length=TARGET_DESCRIPTION_MAX)]
# An entry's syncToken: any short label a team changes to make the gateway re-synchronize the target's tools.
SyncToken = Annotated[
    str,
    text(
        pattern=r"^[A-Za-z0-9._-]{1,32}$",
        rule="must be 1-32 letters, digits, '.', '_' or '-' (change it to re-synchronize the target's tools)",
    ),
]
# Query parameters whose names say they carry a credential (API keys, tokens, signatures, passwords: the forms of
# AWS SigV4 query signing, SAS tokens, OAuth codes), lowercased without - and _.
_CREDENTIAL_WORDS = ("key", "token", "secret", "passw", "credential", "signature", "auth", "session")
_CREDENTIAL_NAMES = ("sig", "pwd", "pass", "code", "jwt", "sid", "sas")


def _credentials_in(url: str) -> str | None:
    """What in `url` is a credential (user information, a query parameter named like one), or None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if "@" in parts.netloc:
        return "user information before '@'"
    # The fragment too: it is never sent, but written into the templates all the same (#access_token=...).
    for part, text_of_part in (("query", parts.query), ("fragment", parts.fragment)):
        for name, _ in parse_qsl(text_of_part, keep_blank_values=True):
            folded = name.lower().replace("-", "").replace("_", "")
            if folded in _CREDENTIAL_NAMES or any(word in folded for word in _CREDENTIAL_WORDS):
                return f"the {part} parameter {name!r}"
    return None


def url(*, pattern: str, rule: str, max_length: int | None = None) -> Rule:
    """An https URL written into the templates (and so the snapshots, the diffs, CloudFormation's console): one
    carrying a credential is refused without showing it, and so is, on any failure, a URL with a query string or
    user information (it may hold a credential under another name)."""
    plain = text(pattern=pattern, max_length=max_length, rule=rule)

    def check(value: Any) -> str:
        if isinstance(value, str):
            found = _credentials_in(value)
            if found is not None:
                raise violation(
                    f"carries credentials ({found}): the URL is written into the templates and snapshots. Keep "
                    "the secret in Secrets Manager (oauth.clientSecretName) and the URL without it",
                    conceal=True,
                )
        try:
            return str(plain.check(value))
        except PydanticCustomError:
            raise violation(rule, conceal=isinstance(value, str) and any(c in value for c in "?#@")) from None

    return Rule(check, plain.json_schema)


HttpsUrl = Annotated[
    str,
    url(
        pattern=r"^https://[^\s/$.?#][^\s]*$",
        max_length=2048,
        rule="must be an https:// URL of at most 2048 characters, without spaces",
    ),
]
DiscoveryUrl = Annotated[
    str,
    url(
        pattern=r"^https://[^\s?#]+/\.well-known/openid-configuration$",
        rule="must be an https:// OpenID discovery URL ending in /.well-known/openid-configuration "
        "(AgentCore Identity requires it)",
    ),
]
ClientId = Annotated[str, text(max_length=256)]
OAuthScope = Annotated[
    str,
    text(
        pattern=r"^[\x21\x23-\x5B\x5D-\x7E]+$",
        rule="must be an OAuth scope: printable ASCII without spaces, double quotes or backslashes (RFC 6749, 3.3)",
    ),
]
# What credentials look like, so that one pasted where its secret's name belongs is refused (without being shown):
# the prefixes of common API keys and tokens (Stripe sk_/pk_/rk_, AWS access keys AKIA/ASIA, GitHub ghp_/gho_/
# github_pat_, Slack xox, Google AIza, GitLab glpat-, a JWT's eyJ), or a long run of mixed-case letters and digits that
# no secret's name (words, paths) has.
_CREDENTIAL_PREFIXES = re.compile(
    r"^(sk|pk|rk)[_-]|^(AKIA|ASIA)[A-Z0-9]{12}|^(ghp|gho|ghs|ghu)_|^github_pat_|^xox[abprs]-|^AIza|^glpat-|^eyJ"
)
_RANDOM_RUN = re.compile(r"[A-Za-z0-9]{24,}")


def _secret_name_check(value: Any) -> Any:
    if isinstance(value, str):
        run = _RANDOM_RUN.search(value)
        mixed = run is not None and all(
            any(test(c) for c in run.group()) for test in (str.isupper, str.islower, str.isdigit)
        )
        if _CREDENTIAL_PREFIXES.search(value) or mixed:
            raise violation(
                "looks like a credential, not the name of the Secrets Manager secret holding it: store the value in "
                "Secrets Manager and write the secret's name here",
                conceal=True,
            )
    return _SECRET_NAME.check(value)


_SECRET_NAME = text(
    pattern=r"^[A-Za-z0-9/_+=.@-]{1,512}$",
    rule="must be a Secrets Manager secret name: 1-512 letters, digits and / _ + = . @ - (the name of the "
    "secret, never the secret itself)",
    conceal=True,
)
SecretName = Annotated[str, Rule(_secret_name_check, _SECRET_NAME.json_schema)]
SourcePath = Annotated[
    str,
    text(
        pattern=r"^/?[A-Za-z0-9_.][A-Za-z0-9_./-]*$",
        rule="must be a folder of this repository, relative to its root: letters, digits and _ . / -",
    ),
]
# --- other tool sources: Lambda functions, OpenAPI, Smithy, API Gateway -------------------------------------------

# A repository file (an OpenAPI description, a Smithy model, a tool schema), relative to the repository root.
SpecPath = Annotated[
    str,
    text(
        pattern=r"^[A-Za-z0-9_.][A-Za-z0-9_./-]*$",
        rule="must be a file of this repository, relative to its root: letters, digits and _ . / -",
    ),
]
# The API-key credential provider (registry schema AWS::BedrockAgentCore::ApiKeyCredentialProvider and the target's
# ApiKeyCredentialProvider: CredentialParameterName and CredentialPrefix 1-64 characters, CredentialLocation an enum;
# SecretReference.JsonKey at most 128).
SecretJsonKey = Annotated[str, text(max_length=128, rule="must be 1-128 characters (a key of the secret's JSON)")]
API_KEY_LOCATIONS = ("HEADER", "QUERY_PARAMETER")
ApiKeyLocation = Annotated[str, one_of(API_KEY_LOCATIONS)]
ApiKeyParameter = Annotated[
    str,
    text(
        pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$",
        rule="must be a header or query parameter name of 1-64 characters (letters, digits, - _ . and the like)",
    ),
]
ApiKeyPrefix = Annotated[str, text(max_length=64, rule="must be 1-64 characters (written before the key)")]
# SigV4 with the gateway's role (registry schema: IamCredentialProvider.Service ^[a-zA-Z0-9._-]+$, at most 64).
SigningService = Annotated[
    str,
    text(pattern=r"^[a-zA-Z0-9._-]{1,64}$", rule="must be a SigV4 signing name: 1-64 letters, digits, . _ -"),
]
# IAM: an action is <service prefix>:<action> (wildcards in the action part only: a bare * grants everything), a
# resource an ARN or the * some actions require (they have no resource type, IAM service authorization reference).
# What no entry may give the gateway's role, shared by every IAM-signed target (least privilege, IAM best practices:
# actions that change who may do what, or read every secret): identity and account services, and the grants and
# policies of other services' resources.
PRIVILEGED_SERVICES = ("iam", "sts", "organizations", "account", "sso", "identitystore")
PRIVILEGED_ACTIONS = (
    "kms:creategrant",
    "kms:putkeypolicy",
    "lambda:addpermission",
    "lambda:updatefunctioncode",
    "secretsmanager:getsecretvalue",
    "secretsmanager:putresourcepolicy",
    "s3:putbucketpolicy",
)
_IAM_ACTION = text(
    pattern=r"^[a-z0-9-]+:[A-Za-z0-9*?]+$",
    rule="must be an IAM action as <service>:<Action> (a wildcard only within the action, never a bare *)",
)


def _iam_action_check(value: Any) -> Any:
    action = _IAM_ACTION.check(value)
    service, _, name = str(action).lower().partition(":")
    pattern = re.compile(re.escape(name).replace(r"\*", ".*").replace(r"\?", "."))
    if service in PRIVILEGED_SERVICES or any(
        p.startswith(f"{service}:") and pattern.fullmatch(p.split(":", 1)[1]) for p in PRIVILEGED_ACTIONS
    ):
        raise violation(
            "grants what no tool source may give the gateway's role, which every IAM-signed target shares (the "
            f"services {', '.join(PRIVILEGED_SERVICES)} and the actions {', '.join(PRIVILEGED_ACTIONS)} are refused): "
            "a tool needing it belongs behind a service of its own"
        )
    return action


IamAction = Annotated[str, Rule(_iam_action_check, _IAM_ACTION.json_schema)]
IamResource = Annotated[
    str,
    text(
        pattern=r"^(\*|arn:[a-z-]+:[a-z0-9-]+:[a-z0-9-]*:([0-9]{12}|\*)?:\S+)$",
        max_length=2048,
        rule="must be an ARN (arn:<partition>:<service>:<region>:<account>:<resource>) or * for actions without a "
        "resource type",
    ),
]
# Registry schema AWS::BedrockAgentCore::GatewayTarget S3Configuration.Uri.
S3Uri = Annotated[
    str, text(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S{1,1980}$", rule="must be s3://<bucket>/<key>")
]
# Lambda (registry schema AWS::Lambda::Function: Handler, Timeout 1-900, MemorySize 128-10240; the target's
# McpLambdaTargetConfiguration.LambdaArn pattern, at most 170 characters, unqualified or with a version or alias).
LambdaHandler = Annotated[
    str,
    text(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$",
        rule="must be <module>.<function> of the folder's Python code, as app.handler",
    ),
]
LambdaTimeout = Annotated[int, whole_number(1, 900, "must be whole seconds from 1 to 900 (Lambda)")]
LambdaMemory = Annotated[int, whole_number(128, 10240, "must be whole MB from 128 to 10240 (Lambda)")]
LAMBDA_ARN_PATTERN = (
    r"^arn:(aws[a-zA-Z-]*)?:lambda:([a-z]{2}(-gov)?-[a-z]+-\d{1}):(\d{12}):function:([a-zA-Z0-9-_.]+)"
    r"(:(\$LATEST|[a-zA-Z0-9-_]+))?$"
)
LambdaArn = Annotated[
    str,
    text(
        pattern=LAMBDA_ARN_PATTERN,
        max_length=170,
        rule="must be a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>[:<alias>])",
    ),
]
# API Gateway: a REST API id is 10 lowercase letters and digits; a stage name letters, digits, - and _ (API Gateway
# CreateStage); the target's methods the registry schema's RestApiMethod enum.
RestApiId = Annotated[
    str, text(pattern=r"^[a-z0-9]{10}$", rule="must be a REST API id: 10 lowercase letters and digits")
]
StageName = Annotated[
    str, text(pattern=r"^[A-Za-z0-9_-]{1,128}$", rule="must be a stage name: 1-128 letters, digits, - and _")
]
RestPath = Annotated[
    str,
    text(
        pattern=r"^/[A-Za-z0-9._~{}+/-]*$",
        max_length=1024,
        rule="must be a resource path of the API, starting with / (path parameters in braces: /items/{id})",
    ),
]
HTTP_METHODS = ("GET", "DELETE", "HEAD", "OPTIONS", "PATCH", "PUT", "POST")
HttpMethod = Annotated[str, one_of(HTTP_METHODS)]
# What an agent reads about a tool: a reviewed sentence (MCP's tool description; no service limit found, kept short
# enough to read).
ToolDescription = Annotated[str, text(max_length=1024, rule="must be 1-1024 characters")]

# An MCP tool's name as its server lists it (the MCP specification: 1-128 letters, digits, _, - and .); the gateway
# names it <target>___<tool>.
TOOL_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,128}$"
ToolName = Annotated[
    str, text(pattern=TOOL_NAME_PATTERN, rule="must be an MCP tool name: 1-128 letters, digits, _, - or .")
]
TOOL_SEPARATOR = "___"
QualifiedToolName = Annotated[
    str,
    text(
        pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*___[A-Za-z0-9_.-]{1,128}$",
        rule="must name one tool as the gateway does: <target>___<tool> (three underscores)",
    ),
]

# --- agents ---------------------------------------------------------------------------------------------------------

# An agent's name is part of its app client's name and of its Cedar policy's name (<prefix>_<env>_<agent>, hyphens
# as underscores; a hash shortens it past the policy's 48 characters).
AgentName = Annotated[str, text(pattern=ENTRY_NAME_PATTERN, max_length=24, rule=ENTRY_NAME_RULE)]
# AWS::BedrockAgentCore::GatewayRateLimit: a rate of 0 to 10,000,000 requests (0 blocks) per second or minute.
RateLimitRequests = Annotated[int, whole_number(0, 10_000_000, "must be a whole number of requests from 0 to 10000000")]
RATE_LIMIT_PERIODS = ("second", "minute")
RateLimitPeriod = Annotated[str, one_of(RATE_LIMIT_PERIODS)]
# How the gateway's policy engine treats the agents' policies: LOG_ONLY evaluates and logs every decision but lets
# every call through; ENFORCE refuses what no policy permits.
POLICY_MODES = ("LOG_ONLY", "ENFORCE")
PolicyMode = Annotated[str, one_of(POLICY_MODES)]


def sync_revision(tools: list[str] | None, sync_token: str | None, lock: str | None = None) -> str:
    """8 hex characters that change when an entry's tool contract or its syncToken change: carried in the target's
    description, so that such a change updates the target and the update re-synchronizes its tools. The contract is
    the entry's tool lock's sha256 (`lock`: every word of every locked tool), or for an unpinned entry its declared
    tools (in any order)."""
    contract: dict[str, object] = {"lock": lock} if lock else {"tools": sorted(set(tools or []))}
    canonical = json.dumps({**contract, "syncToken": sync_token}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:8]


def shard_of(name: str, shards: int) -> int:
    """Stable across runs, machines and the rest of the file (unlike Python's salted hash())."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % shards


def pascal(name: str) -> str:
    """`orders-v2` -> `OrdersV2`: the construct ids, logical ids and output keys derived from an entry's name."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


def agent_client_output(agent: str) -> str:
    """The cognito stack's output holding an agent's app client id: what agents, the smoke and the other stacks
    read (`support-bot` -> `AgentSupportBotClientId`)."""
    return f"Agent{pascal(agent)}ClientId"
