"""An MCP server hosted in AgentCore Runtime: a linux/arm64 image asset behind a JWT authorizer, with its log group."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from aws_cdk import Annotations, Duration, Stack, Token
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam

from constructs import Construct
from constructs.custom_resource_handlers import HandlerEndpoint
from constructs.nag import acknowledge, nag_arn
from constructs.naming import name_logical_id
from constructs.observability import deliver
from constructs.pool_credential_provider import PoolCredentialProvider
from constructs.runtime_log_group import RuntimeLogCleanup, RuntimeLogGroup


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


class RuntimeExecutionRole(Construct):
    """The execution role of every hosted runtime of a stack, trusted only by this deployment's runtimes.

    The Runtime L2 makes a role and a policy per runtime, and adds its statements again for each runtime that
    shares one (they do not merge: a shared role's policy would outgrow IAM's quota). This role is handed to the L2
    immutable and holds the L2's grants once, in one policy of fixed size: a shard's runtimes cost two IAM
    resources, not two each. The grants are the AgentCore developer guide's execution role ("IAM Permissions for
    AgentCore Runtime", https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/runtime-permissions.html) and
    the L2's (aws-cdk-lib 2.275, Runtime.addExecutionRolePermissions and the image pull), narrowed: the image pull to
    the asset repository (the guide's example allows repository/*), log groups and workload identities to this
    deployment's runtimes. aws_rules' runtime-execution-role rule checks them for every runtime.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, runtime_prefix: str, repository: ecr.IRepository
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)

        def arn(service: str, resource: str) -> str:
            return f"arn:{stack.partition}:{service}:{stack.region}:{stack.account}:{resource}"

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "bedrock-agentcore.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": arn("bedrock-agentcore", f"runtime/{runtime_prefix}*")},
                },
            ),
            description="Execution role of this deployment's hosted MCP servers (AgentCore Runtime)",
            max_session_duration=Duration.hours(8),
        )
        name_logical_id(self.role, "RuntimeRole")
        # A runtime's log group is /aws/bedrock-agentcore/runtimes/<runtime id>-<endpoint>, its id <name>-<suffix>.
        groups = arn("logs", f"log-group:/aws/bedrock-agentcore/runtimes/{runtime_prefix}*")
        # The service names a runtime's workload identity after the runtime (the guide's workload-identity/agentName-*).
        identities = arn(
            "bedrock-agentcore", f"workload-identity-directory/default/workload-identity/{runtime_prefix}*"
        )
        self.policy = iam.Policy(
            self,
            "Policy",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(actions=["logs:CreateLogGroup", "logs:DescribeLogStreams"], resources=[groups]),
                iam.PolicyStatement(actions=["logs:DescribeLogGroups"], resources=[arn("logs", "log-group:*")]),
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[f"{groups}:log-stream:*"]
                ),
                iam.PolicyStatement(
                    actions=[
                        "xray:GetSamplingRules",
                        "xray:GetSamplingTargets",
                        "xray:PutTelemetryRecords",
                        "xray:PutTraceSegments",
                    ],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringEquals": {"cloudwatch:namespace": "bedrock-agentcore"}},
                ),
                iam.PolicyStatement(
                    actions=[
                        "bedrock-agentcore:GetWorkloadAccessToken",
                        "bedrock-agentcore:GetWorkloadAccessTokenForJWT",
                        "bedrock-agentcore:GetWorkloadAccessTokenForUserId",
                    ],
                    resources=[arn("bedrock-agentcore", "workload-identity-directory/default"), identities],
                ),
                iam.PolicyStatement(
                    actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    resources=[repository.repository_arn],
                ),
                iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
            ],
        )
        name_logical_id(self.policy, "RuntimeRolePolicy")
        logs_prefix = f"log-group:/aws/bedrock-agentcore/runtimes/{runtime_prefix}*"
        findings = {
            "Resource::*": "X-Ray, ecr:GetAuthorizationToken and cloudwatch:PutMetricData (conditioned on the "
            "bedrock-agentcore namespace) do not support resource-level permissions.",
            "Resource::" + nag_arn(self, "logs", logs_prefix): "A runtime's log group is named after its "
            "service-generated id; the grant covers only this deployment's runtimes.",
            "Resource::" + nag_arn(self, "logs", logs_prefix + ":log-stream:*"): "Log streams of this deployment's "
            "runtimes' own log groups, whose names carry the service-generated runtime ids.",
            "Resource::" + nag_arn(self, "logs", "log-group:*"): "logs:DescribeLogGroups is a list action that "
            "only accepts the log-group:* resource.",
            "Resource::"
            + nag_arn(
                self, "bedrock-agentcore", f"workload-identity-directory/default/workload-identity/{runtime_prefix}*"
            ): (
                "A runtime's workload identity is created by the service and named after the runtime; the grant "
                "covers only this deployment's runtimes."
            ),
        }
        for finding, reason in findings.items():
            acknowledge(self.policy, f"AwsSolutions-IAM5[{finding}]", reason)

    @classmethod
    def of(cls, scope: Construct, *, runtime_prefix: str, repository: ecr.IRepository) -> RuntimeExecutionRole:
        """The stack's one execution role, made by its first hosted runtime (every image asset of an app shares the
        bootstrap's repository)."""
        stack = Stack.of(scope)
        found = stack.node.try_find_child("RuntimeExecutionRole")
        if isinstance(found, cls):
            return found
        return cls(stack, "RuntimeExecutionRole", runtime_prefix=runtime_prefix, repository=repository)

    def use(self, runtime: agentcore.Runtime) -> None:
        # The runtime is created after its grants, or its first image pull fails.
        runtime.node.add_dependency(self.policy)


class HostedMcpServer(Construct):
    """A linux/arm64 image asset of `source_dir`, in an AgentCore Runtime (MCP, JWT of `inbound`'s pool allowing only
    its client: the gateway's way in), with the runtime's log group adopted (retention, tags, deletion unless `retain_data`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source_dir: Path,
        runtime_name: str,
        description: str,
        inbound: PoolCredentialProvider,
        log_retention_days: int,
        retain_data: bool,
        tags: Mapping[str, str],
        settings: RuntimeSettings,
        handlers: HandlerEndpoint,
        trace_destination_arn: str,
        runtime_prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        if not Token.is_unresolved(description) and not 1 <= len(description) <= 1200:
            raise ValueError(f"{self.node.path}: a runtime description has 1-1200 characters, got {len(description)}")
        self.inbound = inbound
        # An explicit asset (not AgentRuntimeArtifact.from_asset) so its hash can reach the target's description.
        self.image = ecr_assets.DockerImageAsset(
            self, "Image", directory=str(source_dir), platform=ecr_assets.Platform.LINUX_ARM64
        )
        execution_role = RuntimeExecutionRole.of(self, runtime_prefix=runtime_prefix, repository=self.image.repository)
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
                inbound.pool.discovery_url, allowed_clients=[inbound.client.user_pool_client_id]
            ),
            # A gateway session keeps one runtime session per target; the runtime must not end it before the
            # gateway lets go of its id (max lifetime), and ends it once idle for `idle_timeout`.
            lifecycle_configuration=agentcore.LifecycleConfiguration(
                idle_runtime_session_timeout=settings.idle_timeout, max_lifetime=settings.session_timeout
            ),
            platform_version=agentcore.PlatformVersion.of(settings.platform_version),
            # Immutable: the L2 would add its grants to a shared role once per runtime.
            execution_role=execution_role.role.without_policy_updates(),
        )
        execution_role.use(self.runtime)
        # The L2 checks a container URI's form at synth and says (INFO, once per runtime) when it cannot: ours is
        # always the image asset's, known only once CDK has published it, and always of the form it checks.
        Annotations.of(self.runtime).acknowledge_info(
            "aws-cdk-lib.aws-bedrockagentcore:containerUriValidationSkipped",
            "The URI is this entry's image asset (repository and tag), resolved when the asset is published.",
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
        # The runtime's traces (its spans of each invocation) go to the deployment's X-Ray destination.
        self.traces = deliver(
            self,
            "Traces",
            source_name=f"{runtime_name}-traces",
            log_type="TRACES",
            resource_arn=self.runtime.agent_runtime_arn,
            destination_arn=trace_destination_arn,
        )
        self.log_cleanup: RuntimeLogCleanup | None = None
        if not retain_data:
            self.log_cleanup = RuntimeLogCleanup(self, "LogCleanup", handlers=handlers, runtime_name=runtime_name)
            self.runtime.node.add_dependency(self.log_cleanup)
