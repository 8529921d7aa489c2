"""Log groups with an explicit retention and removal decision, so no log group outlives a dev environment by accident."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Token
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
    scope: Construct,
    construct_id: str,
    *,
    log_retention_days: int,
    retain_data: bool,
    log_group_name: str | None = None,
) -> logs.LogGroup:
    if log_group_name is not None and not Token.is_unresolved(log_group_name) and not 1 <= len(log_group_name) <= 512:
        raise ValueError(f"log group name {log_group_name!r} must have 1-512 characters")
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=log_group_name,
        retention=retention(log_retention_days),
        removal_policy=RemovalPolicy.RETAIN if retain_data else RemovalPolicy.DESTROY,
    )
