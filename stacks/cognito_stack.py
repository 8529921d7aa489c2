"""Identity: the two machine-to-machine user pools (gateway inbound, runtime), the runtime pool's credential
provider, and the custom-resource handler every stack's custom resources share."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, Duration, Stack
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from app_config import DEPLOYMENT_TAG, AppConfig, pascal
from app_config.rules import agent_client_output
from gateway_constructs import name_logical_id
from gateway_constructs.custom_resource_handlers import CustomResourceHandlers
from gateway_constructs.m2m_user_pool import M2MUserPool
from gateway_constructs.token_gate import TokenEndpointGate

# How long a deploy waits for a new Cognito domain to issue tokens before it fails.
TOKEN_GATE_WAIT = Duration.minutes(10)


class CognitoStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: AppConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        names = config.names
        account = config.account or Aws.ACCOUNT_ID

        def pool(construct_id: str, role: str, purpose: str, client_name: str | None) -> M2MUserPool:
            return M2MUserPool(
                self,
                construct_id,
                user_pool_name=names.user_pool(role),
                resource_server_id=names.resource_server(role),
                client_name=client_name,
                domain_prefix=names.domain_prefix(role, account),
                purpose=purpose,
                retain_data=config.retain_data,
            )

        # The gateway pool's clients are the agents' (config/agents.yaml), one each; the runtime pool has one, the
        # gateway's way to reach the hosted servers.
        self.gateway_pool = pool("GatewayPool", "gateway", "AgentCore Gateway", None)
        self.runtime_pool = pool("RuntimePool", "runtime", "MCP server runtime", names.app_client("runtime"))
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

        # The credential provider lives beside the pool whose client secret it holds (GetAtt, same stack).
        self.runtime_provider = self.runtime_pool.credential_provider(
            "RuntimeOAuthProvider", provider_name=names.credential_provider
        )
        name_logical_id(self.runtime_provider, "RuntimeOAuthProvider")

        self.handlers = CustomResourceHandlers(
            self,
            "CustomResourceHandlers",
            runtime_prefix=names.runtime_prefix,
            pool_tag=(DEPLOYMENT_TAG, names.base),
            wait=TOKEN_GATE_WAIT,
            log_retention_days=config.log_retention_days,
            retain_data=config.retain_data,
        )
        # Hosted targets synchronize their tools with a token from the runtime pool's new domain as soon as they
        # are created; every targets stack deploys after this stack, so after this gate.
        self.runtime_gate = TokenEndpointGate(
            self, "RuntimePoolTokenGate", handlers=self.handlers.endpoint, pool=self.runtime_pool
        )
        name_logical_id(self.runtime_gate.resource, "RuntimePoolTokenGate")

        # What an agent needs to get a gateway token (with its Agent<Name>ClientId); its client secret is read at run
        # time, never output.
        CfnOutput(self, "GatewayUserPoolId", value=self.gateway_pool.user_pool.user_pool_id)
        CfnOutput(self, "GatewayTokenEndpoint", value=self.gateway_pool.token_endpoint)
        CfnOutput(self, "GatewayScope", value=self.gateway_pool.scope_string)
        CfnOutput(self, "CredentialProviderArn", value=self.runtime_provider.credential_provider_arn)
