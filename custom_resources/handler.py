"""The entry point CloudFormation invokes for every custom resource of the app (a direct Lambda-backed custom
resource: no provider framework, one function), and the dispatch to each resource type's handler."""

from __future__ import annotations

from typing import Any

from custom_resources import log_group, runtime_log_cleanup, runtime_log_group, token_gate
from custom_resources.common import LOGGER, Failed, log, log_event
from custom_resources.response import send

HANDLERS = {
    token_gate.RESOURCE_TYPE: token_gate.on_event,
    runtime_log_group.RESOURCE_TYPE: runtime_log_group.on_event,
    runtime_log_cleanup.RESOURCE_TYPE: runtime_log_cleanup.on_event,
    log_group.RESOURCE_TYPE: log_group.on_event,
}


def on_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    log_event("on_event", event)
    resource_type = event.get("ResourceType", "")
    handler = HANDLERS.get(resource_type)
    if handler is None:
        raise Failed(f"No handler for resource type {resource_type!r}; known: {', '.join(sorted(HANDLERS))}")
    if event.get("RequestType") not in ("Create", "Update", "Delete"):
        raise Failed(f"Unsupported RequestType {event.get('RequestType')!r}")
    return handler(event, context)


def lambda_handler(event: dict[str, Any], context: Any = None) -> None:
    """Run the resource's handler and answer CloudFormation, whatever happens: a handler's failure (its message is the
    reason CloudFormation shows) or an unexpected error alike."""
    try:
        result = on_event(event, context)
    except Exception as error:  # every failure must reach CloudFormation, or it waits for the ServiceTimeout
        reason = str(error) if isinstance(error, Failed) else f"{type(error).__name__}: {error}"
        if not isinstance(error, Failed):
            LOGGER.exception("unexpected error")
        log(stage="failed", reason=reason)
        send(event, status="FAILED", physical_id=_physical_id(event), reason=reason)
        return
    send(
        event,
        status="SUCCESS",
        physical_id=str(result.get("PhysicalResourceId") or _physical_id(event)),
        data=dict(result.get("Data") or {}),
    )


def _physical_id(event: dict[str, Any]) -> str:
    # A failed Create has no id of its own yet; CloudFormation's rollback then deletes this one, which every handler
    # treats as nothing to do.
    return str(event.get("PhysicalResourceId") or f"{event.get('LogicalResourceId', 'resource')}-{event['RequestId']}")
