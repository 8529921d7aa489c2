"""Custom::TokenEndpointGate: wait until a Cognito token endpoint issues a client-credentials token.

A new Cognito domain takes a while to resolve and to accept the pool's clients, and a gateway target created
before then fails its first synchronization. The client secret is read here with DescribeUserPoolClient, so it is
never in the template, the event, the response or the logs; every message built from the endpoint's answer is
scrubbed of it as well. One invocation polls until a token is issued or the wait bound is reached, then fails
with the endpoint's last answer.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from botocore.exceptions import ClientError

from custom_resources.common import (
    ClientFactory,
    Clock,
    Failed,
    Sleep,
    client,
    log,
    properties,
    remaining_seconds,
    truncate,
)

RESOURCE_TYPE = "Custom::TokenEndpointGate"
REQUIRED = ("UserPoolId", "ClientId", "TokenEndpoint", "Scope")

DEFAULT_WAIT_TIMEOUT_SECONDS = 600
POLL_INTERVAL_SECONDS = 10.0
# Kept free at the end of the Lambda invocation, so that the gate's own message (not Lambda's timeout) is
# what CloudFormation shows.
MARGIN_SECONDS = 30.0
HTTP_TIMEOUT_SECONDS = 10.0
# Tokens with many scopes or claims run to several KiB; a truncated body would never parse as a token.
MAX_BODY_BYTES = 256 * 1024
# Cognito's answers while a new client or pool is not consistent yet: worth another poll, not a failure.
RETRYABLE_COGNITO_CODES = frozenset({"ResourceNotFoundException", "TooManyRequestsException", "ThrottlingException"})
# AccessDenied (the error every AWS API answers an IAM refusal with: "Common Errors" of the API references) in the
# first minutes is the usual sign of a role (or its policy) created moments ago: IAM is
# eventually consistent, and a change can take minutes to reach every endpoint (IAM user guide, "Changes that I make
# are not always immediately visible"). Retried for this long from the gate's start, then a failure: a grant that
# is really missing must not hold the stack for the whole wait.
ACCESS_DENIED_GRACE_SECONDS = 180.0
ACCESS_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied"})


class NotReady(Exception):
    """The endpoint did not issue a token on this attempt; the message says why (never with the secret)."""


class AccessDenied(NotReady):
    """DescribeUserPoolClient was refused: retried while the role may still be propagating, a failure after."""


def on_event(
    event: dict[str, Any],
    context: Any = None,
    *,
    client_factory: ClientFactory = client,
    clock: Clock = time.time,
    sleep: Sleep = time.sleep,
) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        # Nothing was created: the gate only observes the pool.
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    props = {key: str(value) for key, value in properties(event, *REQUIRED).items() if key in REQUIRED}
    physical_id = f"{props['UserPoolId']}/{props['ClientId']}"
    wait = wait_timeout_seconds()
    started = clock()
    deadline = started + min(wait, remaining_seconds(context) - MARGIN_SECONDS)
    cognito = client_factory("cognito-idp")
    while True:
        try:
            attempt(cognito, props)
        except NotReady as err:
            log(tokenEndpoint=props["TokenEndpoint"], notReady=str(err))
            if (
                isinstance(err, AccessDenied)
                and clock() + POLL_INTERVAL_SECONDS > started + ACCESS_DENIED_GRACE_SECONDS
            ):
                raise Failed(
                    truncate(
                        f"{err} (still refused after {ACCESS_DENIED_GRACE_SECONDS:g} s, longer than IAM takes to "
                        "propagate a new role: the handler's role lacks cognito-idp:DescribeUserPoolClient on this "
                        "pool, or the pool lacks the tag its grant is conditioned on)"
                    )
                ) from None
            if clock() + POLL_INTERVAL_SECONDS > deadline:
                raise Failed(
                    truncate(
                        f"Token endpoint {props['TokenEndpoint']} issued no client-credentials token for client "
                        f"{props['ClientId']} (scope {props['Scope']}) within {wait:g} s; last attempt: {err}"
                    )
                ) from None
            sleep(POLL_INTERVAL_SECONDS)
            continue
        log(tokenEndpoint=props["TokenEndpoint"], ready=True)
        return {"PhysicalResourceId": physical_id}


def attempt(cognito: Any, props: dict[str, str]) -> None:
    """One DescribeUserPoolClient and one token request; NotReady unless a token was issued."""
    secret = client_secret(cognito, props["UserPoolId"], props["ClientId"])
    try:
        # The timeout read now (not bound at import), so that a test can shorten it.
        request_token(props["TokenEndpoint"], props["ClientId"], secret, props["Scope"], timeout=HTTP_TIMEOUT_SECONDS)
    except NotReady as err:
        raise NotReady(str(err).replace(secret, "<redacted>")) from None


def request_token(
    endpoint: str, client_id: str, secret: str, scope: str, timeout: float = HTTP_TIMEOUT_SECONDS
) -> None:
    """One client-credentials request; returns when a token was issued, raises NotReady otherwise."""
    require_safe_endpoint(endpoint)
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


def require_safe_endpoint(endpoint: str) -> None:
    # The secret travels in the request: only TLS, or plain HTTP to this very machine (local tests), may carry it.
    parsed = urllib.parse.urlsplit(endpoint)
    if parsed.scheme == "https" and parsed.hostname:
        return
    if parsed.scheme == "http" and parsed.hostname and _is_loopback(parsed.hostname):
        return
    raise Failed(f"Token endpoint must be an https:// URL, got {endpoint!r}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def client_secret(cognito: Any, user_pool_id: str, client_id: str) -> str:
    try:
        described = cognito.describe_user_pool_client(UserPoolId=user_pool_id, ClientId=client_id)["UserPoolClient"]
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "Unknown")
        message = err.response.get("Error", {}).get("Message", "")
        if code in RETRYABLE_COGNITO_CODES:
            raise NotReady(f"DescribeUserPoolClient: {code}: {message}") from None
        if code in ACCESS_DENIED_CODES:
            raise AccessDenied(f"DescribeUserPoolClient for client {client_id}: {code}: {message}") from None
        raise Failed(truncate(f"DescribeUserPoolClient for client {client_id} failed: {code}: {message}")) from None
    secret = described.get("ClientSecret")
    if not secret:
        raise Failed(f"App client {client_id} has no secret: the client-credentials flow needs a confidential client")
    return str(secret)


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


def wait_timeout_seconds() -> float:
    return float(os.environ.get("WAIT_TIMEOUT_SECONDS", DEFAULT_WAIT_TIMEOUT_SECONDS))
