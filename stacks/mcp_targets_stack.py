"""The MCP servers of one shard: per config entry, its gateway target and what the target reaches (a hosted
runtime with its log group, or an existing server's credential provider)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, CfnWaitConditionHandle, Duration, SecretValue, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from constructs import Construct, IConstruct

from app_config import AppConfig, ExistingTarget, HostedTarget, pascal
from gateway_constructs import name_logical_id
from gateway_constructs.hosted_server import HostedMcpServer
from gateway_constructs.m2m_user_pool import M2MUserPool
from gateway_constructs.mcp_target import GatewayMcpTarget
from gateway_constructs.runtime_url import runtime_invocation_url
from gateway_constructs.token_gate import TokenEndpointGate


class McpTargetsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        shard: int,
        gateway: agentcore.Gateway,
        runtime_pool: M2MUserPool,
        runtime_pool_provider: agentcore.OAuth2CredentialProvider,
        service_token: str,
        service_timeout: Duration,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.targets: dict[str, GatewayMcpTarget] = {}
        self.servers: dict[str, HostedMcpServer] = {}
        names = config.names
        for entry in config.shard(shard):
            label = pascal(entry.name)
            wait_for: list[IConstruct] = []
            if isinstance(entry, HostedTarget):
                pool, provider, provider_name = runtime_pool, runtime_pool_provider, names.credential_provider
                if entry.own_pool:
                    pool = M2MUserPool(
                        self,
                        f"{label}Pool",
                        user_pool_name=names.user_pool(entry.name),
                        resource_server_id=names.resource_server(entry.name),
                        client_name=names.app_client(entry.name),
                        domain_prefix=names.domain_prefix(entry.name, config.account or Aws.ACCOUNT_ID),
                        purpose=f"MCP server {entry.name}",
                        retain=config.retain_data,
                    )
                    pool.name_logical_ids(label)
                    provider_name = names.target_provider(entry.name)
                    provider = pool.credential_provider(f"{label}OAuthProvider", provider_name=provider_name)
                    name_logical_id(provider, f"{label}OAuthProvider")
                    # Creating the target synchronizes its tools at once, with a token from the pool's new domain.
                    gate = TokenEndpointGate(
                        self,
                        f"{label}TokenGate",
                        service_token=service_token,
                        service_timeout=service_timeout,
                        pool=pool,
                    )
                    name_logical_id(gate.resource, f"{label}TokenGate")
                    wait_for.append(gate)
                server = HostedMcpServer(
                    self,
                    f"{label}Server",
                    source_dir=entry.path,
                    runtime_name=names.runtime(entry.name),
                    description=entry.description,
                    inbound_pool=pool,
                    log_retention_days=config.log_retention_days,
                    retain=config.retain_data,
                    tags=config.tags,
                    service_token=service_token,
                    service_timeout=service_timeout,
                    session_timeout=Duration.seconds(config.session_timeout_seconds),
                    idle_timeout=Duration.seconds(config.runtime_idle_timeout_seconds),
                    platform_version=config.runtime_platform_version,
                )
                name_logical_id(server.runtime, f"{label}Runtime")
                name_logical_id(server.log_group.resource, f"{label}RuntimeLogGroup")
                CfnOutput(self, f"{label}RuntimeArn", value=server.runtime.agent_runtime_arn)
                self.servers[entry.name] = server
                endpoint, scopes = runtime_invocation_url(server.runtime.agent_runtime_arn), [pool.scope_string]
                # An image-only change updates the runtime in place and leaves the target alone; with the image's
                # hash in its description the target is updated too, and UpdateGatewayTarget re-synchronizes
                # its tools (implicit synchronization, DEFAULT listing mode), after the runtime (its endpoint
                # refers to it) and with CloudFormation's own permissions.
                description = f"{entry.description} (image {server.image.asset_hash[:12]})"
            else:
                provider_name = names.target_provider(entry.name)
                provider = self._existing_provider(label, entry, provider_name)
                endpoint, scopes, description = entry.endpoint, list(entry.scopes), entry.description
            target = GatewayMcpTarget(
                self,
                label,
                gateway=gateway,
                target_name=entry.name,
                description=description,
                endpoint=endpoint,
                provider_arn=provider.credential_provider_arn,
                provider_name=provider_name,
                scopes=scopes,
                wait_for=wait_for,
            )
            name_logical_id(target.target, f"{label}Target")
            CfnOutput(self, f"{label}TargetId", value=target.target.target_id)
            self.targets[entry.name] = target
        if not self.targets:
            # A shard without targets stays deployed (empty), so removing its last entry deletes what it held.
            CfnWaitConditionHandle(self, "EmptyShard")

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
