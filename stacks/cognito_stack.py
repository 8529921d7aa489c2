"""The two machine-to-machine user pools: one guards the gateway (inbound), one guards the MCP server's runtime."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, Stack
from constructs import Construct

from app_config import AppConfig
from gateway_constructs.m2m_user_pool import M2MUserPool


class CognitoStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: AppConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        names = config.names
        account = config.account or Aws.ACCOUNT_ID

        def pool(construct_id: str, role: str, purpose: str) -> M2MUserPool:
            return M2MUserPool(
                self,
                construct_id,
                user_pool_name=names.user_pool(role),
                resource_server_id=names.resource_server(role),
                client_name=names.app_client(role),
                domain_prefix=names.domain_prefix(role, account),
                purpose=purpose,
                retain=config.retain_data,
            )

        self.gateway_pool = pool("GatewayPool", "gateway", "AgentCore Gateway")
        self.runtime_pool = pool("RuntimePool", "runtime", "MCP server runtime")
        self.gateway_pool.name_logical_ids("Gateway")
        self.runtime_pool.name_logical_ids("Runtime")

        # What an agent needs to get a gateway token; the client secret is read at run time, never output.
        CfnOutput(self, "GatewayUserPoolId", value=self.gateway_pool.user_pool.user_pool_id)
        CfnOutput(self, "GatewayClientId", value=self.gateway_pool.client.user_pool_client_id)
        CfnOutput(self, "GatewayTokenEndpoint", value=self.gateway_pool.token_endpoint)
        CfnOutput(self, "GatewayScope", value=self.gateway_pool.scope_string)
