"""The example MCP server: a linux/arm64 image asset hosted in AgentCore Runtime behind the runtime pool's JWTs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_ecr_assets as ecr_assets
from constructs import Construct

from app_config import AppConfig
from gateway_constructs import name_logical_id
from gateway_constructs.log_groups import managed_log_group
from gateway_constructs.m2m_user_pool import M2MUserPool
from gateway_constructs.nag import acknowledge, nag_arn

MCP_SERVER_DIR = Path(__file__).resolve().parent.parent / "mcp_server"


class McpServerStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        inbound_pool: M2MUserPool,
        source_dir: Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # An explicit asset (not AgentRuntimeArtifact.from_asset) so its hash can drive the target's re-sync.
        self.image = ecr_assets.DockerImageAsset(
            self, "Image", directory=str(source_dir or MCP_SERVER_DIR), platform=ecr_assets.Platform.LINUX_ARM64
        )
        self.artifact = agentcore.AgentRuntimeArtifact.from_ecr_repository(self.image.repository, self.image.image_tag)
        self.runtime = agentcore.Runtime(
            self,
            "Runtime",
            runtime_name=config.names.runtime,
            description=f"Example MCP server ({config.env_name})",
            agent_runtime_artifact=self.artifact,
            protocol_configuration=agentcore.ProtocolType.MCP,
            authorizer_configuration=agentcore.RuntimeAuthorizerConfiguration.using_jwt(
                inbound_pool.discovery_url, allowed_clients=[inbound_pool.client.user_pool_client_id]
            ),
        )
        name_logical_id(self.runtime, "McpServerRuntime")
        # The service creates this log group on the first invocation and never deletes it. Declaring it
        # here, before any invocation (the target that first calls the runtime lives in a later stack),
        # gives it a retention and lets `cdk destroy` remove it in dev.
        self.log_group = managed_log_group(
            self,
            "RuntimeLogs",
            log_group_name=f"/aws/bedrock-agentcore/runtimes/{self.runtime.agent_runtime_id}-DEFAULT",
            retention_days=config.log_retention_days,
            retain=config.retain_data,
        )
        self._acknowledge_execution_role_wildcards()
        CfnOutput(self, "RuntimeArn", value=self.runtime.agent_runtime_arn)

    def _acknowledge_execution_role_wildcards(self) -> None:
        policy = self.runtime.role.node.find_child("DefaultPolicy")
        runtimes = "log-group:/aws/bedrock-agentcore/runtimes/*"
        findings = {
            "Resource::*": "X-Ray, ecr:GetAuthorizationToken and cloudwatch:PutMetricData (conditioned on the "
            "bedrock-agentcore namespace) do not support resource-level permissions.",
            "Resource::" + nag_arn(self, "logs", runtimes): "The runtime's log group is named after its "
            "service-generated id; the grant stays under AgentCore's runtime log prefix.",
            "Resource::" + nag_arn(self, "logs", runtimes + ":log-stream:*"): "Log streams of the runtime's own "
            "log group, whose name carries the service-generated runtime id.",
            "Resource::" + nag_arn(self, "logs", "log-group:*"): "logs:DescribeLogGroups is a list action that "
            "only accepts the log-group:* resource.",
            "Resource::" + nag_arn(self, "bedrock-agentcore", "workload-identity-directory/default/workload-identity/*"):
            "The runtime's workload identity is created by the service and named after the runtime id.",
        }
        for finding, reason in findings.items():
            acknowledge(policy, f"AwsSolutions-IAM5[{finding}]", reason)
