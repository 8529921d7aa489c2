"""The app's one typed configuration: cdk.json context and `-c` flags, plus config/targets.yaml, validated by the model
(app_config.model, with app_config.rules) before any resource exists. Errors are one line: key, value, rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Mapping

from pydantic import BaseModel, ValidationError

from app_config.agents import Agents, load_agents
from app_config.context import CONTEXT_KEYS, ENVIRONMENT_FLAGS, TEXT_KEYS, check_keys
from app_config.declared import spec_of
from app_config.errors import ConfigError, TargetsError, first_setting_error
from app_config.model import (
    ROOT,
    ApiGatewayEntry,
    AppSettings,
    Entry,
    EnvironmentSettings,
    ExistingEntry,
    HostedEntry,
    LambdaEntry,
    OpenApiEntry,
    SmithyEntry,
)
from app_config.rules import COGNITO_RESERVED_WORDS, DEPLOYMENT_TAG, REQUIRED_TAGS, EnvName, pascal, shard_of
from app_config.targets import load_targets
from app_config.tool_locks import LockError, ToolLock, resolve, shown_path
from aws_rules.names import POLICY_NAME_MAX, SERVICE_NAME_RULES, bounded_name

__all__ = [
    "CONTEXT_KEYS",
    "Agents",
    "DEPLOYMENT_TAG",
    "TEXT_KEYS",
    "AppConfig",
    "ConfigError",
    "Entry",
    "ApiGatewayEntry",
    "ExistingEntry",
    "HostedEntry",
    "LambdaEntry",
    "OpenApiEntry",
    "SmithyEntry",
    "outbound_auth",
    "Names",
    "TargetsError",
    "ToolLock",
    "load_config",
    "pascal",
    "shard_of",
]


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
        # Lowercase on purpose: the service lowercases gateway names and the L2's grants assume the given case
        # (aws/aws-cdk#38869).
        return f"{self.base}-gateway"

    @property
    def gateway_role(self) -> str:
        return f"{self.gateway}-role"

    def runtime(self, target: str) -> str:
        return f"{self.base}-{target}".replace("-", "_")

    @property
    def runtime_prefix(self) -> str:
        """What every runtime name (and so every runtime log group) of this deployment starts with."""
        return self.runtime("")

    @property
    def provider_prefix(self) -> str:
        """What every credential provider name of this deployment starts with: the gateway role's grant uses it."""
        return f"{self.base}-"

    @property
    def provider_suffix(self) -> str:
        """What every credential provider name of this deployment ends with."""
        return "-oauth"

    @property
    def credential_provider(self) -> str:
        """The provider for the shared runtime pool, used by every hosted target without a pool of its own."""
        return f"{self.base}-runtime{self.provider_suffix}"

    def target_provider(self, target: str) -> str:
        """The provider of one target's own OAuth client (existing servers, or hosted ones with their own pool)."""
        return f"{self.base}-{target}{self.provider_suffix}"

    @property
    def api_key_suffix(self) -> str:
        """What every API-key credential provider name of this deployment ends with."""
        return "-apikey"

    def api_key_provider(self, target: str) -> str:
        """The API-key credential provider of one target (an existing server, an OpenAPI or API Gateway entry)."""
        return f"{self.base}-{target}{self.api_key_suffix}"

    @property
    def tool_function_prefix(self) -> str:
        """What every Lambda function built for an entry is named after: the dashboard finds them by it."""
        return f"{self.base}-fn-"

    def tool_function(self, target: str) -> str:
        return f"{self.tool_function_prefix}{target}"

    @property
    def tool_function_log_groups(self) -> str:
        """The log groups of every function built for an entry (Lambda's default name, /aws/lambda/<function>)."""
        return f"/aws/lambda/{self.tool_function_prefix}*"

    def shard_grants(self, shard: int) -> str:
        """The managed policy through which one shard's entries give the gateway's role what their APIs need."""
        return f"{self.base}-gateway-shard-{shard}"

    def user_pool(self, role: str) -> str:
        return f"{self.base}-{role}-pool"

    def resource_server(self, role: str) -> str:
        return f"{self.base}-{role}"

    def app_client(self, role: str) -> str:
        return f"{self.base}-{role}-client"

    @property
    def dashboard(self) -> str:
        return f"{self.base}-gateway"

    def alarm(self, what: str) -> str:
        return f"{self.base}-gateway-{what}"

    @property
    def alarm_topic(self) -> str:
        return f"{self.base}-alarms"

    @property
    def gateway_log_group(self) -> str:
        # Under /aws/vendedlogs/: CloudWatch Logs' delivery writes there without a resource policy of the group's own
        # (an account holds only 10 such policies).
        return f"/aws/vendedlogs/bedrock-agentcore/{self.gateway}"

    def delivery_source(self, resource_name: str, log_type: str) -> str:
        return f"{resource_name}-{log_type.lower().replace('_', '-')}"

    @property
    def trace_destination(self) -> str:
        return f"{self.base}-traces"

    def transaction_search_stack(self) -> str:
        # One per account and region, whatever the environment: named after the prefix only.
        return f"{self.prefix}-transaction-search"

    def agent_client(self, agent: str) -> str:
        return f"{self.base}-agent-{agent}"

    @property
    def policy_engine(self) -> str:
        # Policy engine and policy names: a letter, then letters, digits and underscores (at most 48).
        return f"{self.prefix}_{self.env_name}_agents"

    def agent_policy(self, agent: str) -> str:
        # Unique in the whole account (botocore's CreatePolicy.name: "Must be unique within the account"; the registry
        # schema says within the policy engine: built for the stricter), so named after the deployment, as every
        # account-unique name is. Policy names have at most 48 characters: a longer one keeps its start (which
        # carries the deployment) and ends in a hash of the whole, stable and distinct per agent.
        return bounded_name(f"{self.prefix}_{self.env_name}_{agent}".replace("-", "_"), POLICY_NAME_MAX)

    def domain_prefix(self, role: str, account: str) -> str:
        # Cognito domain prefixes are unique per region across all accounts, so the account id makes them ours.
        return f"{self.base}-{role}-{account}"


@dataclass(frozen=True)
class AppConfig:
    env_name: str
    environment: EnvironmentSettings
    settings: AppSettings
    tags: Mapping[str, str]
    targets: tuple[Entry, ...]
    agents: Agents
    # Each entry's tool lock (app_config.tool_locks), by entry name; existing entries without one are `unpinned`.
    tool_locks: Mapping[str, ToolLock] = field(default_factory=dict)
    unpinned: Mapping[str, str] = field(default_factory=dict)  # entry name -> the lock file it lacks
    # What synth says about the config without refusing it (one line each).
    notes: tuple[str, ...] = ()

    @property
    def names(self) -> Names:
        return Names(self.environment.name_prefix, self.env_name)

    @property
    def account(self) -> str | None:
        return self.environment.account

    @property
    def region(self) -> str:
        return self.environment.region

    @property
    def retain_data(self) -> bool:
        return self.environment.retain_data

    @property
    def log_retention_days(self) -> int:
        return self.environment.log_retention_days

    @property
    def shards(self) -> int:
        return self.settings.target_shards

    def shard(self, index: int) -> tuple[Entry, ...]:
        """The entries of one shard, in file order."""
        return tuple(t for t in self.targets if shard_of(t.name, self.shards) == index)


def _validated(model: type[BaseModel], values: Mapping[str, Any], key_of: Any) -> Any:
    try:
        return model.model_validate(dict(values))
    except ValidationError as error:
        location, value, rule = first_setting_error(error)
        if error.errors()[0]["type"] == "extra_forbidden":
            # A key the model does not have: named, its value not shown (it may be anything).
            names = [field.alias or name for name, field in model.model_fields.items()]
            close = get_close_matches(str(location[-1]), names, n=1)
            hint = f"did you mean {close[0]}?" if close else f"the settings are {', '.join(names)}"
            raise ConfigError.of_key(key_of(location, False), f"is not a setting of this block: {hint}") from None
        raise ConfigError(key_of(location, value is None and rule == "is required"), value, rule) from None


def load_config(context: Mapping[str, Any]) -> AppConfig:
    """Build the config from a flat context mapping (cdk.json `context` merged with `-c key=value` flags), which
    holds only the app's keys and the CDK's own (feature flags, what the CLI adds).

    Flags override the selected environment's block: `-c env=prod -c region=eu-west-1 -c account=012345678901`.
    """
    env = context.get("env", "dev")
    check_keys(context, env if isinstance(env, str) and env in (context.get("environments") or ()) else "<env>")
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
    _validated(_EnvName, {"env": env_name}, lambda location, missing: "env")

    where = f"environments.{env_name}."
    block = {key: value for key, value in dict(environments[env_name]).items() if value is not None}
    # -c flags win over the environment block, so one checkout can target another account or region.
    block.update({key: context[key] for key in ENVIRONMENT_FLAGS if context.get(key) is not None})

    def environment_key(location: list[Any], missing: bool) -> str:
        # A bad value of a flag-settable key is named as the flag; anything else by its place in cdk.json.
        dotted = ".".join(map(str, location))
        return dotted if dotted in ENVIRONMENT_FLAGS and not missing else where + dotted

    environment: EnvironmentSettings = _validated(EnvironmentSettings, block, environment_key)
    for word in COGNITO_RESERVED_WORDS:
        if word in f"{environment.name_prefix}-{env_name}":
            raise ConfigError(
                "namePrefix",
                environment.name_prefix,
                f"must not contain '{word}': Cognito rejects domain prefixes containing it",
            )
    for required in REQUIRED_TAGS:
        if required not in environment.tags:
            raise ConfigError(
                f"{where}tags.{required}", None, "is required: every resource carries its owner and cost centre"
            )
    for key, value in environment.tags.items():
        if key == DEPLOYMENT_TAG:
            raise ConfigError(f"{where}tags.{key}", value, "is set by the app (it names the deployment)")
        if key.lower().startswith("aws:"):
            raise ConfigError(
                f"{where}tags.{key}", value, "must be a 1-256 character string and the key must not start with 'aws:'"
            )

    known = {field.alias or name for name, field in AppSettings.model_fields.items()}
    settings: AppSettings = _validated(
        AppSettings,
        {key: value for key, value in context.items() if key in known},
        lambda location, missing: ".".join(map(str, location)),
    )
    if settings.runtime_idle_timeout_seconds > settings.gateway_session_timeout_seconds:
        raise ConfigError(
            "runtimeIdleTimeoutSeconds",
            settings.runtime_idle_timeout_seconds,
            f"must be whole seconds from 60 to gatewaySessionTimeoutSeconds ({settings.gateway_session_timeout_seconds}):"
            " a runtime session idle longer than the gateway keeps its id is never reused",
        )
    targets_file = Path(settings.targets_file)
    try:
        targets = load_targets(
            targets_file if targets_file.is_absolute() else ROOT / targets_file,
            max_targets=settings.max_targets_per_gateway,
        )
    except TargetsError as error:
        raise ConfigError("targetsFile", str(targets_file), str(error)) from None
    notes = []
    for index, target in enumerate(targets):
        if isinstance(target, LambdaEntry):
            note = _check_function_home(index, target, environment, targets_file)
            notes += [note] if note else []
    # Tool contracts: each entry's lock, which its declared tools must agree with; agents are granted the lock's names.
    try:
        targets, tool_locks, unpinned = resolve(
            targets, targets_file if targets_file.is_absolute() else ROOT / targets_file, ROOT
        )
    except LockError as error:
        raise ConfigError("targetsFile", str(targets_file), str(error)) from None
    for index, target in enumerate(targets):
        if isinstance(target, SmithyEntry) and (spec := spec_of(target)) is not None:
            # The role signs for the model's service only: a grant of another service's actions is for no tool here.
            for number, grant in enumerate(target.grants):
                for action in grant.actions:
                    if action.split(":", 1)[0] != spec.signing_name:
                        raise ConfigError(
                            "targetsFile",
                            str(targets_file),
                            f"targets[{index}].grants[{number}]: {action} is not an action of the model's service "
                            f"({spec.signing_name}:...): a Smithy target's tools call that service only",
                        )
    # The shared runtime pool's provider, and one per entry with an OAuth client or a pool of its own (a hosted entry on
    # the shared pool uses the shared provider).
    providers = 1 + sum(
        1 for t in targets if outbound_auth(t) == "oauth" and not (isinstance(t, HostedEntry) and not t.own_pool)
    )
    if providers > settings.max_oauth_credential_providers:
        raise ConfigError(
            "targetsFile",
            str(targets_file),
            f"needs {providers} OAuth2 credential providers (one per entry with an OAuth client or its own pool, one "
            f"shared), over the account's quota of {settings.max_oauth_credential_providers} (AgentCore Identity "
            "'Resource OAuth2 credential providers', L-431051DC, per account and region, shared by every deployment "
            "there; raise it with AWS, then -c maxOAuthCredentialProviders=N)",
        )
    api_keys = sum(1 for t in targets if outbound_auth(t) == "apiKey")
    if api_keys > settings.max_api_key_credential_providers:
        raise ConfigError(
            "targetsFile",
            str(targets_file),
            f"needs {api_keys} API-key credential providers (one per entry with an apiKey), over the account's quota "
            f"of {settings.max_api_key_credential_providers} (AgentCore Identity, per account and region, shared by "
            "every deployment there; raise it with AWS, then -c maxApiKeyCredentialProviders=N)",
        )

    agents_file = Path(settings.agents_file)
    try:
        agents = load_agents(
            agents_file if agents_file.is_absolute() else ROOT / agents_file,
            targets,
            {name: shown_path(lock.path, ROOT) for name, lock in tool_locks.items()},
        )
    except TargetsError as error:
        raise ConfigError("agentsFile", str(agents_file), str(error)) from None

    tags = {
        "project": "agentcore-mcp-gateway",
        "environment": env_name,
        DEPLOYMENT_TAG: f"{environment.name_prefix}-{env_name}",
        **environment.tags,
    }
    config = AppConfig(
        env_name=env_name,
        environment=environment,
        settings=settings,
        tags=tags,
        targets=targets,
        agents=agents,
        tool_locks=tool_locks,
        unpinned=unpinned,
        notes=tuple(notes),
    )
    _check_derived_names(config)
    return config


def outbound_auth(entry: Entry) -> str:
    """How the gateway authenticates to an entry's tools: oauth (a credential provider of client credentials), apiKey
    (an API-key credential provider), or iam (its own role, SigV4 or Lambda's Invoke)."""
    if isinstance(entry, HostedEntry):
        return "oauth"
    if isinstance(entry, (ExistingEntry, OpenApiEntry, ApiGatewayEntry)):
        if getattr(entry, "oauth", None) is not None:
            return "oauth"
        if entry.api_key is not None:
            return "apiKey"
    return "iam"


def _check_function_home(index: int, entry: LambdaEntry, environment: EnvironmentSettings, file: Path) -> str | None:
    """A functionArn in another region, or (when the environment names its account) another account, must say so:
    this app can then not allow the gateway's role in the function's resource policy, and its owner must."""
    if entry.function_arn is None:
        return None
    _, _, _, region, account, *_ = entry.function_arn.split(":")
    elsewhere = [
        *([f"region {region} (the deployment's is {environment.region})"] if region != environment.region else []),
        *(
            [f"account {account} (the deployment's is {environment.account})"]
            if environment.account is not None and account != environment.account
            else []
        ),
    ]
    if elsewhere and not entry.cross_account_or_region:
        raise ConfigError(
            "targetsFile",
            str(file),
            f"targets[{index}].functionArn is in {' and '.join(elsewhere)}: set crossAccountOrRegion: true if that "
            "is meant (the function's owner must then allow the gateway's role to invoke it)",
        )
    if not elsewhere and entry.cross_account_or_region and environment.account is not None:
        raise ConfigError(
            "targetsFile",
            str(file),
            f"targets[{index}].crossAccountOrRegion is set, but functionArn is in the deployment's account and region",
        )
    if environment.account is None and not entry.cross_account_or_region:
        # Not knowable at synth: a deploy to another account fails at the function's resource policy (AddPermission
        # is refused outside the function's account), so the app says how to have it checked here.
        return (
            f"note: targets entry {entry.name}'s functionArn is in account {account}, and the environment names no "
            "account: the app cannot check it is the deployment's (set environments.<env>.account, or -c account=..., "
            "to have it checked at synth; a deploy to another account fails at the function's resource policy)"
        )
    return None


class _EnvName(BaseModel):
    env: EnvName


def _check_derived_names(config: AppConfig) -> None:
    names = config.names
    prefix = config.environment.name_prefix
    derived = [
        ("namePrefix", prefix, "gateway", names.gateway),
        ("namePrefix", prefix, "credential provider", names.credential_provider),
        ("namePrefix", prefix, "stack", names.stack(f"mcp-targets-{config.shards - 1}")),
    ]
    account = config.account or "123456789012"  # the length is what matters; the account may be unknown at synth
    for pool in ("gateway", "runtime"):
        derived.append(("namePrefix", prefix, "cognito domain", names.domain_prefix(pool, account)))
    for target in config.targets:
        key = f"targets.{target.name}"
        derived.append((key, target.name, "target", target.name))
        derived.append((key, target.name, "credential provider", names.target_provider(target.name)))
        derived.append((key, target.name, "credential provider", names.api_key_provider(target.name)))
        if isinstance(target, LambdaEntry) and target.path is not None:
            derived.append((key, target.name, "lambda function", names.tool_function(target.name)))
        if isinstance(target, HostedEntry):
            derived.append((key, target.name, "runtime", names.runtime(target.name)))
            if target.own_pool:
                derived.append((key, target.name, "cognito domain", names.domain_prefix(target.name, account)))
    derived.append(("namePrefix", prefix, "policy engine", names.policy_engine))
    for agent in config.agents.entries:
        derived.append((f"agents.{agent.name}", agent.name, "policy", names.agent_policy(agent.name)))
    for key, value, kind, name in derived:
        pattern, rule = SERVICE_NAME_RULES[kind]
        if not pattern.match(name):
            raise ConfigError(key, value, f"gives the {kind} name {name!r}, which must be {rule}")
        if kind == "cognito domain":
            for word in COGNITO_RESERVED_WORDS:
                if word in name:
                    raise ConfigError(
                        key, value, f"gives the cognito domain {name!r}, which contains '{word}': Cognito rejects it"
                    )
