"""The app's stacks, one module each, and the one place where they are wired together."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, Environment, Stack, Tags

from app_config import AppConfig
from stacks.cognito_stack import CognitoStack
from stacks.credential_provider_stack import CredentialProviderStack
from stacks.gateway_role_stack import GatewayRoleStack
from stacks.gateway_stack import GatewayStack
from stacks.mcp_servers_stack import McpServersStack
from stacks.mcp_targets_stack import McpTargetsStack


@dataclass(frozen=True)
class GatewayApp:
    cognito: CognitoStack
    gateway_role: GatewayRoleStack
    gateway: GatewayStack
    credential_provider: CredentialProviderStack
    # One pair per shard: entries land by a hash of their name (app_config.shard_of), so adding one
    # changes its own pair and no other stack.
    mcp_servers: tuple[McpServersStack, ...]
    mcp_targets: tuple[McpTargetsStack, ...]

    @property
    def stacks(self) -> tuple[Stack, ...]:
        return (
            self.cognito,
            self.gateway_role,
            self.gateway,
            self.credential_provider,
            *self.mcp_servers,
            *self.mcp_targets,
        )


def build(app: App, config: AppConfig) -> GatewayApp:
    names = config.names
    common = dict(
        env=Environment(account=config.account, region=config.region),
        termination_protection=config.retain_data,
    )
    cognito = CognitoStack(app, "Cognito", stack_name=names.stack("cognito"), config=config, **common)
    role = GatewayRoleStack(app, "GatewayRole", stack_name=names.stack("gateway-role"), config=config, **common)
    gateway = GatewayStack(
        app,
        "Gateway",
        stack_name=names.stack("gateway"),
        config=config,
        role=role.role,
        inbound_pool=cognito.gateway_pool,
        **common,
    )
    provider = CredentialProviderStack(
        app,
        "CredentialProvider",
        stack_name=names.stack("credential-provider"),
        config=config,
        runtime_pool=cognito.runtime_pool,
        **common,
    )
    servers, targets = [], []
    for shard in range(config.shards):
        server_stack = McpServersStack(
            app,
            f"McpServers{shard}",
            stack_name=names.stack(f"mcp-servers-{shard}"),
            config=config,
            shard=shard,
            runtime_pool=cognito.runtime_pool,
            **common,
        )
        targets.append(
            McpTargetsStack(
                app,
                f"McpTargets{shard}",
                stack_name=names.stack(f"mcp-targets-{shard}"),
                config=config,
                shard=shard,
                gateway=gateway.gateway,
                gateway_role=role.role,
                runtime_pool=cognito.runtime_pool,
                runtime_pool_provider=provider.provider,
                servers=server_stack,
                **common,
            )
        )
        servers.append(server_stack)
    # Exported whether or not an entry uses them today: CDK adds an export with its first consumer and drops it
    # with its last, and dropping it would fail (the producer deploys before the consumer lets go), so removing
    # the last entry of a kind could not deploy. Kept exports make the shared stacks independent of the entries.
    for stack, values in (
        (
            cognito,
            (
                cognito.runtime_pool.user_pool.user_pool_id,
                cognito.runtime_pool.user_pool.user_pool_arn,
                cognito.runtime_pool.client.user_pool_client_id,
                cognito.runtime_pool.domain.domain_name,
            ),
        ),
        (role, (role.role.role_name,)),
        (gateway, (gateway.gateway.gateway_id, gateway.gateway.gateway_arn)),
        (provider, (provider.provider.credential_provider_arn,)),
    ):
        for value in values:
            stack.export_value(value)
    result = GatewayApp(cognito, role, gateway, provider, tuple(servers), tuple(targets))
    for stack in result.stacks:
        for key, value in config.tags.items():
            Tags.of(stack).add(key, value)
    return result
