"""The entry point CDK's provider framework calls for every custom resource of the app."""

from __future__ import annotations

from typing import Any

from custom_resources import runtime_log_cleanup, runtime_log_group, token_gate
from custom_resources.common import Failed, log_event

HANDLERS = {
    token_gate.RESOURCE_TYPE: token_gate.on_event,
    runtime_log_group.RESOURCE_TYPE: runtime_log_group.on_event,
    runtime_log_cleanup.RESOURCE_TYPE: runtime_log_cleanup.on_event,
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
