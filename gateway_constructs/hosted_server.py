"""An MCP server hosted in AgentCore Runtime: a linux/arm64 image asset behind a JWT authorizer, with its log group."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from aws_cdk import Duration, Token
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_ecr_assets as ecr_assets
from constructs import Construct

from gateway_constructs.custom_resource_handlers import HandlerEndpoint
from gateway_constructs.m2m_user_pool import M2MUserPool
from gateway_constructs.nag import acknowledge, nag_arn
from gateway_constructs.runtime_log_group import RuntimeLogCleanup, RuntimeLogGroup


@dataclass(frozen=True)
class RuntimeSettings:
    """How a runtime keeps sessions: as long as the gateway keeps a target's session (`session_timeout`, the
    runtime's max lifetime), ended after `idle_timeout` without calls; on `platform_version` (V1 or V2)."""

    session_timeout: Duration
    idle_timeout: Duration
    platform_version: str

    def __post_init__(self) -> None:
        # AgentCore Runtime's ranges for microVMs (and the L2's): 60-28800 s, idle at most the max lifetime.
        idle, session = self.idle_timeout.to_seconds(), self.session_timeout.to_seconds()
        if not 60 <= idle <= session <= 28800:
            raise ValueError(
                f"runtime idle timeout {idle:g} s and lifetime {session:g} s must satisfy 60 <= idle <= lifetime <= 28800"
            )


class HostedMcpServer(Construct):
    """A linux/arm64 image asset of `source_dir`, in an AgentCore Runtime (MCP, JWT allowing only `inbound_pool`'s
    client), with the runtime's log group adopted (retention, tags, deletion unless `retain_data`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source_dir: Path,
        runtime_name: str,
        description: str,
        inbound_pool: M2MUserPool,
        log_retention_days: int,
        retain_data: bool,
        tags: Mapping[str, str],
        settings: RuntimeSettings,
        handlers: HandlerEndpoint,
    ) -> None:
        super().__init__(scope, construct_id)
        if not Token.is_unresolved(description) and not 1 <= len(description) <= 1200:
            raise ValueError(f"{self.node.path}: a runtime description has 1-1200 characters, got {len(description)}")
        self.inbound_pool = inbound_pool
        # An explicit asset (not AgentRuntimeArtifact.from_asset) so its hash can reach the target's description.
        self.image = ecr_assets.DockerImageAsset(
            self, "Image", directory=str(source_dir), platform=ecr_assets.Platform.LINUX_ARM64
        )
        self.runtime = agentcore.Runtime(
            self,
            "Runtime",
            runtime_name=runtime_name,
            description=description,
            agent_runtime_artifact=agentcore.AgentRuntimeArtifact.from_ecr_repository(
                self.image.repository, self.image.image_tag
            ),
            protocol_configuration=agentcore.ProtocolType.MCP,
            authorizer_configuration=agentcore.RuntimeAuthorizerConfiguration.using_jwt(
                inbound_pool.discovery_url, allowed_clients=[inbound_pool.client.user_pool_client_id]
            ),
            # A gateway session keeps one runtime session per target; the runtime must not end it before the
            # gateway lets go of its id (max lifetime), and ends it once idle for `idle_timeout`.
            lifecycle_configuration=agentcore.LifecycleConfiguration(
                idle_runtime_session_timeout=settings.idle_timeout, max_lifetime=settings.session_timeout
            ),
            platform_version=agentcore.PlatformVersion.of(settings.platform_version),
        )
        # The service creates this log group with the runtime and never deletes it or expires its events.
        self.log_group = RuntimeLogGroup(
            self,
            "Logs",
            handlers=handlers,
            runtime=self.runtime,
            log_retention_days=log_retention_days,
            tags=tags,
        )
        self.log_cleanup: RuntimeLogCleanup | None = None
        if not retain_data:
            self.log_cleanup = RuntimeLogCleanup(self, "LogCleanup", handlers=handlers, runtime_name=runtime_name)
            self.runtime.node.add_dependency(self.log_cleanup)
        self._acknowledge_execution_role_wildcards()

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
            "Resource::"
            + nag_arn(
                self, "bedrock-agentcore", "workload-identity-directory/default/workload-identity/*"
            ): "The runtime's workload identity is created by the service and named after the runtime id.",
        }
        for finding, reason in findings.items():
            acknowledge(policy, f"AwsSolutions-IAM5[{finding}]", reason)
