"""What every handler shares: the failure CloudFormation shows, event logging without secrets, clocks, clients."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

# No level of its own: Lambda sets the root logger to the function's application log level (INFO).
LOGGER = logging.getLogger("custom_resources")

# CloudFormation shows a failure's reason in the stack events; keep it readable and under its limits.
MAX_REASON_CHARS = 1500

Clock = Callable[[], float]
Sleep = Callable[[float], None]
ClientFactory = Callable[[str], Any]


class Failed(RuntimeError):
    """A failure CloudFormation reports on the resource: the message is the event's status reason."""


def client(service: str) -> Any:
    """A boto3 client with bounded retries and timeouts: a handler must answer CloudFormation in time."""
    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20)
    return boto3.client(service, config=config)


def properties(event: dict[str, Any], *required: str) -> dict[str, Any]:
    props = dict(event.get("ResourceProperties") or {})
    missing = [key for key in required if props.get(key) in (None, "")]
    if missing:
        raise Failed(f"ResourceProperties miss {', '.join(missing)}")
    return props


def truncate(text: str) -> str:
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."


def log_event(stage: str, event: dict[str, Any]) -> None:
    # ResponseURL is a presigned URL that can answer CloudFormation for the resource: never log it.
    keys = ("RequestType", "ResourceType", "LogicalResourceId", "PhysicalResourceId", "ResourceProperties")
    LOGGER.info(json.dumps({"stage": stage, **{key: event[key] for key in keys if key in event}}, default=str))


def log(**fields: Any) -> None:
    LOGGER.info(json.dumps(fields, default=str))


def remaining_seconds(context: Any, clock: Clock = time.time) -> float:
    """Seconds left before Lambda stops this invocation (unbounded outside Lambda)."""
    if context is None or not hasattr(context, "get_remaining_time_in_millis"):
        return float("inf")
    return float(context.get_remaining_time_in_millis()) / 1000.0
