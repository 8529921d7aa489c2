"""The configuration as one typed model: cdk.json's context (app settings and environments) and config/targets.yaml
(the entries, a union discriminated by `kind`). Field names are the file's (camelCase); the rules are app_config.rules'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union

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
    """The OAuth client the gateway uses to reach an existing server (client credentials)."""

    discovery_url: rules.DiscoveryUrl = Field(alias="discoveryUrl")
    client_id: rules.ClientId = Field(alias="clientId")
    scopes: Annotated[list[rules.OAuthScope], Field(min_length=1)]
    client_secret_name: rules.SecretName = Field(
        alias="clientSecretName",
        description="Name of the Secrets Manager secret (SecretString) holding the client secret. Never the secret itself.",
    )


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

    static_tool_schema: bool = Field(
        False,
        alias="staticToolSchema",
        description="Serve exactly the tools of this entry's lock (the target's static tool schema) instead of the "
        "server's tools/list: the gateway never synchronizes the target. Needs a tool lock. Not yet confirmed on AWS "
        "(docs/assumptions.md: what a deploy must confirm).",
    )

    @property
    def text(self) -> str:
        return self.description or f"MCP server {self.name}"


class HostedEntry(_Server):
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


class ExistingEntry(_Server):
    """An MCP server run elsewhere, reached over HTTPS with OAuth client credentials."""

    kind: Literal["existing"]
    name: rules.EntryName
    endpoint: rules.HttpsUrl
    oauth: OAuthClient


Entry = Annotated[Union[HostedEntry, ExistingEntry], Field(discriminator="kind")]


class TargetsFile(_Strict):
    """MCP servers behind the gateway: one entry per MCP server, a gateway target named after the entry, its tools
    exposed as <name>___<tool>."""

    model_config = ConfigDict(title="MCP servers behind the gateway")
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
    gateway_session_timeout_seconds: rules.SessionTimeout = Field(3600, alias="gatewaySessionTimeoutSeconds")
    runtime_idle_timeout_seconds: rules.IdleTimeout = Field(900, alias="runtimeIdleTimeoutSeconds")
    runtime_platform_version: rules.PlatformVersion = Field("V1", alias="runtimePlatformVersion")
    # CloudWatch Transaction Search is one setting of the whole account and region: opt-in, and one deployment only.
    transaction_search: bool = Field(False, alias="transactionSearch")
    transaction_search_indexing_percentage: rules.IndexingPercentage = Field(
        1, alias="transactionSearchIndexingPercentage"
    )
