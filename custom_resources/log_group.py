"""Custom::AdoptedLogGroup: a log group with a fixed name that a retry or a redeploy must be able to take over.

A CloudFormation log group of a fixed name, retained (prod keeps its logs), outlives its stack: after a destroy, or
a failed first create, the next deploy fails with "already exists". Adopted instead, the group is created if
missing and configured (retention, tags) on every Create and Update, whoever created it, so a retry takes over what
the last attempt left. On Delete it is deleted only where `RemoveOnDelete` is "true" (dev); prod keeps it.
"""

from __future__ import annotations

from typing import Any

from custom_resources.common import ClientFactory, Failed, client, log, properties

RESOURCE_TYPE = "Custom::AdoptedLogGroup"


def on_event(event: dict[str, Any], context: Any = None, *, client_factory: ClientFactory = client) -> dict[str, Any]:
    props = properties(event, "LogGroupName", "LogGroupArn", "RetentionInDays")
    name = str(props["LogGroupName"])
    logs = client_factory("logs")
    if event["RequestType"] == "Delete":
        # A failed Create's rollback sends the id the entry point made up (never a group's name): nothing to do.
        if str(props.get("RemoveOnDelete")).lower() == "true" and event.get("PhysicalResourceId") == name:
            try:
                logs.delete_log_group(logGroupName=name)
            except logs.exceptions.ResourceNotFoundException:
                pass  # already gone: a replayed Delete, or removed by hand
            log(logGroup=name, deleted=True)
        return {"PhysicalResourceId": event.get("PhysicalResourceId", name)}
    try:
        days = int(props["RetentionInDays"])
    except (TypeError, ValueError):
        raise Failed(f"RetentionInDays must be a number of days, got {props['RetentionInDays']!r}") from None
    try:
        logs.create_log_group(logGroupName=name)
        created = True
    except logs.exceptions.ResourceAlreadyExistsException:
        created = False  # left by an earlier deploy (retained), or by a failed attempt: taken over
    logs.put_retention_policy(logGroupName=name, retentionInDays=days)
    tags = {str(k): str(v) for k, v in dict(props.get("Tags") or {}).items()}
    if tags:
        # Tagging is authorized on the bare log-group ARN (no :*), unlike every other call here.
        logs.tag_resource(resourceArn=str(props["LogGroupArn"]), tags=tags)
    log(logGroup=name, created=created, retentionInDays=days, tags=sorted(tags))
    # The name is the physical id: a renamed group is a new resource, and the old one's Delete (in dev) removes it.
    return {"PhysicalResourceId": name, "Data": {"LogGroupName": name}}
