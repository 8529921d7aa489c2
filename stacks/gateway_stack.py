"""The AgentCore Gateway: one MCP endpoint with semantic tool search, guarded by the gateway pool's JWTs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam
from constructs import Construct

from app_config import AppConfig
from gateway_constructs import name_logical_id
from gateway_constructs.m2m_user_pool import M2MUserPool


class GatewayStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        role: iam.Role,
        inbound_pool: M2MUserPool,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.gateway = agentcore.Gateway(
            self,
            "Gateway",
            gateway_name=config.names.gateway,
            description=f"Central MCP gateway ({config.env_name})",
            # Immutable view: the role's own policy grants what every target needs, and the L2 must not add
            # grants (such as its bedrock-agentcore-identity!* secret wildcard) to the role's stack.
            role=role.without_policy_updates(),
            protocol_configuration=agentcore.McpProtocolConfiguration(
                search_type=agentcore.McpGatewaySearchType.SEMANTIC,
                supported_versions=[agentcore.MCPProtocolVersion.of(v) for v in config.settings.mcp_protocol_versions],
            ),
            authorizer_configuration=agentcore.GatewayAuthorizer.using_custom_jwt(
                discovery_url=inbound_pool.discovery_url,
                allowed_clients=[inbound_pool.client.user_pool_client_id],
            ),
        )
        # The gateway reuses a target's MCP session (and so the runtime microVM behind it) across an agent's tool
        # calls only with a session timeout; without one each call may start a new microVM (a cold start). The L2
        # (aws-cdk-lib 2.275) does not expose SessionConfiguration, hence the override.
        cfn = self.gateway.node.default_child
        assert isinstance(cfn, agentcore.CfnGateway)
        cfn.add_property_override(
            "ProtocolConfiguration.Mcp.SessionConfiguration.SessionTimeoutInSeconds",
            config.settings.gateway_session_timeout_seconds,
        )
        name_logical_id(self.gateway, "Gateway")
        gateway_url = self.gateway.gateway_url
        assert gateway_url is not None  # a token: the gateway is created here
        CfnOutput(self, "GatewayUrl", value=gateway_url)
        CfnOutput(self, "GatewayId", value=self.gateway.gateway_id)
