"""Custom::AdoptedLogGroup (the gateway's log group, fixed name): against moto's CloudWatch Logs."""

from __future__ import annotations

from typing import Any

import pytest
from moto import mock_aws

from custom_resources import handler as entry
from custom_resources import log_group as handler
from custom_resources.common import Failed
from tests import test_runtime_log_group_handler as runtime_tests
from tests.test_runtime_log_group_handler import logs

REGION = "us-east-1"
NAME = "/aws/vendedlogs/bedrock-agentcore/mcpgw-prod-gateway"
ARN = f"arn:aws:logs:{REGION}:123456789012:log-group:{NAME}"
TAGS = {"environment": "prod", "owner": "platform-team"}

pytestmark = pytest.mark.usefixtures("aws_env")


def event(request_type: str, *, remove: str = "false", name: str = NAME, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "RequestType": request_type,
        "ResourceType": "Custom::AdoptedLogGroup",
        "LogicalResourceId": "GatewayLogs",
        "RequestId": f"{request_type}-request",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:handler",
            "LogGroupName": name,
            "LogGroupArn": ARN.replace(NAME, name),
            "RetentionInDays": "365",  # CloudFormation hands custom resources strings
            "Tags": TAGS,
            "RemoveOnDelete": remove,
        },
        **extra,
    }
    if request_type != "Create":
        body.setdefault("PhysicalResourceId", name)
    return body


def group(name: str = NAME) -> dict[str, Any] | None:
    return runtime_tests.group(name)


def retention(name: str = NAME) -> int | None:
    found = group(name)
    assert found is not None, f"no log group {name}"
    return found.get("retentionInDays")


@mock_aws
def test_a_first_create_makes_the_group_with_retention_and_tags() -> None:
    result = entry.on_event(event("Create"))
    assert result["PhysicalResourceId"] == NAME
    assert retention() == 365
    assert logs().list_tags_for_resource(resourceArn=ARN)["tags"] == TAGS


@mock_aws
def test_a_group_prod_retained_is_taken_over_by_the_next_create() -> None:
    # What a destroy (or a failed first create) leaves in prod: the group, with its events and an old retention.
    logs().create_log_group(logGroupName=NAME)
    logs().put_retention_policy(logGroupName=NAME, retentionInDays=30)
    logs().create_log_stream(logGroupName=NAME, logStreamName="kept")

    result = entry.on_event(event("Create"))

    assert result["PhysicalResourceId"] == NAME  # no "already exists"
    assert retention() == 365
    assert logs().list_tags_for_resource(resourceArn=ARN)["tags"] == TAGS
    streams = logs().describe_log_streams(logGroupName=NAME)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["kept"]  # its events stay


@mock_aws
def test_prod_keeps_the_group_on_delete_and_dev_deletes_it() -> None:
    entry.on_event(event("Create"))
    entry.on_event(event("Delete", remove="false"))
    assert group() is not None
    for _ in range(2):  # a replayed Delete finds nothing to delete and succeeds
        entry.on_event(event("Delete", remove="true"))
        assert group() is None


@mock_aws
def test_the_rollback_of_a_failed_create_deletes_nothing() -> None:
    # The entry point gives a failed Create a made-up physical id; the rollback's Delete carries it, not the name.
    logs().create_log_group(logGroupName=NAME)
    entry.on_event(event("Delete", remove="true", PhysicalResourceId="GatewayLogs-Create-request"))
    assert group() is not None


@mock_aws
def test_a_renamed_group_is_a_new_resource_and_dev_deletes_the_old_one() -> None:
    created = entry.on_event(event("Create", remove="true"))
    renamed = entry.on_event(event("Update", remove="true", name=NAME + "-v2", PhysicalResourceId=NAME))
    assert renamed["PhysicalResourceId"] != created["PhysicalResourceId"]
    # CloudFormation then deletes the old physical id, with the old properties.
    entry.on_event(event("Delete", remove="true"))
    assert group() is None and group(NAME + "-v2") is not None


@mock_aws
def test_a_retention_that_is_not_a_number_fails_clearly() -> None:
    evt = event("Create")
    evt["ResourceProperties"]["RetentionInDays"] = "a year"
    with pytest.raises(Failed, match="RetentionInDays must be a number of days"):
        handler.on_event(evt)


def test_the_entry_point_dispatches_to_it() -> None:
    assert entry.HANDLERS["Custom::AdoptedLogGroup"] is handler.on_event
