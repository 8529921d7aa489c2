"""Identity: the two machine-to-machine user pools (gateway inbound, runtime), the agents' clients of the gateway
pool, and the custom-resource handler every stack's custom resources share."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, Duration, Stack
from aws_cdk import aws_cognito as cognito

from app_config import DEPLOYMENT_TAG, AppConfig, pascal
from app_config.rules import agent_client_output
from constructs import Construct
from constructs.custom_resource_handlers import CustomResourceHandlers
from constructs.m2m_user_pool import M2MUserPool
from constructs.naming import name_logical_id

# How long a deploy waits for a new Cognito domain to issue tokens before it fails.
TOKEN_GATE_WAIT = Duration.minutes(10)


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
                domain_prefix=names.domain_prefix(role, account),
                purpose=purpose,
                retain_data=config.retain_data,
            )

        # The gateway pool's clients are the agents' (config/agents.yaml), one each; the runtime pool's one client, the
        # gateway's way to reach the hosted servers, is in the credential-provider stack with the provider holding it.
        self.gateway_pool = pool("GatewayPool", "gateway", "AgentCore Gateway")
        self.runtime_pool = pool("RuntimePool", "runtime", "MCP server runtime")
        self.gateway_pool.name_logical_ids("Gateway")
        self.runtime_pool.name_logical_ids("Runtime")
        self.agent_clients: dict[str, cognito.UserPoolClient] = {}
        for agent in config.agents.entries:
            label = f"Agent{pascal(agent.name)}"
            client = self.gateway_pool.add_client(label, names.agent_client(agent.name))
            # Named after the agent: adding or removing one leaves every other agent's client (and secret) alone.
            name_logical_id(client, f"{label}Client")
            self.agent_clients[agent.name] = client
            # What agents, the smoke and the other stacks read.
            CfnOutput(self, agent_client_output(agent.name), value=client.user_pool_client_id)

        self.handlers = CustomResourceHandlers(
            self,
            "CustomResourceHandlers",
            runtime_prefix=names.runtime_prefix,
            pool_tag=(DEPLOYMENT_TAG, names.base),
            wait=TOKEN_GATE_WAIT,
            log_retention_days=config.log_retention_days,
            retain_data=config.retain_data,
            # The gateway stack's log group, adopted by name (see constructs/adopted_log_group.py), and the log groups
            # of the Lambda functions built for entries, by their names' prefix (one grant whatever their number).
            adopted_log_groups=[names.gateway_log_group, names.tool_function_log_groups],
        )
        # What an agent needs to get a gateway token (with its Agent<Name>ClientId); its client secret is read at run
        # time, never output.
        CfnOutput(self, "GatewayUserPoolId", value=self.gateway_pool.user_pool.user_pool_id)
        CfnOutput(self, "GatewayTokenEndpoint", value=self.gateway_pool.token_endpoint)
        CfnOutput(self, "GatewayScope", value=self.gateway_pool.scope_string)
