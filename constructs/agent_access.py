"""Which agent may call which tool, and how often: the gateway's policy engine, one Cedar policy per agent, and the
gateway's rate limit keyed on the agent's client id.

AgentCore evaluates a tool call against the gateway's policy engine: default deny, forbid wins. Each agent's token
is a Cognito client-credentials token; the gateway turns its JWT claims into tags of the principal
(`AgentCore::OAuthUser`), so a policy names the agent by its `client_id` claim, and each tool as the action
`AgentCore::Action::"<target>___<tool>"` (Cedar has no wildcard over actions: a whole target is the list of the tools
its entry declares).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam

from constructs import Construct
from constructs.nag import acknowledge, nag_arn

# The claim the policies and the rate limit name an agent by: Cognito puts the app client's id in every access token.
CLIENT_ID_CLAIM = "client_id"
RATE_LIMIT_KEY = f"$.context.jwt.{CLIENT_ID_CLAIM}"


def cedar_permit(*, client_id: str, gateway_arn: str, tools: Sequence[str]) -> str:
    """The Cedar policy that lets the agent with `client_id` call `tools` (gateway tool names) through the gateway.

    The claim is read with hasTag first: reading a tag a token lacks is an error, which denies.
    """
    if not tools:
        raise ValueError("a policy permits at least one tool")
    actions = ", ".join(f'AgentCore::Action::"{tool}"' for tool in tools)
    return (
        "permit(\n"
        "  principal is AgentCore::OAuthUser,\n"
        f"  action in [{actions}],\n"
        f'  resource == AgentCore::Gateway::"{gateway_arn}"\n'
        ") when {\n"
        f'  principal.hasTag("{CLIENT_ID_CLAIM}") && principal.getTag("{CLIENT_ID_CLAIM}") == "{client_id}"\n'
        "};"
    )


class GatewayAccess(Construct):
    """The gateway's policy engine, and the grant its role needs to use it.

    AgentCore's policy permissions: the gateway's role needs GetPolicyEngine on the engine, and AuthorizeAction and
    PartiallyAuthorizeActions on the engine and the gateway; without them attaching the engine fails and every tool
    call is denied. The gateway is handed its role immutable (gateway_stack.py), so the L2's own grant
    (PolicyEngine.grant_evaluate_for_gateway) would be dropped: this policy holds it instead, named for the gateway
    by its name (the policy must exist before the gateway it serves).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        engine_name: str,
        gateway_name: str,
        role: iam.IRole,
        description: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.engine = agentcore.PolicyEngine(self, "Engine", policy_engine_name=engine_name, description=description)
        # Gateway ids are <gateway name>-<10 characters>.
        gateways = f"arn:{stack.partition}:bedrock-agentcore:{stack.region}:{stack.account}:gateway/{gateway_name}-*"
        self.grant = iam.Policy(
            self,
            "Grant",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    sid="ReadPolicyEngine",
                    actions=["bedrock-agentcore:GetPolicyEngine"],
                    resources=[self.engine.policy_engine_arn],
                ),
                iam.PolicyStatement(
                    sid="AuthorizeToolCalls",
                    actions=["bedrock-agentcore:AuthorizeAction", "bedrock-agentcore:PartiallyAuthorizeActions"],
                    resources=[self.engine.policy_engine_arn, gateways],
                ),
            ],
        )
        acknowledge(
            self.grant,
            f"AwsSolutions-IAM5[Resource::{nag_arn(self, 'bedrock-agentcore', f'gateway/{gateway_name}-*')}]",
            "The gateway's id is its name and a suffix the service generates; the grant is created before the gateway "
            "(which checks it when the engine is attached) and names this deployment's gateway only.",
        )


@dataclass(frozen=True)
class AgentGrant:
    """One agent as the policies and the rate limit see it."""

    name: str
    policy_name: str
    description: str
    client_id: str
    tools: tuple[str, ...]
    rate: tuple[int, str] | None  # (requests, "second" | "minute"), or the default


class AgentPolicies(Construct):
    """One Cedar policy per agent in `engine`, created one after another (in name order, so that adding an agent
    never reorders the others): AgentCore creates a policy engine's policies at a few per second."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        engine: agentcore.IPolicyEngine,
        gateway_arn: str,
        agents: Sequence[AgentGrant],
    ) -> None:
        super().__init__(scope, construct_id)
        self.policies: dict[str, agentcore.Policy] = {}
        previous: agentcore.Policy | None = None
        for agent in sorted(agents, key=lambda a: a.name):
            policy = agentcore.Policy(
                self,
                agent.name,
                policy_engine=engine,
                policy_name=agent.policy_name,
                description=agent.description,
                statement=agentcore.PolicyStatement.from_cedar(
                    cedar_permit(client_id=agent.client_id, gateway_arn=gateway_arn, tools=agent.tools)
                ),
                # The schema check (every action a tool of the gateway's catalog) runs whatever the mode; the
                # semantic findings on top would refuse a deliberately narrow permit as "overly restrictive".
                validation_mode=agentcore.PolicyValidationMode.IGNORE_ALL_FINDINGS,
            )
            if previous is not None:
                policy.node.add_dependency(previous)
            previous = policy
            self.policies[agent.name] = policy


class AgentRateLimit(Construct):
    """The gateway's rate limit on each agent's requests, keyed on the client_id claim: an entry per agent with a
    limit of its own, and `*` (the default, counted per agent) for the rest. Fail-open: if the limit cannot be
    evaluated, the gateway lets the request through."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        gateway_id: str,
        rate_limit_id: str,
        agents: Sequence[AgentGrant],
        default: tuple[int, str],
    ) -> None:
        super().__init__(scope, construct_id)

        def entry(value: str, rate: tuple[int, str]) -> agentcore.CfnGatewayRateLimit.LimitEntryProperty:
            requests, period = rate
            return agentcore.CfnGatewayRateLimit.LimitEntryProperty(
                dimensions={RATE_LIMIT_KEY: value},
                requests=[agentcore.CfnGatewayRateLimit.RateConfigProperty(rate=requests, period=period)],
            )

        entries = [
            entry(agent.client_id, agent.rate)
            for agent in sorted(agents, key=lambda a: a.name)
            if agent.rate is not None
        ]
        entries.append(entry("*", default))
        self.resource = agentcore.CfnGatewayRateLimit(
            self,
            "Resource",
            gateway_identifier=gateway_id,
            rate_limit_id=rate_limit_id,
            description="Requests per agent (JWT client_id); agents without a limit of their own get the default each",
            dimension_keys=[RATE_LIMIT_KEY],
            entries=entries,
        )
