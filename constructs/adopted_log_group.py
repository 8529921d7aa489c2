"""A log group of a fixed name that prod keeps, and that the next deploy can still take over."""

from __future__ import annotations

from typing import Mapping

from aws_cdk import ArnFormat, Stack, Token

from constructs import Construct
from constructs.custom_resource_handlers import HandlerEndpoint
from constructs.log_groups import retention


class AdoptedLogGroup(Construct):
    """A log group of a fixed name, created if missing and configured on every deploy by the custom-resource handler
    (custom_resources/log_group.py): a retry after a failed create, or a deploy after a destroy, takes over the group
    prod retained, where a CloudFormation log group of that name would fail with "already exists". Deleted with its
    stack unless `retain_data`. The handler's role must be given the name (CustomResourceHandlers' adopted_log_groups).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handlers: HandlerEndpoint,
        log_group_name: str,
        log_retention_days: int,
        retain_data: bool,
        tags: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        if not Token.is_unresolved(log_group_name) and not 1 <= len(log_group_name) <= 512:
            raise ValueError(f"{self.node.path}: log group name {log_group_name!r} must have 1-512 characters")
        retention(log_retention_days)  # refuses a period CloudWatch Logs does not have
        self.log_group_name = log_group_name
        # The bare ARN: the form tagging is authorized on, and the one a delivery destination takes.
        self.arn = Stack.of(self).format_arn(
            service="logs", resource="log-group", resource_name=log_group_name, arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        self.resource = handlers.resource(
            self,
            "Resource",
            resource_type="Custom::AdoptedLogGroup",
            properties={
                "LogGroupName": log_group_name,
                "LogGroupArn": self.arn,
                "RetentionInDays": log_retention_days,
                "Tags": dict(tags),
                "RemoveOnDelete": "false" if retain_data else "true",
            },
        )
