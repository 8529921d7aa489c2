"""The app's one typed configuration: read from cdk.json context and `-c` flags, validated before any resource exists."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from app_config.targets import (
    DEFAULT_MAX_TARGETS,
    DEFAULT_SHARDS,
    DEFAULT_TARGETS_FILE,
    ROOT,
    ExistingTarget,
    HostedTarget,
    TargetEntry,
    TargetsError,
    load_targets,
    pascal,
    shard_of,
)

__all__ = [
    "DEPLOYMENT_TAG",
    "AppConfig",
    "ConfigError",
    "ExistingTarget",
    "HostedTarget",
    "Names",
    "TargetEntry",
    "TargetsError",
    "load_config",
    "pascal",
    "shard_of",
]

# Protocol versions the AgentCore Gateway accepts (aws_bedrockagentcore.MCPProtocolVersion in aws-cdk-lib 2.275).
SUPPORTED_MCP_VERSIONS = ("2025-03-26", "2025-06-18")

# CloudWatch Logs accepts only these retention periods (days); gateway_constructs.log_groups maps them.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

# Tags every environment must set; `project`, `environment` and DEPLOYMENT_TAG are added by the app.
REQUIRED_TAGS = ("owner", "cost-centre")
# Names the deployment (<prefix>-<env>) on every resource: the custom-resource handler reads app clients only of
# user pools carrying it (an IAM condition on aws:ResourceTag), whichever stack created them.
DEPLOYMENT_TAG = "gateway-deployment"

# Cognito refuses domain prefixes containing these words.
COGNITO_RESERVED_WORDS = ("aws", "amazon", "cognito")

_PREFIX = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_ENV_NAME = re.compile(r"^[a-z][a-z0-9]{0,7}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[1-9]$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_TAG_VALUE = re.compile(r"^[\w .:/=+\-@]{1,256}$")

# Service name rules (CloudFormation schemas, see ARCHITECTURE.md), checked on every derived name.
NAME_RULES: Mapping[str, tuple[re.Pattern[str], str]] = {
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
    "stack": (
        re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$"),
        "a letter, then letters, digits or hyphens, at most 128 characters",
    ),
    "cognito domain": (
        re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"),
        "lowercase letters, digits and hyphens, at most 63 characters (with the 12-digit account id)",
    ),
}


# AgentCore Gateway's own default session timeout, and Runtime's default idle timeout.
DEFAULT_SESSION_TIMEOUT = 3600
DEFAULT_RUNTIME_IDLE_TIMEOUT = 900
# AgentCore Runtime platform versions: V1, the create-time default, and V2, which restores each new session from a
# snapshot of the initialized container (faster starts; documented for the HTTP protocol, not yet for MCP).
RUNTIME_PLATFORM_VERSIONS = ("V1", "V2")
DEFAULT_RUNTIME_PLATFORM_VERSION = "V1"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class ConfigError(ValueError):
    """A configuration value the app refuses; the message names the key, the value and the rule."""

    def __init__(self, key: str, value: Any, rule: str) -> None:
        super().__init__(f"Invalid configuration {key}={value!r}: {rule}")
        self.key = key
        self.value = value
        self.rule = rule


@dataclass(frozen=True)
class Names:
    """Every physical name the app uses, derived once. Changing one of these replaces the resource it names."""

    prefix: str
    env_name: str

    def stack(self, component: str) -> str:
        return f"{self.prefix}-{self.env_name}-{component}"

    @property
    def base(self) -> str:
        return f"{self.prefix}-{self.env_name}"

    @property
    def gateway(self) -> str:
        # Lowercase on purpose: the service lowercases gateway names and the L2's grants assume the given case (aws/aws-cdk#38869).
        return f"{self.base}-gateway"

    def runtime(self, target: str) -> str:
        return f"{self.base}-{target}".replace("-", "_")

    @property
    def runtime_prefix(self) -> str:
        """What every runtime name (and so every runtime log group) of this deployment starts with."""
        return self.runtime("")

    @property
    def provider_prefix(self) -> str:
        """What every credential provider name of this deployment starts with: the gateway role's grant is scoped by it."""
        return f"{self.base}-"

    @property
    def credential_provider(self) -> str:
        """The provider for the shared runtime pool, used by every hosted target without a pool of its own."""
        return f"{self.base}-runtime-oauth"

    def target_provider(self, target: str) -> str:
        """The provider of one target's own OAuth client (existing servers, or hosted ones with their own pool)."""
        return f"{self.base}-{target}-oauth"

    def user_pool(self, role: str) -> str:
        return f"{self.base}-{role}-pool"

    def resource_server(self, role: str) -> str:
        return f"{self.base}-{role}"

    def app_client(self, role: str) -> str:
        return f"{self.base}-{role}-client"

    def domain_prefix(self, role: str, account: str) -> str:
        # Cognito domain prefixes are unique per region across all accounts, so the account id makes them ours.
        return f"{self.base}-{role}-{account}"


@dataclass(frozen=True)
class AppConfig:
    env_name: str
    name_prefix: str
    region: str
    account: str | None
    mcp_versions: tuple[str, ...]
    retain_data: bool
    log_retention_days: int
    tags: Mapping[str, str]
    targets: tuple[TargetEntry, ...]
    shards: int
    session_timeout_seconds: int
    runtime_idle_timeout_seconds: int
    runtime_platform_version: str

    @property
    def names(self) -> Names:
        return Names(self.name_prefix, self.env_name)

    def shard(self, index: int) -> tuple[TargetEntry, ...]:
        """The entries of one shard, in file order."""
        return tuple(t for t in self.targets if shard_of(t.name, self.shards) == index)


def _require(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in mapping or mapping[key] is None:
        raise ConfigError(where + key, None, "is required")
    return mapping[key]


def load_config(context: Mapping[str, Any]) -> AppConfig:
    """Build the config from a flat context mapping (cdk.json `context` merged with `-c key=value` flags).

    Flags override the selected environment's block: `-c env=prod -c region=eu-west-1 -c account=123456789012`.
    """
    environments = context.get("environments")
    if not isinstance(environments, Mapping) or not environments:
        raise ConfigError(
            "environments", environments, "must be a non-empty map of environment name to settings in cdk.json"
        )

    env_name = context.get("env", "dev")
    if env_name not in environments:
        raise ConfigError(
            "env", env_name, f"must be one of the environments in cdk.json: {', '.join(sorted(environments))}"
        )
    if not _ENV_NAME.match(env_name):
        raise ConfigError("env", env_name, "must match ^[a-z][a-z0-9]{0,7}$ (it is part of every resource name)")

    settings = dict(environments[env_name])
    # -c flags win over the environment block, so one checkout can target another account or region.
    for key in ("namePrefix", "region", "account"):
        if context.get(key) is not None:
            settings[key] = context[key]
    where = f"environments.{env_name}."

    prefix = _require(settings, "namePrefix", where)
    if not isinstance(prefix, str) or len(prefix) > 20 or not _PREFIX.match(prefix):
        raise ConfigError(
            "namePrefix",
            prefix,
            "must be 1-20 lowercase letters or digits in hyphen-separated groups, starting with a letter "
            "(it starts every stack, gateway, runtime, user pool and Cognito domain name)",
        )
    for word in COGNITO_RESERVED_WORDS:
        if word in f"{prefix}-{env_name}":
            raise ConfigError(
                "namePrefix", prefix, f"must not contain '{word}': Cognito rejects domain prefixes containing it"
            )

    region = _require(settings, "region", where)
    if not isinstance(region, str) or not _REGION.match(region):
        raise ConfigError("region", region, "must be an AWS region code such as us-east-1")

    account = settings.get("account")
    if account is not None:
        account = str(account)
        if not _ACCOUNT.match(account):
            raise ConfigError(
                "account", account, "must be a 12-digit AWS account id, or unset for an account-agnostic synth"
            )

    versions = context.get("mcpProtocolVersions", ["2025-03-26"])
    if not isinstance(versions, list) or not versions:
        raise ConfigError("mcpProtocolVersions", versions, "must be a non-empty list")
    for version in versions:
        if version not in SUPPORTED_MCP_VERSIONS:
            raise ConfigError("mcpProtocolVersions", version, f"must be one of {', '.join(SUPPORTED_MCP_VERSIONS)}")

    # The gateway keeps a target's MCP session (so the runtime's microVM) for this long after an agent's initialize
    # (AgentCore: 900-28800 s, default 3600); the runtime keeps an idle session's microVM for the idle timeout.
    session_timeout = context.get("gatewaySessionTimeoutSeconds", DEFAULT_SESSION_TIMEOUT)
    if not _is_int(session_timeout) or not 900 <= session_timeout <= 28800:
        raise ConfigError(
            "gatewaySessionTimeoutSeconds",
            session_timeout,
            "must be whole seconds from 900 to 28800 (AgentCore Gateway)",
        )
    idle_timeout = context.get("runtimeIdleTimeoutSeconds", DEFAULT_RUNTIME_IDLE_TIMEOUT)
    if not _is_int(idle_timeout) or not 60 <= idle_timeout <= session_timeout:
        raise ConfigError(
            "runtimeIdleTimeoutSeconds",
            idle_timeout,
            f"must be whole seconds from 60 to gatewaySessionTimeoutSeconds ({session_timeout}): a runtime session "
            "idle longer than the gateway keeps its id is never reused",
        )
    platform_version = context.get("runtimePlatformVersion", DEFAULT_RUNTIME_PLATFORM_VERSION)
    if platform_version not in RUNTIME_PLATFORM_VERSIONS:
        raise ConfigError(
            "runtimePlatformVersion", platform_version, f"must be one of {', '.join(RUNTIME_PLATFORM_VERSIONS)}"
        )

    shards = context.get("targetShards", DEFAULT_SHARDS)
    if not isinstance(shards, int) or isinstance(shards, bool) or not 1 <= shards <= 20:
        raise ConfigError("targetShards", shards, "must be an integer from 1 to 20 (changing it re-homes targets)")
    max_targets = context.get("maxTargetsPerGateway", DEFAULT_MAX_TARGETS)
    if not isinstance(max_targets, int) or isinstance(max_targets, bool) or max_targets < 1:
        raise ConfigError("maxTargetsPerGateway", max_targets, "must be a positive integer (the account's quota)")
    targets_file = Path(context.get("targetsFile") or DEFAULT_TARGETS_FILE)
    try:
        targets = load_targets(
            targets_file if targets_file.is_absolute() else ROOT / targets_file, max_targets=max_targets
        )
    except TargetsError as error:
        raise ConfigError("targetsFile", str(targets_file), str(error)) from None

    retain = settings.get("retainData", False)
    if not isinstance(retain, bool):
        raise ConfigError(where + "retainData", retain, "must be true or false")

    retention = settings.get("logRetentionDays", 14)
    if retention not in LOG_RETENTION_DAYS:
        raise ConfigError(
            where + "logRetentionDays",
            retention,
            "must be a CloudWatch Logs retention period: " + ", ".join(map(str, LOG_RETENTION_DAYS)),
        )

    raw_tags = settings.get("tags", {})
    if not isinstance(raw_tags, Mapping):
        raise ConfigError(where + "tags", raw_tags, "must be a map of tag name to value")
    for required in REQUIRED_TAGS:
        if required not in raw_tags:
            raise ConfigError(
                f"{where}tags.{required}", None, "is required: every resource carries its owner and cost centre"
            )
    for key, value in raw_tags.items():
        if key == DEPLOYMENT_TAG:
            raise ConfigError(f"{where}tags.{key}", value, "is set by the app (it names the deployment)")
        if not isinstance(value, str) or not _TAG_VALUE.match(value) or str(key).lower().startswith("aws:"):
            raise ConfigError(
                f"{where}tags.{key}", value, "must be a 1-256 character string and the key must not start with 'aws:'"
            )
    tags = {
        "project": "agentcore-mcp-gateway",
        "environment": env_name,
        DEPLOYMENT_TAG: f"{prefix}-{env_name}",
        **raw_tags,
    }

    config = AppConfig(
        env_name=env_name,
        name_prefix=prefix,
        region=region,
        account=account,
        mcp_versions=tuple(versions),
        targets=targets,
        shards=shards,
        session_timeout_seconds=session_timeout,
        runtime_idle_timeout_seconds=idle_timeout,
        runtime_platform_version=platform_version,
        retain_data=retain,
        log_retention_days=retention,
        tags=tags,
    )
    _check_derived_names(config)
    return config


def _check_derived_names(config: AppConfig) -> None:
    names = config.names
    derived = [
        ("namePrefix", config.name_prefix, "gateway", names.gateway),
        ("namePrefix", config.name_prefix, "credential provider", names.credential_provider),
        ("namePrefix", config.name_prefix, "stack", names.stack(f"mcp-targets-{config.shards - 1}")),
    ]
    account = config.account or "123456789012"  # the length is what matters; the account may be unknown at synth
    for pool in ("gateway", "runtime"):
        derived.append(("namePrefix", config.name_prefix, "cognito domain", names.domain_prefix(pool, account)))
    for target in config.targets:
        derived.append((f"targets.{target.name}", target.name, "target", target.name))
        derived.append(
            (f"targets.{target.name}", target.name, "credential provider", names.target_provider(target.name))
        )
        if isinstance(target, HostedTarget):
            derived.append((f"targets.{target.name}", target.name, "runtime", names.runtime(target.name)))
        if isinstance(target, HostedTarget) and target.own_pool:
            domain = names.domain_prefix(target.name, account)
            derived.append((f"targets.{target.name}", target.name, "cognito domain", domain))
    for key, value, kind, name in derived:
        pattern, rule = NAME_RULES[kind]
        if not pattern.match(name):
            raise ConfigError(key, value, f"gives the {kind} name {name!r}, which must be {rule}")
        if kind == "cognito domain":
            for word in COGNITO_RESERVED_WORDS:
                if word in name:
                    raise ConfigError(
                        key, value, f"gives the cognito domain {name!r}, which contains '{word}': Cognito rejects it"
                    )
