"""The agents' access to the gateway: one Cedar policy per agent (which tools it may call) and the gateway's rate
limit per agent. Deployed after every targets stack: the policy engine checks each policy against the gateway's
tool catalog, which holds a target's tools only once the target exists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_bedrockagentcore as agentcore

from app_config import AppConfig, pascal
from constructs import Construct
from constructs.agent_access import AgentGrant, AgentPolicies, AgentRateLimit
from constructs.naming import name_logical_id

# The rate limit's id starts with this; its end is derived from its dimension keys (agent_access.rate_limit_id).
RATE_LIMIT_NAME = "agents"


class AgentsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        gateway: agentcore.IGateway,
        engine: agentcore.IPolicyEngine,
        client_ids: Mapping[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        names, agents = config.names, config.agents
        grants = [
            AgentGrant(
                name=agent.name,
                policy_name=names.agent_policy(agent.name),
                description=agent.text,
                client_id=client_ids[agent.name],
                tools=agents.allowed(agent.name),
                rate=(agent.rate_limit.requests, agent.rate_limit.per) if agent.rate_limit else None,
            )
            for agent in agents.active
        ]
        self.policies = AgentPolicies(self, "Policies", engine=engine, gateway_arn=gateway.gateway_arn, agents=grants)
        for agent_name, policy in self.policies.policies.items():
            # Named after the agent: adding or removing one leaves the other agents' policies alone.
            name_logical_id(policy, f"Agent{pascal(agent_name)}Policy")
        default = agents.default_rate_limit
        self.rate_limit = AgentRateLimit(
            self,
            "RateLimit",
            gateway_id=gateway.gateway_id,
            name=RATE_LIMIT_NAME,
            agents=grants,
            default=(default.requests, default.per),
        )
        name_logical_id(self.rate_limit.resource, "AgentRateLimit")
