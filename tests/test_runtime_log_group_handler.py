"""Custom::RuntimeLogGroup and Custom::RuntimeLogGroupCleanup: against moto's CloudWatch Logs, and against
botocore's Stubber (the real service model)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from custom_resources import handler as entry
from custom_resources import runtime_log_cleanup as cleanup
from custom_resources import runtime_log_group as handler
from custom_resources.common import Failed

REGION = "us-east-1"
NAME = "/aws/bedrock-agentcore/runtimes/mcpgw_dev_orders-AbCdEf1234-DEFAULT"
ARN = f"arn:aws:logs:{REGION}:123456789012:log-group:{NAME}"
TAGS = {"environment": "dev", "owner": "platform-team"}


pytestmark = pytest.mark.usefixtures("aws_env")


def event(request_type: str, *, name: str = NAME, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "RequestType": request_type,
        "ResourceType": "Custom::RuntimeLogGroup",
        "LogicalResourceId": "OrdersRuntimeLogGroup",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:framework",
            "LogGroupName": name,
            "LogGroupArn": ARN if name == NAME else ARN.replace(NAME, name),
            "RetentionInDays": "14",  # CloudFormation hands custom resources strings
            "Tags": TAGS,
        },
        **extra,
    }
    if request_type != "Create":
        body.setdefault("PhysicalResourceId", name)
    return body


def logs() -> Any:
    return boto3.client("logs", region_name=REGION)


def group(name: str = NAME) -> dict[str, Any] | None:
    found = [g for g in logs().describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name]
    return found[0] if found else None


@mock_aws
def test_the_group_the_runtime_created_gets_retention_and_tags() -> None:
    logs().create_log_group(logGroupName=NAME)  # as AgentCore does when it creates the runtime

    result = entry.on_event(event("Create"))

    assert result == {"PhysicalResourceId": NAME}
    found = group()
    assert found is not None and found["retentionInDays"] == 14
    assert logs().list_tags_for_resource(resourceArn=ARN)["tags"] == TAGS


@mock_aws
def test_a_group_the_runtime_has_not_created_yet_is_created() -> None:
    entry.on_event(event("Create"))
    found = group()
    assert found is not None and found["retentionInDays"] == 14


@mock_aws
def test_a_replaced_runtimes_new_group_is_configured_and_gets_a_new_physical_id() -> None:
    renamed = NAME.replace("AbCdEf1234", "ZyXwVu9876")
    result = entry.on_event(event("Update", name=renamed, PhysicalResourceId=NAME))
    # A new physical id: CloudFormation then sends a Delete for the old group.
    assert result == {"PhysicalResourceId": renamed}
    found = group(renamed)
    assert found is not None and found["retentionInDays"] == 14


@mock_aws
def test_delete_keeps_the_group_the_cleanup_deletes_it() -> None:
    logs().create_log_group(logGroupName=NAME)
    assert entry.on_event(event("Delete")) == {"PhysicalResourceId": NAME}
    assert group() is not None


def cleanup_event(request_type: str, runtime: str = "mcpgw_dev_orders") -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResourceType": "Custom::RuntimeLogGroupCleanup",
        "LogicalResourceId": "OrdersRuntimeLogCleanup",
        "PhysicalResourceId": runtime,
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "RuntimeName": runtime,
        },
    }


@mock_aws
def test_the_cleanup_deletes_the_runtimes_groups_and_no_other_runtimes() -> None:
    neighbour = NAME.replace("mcpgw_dev_orders-", "mcpgw_dev_orders_v2-")  # a runtime whose name starts alike
    for name in (NAME, NAME.replace("AbCdEf1234", "Replaced01"), neighbour):
        logs().create_log_group(logGroupName=name)
    for request_type in ("Create", "Update"):
        assert entry.on_event(cleanup_event(request_type)) == {"PhysicalResourceId": "mcpgw_dev_orders"}
    assert group() is not None  # create and update delete nothing

    for _ in range(2):  # a replayed Delete finds nothing left and still succeeds
        assert entry.on_event(cleanup_event("Delete")) == {"PhysicalResourceId": "mcpgw_dev_orders"}

    assert group() is None and group(NAME.replace("AbCdEf1234", "Replaced01")) is None
    assert group(neighbour) is not None


def test_the_cleanup_lists_by_prefix_and_deletes_through_botocores_model() -> None:
    client = logs()
    prefix = "/aws/bedrock-agentcore/runtimes/mcpgw_dev_orders-"
    with Stubber(client) as stub:
        stub.add_response(
            "describe_log_groups", {"logGroups": [{"logGroupName": NAME}]}, {"logGroupNamePrefix": prefix}
        )
        stub.add_response("delete_log_group", {}, {"logGroupName": NAME})
        cleanup.on_event(cleanup_event("Delete"), client_factory=lambda service: client)
        stub.assert_no_pending_responses()


def test_the_calls_fit_botocores_logs_model_with_tagging_on_the_bare_arn() -> None:
    client = logs()
    with Stubber(client) as stub:
        # Stubber checks every call's parameters against the real service model.
        stub.add_client_error(
            "create_log_group", "ResourceAlreadyExistsException", expected_params={"logGroupName": NAME}
        )
        stub.add_response("put_retention_policy", {}, {"logGroupName": NAME, "retentionInDays": 14})
        stub.add_response("tag_resource", {}, {"resourceArn": ARN, "tags": TAGS})
        handler.on_event(event("Create"), client_factory=lambda service: client)
        stub.assert_no_pending_responses()
    assert not ARN.endswith(":*")


def test_a_bad_retention_fails_with_the_value() -> None:
    bad = event("Create")
    bad["ResourceProperties"]["RetentionInDays"] = "forever"
    client = logs()
    with Stubber(client) as stub:
        stub.add_response("create_log_group", {}, {"logGroupName": NAME})
        with pytest.raises(Failed, match="RetentionInDays must be a number of days, got 'forever'"):
            handler.on_event(bad, client_factory=lambda service: client)
