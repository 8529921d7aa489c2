"""Custom::RuntimeLogGroupCleanup: on Delete, delete the log groups AgentCore Runtime created for a runtime.

Declared only where data is not retained (dev), with the runtime depending on it: CloudFormation deletes it after
the runtime, so a session that was still writing cannot recreate the group once it is gone (the runtime's role
may create its log groups). Create and Update do nothing.
"""

from __future__ import annotations

from typing import Any

from custom_resources.common import ClientFactory, client, log, properties

RESOURCE_TYPE = "Custom::RuntimeLogGroupCleanup"
LOG_GROUPS = "/aws/bedrock-agentcore/runtimes/"


def on_event(event: dict[str, Any], context: Any = None, *, client_factory: ClientFactory = client) -> dict[str, Any]:
    name = str(properties(event, "RuntimeName")["RuntimeName"])
    if event["RequestType"] != "Delete":
        # The physical id is the runtime's name: a renamed (so replaced) runtime gets a new resource, and the old
        # one's Delete cleans up after the old runtime.
        return {"PhysicalResourceId": name}
    logs = client_factory("logs")
    # Runtime ids are <runtime name>-<suffix>; the hyphen keeps another runtime whose name starts alike out.
    prefix = f"{LOG_GROUPS}{name}-"
    deleted = []
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix):
        for group in page.get("logGroups", []):
            if group["logGroupName"].endswith("-DEFAULT"):
                try:
                    logs.delete_log_group(logGroupName=group["logGroupName"])
                except logs.exceptions.ResourceNotFoundException:
                    continue
                deleted.append(group["logGroupName"])
    log(runtime=name, deletedLogGroups=deleted)
    return {"PhysicalResourceId": event.get("PhysicalResourceId", name)}
