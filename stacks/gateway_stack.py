"""The AgentCore Gateway: one MCP endpoint with semantic tool search, guarded by the gateway pool's JWTs, and where its
logs and traces go (a log group, and X-Ray for the gateway's and the runtimes' traces)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam

from app_config import AppConfig
from constructs import Construct
from constructs.adopted_log_group import AdoptedLogGroup
from constructs.agent_access import GatewayAccess
from constructs.custom_resource_handlers import HandlerEndpoint
from constructs.m2m_user_pool import M2MUserPool
from constructs.naming import name_logical_id
from constructs.observability import TraceDelivery, deliver, log_group_destination


class GatewayStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        role: iam.Role,
        inbound_pool: M2MUserPool,
        agent_client_ids: Sequence[str],
        handlers: HandlerEndpoint,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        names = config.names
        # The agents' tool permissions (config/agents.yaml) are Cedar policies of this engine, declared in the agents
        # stack once the targets (and so the tools the policies name) exist.
        self.access = GatewayAccess(
            self,
            "Access",
            engine_name=names.policy_engine,
            description=f"Which agent may call which tool through {names.gateway}",
        )
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
            # Exactly the configured agents' clients (each read from the cognito stack by a weak reference, so
            # removing an agent deploys: the cognito stack drops its client before this stack drops its id), with the
            # pool's invoke scope their tokens carry. The scope also keeps every later update deployable: a gateway
            # created without AllowedScopes has them stored as [] and then fails each update ("AllowedScopes minimum
            # 1", aws-cloudformation/cloudformation-coverage-roadmap#2528).
            authorizer_configuration=agentcore.GatewayAuthorizer.using_custom_jwt(
                discovery_url=inbound_pool.discovery_url,
                allowed_clients=list(agent_client_ids),
                allowed_scopes=[inbound_pool.scope_string],
            ),
            policy_engine_configuration=agentcore.GatewayPolicyEngineConfig(
                policy_engine=self.access.engine, mode=agentcore.PolicyEngineMode.of(config.environment.policy_mode)
            ),
        )
        # The gateway checks its role's permissions on the engine when the engine is attached: the role's own stack
        # grants them (GatewayServiceRole), a wave earlier, so that IAM has propagated them by then.
        name_logical_id(self.access.engine, "PolicyEngine")
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
        # Application logs: one line per request the gateway handles (method, tool, outcome, latency). The group has a
        # fixed name and prod keeps it: adopted (created if missing, then configured), so that a retry after a failed
        # first create, or a deploy after a destroy, takes it over instead of failing with "already exists".
        self.log_group = AdoptedLogGroup(
            self,
            "GatewayLogs",
            handlers=handlers,
            log_group_name=names.gateway_log_group,
            log_retention_days=config.log_retention_days,
            retain_data=config.retain_data,
            tags=config.tags,
        )
        name_logical_id(self.log_group.resource, "GatewayLogs")
        logs_destination = log_group_destination(
            self,
            "GatewayLogsDestination",
            name=names.delivery_source(names.gateway, "APPLICATION_LOGS"),
            log_group_arn=self.log_group.arn,
        )
        # CloudWatch Logs checks the destination's group when the destination is created: the group exists first.
        logs_destination.node.add_dependency(self.log_group.resource)
        deliver(
            self,
            "GatewayLogs",
            source_name=names.delivery_source(names.gateway, "APPLICATION_LOGS"),
            log_type="APPLICATION_LOGS",
            resource_arn=self.gateway.gateway_arn,
            destination_arn=logs_destination.attr_arn,
        )
        # Traces: the gateway's and, from the targets stacks, every hosted runtime's, into X-Ray.
        self.traces = TraceDelivery(self, "Traces", name=names.trace_destination)
        name_logical_id(self.traces.destination, "TracesDestination")
        deliver(
            self,
            "GatewayTraces",
            source_name=names.delivery_source(names.gateway, "TRACES"),
            log_type="TRACES",
            resource_arn=self.gateway.gateway_arn,
            destination_arn=self.traces.destination_arn,
        )
        CfnOutput(self, "GatewayLogGroup", value=self.log_group.log_group_name)

        gateway_url = self.gateway.gateway_url
        assert gateway_url is not None  # a token: the gateway is created here
        CfnOutput(self, "GatewayUrl", value=gateway_url)
        CfnOutput(self, "GatewayId", value=self.gateway.gateway_id)
        CfnOutput(self, "PolicyEngineMode", value=config.environment.policy_mode)
