"""Answering CloudFormation: a custom resource's result is a PUT of a JSON document to the event's ResponseURL, a
presigned S3 URL (the AWS CloudFormation User Guide, "Custom resource response objects"). Without an answer,
CloudFormation waits until the resource's ServiceTimeout."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from custom_resources.common import Sleep, log, truncate

# A response body above 4,096 bytes is refused (CloudFormation's custom resource quota).
MAX_BODY_BYTES = 4096
ATTEMPTS = 4

Opener = Callable[..., Any]


def body(event: dict[str, Any], *, status: str, physical_id: str, reason: str, data: dict[str, Any]) -> bytes:
    document = {
        "Status": status,
        "Reason": truncate(reason),
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": False,
        "Data": data,
    }
    encoded = json.dumps(document).encode()
    if len(encoded) > MAX_BODY_BYTES:
        # Data is what grew (the reason is truncated): answer without it, and say so.
        document["Data"] = {}
        document["Status"] = "FAILED"
        document["Reason"] = f"response of {len(encoded)} bytes exceeds CloudFormation's {MAX_BODY_BYTES}"
        encoded = json.dumps(document).encode()
    return encoded


def send(
    event: dict[str, Any],
    *,
    status: str,
    physical_id: str,
    reason: str = "",
    data: dict[str, Any] | None = None,
    opener: Opener = urllib.request.urlopen,
    sleep: Sleep = time.sleep,
) -> None:
    """PUT the answer; retried on network errors and 5xx (S3's own transient answers). Never logs the URL: it can
    answer for the resource."""
    payload = body(event, status=status, physical_id=physical_id, reason=reason, data=data or {})
    # The presigned URL signs no content type: sending one would break the signature.
    request = urllib.request.Request(
        event["ResponseURL"],
        data=payload,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(payload))},
    )
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with opener(request, timeout=10) as response:
                log(stage="respond", status=status, http=response.status)
                return
        except urllib.error.HTTPError as error:
            if error.code < 500 or attempt == ATTEMPTS:
                raise
        except urllib.error.URLError:
            if attempt == ATTEMPTS:
                raise
        sleep(2 ** (attempt - 1))
