"""Custom::RuntimeLogGroup: retention, tags and (in dev) deletion for the log group AgentCore Runtime creates.

The service creates /aws/bedrock-agentcore/runtimes/<runtime id>-DEFAULT with the runtime, without retention,
and never deletes it; a CloudFormation log group of that name fails with "already exists". So the group is
adopted: created if still missing, then configured, on every Create and Update (a replaced runtime has a new
group, hence a new physical id, and CloudFormation then deletes the old resource).
"""

from __future__ import annotations

from typing import Any

from custom_resources.common import ClientFactory, Failed, client, log, properties

RESOURCE_TYPE = "Custom::RuntimeLogGroup"


def on_event(event: dict[str, Any], context: Any = None, *, client_factory: ClientFactory = client) -> dict[str, Any]:
    props = properties(event, "LogGroupName", "LogGroupArn", "RetentionInDays", "RemovalPolicy")
    name = str(props["LogGroupName"])
    logs = client_factory("logs")
    if event["RequestType"] == "Delete":
        if props["RemovalPolicy"] == "destroy":
            try:
                logs.delete_log_group(logGroupName=event["PhysicalResourceId"])
            except logs.exceptions.ResourceNotFoundException:
                pass
            log(logGroup=event["PhysicalResourceId"], deleted=True)
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    try:
        logs.create_log_group(logGroupName=name)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass  # the usual case: the runtime created it
    try:
        days = int(props["RetentionInDays"])
    except (TypeError, ValueError):
        raise Failed(f"RetentionInDays must be a number of days, got {props['RetentionInDays']!r}") from None
    logs.put_retention_policy(logGroupName=name, retentionInDays=days)
    tags = {str(k): str(v) for k, v in dict(props.get("Tags") or {}).items()}
    if tags:
        # Tagging is authorized on the bare log-group ARN (no :*), unlike every other call here.
        logs.tag_resource(resourceArn=str(props["LogGroupArn"]), tags=tags)
    log(logGroup=name, retentionInDays=days, tags=sorted(tags))
    return {"PhysicalResourceId": name}
