"""What one entry of config/targets.yaml deploys: a gateway target and what it reaches. `McpEntry.of` picks the
construct for the entry's kind, so that a stack composes entries without knowing their kinds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from aws_cdk import Aws, SecretValue
from aws_cdk import aws_bedrockagentcore as agentcore

from app_config import Entry, ExistingEntry, HostedEntry, Names, ToolLock, pascal
from app_config.tool_locks import contract_mark, static_schema
from constructs import Construct, IConstruct
from constructs.custom_resource_handlers import HandlerEndpoint
from constructs.hosted_server import HostedMcpServer, RuntimeSettings
from constructs.m2m_user_pool import M2MUserPool
from constructs.mcp_target import GatewayMcpTarget
from constructs.naming import name_logical_id
from constructs.pool_credential_provider import PoolCredentialProvider
from constructs.runtime_url import runtime_invocation_url


@dataclass(frozen=True)
class SharedResources:
    """What every entry of the deployment is wired to: the gateway, the gateway's way into the shared runtime pool
    (its client, credential provider and token gate), the custom-resource handler, and the deployment's names and
    settings."""

    gateway: agentcore.IGateway
    names: Names
    account: str | None
    runtime_access: PoolCredentialProvider
    handlers: HandlerEndpoint
    trace_destination_arn: str
    runtime: RuntimeSettings
    log_retention_days: int
    retain_data: bool
    tags: Mapping[str, str]
    # Each entry's tool lock (app_config.tool_locks), by entry name; an unpinned existing entry has none.
    tool_locks: Mapping[str, ToolLock] = field(default_factory=dict)


class McpEntry(Construct):
    """One entry: its gateway target (`target`) and the stack outputs it offers (`outputs`, name -> value)."""

    target: GatewayMcpTarget
    outputs: dict[str, str]

    @staticmethod
    def of(scope: Construct, entry: Entry, shared: SharedResources) -> McpEntry:
        """The construct for `entry`'s kind, with construct and logical ids named after the entry."""
        if isinstance(entry, HostedEntry):
            return HostedMcpEntry(scope, pascal(entry.name), entry=entry, shared=shared)
        return ExistingMcpEntry(scope, pascal(entry.name), entry=entry, shared=shared)

    def _target(
        self,
        shared: SharedResources,
        entry: Entry,
        *,
        image: str | None,
        endpoint: str,
        provider: agentcore.OAuth2CredentialProvider,
        provider_name: str,
        scopes: list[str],
        wait_for: list[IConstruct],
    ) -> GatewayMcpTarget:
        label = pascal(entry.name)
        # The sync revision (app_config.tool_locks.contract_mark: the tool lock's hash, or unpinned the declared
        # names, with the syncToken) in the description, so that a change of the lock updates the target and
        # UpdateGatewayTarget re-synchronizes its catalog (implicit synchronization, DEFAULT listing mode), for
        # existing entries too: the tools a server lists change without any other template change, and the gateway
        # refreshes its catalog only on a target's create or update. At most 36 characters after a description of at
        # most app_config.rules.TARGET_DESCRIPTION_MAX: within the service's 200.
        lock = shared.tool_locks.get(entry.name)
        marks = ", ".join([*([f"image {image}"] if image else []), f"sync {contract_mark(lock, entry)}"])
        target = GatewayMcpTarget(
            self,
            "Target",
            gateway=shared.gateway,
            target_name=entry.name,
            description=f"{entry.text} ({marks})",
            endpoint=endpoint,
            provider_arn=provider.credential_provider_arn,
            provider_name=provider_name,
            scopes=scopes,
            wait_for=wait_for,
            static_tools=static_schema(lock) if lock is not None and entry.static_tool_schema else None,
        )
        name_logical_id(target.target, f"{label}Target")
        return target


class HostedMcpEntry(McpEntry):
    """A folder with a Dockerfile: its image in its own AgentCore Runtime, guarded by the shared runtime pool (or its
    own pool, with its own credential provider and token gate), and the target that calls the runtime."""

    def __init__(self, scope: Construct, construct_id: str, *, entry: HostedEntry, shared: SharedResources) -> None:
        super().__init__(scope, construct_id)
        if not (entry.folder / "Dockerfile").is_file():
            raise ValueError(f"{self.node.path}: no Dockerfile in {entry.folder}")
        label, names = pascal(entry.name), shared.names
        access = shared.runtime_access
        if entry.own_pool:
            pool = M2MUserPool(
                self,
                "Pool",
                user_pool_name=names.user_pool(entry.name),
                resource_server_id=names.resource_server(entry.name),
                domain_prefix=names.domain_prefix(entry.name, shared.account or Aws.ACCOUNT_ID),
                purpose=f"MCP server {entry.name}",
                retain_data=shared.retain_data,
            )
            pool.name_logical_ids(label)
            access = PoolCredentialProvider(
                self,
                "Access",
                pool=pool,
                client_name=names.app_client(entry.name),
                provider_name=names.target_provider(entry.name),
                handlers=shared.handlers,
                label=label,
                gate_id=f"{label}TokenGate",
            )
        self.server = HostedMcpServer(
            self,
            "Server",
            source_dir=entry.folder,
            runtime_name=names.runtime(entry.name),
            description=entry.text,
            inbound=access,
            settings=shared.runtime,
            log_retention_days=shared.log_retention_days,
            retain_data=shared.retain_data,
            tags=shared.tags,
            handlers=shared.handlers,
            trace_destination_arn=shared.trace_destination_arn,
            runtime_prefix=names.runtime_prefix,
        )
        # Pinned, like every resource an entry owns: a construct path (which the next refactor moves) would
        # otherwise name them, and a new logical id replaces the resource.
        name_logical_id(self.server.runtime, f"{label}Runtime")
        name_logical_id(self.server.log_group.resource, f"{label}RuntimeLogGroup")
        for part in ("Source", "Delivery"):
            name_logical_id(self.server.node.find_child(f"Traces{part}"), f"{label}RuntimeTraces{part}")
        if self.server.log_cleanup is not None:
            name_logical_id(self.server.log_cleanup.resource, f"{label}RuntimeLogCleanup")
        self.target = self._target(
            shared,
            entry,
            # An image-only change updates the runtime in place and leaves the target alone; with the image's hash
            # in its description the target is updated too, and UpdateGatewayTarget re-synchronizes its tools
            # (implicit synchronization, DEFAULT listing mode), after the runtime (its endpoint refers to it) and
            # with CloudFormation's own permissions.
            image=self.server.image.asset_hash[:12],
            endpoint=runtime_invocation_url(self.server.runtime.agent_runtime_arn),
            provider=access.provider,
            provider_name=access.provider_name,
            scopes=[access.pool.scope_string],
            # Creating the target synchronizes its tools at once, with a token from the pool's domain.
            wait_for=[access.gate],
        )
        self.outputs = {
            f"{label}RuntimeArn": self.server.runtime.agent_runtime_arn,
            f"{label}TargetId": self.target.target.target_id,
        }


class ExistingMcpEntry(McpEntry):
    """An HTTPS MCP endpoint run elsewhere: its credential provider (the client secret a Secrets Manager reference)
    and the target."""

    def __init__(self, scope: Construct, construct_id: str, *, entry: ExistingEntry, shared: SharedResources) -> None:
        super().__init__(scope, construct_id)
        label = pascal(entry.name)
        provider_name = shared.names.target_provider(entry.name)
        provider = agentcore.OAuth2CredentialProvider.using_custom(
            self,
            "OAuthProvider",
            o_auth2_credential_provider_name=provider_name,
            discovery_url=entry.oauth.discovery_url,
            client_id=entry.oauth.client_id,
            # A dynamic reference, resolved by CloudFormation at deploy time: the template holds the secret's
            # name, never its value, and the config file only ever names it.
            client_secret=SecretValue.secrets_manager(entry.oauth.client_secret_name),
        )
        name_logical_id(provider, f"{label}OAuthProvider")
        self.target = self._target(
            shared,
            entry,
            image=None,
            endpoint=entry.endpoint,
            provider=provider,
            provider_name=provider_name,
            scopes=list(entry.oauth.scopes),
            wait_for=[],
        )
        self.outputs = {f"{label}TargetId": self.target.target.target_id}
