"""Log groups with an explicit retention and removal decision, so no log group outlives a dev environment by accident,
and none blocks the next deploy in prod."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

from app_config.rules import LOG_RETENTION_PERIODS
from constructs import Construct


def retention(days: int) -> logs.RetentionDays:
    """aws-cdk-lib's name for a CloudWatch Logs retention period (the periods are app_config.rules')."""
    if days not in LOG_RETENTION_PERIODS:
        raise ValueError(
            f"{days} days is not a CloudWatch Logs retention period: {', '.join(map(str, LOG_RETENTION_PERIODS))}"
        )
    period: logs.RetentionDays = getattr(logs.RetentionDays, LOG_RETENTION_PERIODS[days])
    return period


def managed_log_group(
    scope: Construct, construct_id: str, *, log_retention_days: int, retain_data: bool
) -> logs.LogGroup:
    """A log group named by CloudFormation. Retained in prod, except when the operation that created it rolls back
    (RetainExceptOnCreate): a failed first deploy leaves no group behind. A group of a fixed name is adopted instead
    (constructs/adopted_log_group.py): retained, its name would block the next create."""
    return logs.LogGroup(
        scope,
        construct_id,
        retention=retention(log_retention_days),
        removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE if retain_data else RemovalPolicy.DESTROY,
    )
