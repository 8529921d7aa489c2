"""The configuration as one typed model: cdk.json's context (app settings and environments) and config/targets.yaml
(the entries, a union discriminated by `kind`). Field names are the file's (camelCase); the rules are app_config.rules'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from app_config import rules

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TARGETS_FILE = "config/targets.yaml"
DEFAULT_AGENTS_FILE = "config/agents.yaml"


class _Strict(BaseModel):
    # Every key is spelled as in the file, unknown keys are refused (a misspelt key is a silent default otherwise),
    # and nothing is coerced: "true" is not a boolean, "4" not a number.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


# --- config/targets.yaml -------------------------------------------------------------------------------------------


class OAuthClient(_Strict):
    """The OAuth client the gateway uses to reach a server or API (client credentials)."""

    discovery_url: rules.DiscoveryUrl = Field(alias="discoveryUrl")
    client_id: rules.ClientId = Field(alias="clientId")
    scopes: Annotated[list[rules.OAuthScope], Field(min_length=1)]
    client_secret_name: rules.SecretName = Field(
        alias="clientSecretName",
        description="Name of the Secrets Manager secret (SecretString) holding the client secret. Never the secret itself.",
    )


class ApiKey(_Strict):
    """An API key the gateway sends with every call. It stays in Secrets Manager: the entry names the secret, and the
    deploy copies it into the entry's API-key credential provider (a dynamic reference, resolved by CloudFormation)."""

    secret_name: rules.SecretName = Field(
        alias="secretName",
        description="Name of the Secrets Manager secret holding the key (its SecretString, or one JSON key of it). "
        "Never the key itself.",
    )
    json_key: rules.SecretJsonKey | None = Field(
        None, alias="jsonKey", description="The key's field, when the secret is a JSON object."
    )
    location: rules.ApiKeyLocation = Field(
        "HEADER", description="Where the gateway puts the key: a header (default) or a query parameter."
    )
    parameter_name: rules.ApiKeyParameter | None = Field(
        None,
        alias="parameterName",
        description="The header or query parameter's name (the service's default when left out: Authorization).",
    )
    prefix: rules.ApiKeyPrefix | None = Field(
        None,
        description="Written before the key, as 'Bearer ' for an Authorization header; left out, the key is sent as "
        "it is (as an x-api-key header expects).",
    )


class IamGrant(_Strict):
    """A permission the gateway's role needs to call this entry's API (SigV4 with the gateway's own role)."""

    actions: Annotated[list[rules.IamAction], Field(min_length=1)]
    resources: Annotated[list[rules.IamResource], Field(min_length=1)]


class IamAuth(_Strict):
    """SigV4 with the gateway's own role: the service it signs for, and what the role may call there."""

    service: rules.SigningService = Field(
        description="The SigV4 signing name of the service behind the endpoint (execute-api, lambda, "
        "bedrock-agentcore...)."
    )
    region: rules.Region | None = Field(None, description="The signing region (default: the gateway's).")
    grants: Annotated[list[IamGrant], Field(min_length=1)] = Field(
        description="What the gateway's role may call on this endpoint (least privilege: name the resources)."
    )


class S3Object(_Strict):
    """A file in S3 that the gateway reads when the target is created or updated."""

    uri: rules.S3Uri
    bucket_owner_account_id: rules.AccountId | None = Field(None, alias="bucketOwnerAccountId")


class _Server(_Strict):
    """What every entry has: its kind and name (each kind says which), how the gateway describes it, and which tools
    agents may be granted."""

    kind: str
    name: str
    description: rules.TargetDescription | None = None
    tools: Annotated[list[rules.ToolName], Field(min_length=1)] | None = Field(
        None,
        description="The tools the server lists (names as its tools/list gives them). Required before an agent may be "
        "granted this target or one of its tools: the gateway's policy engine refuses a policy naming a tool its "
        "catalog lacks, so the app checks agents against this list at synth.",
    )

    sync_token: rules.SyncToken | None = Field(
        None,
        alias="syncToken",
        description="Change it (any label: a date, a counter) to make the gateway re-synchronize this target's tools "
        "after a server change that declares nothing new: the gateway refreshes a target's tool catalog only when the "
        "target is created or updated. A change of the entry's tool lock (or, unpinned, of `tools:`) does the same by "
        "itself.",
    )

    smoke_tool: rules.ToolName | None = Field(
        None,
        alias="smokeTool",
        description="A tool of `tools` that is safe to call (read-only, no side effect): what `make smoke` calls "
        "through the gateway for this entry. Without it, the smoke lists the entry's tools and calls none.",
    )

    # What the default description calls an entry of this kind.
    LABEL: ClassVar[str] = "MCP server"

    @property
    def text(self) -> str:
        return self.description or f"{self.LABEL} {self.name}"


class _McpServer(_Server):
    static_tool_schema: bool = Field(
        False,
        alias="staticToolSchema",
        description="Serve exactly the tools of this entry's lock (the target's static tool schema) instead of the "
        "server's tools/list: the gateway never synchronizes the target. Needs a tool lock. Not yet confirmed on AWS "
        "(docs/assumptions.md: what a deploy must confirm).",
    )


class HostedEntry(_McpServer):
    """A folder of this repository with a Dockerfile, deployed to its own AgentCore Runtime."""

    kind: Literal["hosted"]
    name: rules.EntryName = Field(
        description="Target name and tool prefix; also part of the runtime and credential provider names. "
        "Renaming replaces them."
    )
    path: rules.SourcePath = Field(
        description="Folder with a Dockerfile, relative to the repository root (or absolute)."
    )
    own_pool: bool = Field(
        False,
        alias="ownPool",
        description="Guard this runtime with its own Cognito user pool instead of the shared runtime pool.",
    )

    @property
    def folder(self) -> Path:
        return (ROOT / self.path).resolve()


class ExistingEntry(_McpServer):
    """An MCP server run elsewhere, reached over HTTPS with OAuth client credentials, an API key or the gateway's
    role (SigV4): exactly one of oauth, apiKey, iam."""

    kind: Literal["existing"]
    name: rules.EntryName
    endpoint: rules.HttpsUrl
    oauth: OAuthClient | None = None
    api_key: ApiKey | None = Field(None, alias="apiKey")
    iam: IamAuth | None = None


class LambdaEntry(_Server):
    """A Lambda function whose tools the entry declares: built from a folder of this repository (`path`), or an
    existing function (`functionArn`). The gateway invokes it with its own role."""

    LABEL: ClassVar[str] = "Lambda tools"
    kind: Literal["lambda"]
    name: rules.EntryName
    path: rules.SourcePath | None = Field(
        None,
        description="Folder with the function's code (Python), relative to the repository root: built as an asset "
        "for arm64, with its own role and log group.",
    )
    handler: rules.LambdaHandler = Field(
        "app.handler", description="<module>.<function> of the folder's handler (default app.handler)."
    )
    timeout_seconds: rules.LambdaTimeout = Field(30, alias="timeoutSeconds")
    memory_mb: rules.LambdaMemory = Field(256, alias="memoryMb")
    function_arn: rules.LambdaArn | None = Field(
        None, alias="functionArn", description="An existing function instead of a folder (its unqualified ARN)."
    )
    cross_account_or_region: bool = Field(
        False,
        alias="crossAccountOrRegion",
        description="Say so when functionArn is in another account or region: its owner must then allow the "
        "gateway's role to invoke it (the function's resource policy), which this app cannot do.",
    )
    tool_schema: Annotated[list[dict[str, Any]], Field(min_length=1)] | None = Field(
        None,
        alias="toolSchema",
        description="The tools' definitions (name, description, inputSchema, outputSchema), or toolSchemaFile.",
    )
    tool_schema_file: rules.SpecPath | None = Field(
        None,
        alias="toolSchemaFile",
        description="A JSON or YAML file of the repository with the tools' definitions (a list).",
    )

    @property
    def folder(self) -> Path | None:
        return (ROOT / self.path).resolve() if self.path else None


class OpenApiEntry(_Server):
    """An HTTPS API described by OpenAPI 3: its operations become tools named after their operationId. Outbound auth
    by API key or OAuth client credentials (exactly one)."""

    LABEL: ClassVar[str] = "OpenAPI"
    kind: Literal["openapi"]
    name: rules.EntryName
    spec: rules.SpecPath | None = Field(
        None, description="The OpenAPI description (YAML or JSON) in this repository, relative to its root."
    )
    spec_s3: S3Object | None = Field(
        None, alias="specS3", description="Or in S3 (then `tools:` lists its operationIds: S3 is not read at synth)."
    )
    api_key: ApiKey | None = Field(None, alias="apiKey")
    oauth: OAuthClient | None = None


class SmithyEntry(_Server):
    """A Smithy model (JSON AST) of an AWS service or your own: its operations become tools, called with the
    gateway's role."""

    LABEL: ClassVar[str] = "Smithy API"
    kind: Literal["smithy"]
    name: rules.EntryName
    model: rules.SpecPath | None = Field(
        None, description="The model as Smithy JSON AST in this repository, relative to its root."
    )
    model_s3: S3Object | None = Field(
        None, alias="modelS3", description="Or in S3 (then `tools:` lists its operations: S3 is not read at synth)."
    )
    grants: Annotated[list[IamGrant], Field(min_length=1)] = Field(
        description="What the gateway's role may call: the service's actions and resources its operations use."
    )


class ApiOperation(_Strict):
    """One operation of a REST API stage exposed as a tool."""

    name: rules.ToolName
    path: rules.RestPath
    method: rules.HttpMethod
    description: rules.ToolDescription


class ApiGatewayEntry(_Server):
    """A REST API stage of this account and region, by id and stage: the listed operations become tools. Called with
    the gateway's role (IAM, the default) or an API key."""

    LABEL: ClassVar[str] = "API Gateway"
    kind: Literal["apiGateway"]
    name: rules.EntryName
    rest_api_id: rules.RestApiId = Field(alias="restApiId")
    stage: rules.StageName
    operations: Annotated[list[ApiOperation], Field(min_length=1)]
    api_key: ApiKey | None = Field(None, alias="apiKey")


Entry = Annotated[
    Union[HostedEntry, ExistingEntry, LambdaEntry, OpenApiEntry, SmithyEntry, ApiGatewayEntry],
    Field(discriminator="kind"),
]
ENTRY_KINDS = ("hosted", "existing", "lambda", "openapi", "smithy", "apiGateway")
# Entries whose tools the repository declares (a tool schema, a description, the operations listed): their tool
# contract is derived at synth.
DeclaredEntry = Union[LambdaEntry, OpenApiEntry, SmithyEntry, ApiGatewayEntry]


class TargetsFile(_Strict):
    """Tool sources behind the gateway (MCP servers, Lambda functions, OpenAPI, Smithy and API Gateway APIs): one entry
    each, a gateway target named after the entry, its tools exposed as <name>___<tool>."""

    model_config = ConfigDict(title="Tool sources behind the gateway")
    targets: Annotated[list[Entry], Field(min_length=1)]


# --- config/agents.yaml --------------------------------------------------------------------------------------------


class RateLimit(_Strict):
    """At most `requests` tool calls (any MCP request through the gateway) per second or minute."""

    requests: rules.RateLimitRequests
    per: rules.RateLimitPeriod


class AgentEntry(_Strict):
    """An agent: its own client-credentials app client in the gateway pool, the tools it may call, its rate limit."""

    name: rules.AgentName = Field(
        description="Names the agent's app client and Cedar policy. Renaming replaces the client (new credentials)."
    )
    description: rules.Description | None = None
    targets: list[rules.EntryName] = Field(
        [], description="Every tool of these targets (as their entries in config/targets.yaml declare them)."
    )
    tools: list[rules.QualifiedToolName] = Field([], description="Single tools, as <target>___<tool>.")
    rate_limit: RateLimit | None = Field(
        None,
        alias="rateLimit",
        description="This agent's limit; agents without one share defaultRateLimit's rate each.",
    )
    retired: bool = Field(
        False,
        description="The first step of removing the agent: the gateway stops accepting its tokens and its policy and "
        "rate limit go, while its client (and the client id's output, which the last deployed gateway and agents "
        "stacks read) stay. Deploy, then delete the entry: removed at once, a failed update of those stacks would "
        "roll back to a template reading an output that no longer exists.",
    )

    @property
    def text(self) -> str:
        return self.description or f"Agent {self.name}"


class AgentsFile(_Strict):
    """Agents that call the gateway: one entry per agent, each with its own credentials, tools and rate limit."""

    model_config = ConfigDict(title="Agents that call the gateway")
    default_rate_limit: RateLimit = Field(
        alias="defaultRateLimit", description="The limit of every agent without a rateLimit of its own (each its own)."
    )
    agents: Annotated[list[AgentEntry], Field(min_length=1)]


# --- cdk.json context -------------------------------------------------------------------------------------------------


class EnvironmentSettings(_Strict):
    """One block under `environments`, with the -c flags that override it already applied."""

    name_prefix: rules.NamePrefix = Field(alias="namePrefix")
    region: rules.Region
    account: rules.AccountId | None = None
    retain_data: bool = Field(False, alias="retainData")
    log_retention_days: rules.RetentionDays = Field(14, alias="logRetentionDays")
    tags: dict[str, rules.TagValue]
    alarm_emails: list[rules.AlarmEmail] = Field([], alias="alarmEmails")
    alarm_system_errors: rules.SystemErrorsThreshold = Field(5, alias="alarmSystemErrors")
    alarm_latency_p99_ms: rules.LatencyThreshold = Field(5000, alias="alarmLatencyP99Ms")
    policy_mode: rules.PolicyMode = Field("ENFORCE", alias="policyMode")


class AppSettings(_Strict):
    """The top level of cdk.json's context (the environments are validated on their own, once one is chosen)."""

    mcp_protocol_versions: Annotated[list[rules.McpProtocolVersion], Field(min_length=1)] = Field(
        list(rules.MCP_PROTOCOL_VERSIONS), alias="mcpProtocolVersions"
    )
    targets_file: str = Field(DEFAULT_TARGETS_FILE, alias="targetsFile")
    agents_file: str = Field(DEFAULT_AGENTS_FILE, alias="agentsFile")
    target_shards: rules.Shards = Field(4, alias="targetShards")
    max_targets_per_gateway: rules.TargetQuota = Field(100, alias="maxTargetsPerGateway")
    max_oauth_credential_providers: rules.TargetQuota = Field(50, alias="maxOAuthCredentialProviders")
    # AgentCore Identity's API-key credential providers per account and region: assumed as the OAuth2 providers' 50
    # (docs/assumptions.md), shared by every deployment there.
    max_api_key_credential_providers: rules.TargetQuota = Field(50, alias="maxApiKeyCredentialProviders")
    gateway_session_timeout_seconds: rules.SessionTimeout = Field(3600, alias="gatewaySessionTimeoutSeconds")
    runtime_idle_timeout_seconds: rules.IdleTimeout = Field(900, alias="runtimeIdleTimeoutSeconds")
    runtime_platform_version: rules.PlatformVersion = Field("V1", alias="runtimePlatformVersion")
    # CloudWatch Transaction Search is one setting of the whole account and region: opt-in, and one deployment only.
    transaction_search: bool = Field(False, alias="transactionSearch")
    transaction_search_indexing_percentage: rules.IndexingPercentage = Field(
        1, alias="transactionSearchIndexingPercentage"
    )
