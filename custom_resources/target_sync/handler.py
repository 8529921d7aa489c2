"""Provider-framework handlers: SynchronizeGatewayTargets for one target, then wait until it is READY again."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# No level of its own: Lambda sets the root logger to the function's application log level (INFO).
LOGGER = logging.getLogger(__name__)

IN_PROGRESS = frozenset({"CREATING", "UPDATING", "SYNCHRONIZING"})
# Statuses the target does not leave without a new update or sync: waiting on them would only burn the deadline.
# DELETING is here because a target being deleted will never serve the new catalog.
FAILED = frozenset(
    {
        "FAILED",
        "UPDATE_UNSUCCESSFUL",
        "SYNCHRONIZE_UNSUCCESSFUL",
        "CREATE_PENDING_AUTH",
        "UPDATE_PENDING_AUTH",
        "SYNCHRONIZE_PENDING_AUTH",
        "DELETING",
    }
)
# ConflictException: a synchronization (ours from a replayed event, or the target's own) is still running.
RETRYABLE_CODES = frozenset({"ConflictException", "ThrottlingException"})
# An Update syncs only when one of these changed (a new image hash, another target); see the construct.
SYNC_INPUTS = ("GatewayIdentifier", "TargetId", "Trigger")

DEFAULT_WAIT_TIMEOUT_SECONDS = 900
# A status read right after the sync request may predate the service's switch to SYNCHRONIZING. READY or a failure
# counts only once lastSynchronizedAt has moved past its value before the request, or this long after the request.
DEFAULT_SETTLE_SECONDS = 15
FIRST_BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 30.0
# Time kept back from the Lambda's own timeout so a clear error is raised before Lambda kills the invocation.
LAMBDA_TIME_MARGIN_SECONDS = 10.0
MAX_REASON_CHARS = 1500

ClientFactory = Callable[[], Any]
Clock = Callable[[], float]
Sleep = Callable[[float], None]


class SyncFailed(RuntimeError):
    """A failure CloudFormation reports on the resource: the message is the event's status reason."""


def default_client() -> Any:
    # Standard mode retries throttling and 5xx with backoff below our own Conflict/Throttling loop.
    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
    return boto3.client("bedrock-agentcore-control", config=config)


def on_event(
    event: dict[str, Any],
    context: Any = None,
    *,
    client_factory: ClientFactory = default_client,
    clock: Clock = time.time,
    sleep: Sleep = time.sleep,
) -> dict[str, Any]:
    request_type = event["RequestType"]
    _log("on_event", event)
    if request_type == "Delete":
        # The target is CloudFormation's to delete; a sync resource has nothing of its own to remove.
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    if request_type not in ("Create", "Update"):
        raise SyncFailed(f"Unsupported RequestType {request_type!r}")
    gateway_id, target_id = _target_of(event)
    if request_type == "Update" and not _sync_inputs_changed(event):
        # Only the ServiceToken or ServiceTimeout changed (a CDK upgrade, a new bound): the catalog is as fresh
        # as it was, and a sync would only put the target through SYNCHRONIZING for nothing.
        LOGGER.info(json.dumps({"skipped": "no change of GatewayIdentifier, TargetId or Trigger"}))
        return {"PhysicalResourceId": physical_id(gateway_id, target_id), "SyncSkipped": True}
    now = clock()
    deadline = now + _env_seconds("WAIT_TIMEOUT_SECONDS", DEFAULT_WAIT_TIMEOUT_SECONDS)
    budget_end = min(deadline, now + _lambda_seconds_left(context) - LAMBDA_TIME_MARGIN_SECONDS)
    baseline = _synchronize(client_factory(), gateway_id, target_id, clock=clock, sleep=sleep, budget_end=budget_end)
    # Keys beside PhysicalResourceId are handed by the framework to every is_complete call of this event
    # (and never to CloudFormation), which keeps the deadline and the baseline across polls.
    return {
        "PhysicalResourceId": physical_id(gateway_id, target_id),
        "Deadline": deadline,
        "SyncRequestedAt": clock(),
        "LastSynchronizedBefore": baseline,
    }


def is_complete(
    event: dict[str, Any],
    context: Any = None,
    *,
    client_factory: ClientFactory = default_client,
    clock: Clock = time.time,
) -> dict[str, Any]:
    if event["RequestType"] == "Delete" or event.get("SyncSkipped"):
        return {"IsComplete": True}
    gateway_id, target_id = _target_of(event)
    try:
        target = client_factory().get_gateway_target(gatewayIdentifier=gateway_id, targetId=target_id)
    except ClientError as err:
        if _code(err) not in RETRYABLE_CODES:
            raise _client_failure(err, gateway_id, target_id) from err
        _check_deadline(event, clock, gateway_id, target_id, f"last read throttled ({_code(err)})")
        return {"IsComplete": False}
    status = target.get("status", "UNKNOWN")
    reasons = target.get("statusReasons") or []
    LOGGER.info(
        json.dumps({"gatewayId": gateway_id, "targetId": target_id, "status": status, "statusReasons": reasons})
    )
    # A READY or failed status read too soon may still be the one from before our request (see SETTLE_SECONDS):
    # a previous deployment's SYNCHRONIZE_UNSUCCESSFUL must not fail this one before its own sync has run.
    if _settled(event, target, clock):
        if status in FAILED:
            raise SyncFailed(
                _truncate(f"Gateway target {target_id} of gateway {gateway_id} is {status}: {_reasons(reasons)}")
            )
        if status == "READY":
            return {"IsComplete": True}
    _check_deadline(event, clock, gateway_id, target_id, f"last status {status}: {_reasons(reasons)}")
    return {"IsComplete": False}


def _sync_inputs_changed(event: dict[str, Any]) -> bool:
    old = event.get("OldResourceProperties") or {}
    new = event.get("ResourceProperties") or {}
    return any(old.get(key) != new.get(key) for key in SYNC_INPUTS)


def physical_id(gateway_id: str, target_id: str) -> str:
    # Derived from the target alone, so updates (a new Trigger) keep it and CloudFormation never sends a Delete.
    return f"{gateway_id}/{target_id}"


def _synchronize(
    client: Any, gateway_id: str, target_id: str, *, clock: Clock, sleep: Sleep, budget_end: float
) -> str | None:
    """Request the sync, retrying conflicts and throttling; returns lastSynchronizedAt from just before the request."""
    delay = FIRST_BACKOFF_SECONDS
    attempts = 0
    while True:
        attempts += 1
        try:
            # Read right before each attempt: a conflicting sync that ends meanwhile moves lastSynchronizedAt too.
            before = client.get_gateway_target(gatewayIdentifier=gateway_id, targetId=target_id)
            client.synchronize_gateway_targets(gatewayIdentifier=gateway_id, targetIdList=[target_id])
        except ClientError as err:
            code = _code(err)
            if code not in RETRYABLE_CODES:
                raise _client_failure(err, gateway_id, target_id) from err
            if clock() + delay > budget_end:
                raise SyncFailed(
                    _truncate(
                        f"SynchronizeGatewayTargets for target {target_id} of gateway {gateway_id} still failed with "
                        f"{code} after {attempts} attempts: {_message(err)}"
                    )
                ) from err
            LOGGER.info(json.dumps({"retry": code, "attempt": attempts, "sleepSeconds": delay}))
            sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)
            continue
        LOGGER.info(json.dumps({"synchronizeRequested": target_id, "attempts": attempts}))
        last = before.get("lastSynchronizedAt")
        return last.isoformat() if last is not None else None


def _settled(event: dict[str, Any], target: dict[str, Any], clock: Clock) -> bool:
    """Whether the status read reflects our sync request: lastSynchronizedAt moved, or the settle time passed."""
    last = target.get("lastSynchronizedAt")
    if last is not None and last.isoformat() != event.get("LastSynchronizedBefore"):
        return True
    settle = _env_seconds("SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS)
    return clock() - float(event["SyncRequestedAt"]) >= settle


def _check_deadline(event: dict[str, Any], clock: Clock, gateway_id: str, target_id: str, last_seen: str) -> None:
    if clock() >= float(event["Deadline"]):
        timeout = _env_seconds("WAIT_TIMEOUT_SECONDS", DEFAULT_WAIT_TIMEOUT_SECONDS)
        raise SyncFailed(
            _truncate(f"Gateway target {target_id} of gateway {gateway_id} not READY within {timeout:g} s; {last_seen}")
        )


def _target_of(event: dict[str, Any]) -> tuple[str, str]:
    props = event.get("ResourceProperties") or {}
    gateway_id, target_id = props.get("GatewayIdentifier"), props.get("TargetId")
    if not gateway_id or not target_id:
        raise SyncFailed("ResourceProperties need GatewayIdentifier and TargetId")
    return str(gateway_id), str(target_id)


def _client_failure(err: ClientError, gateway_id: str, target_id: str) -> SyncFailed:
    code = _code(err)
    if code == "ResourceNotFoundException":
        return SyncFailed(_truncate(f"Gateway target {target_id} of gateway {gateway_id} not found: {_message(err)}"))
    operation = getattr(err, "operation_name", "call")
    return SyncFailed(
        _truncate(f"{operation} on target {target_id} of gateway {gateway_id} failed: {code}: {_message(err)}")
    )


def _code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "Unknown")


def _message(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Message", "") or "no message"


def _reasons(reasons: list[str]) -> str:
    return "; ".join(reasons) if reasons else "no status reasons given"


def _truncate(text: str) -> str:
    # CloudFormation caps a custom resource response at 4 KiB and shows the reason in the stack's events.
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."


def _env_seconds(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _lambda_seconds_left(context: Any) -> float:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    # Outside Lambda (tests, local runs) only the deadline bounds the retries.
    return remaining() / 1000.0 if remaining else float("inf")


def _log(stage: str, event: dict[str, Any]) -> None:
    # ResponseURL is a presigned URL that can answer CloudFormation for this resource: never log it.
    keys = ("RequestType", "LogicalResourceId", "PhysicalResourceId", "ResourceProperties", "OldResourceProperties")
    LOGGER.info(json.dumps({"stage": stage, **{key: event[key] for key in keys if key in event}}, default=str))
