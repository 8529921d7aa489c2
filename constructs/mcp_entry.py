"""What one entry of config/targets.yaml deploys: a gateway target and what it reaches. `McpEntry.of` picks the
construct for the entry's kind, so that a stack composes entries without knowing their kinds."""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_bedrockagentcore as agentcore

from app_config import Entry, ExistingEntry, HostedEntry, pascal
from app_config.tool_locks import static_schema
from constructs import Construct, IConstruct
from constructs.hosted_server import HostedMcpServer
from constructs.m2m_user_pool import M2MUserPool
from constructs.mcp_target import GatewayMcpTarget, oauth_credentials
from constructs.naming import name_logical_id
from constructs.pool_credential_provider import PoolCredentialProvider
from constructs.runtime_url import runtime_invocation_url
from constructs.tool_entries import (
    SharedResources,
    ToolEntry,
    declared_entry,
    declared_grants,
    provider_credentials,
    target_description,
    without_default_prefix,
)

__all__ = ["ExistingMcpEntry", "HostedMcpEntry", "McpEntry", "SharedResources"]


class McpEntry(ToolEntry):
    """One MCP-server entry: its gateway target (`target`) and the stack outputs it offers (`outputs`, name -> value)."""

    target: GatewayMcpTarget

    @staticmethod
    def of(scope: Construct, entry: Entry, shared: SharedResources) -> ToolEntry:
        """The construct for `entry`'s kind, with construct and logical ids named after the entry."""
        if isinstance(entry, HostedEntry):
            return HostedMcpEntry(scope, pascal(entry.name), entry=entry, shared=shared)
        if isinstance(entry, ExistingEntry):
            return ExistingMcpEntry(scope, pascal(entry.name), entry=entry, shared=shared)
        return declared_entry(scope, entry, shared)

    def _target(
        self,
        shared: SharedResources,
        entry: HostedEntry | ExistingEntry,
        *,
        image: str | None,
        endpoint: str,
        credentials: agentcore.ICredentialProviderConfig,
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
        target = GatewayMcpTarget(
            self,
            "Target",
            gateway=shared.gateway,
            target_name=entry.name,
            description=target_description(entry, lock, image),
            endpoint=endpoint,
            credentials=credentials,
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
            credentials=oauth_credentials(
                self,
                provider_arn=access.provider.credential_provider_arn,
                provider_name=access.provider_name,
                scopes=[access.pool.scope_string],
            ),
            # Creating the target synchronizes its tools at once, with a token from the pool's domain.
            wait_for=[access.gate],
        )
        self.outputs = {
            f"{label}RuntimeArn": self.server.runtime.agent_runtime_arn,
            f"{label}TargetId": self.target.target.target_id,
        }


class ExistingMcpEntry(McpEntry):
    """An HTTPS MCP endpoint run elsewhere, and how the gateway authenticates to it: OAuth client credentials (its own
    credential provider, the client secret a Secrets Manager reference), an API key (an API-key credential provider,
    the key copied from Secrets Manager), or the gateway's own role (SigV4, with the grants the entry declares)."""

    def __init__(self, scope: Construct, construct_id: str, *, entry: ExistingEntry, shared: SharedResources) -> None:
        super().__init__(scope, construct_id)
        label = pascal(entry.name)
        credentials: agentcore.ICredentialProviderConfig
        if entry.iam is None:
            credentials = provider_credentials(self, shared, entry.name, entry.api_key, entry.oauth)
        else:
            credentials = agentcore.GatewayCredentialProvider.from_iam_role(
                service=entry.iam.service, region=entry.iam.region
            )
            self.grants = declared_grants(entry.name, entry.iam.grants)
        self.target = self._target(
            shared, entry, image=None, endpoint=entry.endpoint, credentials=credentials, wait_for=[]
        )
        without_default_prefix(self.target.target, entry.api_key)
        self.outputs = {f"{label}TargetId": self.target.target.target_id}
