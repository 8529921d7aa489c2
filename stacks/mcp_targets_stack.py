"""The gateway targets of one shard: one per config entry, with its OAuth grant, readiness gate and catalog sync."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, CfnWaitConditionHandle, Duration, SecretValue, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam
from constructs import Construct

from app_config import AppConfig, ExistingTarget, HostedTarget, pascal
from gateway_constructs import name_logical_id
from gateway_constructs.client_secret import pool_credential_provider
from gateway_constructs.m2m_user_pool import M2MUserPool
from gateway_constructs.mcp_target import GatewayMcpTarget
from gateway_constructs.runtime_url import runtime_invocation_url
from gateway_constructs.target_sync import GatewayTargetSync
from gateway_constructs.token_gate import TokenEndpointGate
from stacks.mcp_servers_stack import McpServersStack


class McpTargetsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        shard: int,
        gateway: agentcore.Gateway,
        gateway_role: iam.IRole,
        runtime_pool: M2MUserPool,
        runtime_pool_provider: agentcore.OAuth2CredentialProvider,
        servers: McpServersStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.targets: dict[str, GatewayMcpTarget] = {}
        self._gates: dict[str, TokenEndpointGate] = {}
        names = config.names
        for entry in config.shard(shard):
            label = pascal(entry.name)
            server = servers.servers.get(entry.name) if isinstance(entry, HostedTarget) else None
            if server is None:
                provider_name = names.target_provider(entry.name)
                provider = self._existing_provider(label, entry, provider_name)
                endpoint, scopes, wait_for = entry.endpoint, list(entry.scopes), []
            else:
                pool = server.inbound_pool
                if pool is runtime_pool:
                    provider, provider_name = runtime_pool_provider, names.credential_provider
                else:
                    provider_name = names.target_provider(entry.name)
                    provider = self._pool_provider(label, pool, provider_name)
                endpoint = runtime_invocation_url(server.runtime.agent_runtime_arn)
                scopes = [pool.scope_string]
                # Creating the target synchronizes its tools at once, with a token from the pool's new domain.
                wait_for = [self._gate(label, pool, pool is runtime_pool)]
            target = GatewayMcpTarget(
                self,
                label,
                gateway=gateway,
                target_name=entry.name,
                description=entry.description,
                endpoint=endpoint,
                provider_arn=provider.credential_provider_arn,
                provider_name=provider_name,
                scopes=scopes,
                wait_for=wait_for,
            )
            if server is not None:
                # An image-only change updates the runtime in place and leaves the target (and the gateway's
                # cached catalog) untouched; the image hash as trigger re-synchronizes on every new image.
                sync = GatewayTargetSync(
                    self,
                    f"{label}Sync",
                    gateway_id=gateway.gateway_id,
                    gateway_arn=gateway.gateway_arn,
                    target_id=target.target.target_id,
                    trigger=server.image.asset_hash,
                    log_retention_days=config.log_retention_days,
                    retain=config.retain_data,
                    timeout=Duration.minutes(config.sync_timeout_minutes),
                )
                name_logical_id(sync.resource, f"{label}Sync")
            name_logical_id(target.target, f"{label}Target")
            CfnOutput(self, f"{label}TargetId", value=target.target.target_id)
            self.targets[entry.name] = target
        if not self.targets:
            # A shard without targets stays deployed (empty), so removing its last entry deletes what it held.
            CfnWaitConditionHandle(self, "EmptyShard")

    def _gate(self, label: str, pool: M2MUserPool, shared: bool) -> TokenEndpointGate:
        key = "RuntimePool" if shared else label
        if key not in self._gates:
            self._gates[key] = TokenEndpointGate(
                self,
                f"{key}TokenGate",
                user_pool=pool.user_pool,
                client=pool.client,
                token_endpoint=pool.token_endpoint,
                scope_string=pool.scope_string,
                log_retention_days=self.config.log_retention_days,
                retain=self.config.retain_data,
            )
        return self._gates[key]

    def _pool_provider(self, label: str, pool: M2MUserPool, name: str) -> agentcore.OAuth2CredentialProvider:
        """A provider for a hosted server with its own pool; the secret is read here, as in CredentialProviderStack."""
        return pool_credential_provider(
            self,
            label,
            pool=pool,
            provider_name=name,
            retention_days=self.config.log_retention_days,
            retain=self.config.retain_data,
        )

    def _existing_provider(self, label: str, entry: ExistingTarget, name: str) -> agentcore.OAuth2CredentialProvider:
        provider = agentcore.OAuth2CredentialProvider.using_custom(
            self,
            f"{label}OAuthProvider",
            o_auth2_credential_provider_name=name,
            discovery_url=entry.discovery_url,
            client_id=entry.client_id,
            # A dynamic reference, resolved by CloudFormation at deploy time: the template holds the secret's
            # name, never its value, and the config file only ever names it.
            client_secret=SecretValue.secrets_manager(entry.client_secret_name),
        )
        name_logical_id(provider, f"{label}OAuthProvider")
        return provider
