"""Provider-framework handlers: wait until a Cognito token endpoint issues a client-credentials token.

The client secret is read here with DescribeUserPoolClient, so it is never in the template, the event, the
response or the logs; every message built from the endpoint's answer is scrubbed of it as well.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# No level of its own: Lambda sets the root logger to the function's application log level (INFO).
LOGGER = logging.getLogger(__name__)

DEFAULT_WAIT_TIMEOUT_SECONDS = 600
HTTP_TIMEOUT_SECONDS = 10.0
# Tokens with many scopes or claims run to several KiB; a truncated body would never parse as a token.
MAX_BODY_BYTES = 256 * 1024
MAX_REASON_CHARS = 1500
# Cognito's answers while a new client or pool is not consistent yet: worth another poll, not a failure.
RETRYABLE_COGNITO_CODES = frozenset({"ResourceNotFoundException", "TooManyRequestsException", "ThrottlingException"})

ClientFactory = Callable[[], Any]
Clock = Callable[[], float]


class GateFailed(RuntimeError):
    """A failure CloudFormation reports on the resource: the message is the event's status reason."""


class NotReady(Exception):
    """The endpoint did not issue a token on this attempt; the message says why (never with the secret)."""


def default_client() -> Any:
    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20)
    return boto3.client("cognito-idp", config=config)


def on_event(event: dict[str, Any], context: Any = None, *, clock: Clock = time.time) -> dict[str, Any]:
    _log("on_event", event)
    request_type = event["RequestType"]
    if request_type == "Delete":
        # Nothing was created: the gate only observes the pool.
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    if request_type not in ("Create", "Update"):
        raise GateFailed(f"Unsupported RequestType {request_type!r}")
    props = _props(event)
    # The framework hands this key to every is_complete call of the event, so the deadline spans all polls.
    return {
        "PhysicalResourceId": f"{props['UserPoolId']}/{props['ClientId']}",
        "Deadline": clock() + _timeout_seconds(),
    }


def is_complete(
    event: dict[str, Any],
    context: Any = None,
    *,
    client_factory: ClientFactory = default_client,
    clock: Clock = time.time,
) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        return {"IsComplete": True}
    props = _props(event)
    try:
        secret = _client_secret(client_factory(), props["UserPoolId"], props["ClientId"])
        try:
            request_token(props["TokenEndpoint"], props["ClientId"], secret, props["Scope"])
        except NotReady as err:
            raise NotReady(str(err).replace(secret, "<redacted>")) from None
    except NotReady as err:
        LOGGER.info(json.dumps({"tokenEndpoint": props["TokenEndpoint"], "notReady": str(err)}))
        if clock() >= float(event["Deadline"]):
            raise GateFailed(
                _truncate(
                    f"Token endpoint {props['TokenEndpoint']} issued no client-credentials token for client "
                    f"{props['ClientId']} (scope {props['Scope']}) within {_timeout_seconds():g} s; last attempt: {err}"
                )
            ) from None
        return {"IsComplete": False}
    LOGGER.info(json.dumps({"tokenEndpoint": props["TokenEndpoint"], "ready": True}))
    return {"IsComplete": True}


def request_token(
    endpoint: str, client_id: str, secret: str, scope: str, timeout: float = HTTP_TIMEOUT_SECONDS
) -> None:
    """One client-credentials request; returns when a token was issued, raises NotReady otherwise."""
    _require_safe_endpoint(endpoint)
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    request = urllib.request.Request(
        endpoint,
        data=urllib.parse.urlencode({"grant_type": "client_credentials", "scope": scope}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"},
        method="POST",
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            body = response.read(MAX_BODY_BYTES)
            status = response.status
    except urllib.error.HTTPError as err:
        raise NotReady(f"HTTP {err.code} {_oauth_error(err.read(MAX_BODY_BYTES))}") from None
    except urllib.error.URLError as err:
        # DNS of a new Cognito domain is the usual case: "Name or service not known" until it propagates.
        raise NotReady(f"endpoint unreachable: {err.reason}") from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as err:
        raise NotReady(f"endpoint unreachable: {type(err).__name__}: {err}") from None
    try:
        token = json.loads(body).get("access_token")
    except (ValueError, AttributeError):
        token = None
    if not token:
        raise NotReady(f"HTTP {status} without an access_token")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would resend the Authorization header (the secret) to wherever a redirect points.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _require_safe_endpoint(endpoint: str) -> None:
    # The secret travels in the request: only TLS, or plain HTTP to this very machine (local tests), may carry it.
    parsed = urllib.parse.urlsplit(endpoint)
    if parsed.scheme == "https" and parsed.hostname:
        return
    if parsed.scheme == "http" and parsed.hostname and _is_loopback(parsed.hostname):
        return
    raise GateFailed(f"Token endpoint must be an https:// URL, got {endpoint!r}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _client_secret(cognito: Any, user_pool_id: str, client_id: str) -> str:
    try:
        client = cognito.describe_user_pool_client(UserPoolId=user_pool_id, ClientId=client_id)["UserPoolClient"]
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "Unknown")
        message = err.response.get("Error", {}).get("Message", "")
        if code in RETRYABLE_COGNITO_CODES:
            raise NotReady(f"DescribeUserPoolClient: {code}: {message}") from None
        raise GateFailed(
            _truncate(f"DescribeUserPoolClient for client {client_id} failed: {code}: {message}")
        ) from None
    secret = client.get("ClientSecret")
    if not secret:
        raise GateFailed(
            f"App client {client_id} has no secret: the client-credentials flow needs a confidential client"
        )
    return secret


def _oauth_error(body: bytes) -> str:
    # Cognito answers {"error": "invalid_client"} and the like; only those fields are kept, never the raw body.
    try:
        parsed = json.loads(body)
    except ValueError:
        return "(non-JSON body)"
    if not isinstance(parsed, dict):
        return "(unexpected body)"
    error = str(parsed.get("error", "no error code"))[:100]
    description = parsed.get("error_description")
    return f"{error}: {str(description)[:200]}" if description else error


def _props(event: dict[str, Any]) -> dict[str, str]:
    props = event.get("ResourceProperties") or {}
    required = ("UserPoolId", "ClientId", "TokenEndpoint", "Scope")
    missing = [key for key in required if not props.get(key)]
    if missing:
        raise GateFailed(f"ResourceProperties miss {', '.join(missing)}")
    return {key: str(props[key]) for key in required}


def _timeout_seconds() -> float:
    return float(os.environ.get("WAIT_TIMEOUT_SECONDS", DEFAULT_WAIT_TIMEOUT_SECONDS))


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."


def _log(stage: str, event: dict[str, Any]) -> None:
    # ResponseURL is a presigned URL that can answer CloudFormation for this resource: never log it.
    keys = ("RequestType", "LogicalResourceId", "PhysicalResourceId", "ResourceProperties")
    LOGGER.info(json.dumps({"stage": stage, **{key: event[key] for key in keys if key in event}}, default=str))
