"""Names the app derives (joined from config, account ids and other names) against the services' name rules."""

from __future__ import annotations

import hashlib
import re
from typing import Iterator

from aws_rules import Rule, Violation
from aws_rules.model import Assembly, ResourceRef
from aws_rules.schemas import property_schema, resource_schema

SCHEMA_PATTERN = Rule(
    "name-schema-rule",
    "a name or identifier within the character set and length its CloudFormation registry schema gives",
    "CloudFormation registry schemas (cfn-lint's data/schemas), evaluated with a 12-digit account and the "
    "longest region, where cfn-lint only checks literal values",
)
COGNITO_DOMAIN = Rule(
    "cognito-domain-prefix",
    "a Cognito domain prefix has 1-63 lowercase letters, digits and hyphens, and contains neither 'aws', "
    "'amazon' nor 'cognito'",
    "https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-assign-domain-prefix.html",
)

# Cognito refuses domain prefixes containing these words.
COGNITO_RESERVED_WORDS = ("aws", "amazon", "cognito")

# botocore bedrock-agentcore-control CreatePolicy.name / CreatePolicyEngine.name: 1-48 characters, [A-Za-z][A-Za-z0-9_]*.
POLICY_NAME_MAX = 48
POLICY_NAME_RULE = (
    re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$"),
    "a letter, then letters, digits or underscores, at most 48 characters",
)
NAME_HASH_LENGTH = 8


def bounded_name(name: str, longest: int, separator: str = "_") -> str:
    """`name` itself when it fits in `longest` characters, else its start and a short hash of the whole: stable (the
    same name always gives the same result) and distinct for names that share a long start."""
    if len(name) <= longest:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:NAME_HASH_LENGTH]
    return f"{name[: longest - NAME_HASH_LENGTH - len(separator)]}{separator}{digest}"


# The name rules of what the app names, as the services state them (the registry schemas' patterns, matched whole,
# and lengths; tests/test_aws_rules.py checks each against its schema). app_config checks every derived name with
# these before any resource exists; check_schema_names checks the synthesized templates again.
SERVICE_NAME_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    # Lowercase on purpose, stricter than the schema: the service lowercases gateway names and the L2's grants
    # assume the given case (aws/aws-cdk#38869).
    "gateway": (
        re.compile(r"^([0-9a-z][-]?){1,48}$"),
        "lowercase letters, digits and single hyphens, at most 48 characters",
    ),
    "runtime": (
        re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,47}$"),
        "a letter, then letters, digits or underscores, at most 48 characters",
    ),
    "target": (re.compile(r"^([0-9a-zA-Z][-]?){1,100}$"), "letters, digits and single hyphens, at most 100 characters"),
    "credential provider": (
        re.compile(r"^[a-zA-Z0-9\-_]{1,128}$"),
        "letters, digits, hyphens and underscores, at most 128 characters",
    ),
    # Registry schema AWS::Lambda::Function FunctionName (at most 64 characters).
    "lambda function": (
        re.compile(r"^[a-zA-Z0-9-_]{1,64}$"),
        "letters, digits, hyphens and underscores, at most 64 characters",
    ),
    # Registry schema AWS::IAM::ManagedPolicy ManagedPolicyName (at most 128 characters).
    "managed policy": (re.compile(r"^[\w+=,.@-]{1,128}$"), "letters, digits and +=,.@-_, at most 128 characters"),
    # CloudFormation's stack name rule (not a resource schema: the CreateStack API's).
    "stack": (
        re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$"),
        "a letter, then letters, digits or hyphens, at most 128 characters",
    ),
    # The policy engine's and its policies' names follow the same schema rule.
    "policy engine": POLICY_NAME_RULE,
    "policy": POLICY_NAME_RULE,
    "cognito domain": (
        re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"),
        "lowercase letters, digits and hyphens, at most 63 characters (with the 12-digit account id)",
    ),
}
# Where each rule comes from in the registry schemas, for the test that keeps them in step.
SERVICE_NAME_SCHEMAS = {
    "gateway": ("AWS::BedrockAgentCore::Gateway", "Name"),
    "runtime": ("AWS::BedrockAgentCore::Runtime", "AgentRuntimeName"),
    "target": ("AWS::BedrockAgentCore::GatewayTarget", "Name"),
    "credential provider": ("AWS::BedrockAgentCore::OAuth2CredentialProvider", "Name"),
    "lambda function": ("AWS::Lambda::Function", "FunctionName"),
    "managed policy": ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"),
    "policy engine": ("AWS::BedrockAgentCore::PolicyEngine", "Name"),
    "policy": ("AWS::BedrockAgentCore::Policy", "Name"),
    "cognito domain": ("AWS::Cognito::UserPoolDomain", "Domain"),
}
COGNITO_DOMAIN_PATTERN = SERVICE_NAME_RULES["cognito domain"][0]


def cognito_domain_problem(domain: str) -> str | None:
    """Why Cognito would refuse `domain` as a prefix, or None."""
    if not COGNITO_DOMAIN_PATTERN.match(domain):
        return "must be 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit"
    for word in COGNITO_RESERVED_WORDS:
        if word in domain:
            return f"contains '{word}', which Cognito rejects"
    return None


# Properties that name or identify the resource, besides the ones called *Name.
NAME_LIKE = ("Domain", "Identifier")


def _string_rules(resource_type: str, name: str) -> tuple[re.Pattern[str] | None, int | None, int | None]:
    prop = property_schema(resource_type, name)
    if prop.get("type") not in ("string", None) or not ({"pattern", "maxLength", "minLength"} & set(prop)):
        return None, None, None
    try:
        # Matched whole: the services apply their name patterns to the full name (the runtime schema's
        # [a-zA-Z][a-zA-Z0-9_]{0,47} is unanchored, yet a 49-character name is refused).
        pattern = re.compile(prop["pattern"]) if "pattern" in prop else None
    except re.error:  # an ECMA-only construct; the lengths still apply
        pattern = None
    return pattern, prop.get("maxLength"), prop.get("minLength")


def check_schema_names(model: Assembly) -> Iterator[Violation]:
    for resource in model.resources():
        if not resource_schema(resource.type):
            continue
        for name, value in resource.properties.items():
            if not (name.endswith("Name") or name in NAME_LIKE):
                continue  # other patterns (message templates and the like) test for a substring, not a name
            pattern, longest, shortest = _string_rules(resource.type, name)
            if pattern is None and longest is None and shortest is None:
                continue
            evaluated = model.evaluate(resource.stack, value)
            if not isinstance(evaluated, str) or evaluated.startswith("{{resolve:"):
                continue
            if longest is not None and len(evaluated) > longest:
                yield Violation(
                    SCHEMA_PATTERN,
                    str(resource),
                    f"{name} {evaluated!r} has {len(evaluated)} characters, over {longest}",
                )
            elif shortest is not None and len(evaluated) < shortest:
                yield Violation(SCHEMA_PATTERN, str(resource), f"{name} {evaluated!r} is under {shortest} characters")
            elif pattern is not None and not pattern.fullmatch(evaluated):
                yield Violation(SCHEMA_PATTERN, str(resource), f"{name} {evaluated!r} does not match {pattern.pattern}")


def check_cognito_domains(model: Assembly) -> Iterator[Violation]:
    for resource in model.resources("AWS::Cognito::UserPoolDomain"):
        if resource.properties.get("CustomDomainConfig"):
            continue
        domain = str(model.evaluate(resource.stack, resource.properties.get("Domain", "")))
        problem = cognito_domain_problem(domain)
        if problem:
            yield Violation(COGNITO_DOMAIN, str(resource), f"Domain {domain!r} {problem}")


# --- names unique in an account or region -------------------------------------------------------------------------

# Every taggable resource of a deployment carries it, valued <prefix>-<env> (app_config sets it on the whole app).
DEPLOYMENT_TAG = "gateway-deployment"

DEPLOYMENT_NAME = Rule(
    "unique-name-carries-deployment",
    "a name that must be unique in the account or region carries the deployment's prefix and environment "
    "(<prefix>-<env> or <prefix>_<env>, as its gateway-deployment tag says), so that dev, prod and an e2e run in one "
    "account never claim the same name",
    "botocore service models and CloudFormation registry schemas, per type in aws_rules/names.py UNIQUE_NAMES "
    "(a registry schema whose primary identifier is the name makes it unique too)",
)

# Names unique in an account (or in an account's region), where the registry schema's primary identifier does not
# already say so, with what says so. Where the registry schema and the API reference disagree, the stricter holds.
UNIQUE_NAMES: dict[str, tuple[str, str]] = {
    "AWS::BedrockAgentCore::Gateway": ("Name", "botocore CreateGateway.name: 'must be unique within your account'"),
    "AWS::BedrockAgentCore::OAuth2CredentialProvider": (
        "Name",
        "botocore CreateOauth2CredentialProvider.name: 'must be unique within your account'",
    ),
    # The registry schema says "unique within the policy engine"; the API says the account.
    "AWS::BedrockAgentCore::Policy": ("Name", "botocore CreatePolicy.name: 'Must be unique within the account'"),
    # Neither source names a narrower scope: built as account-unique (the stricter reading).
    "AWS::BedrockAgentCore::PolicyEngine": ("Name", "botocore CreatePolicyEngine.name: 'identifies the policy engine'"),
    "AWS::BedrockAgentCore::Runtime": (
        "AgentRuntimeName",
        "botocore CreateAgentRuntime.agentRuntimeName (no scope stated: taken as the account's)",
    ),
    # Unique per region across every account (the account id in ours keeps them apart from other accounts').
    "AWS::Cognito::UserPoolDomain": (
        "Domain",
        "https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-assign-domain-prefix.html "
        "(a prefix domain is <prefix>.auth.<region>.amazoncognito.com: one per region, across accounts)",
    ),
    # A topic's ARN is its name in the account and region: a second deployment's topic of the same name would be the
    # first's, silently.
    "AWS::SNS::Topic": (
        "TopicName",
        "botocore sns CreateTopic: 'if the requester already owns a topic with the specified name, that topic's ARN "
        "is returned without creating a new topic'",
    ),
    "AWS::IAM::ManagedPolicy": (
        "ManagedPolicyName",
        "botocore iam CreatePolicy.PolicyName: 'names must be unique within the account'",
    ),
}
# A custom resource's log group (the handler creates or adopts it by name): log group names are unique per account
# and region (AWS::Logs::LogGroup's primary identifier is LogGroupName).
CUSTOM_LOG_GROUP_NAME = "LogGroupName"
# A stack holding one of these is the account's one copy by design (named after the prefix only), as are its names.
ACCOUNT_SINGLETONS = ("AWS::XRay::TransactionSearchConfig",)


def _name_property(resource_type: str) -> str | None:
    """The property naming a resource uniquely in its account or region, if any."""
    if resource_type in UNIQUE_NAMES:
        return UNIQUE_NAMES[resource_type][0]
    if resource_type.startswith("Custom::"):
        return CUSTOM_LOG_GROUP_NAME
    identifier = resource_schema(resource_type).get("primaryIdentifier", [])
    # The registry identifies the resource by its name alone: two of that name cannot exist side by side.
    if len(identifier) == 1 and identifier[0].endswith("Name"):
        return str(identifier[0].removeprefix("/properties/"))
    return None


def unique_names(model: Assembly) -> Iterator[tuple[ResourceRef, str, str]]:
    """(resource, property, evaluated name) for every name the assembly sets that must be unique in its account or
    region. Unset names are generated by CloudFormation from the stack name, so unique already."""
    singletons = {r.stack for r in model.resources(*ACCOUNT_SINGLETONS)}
    for resource in model.resources():
        if resource.stack in singletons:
            continue
        prop = _name_property(resource.type)
        if prop is None or prop not in resource.properties:
            continue
        yield resource, prop, str(model.evaluate(resource.stack, resource.properties[prop]))


def deployment_tags(model: Assembly) -> set[str]:
    """The values of the deployment tag across the assembly (one, for an assembly of this app)."""
    found = set()
    for resource in model.resources():
        for prop, value in resource.properties.items():
            if not prop.endswith("Tags"):
                continue
            if isinstance(value, dict) and DEPLOYMENT_TAG in value:
                found.add(str(model.evaluate(resource.stack, value[DEPLOYMENT_TAG])))
            elif isinstance(value, list):
                found.update(
                    str(model.evaluate(resource.stack, t.get("Value")))
                    for t in value
                    if isinstance(t, dict) and t.get("Key") == DEPLOYMENT_TAG
                )
    return found


def carries_deployment(name: str, deployment: str) -> bool:
    """Whether `name` holds `deployment` (<prefix>-<env>) with a hyphen or an underscore, as a whole word."""
    prefix, _, env = deployment.partition("-")
    pattern = rf"(?<![A-Za-z0-9]){re.escape(prefix)}[-_]{re.escape(env)}(?![A-Za-z0-9])"
    return re.search(pattern, name, re.IGNORECASE) is not None


def check_unique_names_carry_deployment(model: Assembly) -> Iterator[Violation]:
    deployments = deployment_tags(model)
    if len(deployments) > 1:
        yield Violation(DEPLOYMENT_NAME, "the assembly", f"tags name several deployments: {sorted(deployments)}")
        return
    if not deployments:
        return  # not an assembly of this app (no deployment to compare with)
    (deployment,) = deployments
    for resource, prop, name in unique_names(model):
        if not carries_deployment(name, deployment):
            yield Violation(
                DEPLOYMENT_NAME,
                str(resource),
                f"{prop} {name!r} does not carry the deployment {deployment!r}: another deployment in the account "
                "would claim the same name",
            )


CHECKS = [check_schema_names, check_cognito_domains, check_unique_names_carry_deployment]
