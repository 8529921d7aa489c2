"""The app's stacks, one module each, and the one place where they are wired together."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, Environment, Tags

from app_config import AppConfig
from stacks.cognito_stack import CognitoStack
from stacks.credential_provider_stack import CredentialProviderStack
from stacks.gateway_role_stack import GatewayRoleStack
from stacks.gateway_stack import GatewayStack
from stacks.mcp_server_stack import McpServerStack
from stacks.mcp_target_stack import McpTargetStack


@dataclass(frozen=True)
class GatewayApp:
    cognito: CognitoStack
    gateway_role: GatewayRoleStack
    gateway: GatewayStack
    credential_provider: CredentialProviderStack
    mcp_server: McpServerStack
    mcp_target: McpTargetStack

    @property
    def stacks(self) -> tuple:
        return (self.cognito, self.gateway_role, self.gateway, self.credential_provider, self.mcp_server, self.mcp_target)


def build(app: App, config: AppConfig) -> GatewayApp:
    names = config.names
    common = dict(
        env=Environment(account=config.account, region=config.region),
        termination_protection=config.retain_data,
    )
    cognito = CognitoStack(app, "Cognito", stack_name=names.stack("cognito"), config=config, **common)
    role = GatewayRoleStack(app, "GatewayRole", stack_name=names.stack("gateway-role"), config=config, **common)
    gateway = GatewayStack(
        app, "Gateway", stack_name=names.stack("gateway"), config=config,
        role=role.role, inbound_pool=cognito.gateway_pool, **common,
    )
    provider = CredentialProviderStack(
        app, "CredentialProvider", stack_name=names.stack("credential-provider"), config=config,
        runtime_pool=cognito.runtime_pool, **common,
    )
    server = McpServerStack(
        app, "McpServer", stack_name=names.stack("mcp-server"), config=config,
        inbound_pool=cognito.runtime_pool, **common,
    )
    target = McpTargetStack(
        app, "McpTarget", stack_name=names.stack("mcp-target"), config=config,
        gateway=gateway.gateway, gateway_role=role.role, runtime=server.runtime, image_hash=server.image.asset_hash,
        runtime_pool=cognito.runtime_pool, provider=provider.provider, **common,
    )
    result = GatewayApp(cognito, role, gateway, provider, server, target)
    for stack in result.stacks:
        for key, value in config.tags.items():
            Tags.of(stack).add(key, value)
    return result
