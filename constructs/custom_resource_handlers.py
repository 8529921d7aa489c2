"""The one Lambda function behind every custom resource of the app, invoked by CloudFormation directly.

CDK's provider framework would add a second function, its role, policy and log group, to relay an answer the
handler sends itself (custom_resources/response.py): the handlers answer within one invocation, so they need no
framework's waiter either.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from aws_cdk import ArnFormat, CustomResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from constructs import Construct
from constructs.log_groups import managed_log_group
from constructs.nag import acknowledge, nag_arn

HANDLERS_DIR = Path(__file__).resolve().parent.parent / "custom_resources"
HANDLER = f"{HANDLERS_DIR.name}.handler.lambda_handler"
# The latest Python that aws-cdk-lib knows, which is what cdk-nag's AwsSolutions-L1 demands. The handlers use
# the runtime's own boto3 (cognito-idp and logs are in every version of it), so nothing is bundled.
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_14
# arm64 (Graviton): about 20% cheaper per GB-second than x86_64 for the same work; the code is pure Python.
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64
# Lambda's ceiling for one invocation.
LAMBDA_MAX = Duration.minutes(15)
# Room, after the longest wait of a handler, to report its own failure before Lambda stops it.
HANDLER_MARGIN = Duration.seconds(60)
RUNTIME_LOG_GROUPS = "/aws/bedrock-agentcore/runtimes/"


# The asset: a folder holding the package (Lambda imports custom_resources.handler, as the tests do), staged once
# per content under .cache/ (git-ignored). CDK's bundling would do the same copy on every synth, for 0.06 s each.
STAGING = HANDLERS_DIR.parent / ".cache" / "custom-resources"


def _sources() -> list[Path]:
    return sorted(p for p in HANDLERS_DIR.glob("*.py"))


def staged_package() -> Path:
    """A folder with custom_resources/ in it, named after the sources' content: the same sources, the same folder."""
    digest = hashlib.sha256()
    for source in _sources():
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    folder = STAGING / digest.hexdigest()[:16]
    if not folder.is_dir():
        STAGING.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=STAGING))
        (staging / HANDLERS_DIR.name).mkdir()
        for source in _sources():
            shutil.copy2(source, staging / HANDLERS_DIR.name / source.name)
        try:
            staging.rename(folder)  # atomic: a concurrent synth that got there first wins
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def handler_code() -> lambda_.Code:
    # The asset's hash is its files' (the handler sources), so it changes only when we change them.
    return lambda_.Code.from_asset(str(staged_package()))


@dataclass(frozen=True)
class HandlerEndpoint:
    """What a custom resource needs to reach the handler, from any stack: its service token and how long
    CloudFormation should wait for an answer."""

    service_token: str
    service_timeout: Duration

    def resource(
        self, scope: Construct, construct_id: str, *, resource_type: str, properties: Mapping[str, Any]
    ) -> CustomResource:
        return CustomResource(
            scope,
            construct_id,
            service_token=self.service_token,
            resource_type=resource_type,
            properties=dict(properties),
            service_timeout=self.service_timeout,
        )


class CustomResourceHandlers(Construct):
    """One function, `custom_resources.handler.lambda_handler`, the service token of every custom resource.

    Shared by every custom resource of the deployment, in every stack (pass `service_token`), so its role's
    permissions are scoped by the deployment's naming, not by resource: they stay the same size however many
    entries the app has. The role may
    - adopt and (in dev) delete AgentCore Runtime log groups of this deployment
      (`/aws/bedrock-agentcore/runtimes/<runtime_prefix>*-DEFAULT`), and the fixed-name log groups it adopts
      (`adopted_log_groups`, exactly those names),
    - read app clients of user pools tagged `<pool_tag key>=<pool_tag value>` (the token gate's client secret).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime_prefix: str,
        pool_tag: tuple[str, str],
        wait: Duration,
        log_retention_days: int,
        retain_data: bool,
        adopted_log_groups: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        if wait.to_seconds() + HANDLER_MARGIN.to_seconds() > LAMBDA_MAX.to_seconds():
            raise ValueError(
                f"{self.node.path}: a wait of {wait.to_seconds():g} s leaves no margin in a Lambda invocation"
            )

        def log_group_arn(name: str) -> str:
            return stack.format_arn(
                service="logs", resource="log-group", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME
            )

        # Runtime ids are <runtime name>-<suffix>, and the app uses each runtime's DEFAULT endpoint.
        runtime_groups = f"{RUNTIME_LOG_GROUPS}{runtime_prefix}*-DEFAULT"
        self.log_group = managed_log_group(self, "Logs", log_retention_days=log_retention_days, retain_data=retain_data)
        tag_key, tag_value = pool_tag
        policy = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="OwnLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[self.log_group.log_group_arn],
                ),
                # CloudWatch Logs authorizes these on arn:...:log-group:NAME:* ...
                iam.PolicyStatement(
                    sid="AdoptRuntimeLogGroups",
                    actions=["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogGroup"],
                    resources=[log_group_arn(runtime_groups) + ":*"],
                ),
                # A list action: CloudWatch Logs authorizes it on log-group:* only.
                iam.PolicyStatement(
                    sid="FindRuntimeLogGroups",
                    actions=["logs:DescribeLogGroups"],
                    resources=[log_group_arn("*")],
                ),
                # ... and only the tagging actions on the bare arn:...:log-group:NAME.
                iam.PolicyStatement(
                    sid="TagRuntimeLogGroups", actions=["logs:TagResource"], resources=[log_group_arn(runtime_groups)]
                ),
                *(
                    [
                        iam.PolicyStatement(
                            sid="AdoptLogGroups",
                            actions=["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogGroup"],
                            resources=[log_group_arn(name) + ":*" for name in adopted_log_groups],
                        ),
                        iam.PolicyStatement(
                            sid="TagAdoptedLogGroups",
                            actions=["logs:TagResource"],
                            resources=[log_group_arn(name) for name in adopted_log_groups],
                        ),
                    ]
                    if adopted_log_groups
                    else []
                ),
                iam.PolicyStatement(
                    sid="ReadDeploymentPoolClients",
                    actions=["cognito-idp:DescribeUserPoolClient"],
                    resources=[stack.format_arn(service="cognito-idp", resource="userpool", resource_name="*")],
                    conditions={"StringEquals": {f"aws:ResourceTag/{tag_key}": tag_value}},
                ),
            ]
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Custom-resource handler: token gates and log groups of this deployment",
            inline_policies={"handler": policy},
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="Custom resources: Cognito token-endpoint gates, AgentCore Runtime log groups",
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            code=handler_code(),
            handler=HANDLER,
            role=self.role,
            timeout=wait.plus(HANDLER_MARGIN),
            memory_size=256,
            # An environment variable, not a resource property: changing the bound must not re-run the gates.
            environment={"WAIT_TIMEOUT_SECONDS": str(int(wait.to_seconds()))},
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
        )
        # CloudFormation waits for the handler's answer at most this long: the function's own ceiling, and a minute.
        self.endpoint = HandlerEndpoint(self.function.function_arn, LAMBDA_MAX.plus(Duration.minutes(1)))
        self._acknowledge(runtime_groups, adopted_log_groups)

    def _acknowledge(self, runtime_groups: str, adopted_log_groups: Sequence[str]) -> None:
        for name in adopted_log_groups:
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[Resource::{nag_arn(self, 'logs', f'log-group:{name}:*')}]",
                "One log group, named exactly: CloudWatch Logs authorizes its actions on the group's ARN ending in :*."
                if "*" not in name
                else "The log groups of this deployment's functions, by their names' prefix (the deployment's), in the "
                "form CloudWatch Logs authorizes its actions on (ARN ending in :*).",
            )
            if "*" in name:
                acknowledge(
                    self.role,
                    f"AwsSolutions-IAM5[Resource::{nag_arn(self, 'logs', f'log-group:{name}')}]",
                    "The same log groups, in the bare ARN form CloudWatch Logs authorizes tagging on.",
                )
        for resource, reason in {
            f"log-group:{runtime_groups}:*": "AgentCore names each runtime's log group after the service-generated "
            "runtime id; the grant covers this deployment's runtimes (their names start with the prefix) and no "
            "other log group.",
            f"log-group:{runtime_groups}": "The same log groups, in the bare ARN form CloudWatch Logs authorizes "
            "tagging on.",
            "log-group:*": "logs:DescribeLogGroups is a list action that CloudWatch Logs authorizes only on "
            "log-group:*; the cleanup lists a deleted runtime's groups by name prefix.",
        }.items():
            acknowledge(self.role, f"AwsSolutions-IAM5[Resource::{nag_arn(self, 'logs', resource)}]", reason)
        acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::{nag_arn(self, 'cognito-idp', 'userpool/*')}]",
            "User pool ids are random; the statement is conditioned on the deployment's tag, so it reads the app "
            "clients of this deployment's pools only, whatever stack created them.",
        )
