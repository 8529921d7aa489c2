"""The token-endpoint gate handlers against moto's Cognito and a token endpoint on loopback."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import boto3
import pytest
from moto import mock_aws

from custom_resources.token_gate import handler

REGION = "us-east-1"
SCOPE = "mcpgw-runtime/invoke"
ACCESS_TOKEN = "eyJhbGciOi.issued-access-token.sig"


class TokenEndpoint:
    """An OAuth token endpoint on 127.0.0.1 that plays back scripted answers and records each request."""

    def __init__(self, answers: list[tuple[int, Any, dict[str, str]]]) -> None:
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            # Every method answers and is recorded: urllib follows a 302 as a GET (keeping the Authorization
            # header), so a POST-only fake would hide exactly the leak a redirect test is there to catch.
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                endpoint.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "form": urllib.parse.parse_qs(self.rfile.read(length).decode()),
                    }
                )
                status, body, headers = endpoint.answers.pop(0) if len(endpoint.answers) > 1 else endpoint.answers[0]
                payload = json.dumps(body).encode() if not isinstance(body, bytes) else body
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_HEAD = do_PUT = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/oauth2/token"
        # A short poll interval: shutdown() waits for serve_forever's next look at the flag.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "WAIT_TIMEOUT_SECONDS": "600",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def pool() -> Iterator[dict[str, str]]:
    """A machine-to-machine pool in moto: resource server, invoke scope, confidential client-credentials client."""
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name=REGION)
        pool_id = cognito.create_user_pool(PoolName="runtime-pool")["UserPool"]["Id"]
        cognito.create_resource_server(
            UserPoolId=pool_id,
            Identifier="mcpgw-runtime",
            Name="mcpgw-runtime",
            Scopes=[{"ScopeName": "invoke", "ScopeDescription": "Invoke"}],
        )
        client = cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="runtime-m2m",
            GenerateSecret=True,
            AllowedOAuthFlows=["client_credentials"],
            AllowedOAuthScopes=[SCOPE],
            AllowedOAuthFlowsUserPoolClient=True,
        )["UserPoolClient"]
        public = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="public", GenerateSecret=False)
        yield {
            "pool_id": pool_id,
            "client_id": client["ClientId"],
            "secret": client["ClientSecret"],
            "public_client_id": public["UserPoolClient"]["ClientId"],
        }


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    # INFO and up everywhere (boto3, urllib, the handler): the level the deployed Lambda logs at.
    caplog.set_level(logging.INFO)
    return caplog


def gate_event(request_type: str, pool: dict[str, str], endpoint: str, **overrides: str) -> dict[str, Any]:
    props = {
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:framework",
        "UserPoolId": pool["pool_id"],
        "ClientId": pool["client_id"],
        "TokenEndpoint": endpoint,
        "Scope": SCOPE,
    }
    props.update(overrides)
    body: dict[str, Any] = {
        "RequestType": request_type,
        "RequestId": "req-1",
        "LogicalResourceId": "TokenGate",
        "ResponseURL": "https://cloudformation-custom-resource-response.example/presigned",
        "ResourceProperties": props,
    }
    if request_type != "Create":
        body["PhysicalResourceId"] = f"{pool['pool_id']}/{pool['client_id']}"
    return body


def cognito_client() -> Any:
    return boto3.client("cognito-idp", region_name=REGION)


def start(evt: dict[str, Any], clock: FakeClock) -> dict[str, Any]:
    """on_event, then the event the framework hands to is_complete."""
    return {**evt, **handler.on_event(evt, None, clock=clock)}


def poll(evt: dict[str, Any], clock: FakeClock) -> dict[str, Any]:
    return handler.is_complete(evt, None, client_factory=cognito_client, clock=clock)


def closed_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_errors_first_then_a_token_completes_the_gate(pool: dict[str, str], logs: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    answers = [
        (503, {"message": "Service Unavailable"}, {}),
        (400, {"error": "invalid_client"}, {}),
        (200, {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600}, {}),
    ]
    with TokenEndpoint(answers) as endpoint:
        evt = start(gate_event("Create", pool, endpoint.url), clock)
        assert evt["PhysicalResourceId"] == f"{pool['pool_id']}/{pool['client_id']}"
        assert evt["Deadline"] == clock.now + 600
        results = []
        for _ in range(3):
            results.append(poll(evt, clock))
            clock.now += 10
    assert results == [{"IsComplete": False}, {"IsComplete": False}, {"IsComplete": True}]
    # A real client-credentials request: Basic auth with the secret read from Cognito, the grant and the scope.
    request = endpoint.requests[-1]
    expected_basic = base64.b64encode(f"{pool['client_id']}:{pool['secret']}".encode()).decode()
    assert request["headers"]["Authorization"] == f"Basic {expected_basic}"
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert request["form"] == {"grant_type": ["client_credentials"], "scope": [SCOPE]}
    assert "HTTP 503" in logs.text and "HTTP 400 invalid_client" in logs.text
    # The secret and the token are in no log line and in nothing handed back to the framework.
    for leaked in (pool["secret"], ACCESS_TOKEN, expected_basic):
        assert leaked not in logs.text
        assert leaked not in json.dumps(results) and leaked not in json.dumps(evt)


def test_no_token_before_the_deadline_fails_with_a_clear_message(
    pool: dict[str, str], logs: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    with TokenEndpoint([(400, {"error": "invalid_client"}, {})]) as endpoint:
        evt = start(gate_event("Create", pool, endpoint.url), clock)
        clock.now += 599
        assert poll(evt, clock) == {"IsComplete": False}
        clock.now += 1
        with pytest.raises(handler.GateFailed) as failure:
            poll(evt, clock)
    message = str(failure.value)
    assert message == (
        f"Token endpoint {endpoint.url} issued no client-credentials token for client {pool['client_id']} "
        f"(scope {SCOPE}) within 600 s; last attempt: HTTP 400 invalid_client"
    )
    assert pool["secret"] not in logs.text


def test_an_unreachable_endpoint_is_not_ready_yet(pool: dict[str, str]) -> None:
    clock = FakeClock()
    # Like a Cognito domain whose DNS has not propagated: nothing answers there.
    url = f"http://127.0.0.1:{closed_loopback_port()}/oauth2/token"
    evt = start(gate_event("Create", pool, url), clock)
    assert poll(evt, clock) == {"IsComplete": False}
    clock.now += 600
    with pytest.raises(handler.GateFailed, match="last attempt: endpoint unreachable"):
        poll(evt, clock)


def test_an_error_body_that_echoes_the_secret_is_scrubbed(pool: dict[str, str], logs: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    echo = {"error": "invalid_client", "error_description": f"client secret {pool['secret']} does not match"}
    with TokenEndpoint([(400, echo, {})]) as endpoint:
        evt = start(gate_event("Create", pool, endpoint.url), clock)
        assert poll(evt, clock) == {"IsComplete": False}
        clock.now += 600
        with pytest.raises(handler.GateFailed) as failure:
            poll(evt, clock)
    assert "client secret <redacted> does not match" in str(failure.value)
    assert pool["secret"] not in str(failure.value) and pool["secret"] not in logs.text


def test_a_large_token_response_is_read_whole(pool: dict[str, str]) -> None:
    clock = FakeClock()
    claims = {"access_token": "h." + "c" * 20_000 + ".s", "token_type": "Bearer", "expires_in": 3600}
    with TokenEndpoint([(200, claims, {})]) as endpoint:
        evt = start(gate_event("Create", pool, endpoint.url), clock)
        assert poll(evt, clock) == {"IsComplete": True}


def test_a_200_without_an_access_token_is_not_a_token(pool: dict[str, str]) -> None:
    clock = FakeClock()
    with TokenEndpoint([(200, b"<html>maintenance</html>", {})]) as endpoint:
        evt = start(gate_event("Create", pool, endpoint.url), clock)
        assert poll(evt, clock) == {"IsComplete": False}


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_with_the_secret(pool: dict[str, str], status: int) -> None:
    clock = FakeClock()
    elsewhere = TokenEndpoint([(200, {"access_token": ACCESS_TOKEN}, {})])
    with elsewhere, TokenEndpoint([(status, {}, {"Location": elsewhere.url})]) as endpoint:
        evt = start(gate_event("Create", pool, endpoint.url), clock)
        assert poll(evt, clock) == {"IsComplete": False}
    assert len(endpoint.requests) == 1
    # Whatever method a client would follow the redirect with, the second host heard nothing (no credentials).
    assert elsewhere.requests == [], [(r["method"], r["headers"].get("Authorization")) for r in elsewhere.requests]


@pytest.mark.parametrize("url", ["http://auth.example.com/oauth2/token", "ftp://127.0.0.1/token", "not a url"])
def test_only_https_or_loopback_endpoints_get_the_secret(pool: dict[str, str], url: str) -> None:
    clock = FakeClock()
    evt = start(gate_event("Create", pool, url), clock)
    with pytest.raises(handler.GateFailed, match="must be an https:// URL"):
        poll(evt, clock)


def test_a_client_without_a_secret_fails_at_once(pool: dict[str, str]) -> None:
    clock = FakeClock()
    with TokenEndpoint([(200, {"access_token": ACCESS_TOKEN}, {})]) as endpoint:
        evt = start(gate_event("Create", pool, endpoint.url, ClientId=pool["public_client_id"]), clock)
        with pytest.raises(handler.GateFailed, match="has no secret"):
            poll(evt, clock)
    assert endpoint.requests == []


def test_a_client_cognito_does_not_know_yet_is_polled_again(pool: dict[str, str]) -> None:
    clock = FakeClock()
    with TokenEndpoint([(200, {"access_token": ACCESS_TOKEN}, {})]) as endpoint:
        evt = start(gate_event("Create", pool, endpoint.url, ClientId="unknownclientid0000000000"), clock)
        assert poll(evt, clock) == {"IsComplete": False}
        clock.now += 600
        with pytest.raises(handler.GateFailed, match="ResourceNotFoundException"):
            poll(evt, clock)
    assert endpoint.requests == []


def test_update_checks_again_with_a_fresh_deadline_and_the_same_physical_id(pool: dict[str, str]) -> None:
    clock = FakeClock()
    with TokenEndpoint([(200, {"access_token": ACCESS_TOKEN}, {})]) as endpoint:
        created = start(gate_event("Create", pool, endpoint.url), clock)
        clock.now += 3600
        updated = start(gate_event("Update", pool, endpoint.url, Scope="mcpgw-runtime/invoke"), clock)
        assert poll(updated, clock) == {"IsComplete": True}
    assert updated["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert updated["Deadline"] == clock.now + 600
    assert len(endpoint.requests) == 1


def test_delete_calls_nothing_even_when_replayed() -> None:
    clock = FakeClock()

    def no_client() -> Any:
        raise AssertionError("Delete must not call AWS")

    evt = {"RequestType": "Delete", "PhysicalResourceId": "us-east-1_pool/client", "ResourceProperties": {}}
    for _ in range(2):
        result = handler.on_event(evt, None, clock=clock)
        assert result == {"PhysicalResourceId": "us-east-1_pool/client"}
        assert handler.is_complete({**evt, **result}, None, client_factory=no_client, clock=clock) == {
            "IsComplete": True
        }


def test_missing_properties_fail_clearly(pool: dict[str, str]) -> None:
    evt = gate_event("Create", pool, "https://auth.example.com/oauth2/token")
    del evt["ResourceProperties"]["Scope"], evt["ResourceProperties"]["TokenEndpoint"]
    with pytest.raises(handler.GateFailed, match="miss TokenEndpoint, Scope"):
        handler.on_event(evt, None, clock=FakeClock())
