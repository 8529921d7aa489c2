"""The token-endpoint gate against moto's Cognito and a token endpoint on loopback, with a fake clock (no real sleep)."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from custom_resources import handler as entry
from custom_resources import token_gate as handler
from custom_resources.common import Failed

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
    """time.time and time.sleep in one: sleeping moves the clock, so a 10-minute wait takes no time."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class LambdaContext:
    def __init__(self, clock: FakeClock, seconds: float) -> None:
        self.clock, self.deadline = clock, clock.now + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - self.clock.now) * 1000)


@pytest.fixture(autouse=True)
def _wait_bound(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAIT_TIMEOUT_SECONDS", "600")


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
        "ResourceType": "Custom::TokenEndpointGate",
        # Every request of CloudFormation has its own id: a physical id derived from it would change on Update.
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": "TokenGate",
        "ResponseURL": "https://cloudformation-custom-resource-response.example/presigned",
        "ResourceProperties": props,
    }
    if request_type != "Create":
        body["PhysicalResourceId"] = f"{pool['pool_id']}/{pool['client_id']}"
    return body


def cognito_client() -> Any:
    return boto3.client("cognito-idp", region_name=REGION)


def run(evt: dict[str, Any], clock: FakeClock, context: Any = None) -> dict[str, Any]:
    """The gate as the provider framework calls it: one on_event that polls until a token or its deadline."""
    return handler.on_event(
        evt, context, client_factory=lambda service: cognito_client(), clock=clock, sleep=clock.sleep
    )


def closed_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_errors_first_then_a_token_completes_the_gate(pool: dict[str, str], logs: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    answers: list[tuple[int, Any, dict[str, str]]] = [
        (503, {"message": "Service Unavailable"}, {}),
        (400, {"error": "invalid_client"}, {}),
        (200, {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600}, {}),
    ]
    with TokenEndpoint(answers) as endpoint:
        result = run(gate_event("Create", pool, endpoint.url), clock)
    assert result == {"PhysicalResourceId": f"{pool['pool_id']}/{pool['client_id']}"}
    assert len(endpoint.requests) == 3 and clock.sleeps == [10.0, 10.0]
    # A real client-credentials request: Basic auth with the secret read from Cognito, the grant and the scope.
    request = endpoint.requests[-1]
    expected_basic = base64.b64encode(f"{pool['client_id']}:{pool['secret']}".encode()).decode()
    assert request["method"] == "POST"
    assert request["headers"]["Authorization"] == f"Basic {expected_basic}"
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert request["form"] == {"grant_type": ["client_credentials"], "scope": [SCOPE]}
    assert "HTTP 503" in logs.text and "HTTP 400 invalid_client" in logs.text
    # The secret and the token are in no log line and in nothing handed back to the framework.
    for leaked in (pool["secret"], ACCESS_TOKEN, expected_basic):
        assert leaked not in logs.text
        assert leaked not in json.dumps(result)


def test_no_token_before_the_deadline_fails_with_a_clear_message(
    pool: dict[str, str], logs: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    start = clock.now
    with TokenEndpoint([(400, {"error": "invalid_client"}, {})]) as endpoint:
        with pytest.raises(Failed) as failure:
            run(gate_event("Create", pool, endpoint.url), clock)
    message = str(failure.value)
    assert message == (
        f"Token endpoint {endpoint.url} issued no client-credentials token for client {pool['client_id']} "
        f"(scope {SCOPE}) within 600 s; last attempt: HTTP 400 invalid_client"
    )
    # Bounded: one attempt every 10 s, from 0 to 600 s, none after.
    assert clock.now - start <= 600 and len(endpoint.requests) == 61
    assert pool["secret"] not in logs.text


def test_the_wait_ends_before_lambda_would_stop_the_handler(pool: dict[str, str]) -> None:
    clock = FakeClock()
    # 5 minutes left in this invocation: the gate gives up with its own message 30 s before Lambda's timeout.
    context = LambdaContext(clock, 300)
    with TokenEndpoint([(400, {"error": "invalid_client"}, {})]):
        with pytest.raises(Failed, match="issued no client-credentials token"):
            run(gate_event("Create", pool, "http://127.0.0.1:1/oauth2/token"), clock, context)
    assert context.get_remaining_time_in_millis() >= 30_000


def test_an_unreachable_endpoint_is_not_ready_yet(pool: dict[str, str]) -> None:
    clock = FakeClock()
    # Like a Cognito domain whose DNS has not propagated: nothing answers there.
    url = f"http://127.0.0.1:{closed_loopback_port()}/oauth2/token"
    with pytest.raises(Failed, match="last attempt: endpoint unreachable"):
        run(gate_event("Create", pool, url), clock)
    assert len(clock.sleeps) == 60


def test_an_error_body_that_echoes_the_secret_is_scrubbed(pool: dict[str, str], logs: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    echo = {"error": "invalid_client", "error_description": f"client secret {pool['secret']} does not match"}
    with TokenEndpoint([(400, echo, {})]) as endpoint:
        with pytest.raises(Failed) as failure:
            run(gate_event("Create", pool, endpoint.url), clock)
    assert "client secret <redacted> does not match" in str(failure.value)
    assert pool["secret"] not in str(failure.value) and pool["secret"] not in logs.text


def test_a_large_token_response_is_read_whole(pool: dict[str, str]) -> None:
    clock = FakeClock()
    claims = {"access_token": "h." + "c" * 20_000 + ".s", "token_type": "Bearer", "expires_in": 3600}
    with TokenEndpoint([(200, claims, {})]) as endpoint:
        run(gate_event("Create", pool, endpoint.url), clock)
    assert clock.sleeps == []


def test_a_200_without_an_access_token_is_not_a_token(pool: dict[str, str]) -> None:
    clock = FakeClock()
    with TokenEndpoint([(200, b"<html>maintenance</html>", {}), (200, {"access_token": ACCESS_TOKEN}, {})]) as endpoint:
        run(gate_event("Create", pool, endpoint.url), clock)
    assert len(endpoint.requests) == 2 and clock.sleeps == [10.0]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_with_the_secret(pool: dict[str, str], status: int) -> None:
    clock = FakeClock()
    elsewhere = TokenEndpoint([(200, {"access_token": ACCESS_TOKEN}, {})])
    with elsewhere, TokenEndpoint([(status, {}, {"Location": elsewhere.url})]) as endpoint:
        with pytest.raises(Failed, match=f"last attempt: HTTP {status}"):
            run(gate_event("Create", pool, endpoint.url), clock)
    assert len(endpoint.requests) == 61
    # Whatever method a client would follow the redirect with, the second host heard nothing (no credentials).
    assert elsewhere.requests == [], [(r["method"], r["headers"].get("Authorization")) for r in elsewhere.requests]


@pytest.mark.parametrize("url", ["http://auth.example.com/oauth2/token", "ftp://127.0.0.1/token", "not a url"])
def test_only_https_or_loopback_endpoints_get_the_secret(pool: dict[str, str], url: str) -> None:
    clock = FakeClock()
    with pytest.raises(Failed, match="must be an https:// URL"):
        run(gate_event("Create", pool, url), clock)
    assert clock.sleeps == []


def test_a_client_without_a_secret_fails_at_once(pool: dict[str, str]) -> None:
    clock = FakeClock()
    with TokenEndpoint([(200, {"access_token": ACCESS_TOKEN}, {})]) as endpoint:
        with pytest.raises(Failed, match="has no secret"):
            run(gate_event("Create", pool, endpoint.url, ClientId=pool["public_client_id"]), clock)
    assert endpoint.requests == [] and clock.sleeps == []


def test_a_client_cognito_does_not_know_yet_is_polled_again(pool: dict[str, str]) -> None:
    clock = FakeClock()
    with TokenEndpoint([(200, {"access_token": ACCESS_TOKEN}, {})]) as endpoint:
        with pytest.raises(Failed, match="ResourceNotFoundException"):
            run(gate_event("Create", pool, endpoint.url, ClientId="unknownclientid0000000000"), clock)
    assert endpoint.requests == [] and len(clock.sleeps) == 60


def test_update_checks_again_and_keeps_the_physical_id(pool: dict[str, str]) -> None:
    clock = FakeClock()
    create = gate_event("Create", pool, "")
    update = gate_event("Update", pool, "")
    # Two requests of CloudFormation, as it sends them: each its own RequestId. (With one shared id, a physical id
    # made from the RequestId would pass this test and then replace the gate on every real update.)
    assert create["RequestId"] != update["RequestId"]
    with TokenEndpoint([(200, {"access_token": ACCESS_TOKEN}, {})]) as endpoint:
        for event in (create, update):
            event["ResourceProperties"]["TokenEndpoint"] = endpoint.url
        created = run(create, clock)
        clock.now += 3600
        updated = run(update, clock)
    assert updated == created == {"PhysicalResourceId": f"{pool['pool_id']}/{pool['client_id']}"}
    assert len(endpoint.requests) == 2


def stubbed_cognito(denials: int, secret: str = "s" * 51) -> tuple[Any, Stubber]:
    """A cognito-idp client (botocore's Stubber: calls checked against the real service model) that refuses
    DescribeUserPoolClient `denials` times with AccessDeniedException, then answers with a confidential client."""
    cognito = boto3.client("cognito-idp", region_name=REGION)
    stubber = Stubber(cognito)
    expected = {"UserPoolId": "us-east-1_Pool1234", "ClientId": "client1234abcdef567890abcd"}
    for _ in range(denials):
        stubber.add_client_error(
            "describe_user_pool_client",
            service_error_code="AccessDeniedException",
            service_message="User is not authorized to perform: cognito-idp:DescribeUserPoolClient",
            http_status_code=400,
            expected_params=expected,
        )
    stubber.add_response(
        "describe_user_pool_client",
        {
            "UserPoolClient": {
                "UserPoolId": "us-east-1_Pool1234",
                "ClientId": "client1234abcdef567890abcd",
                "ClientSecret": secret,
            }
        },
        expected,
    )
    stubber.activate()
    return cognito, stubber


def stubbed_event(endpoint: str) -> dict[str, Any]:
    return gate_event("Create", {"pool_id": "us-east-1_Pool1234", "client_id": "client1234abcdef567890abcd"}, endpoint)


def test_access_denied_from_a_role_just_created_is_retried_until_it_propagates() -> None:
    # IAM is eventually consistent: the handler's new role (or its policy) may be refused for a while.
    clock = FakeClock()
    cognito, stubber = stubbed_cognito(denials=5)
    with TokenEndpoint([(200, {"access_token": ACCESS_TOKEN}, {})]) as endpoint:
        result = handler.on_event(
            stubbed_event(endpoint.url), None, client_factory=lambda _: cognito, clock=clock, sleep=clock.sleep
        )
    assert result == {"PhysicalResourceId": "us-east-1_Pool1234/client1234abcdef567890abcd"}
    assert clock.sleeps == [10.0] * 5 and len(endpoint.requests) == 1
    stubber.assert_no_pending_responses()


def test_access_denied_for_longer_than_iam_propagates_fails_naming_the_grant() -> None:
    # A grant that is really missing fails after the grace (3 minutes), not after the whole 10-minute wait.
    clock = FakeClock()
    start = clock.now
    cognito, _ = stubbed_cognito(denials=100)
    with TokenEndpoint([(200, {"access_token": ACCESS_TOKEN}, {})]) as endpoint:
        with pytest.raises(Failed) as failure:
            handler.on_event(
                stubbed_event(endpoint.url), None, client_factory=lambda _: cognito, clock=clock, sleep=clock.sleep
            )
    message = str(failure.value)
    assert message.startswith("DescribeUserPoolClient for client client1234abcdef567890abcd: AccessDeniedException")
    assert "still refused after 180 s" in message and "cognito-idp:DescribeUserPoolClient" in message
    assert clock.now - start <= handler.ACCESS_DENIED_GRACE_SECONDS and len(clock.sleeps) == 18
    assert endpoint.requests == []


def test_every_token_request_carries_a_timeout(pool: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Without one, an endpoint that accepts the connection and never answers holds the stack for the custom
    # resource's whole service timeout.
    timeouts: list[object] = []
    real_open = handler._OPENER.open

    def spy(request: Any, *args: Any, **kwargs: Any) -> Any:
        timeouts.append(kwargs.get("timeout", args[1] if len(args) > 1 else None))
        return real_open(request, *args, **kwargs)

    monkeypatch.setattr(handler._OPENER, "open", spy)
    clock = FakeClock()
    with TokenEndpoint([(503, {}, {}), (200, {"access_token": ACCESS_TOKEN}, {})]) as endpoint:
        run(gate_event("Create", pool, endpoint.url), clock)
    assert timeouts == [handler.HTTP_TIMEOUT_SECONDS] * 2
    assert 0 < handler.HTTP_TIMEOUT_SECONDS < handler.POLL_INTERVAL_SECONDS * 2


def test_a_hung_endpoint_is_not_ready_after_the_timeout(pool: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # A listening socket that never answers: the request gives up after the (shortened) timeout.
    monkeypatch.setattr(handler, "HTTP_TIMEOUT_SECONDS", 0.2)
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(1)
        url = f"http://127.0.0.1:{hung.getsockname()[1]}/oauth2/token"
        with pytest.raises(handler.NotReady, match="endpoint unreachable"):
            handler.attempt(cognito_client(), {**gate_event("Create", pool, url)["ResourceProperties"]})


def test_delete_calls_nothing_even_when_replayed() -> None:
    clock = FakeClock()

    def no_client(service: str) -> Any:
        raise AssertionError("Delete must not call AWS")

    evt = {
        "RequestType": "Delete",
        "ResourceType": "Custom::TokenEndpointGate",
        "PhysicalResourceId": "us-east-1_pool/client",
        "ResourceProperties": {},
    }
    for _ in range(2):
        result = handler.on_event(evt, None, client_factory=no_client, clock=clock, sleep=clock.sleep)
        assert result == {"PhysicalResourceId": "us-east-1_pool/client"}


def test_missing_properties_fail_clearly(pool: dict[str, str]) -> None:
    evt = gate_event("Create", pool, "https://auth.example.com/oauth2/token")
    del evt["ResourceProperties"]["Scope"], evt["ResourceProperties"]["TokenEndpoint"]
    with pytest.raises(Failed, match="miss TokenEndpoint, Scope"):
        run(evt, FakeClock())


def test_the_entry_point_dispatches_on_the_resource_type(pool: dict[str, str]) -> None:
    with pytest.raises(Failed, match="No handler for resource type 'Custom::Unknown'"):
        entry.on_event({**gate_event("Create", pool, "https://x.example/t"), "ResourceType": "Custom::Unknown"})
    assert entry.HANDLERS["Custom::TokenEndpointGate"] is handler.on_event
