"""Retention, tags and (unless retained) deletion for the log group AgentCore Runtime creates for a runtime."""

from __future__ import annotations

from typing import Mapping

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_bedrockagentcore as agentcore

from constructs import Construct
from constructs.custom_resource_handlers import RUNTIME_LOG_GROUPS, HandlerEndpoint


class RuntimeLogGroup(Construct):
    """Adopts `/aws/bedrock-agentcore/runtimes/<runtime id>-DEFAULT` (see custom_resources/runtime_log_group.py).

    The service creates that group with the runtime and never deletes it or expires its events; a `logs.LogGroup`
    of the same name would fail with "already exists". Deleting it is RuntimeLogCleanup's job.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handlers: HandlerEndpoint,
        runtime: agentcore.Runtime,
        log_retention_days: int,
        tags: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group_name = f"{RUNTIME_LOG_GROUPS}{runtime.agent_runtime_id}-DEFAULT"
        arn = Stack.of(self).format_arn(
            service="logs",
            resource="log-group",
            resource_name=self.log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.resource = handlers.resource(
            self,
            "Resource",
            resource_type="Custom::RuntimeLogGroup",
            properties={
                "LogGroupName": self.log_group_name,
                "LogGroupArn": arn,
                "RetentionInDays": log_retention_days,
                "Tags": dict(tags),
            },
        )


class RuntimeLogCleanup(Construct):
    """Deletes a runtime's log groups once the runtime is deleted (see custom_resources/runtime_log_cleanup.py).

    Make the runtime depend on it: CloudFormation then deletes this resource after the runtime, so no session can
    recreate the group after it is gone. Declare it only where the logs are not retained.
    """

    def __init__(self, scope: Construct, construct_id: str, *, handlers: HandlerEndpoint, runtime_name: str) -> None:
        super().__init__(scope, construct_id)
        self.resource = handlers.resource(
            self, "Resource", resource_type="Custom::RuntimeLogGroupCleanup", properties={"RuntimeName": runtime_name}
        )
