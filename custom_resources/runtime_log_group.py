"""Custom::RuntimeLogGroup: retention and tags for the log group AgentCore Runtime creates for a runtime.

The service creates /aws/bedrock-agentcore/runtimes/<runtime id>-DEFAULT with the runtime, without retention,
and never deletes it; a CloudFormation log group of that name fails with "already exists". So the group is
adopted: created if still missing, then configured, on every Create and Update (a replaced runtime has a new
group, hence a new physical id). Deleting it is Custom::RuntimeLogGroupCleanup's job, after the runtime is gone.
"""

from __future__ import annotations

from typing import Any

from custom_resources.common import ClientFactory, Failed, client, log, properties

RESOURCE_TYPE = "Custom::RuntimeLogGroup"


def on_event(event: dict[str, Any], context: Any = None, *, client_factory: ClientFactory = client) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        # Kept: the cleanup resource deletes the runtime's groups (in dev) once the runtime itself is deleted.
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    props = properties(event, "LogGroupName", "LogGroupArn", "RetentionInDays")
    name = str(props["LogGroupName"])
    logs = client_factory("logs")
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
