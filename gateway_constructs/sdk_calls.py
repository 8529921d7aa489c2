"""What every AWS SDK custom resource of a stack shares: CDK's singleton handler, its log group and its role."""

from __future__ import annotations

from typing import Mapping

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from gateway_constructs.log_groups import managed_log_group
from gateway_constructs.nag import acknowledge

_LOGS_ID = "SdkCallLogs"
_COLON = ArnFormat.COLON_RESOURCE_NAME


def sdk_call(
    scope: Construct,
    construct_id: str,
    *,
    resource_type: str,
    statements: list[iam.PolicyStatement],
    retention_days: int,
    retain: bool,
    on_create: cr.AwsSdkCall,
    on_update: cr.AwsSdkCall | None = None,
    on_delete: cr.AwsSdkCall | None = None,
) -> cr.AwsCustomResource:
    """An AwsCustomResource whose (stack-wide, shared) handler logs to one managed log group of the stack."""
    stack = Stack.of(scope)
    log_group = stack.node.try_find_child(_LOGS_ID) or managed_log_group(
        stack, _LOGS_ID, retention_days=retention_days, retain=retain
    )
    resource = cr.AwsCustomResource(
        scope,
        construct_id,
        resource_type=resource_type,
        on_create=on_create,
        on_update=on_update,
        on_delete=on_delete,
        policy=cr.AwsCustomResourcePolicy.from_statements(statements),
        install_latest_aws_sdk=False,
        log_group=log_group,
    )
    # The handler is a stack-wide singleton function, created beside the first custom resource, not inside it.
    handler = stack.node.find_child("AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", ""))
    acknowledge(
        handler.node.find_child("ServiceRole"),
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "CDK's AWS SDK custom-resource handler: the managed policy only lets it write its own CloudWatch logs.",
    )
    return resource


class ServiceCreatedLogGroup(Construct):
    """Retention, tags and (unless retained) deletion for a log group that a service creates by itself.

    AgentCore Runtime creates its runtime's log group as a side effect of creating the runtime, without a
    retention and without deleting it afterwards; a `logs.LogGroup` of the same name would fail with
    "already exists". So the group is adopted idempotently: created if missing, then configured.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        log_group_name: str,
        retention_days: int,
        retain: bool,
        tags: Mapping[str, str],
        after: IConstruct,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        arn = stack.format_arn(service="logs", resource="log-group", resource_name=log_group_name, arn_format=_COLON)
        physical_id = cr.PhysicalResourceId.of(log_group_name)
        common = dict(retention_days=retention_days, retain=retain)
        adopt = sdk_call(
            self,
            "Adopt",
            resource_type="Custom::ServiceCreatedLogGroup",
            statements=[iam.PolicyStatement(actions=["logs:CreateLogGroup", "logs:DeleteLogGroup"], resources=[arn])],
            on_create=cr.AwsSdkCall(
                service="CloudWatchLogs",
                action="createLogGroup",
                parameters={"logGroupName": log_group_name},
                physical_resource_id=physical_id,
                ignore_error_codes_matching="ResourceAlreadyExistsException",
            ),
            on_delete=None
            if retain
            else cr.AwsSdkCall(
                service="CloudWatchLogs",
                action="deleteLogGroup",
                parameters={"logGroupName": log_group_name},
                ignore_error_codes_matching="ResourceNotFoundException",
            ),
            **common,
        )
        adopt.node.add_dependency(after)
        retention = cr.AwsSdkCall(
            service="CloudWatchLogs",
            action="putRetentionPolicy",
            parameters={"logGroupName": log_group_name, "retentionInDays": retention_days},
            physical_resource_id=physical_id,
        )
        configure = sdk_call(
            self,
            "Retention",
            resource_type="Custom::LogGroupRetention",
            statements=[iam.PolicyStatement(actions=["logs:PutRetentionPolicy"], resources=[arn])],
            on_create=retention,
            on_update=retention,
            **common,
        )
        configure.node.add_dependency(adopt)
        tagging = cr.AwsSdkCall(
            service="CloudWatchLogs",
            action="tagResource",
            parameters={"resourceArn": arn, "tags": dict(tags)},
            physical_resource_id=physical_id,
        )
        tag = sdk_call(
            self,
            "Tags",
            resource_type="Custom::LogGroupTags",
            statements=[iam.PolicyStatement(actions=["logs:TagResource"], resources=[arn])],
            on_create=tagging,
            on_update=tagging,
            **common,
        )
        tag.node.add_dependency(adopt)
        self.resources = (adopt, configure, tag)
