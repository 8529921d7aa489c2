"""The handler answers CloudFormation itself: a PUT of the response document to the event's ResponseURL, over real
HTTP here (a local server stands in for the presigned S3 URL)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from custom_resources import handler, response
from custom_resources.common import Failed


class Recorder(BaseHTTPRequestHandler):
    answers: list[int] = []
    received: list[dict[str, Any]] = []

    def do_PUT(self) -> None:  # http.server dispatches on this name
        length = int(self.headers["Content-Length"])
        self.received.append(
            {"path": self.path, "headers": dict(self.headers), "body": json.loads(self.rfile.read(length))}
        )
        status = self.answers.pop(0) if self.answers else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    Recorder.answers, Recorder.received = [], []
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/presigned?X-Amz-Signature=secret-signature"
    finally:
        server.shutdown()


def event(url: str, request_type: str = "Create", **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "RequestId": "req-1",
        "LogicalResourceId": "Gate",
        "ResourceType": "Custom::Test",
        "ResourceProperties": {},
        **extra,
    }


@pytest.fixture
def custom_handler(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    behaviour: dict[str, Any] = {"result": {"PhysicalResourceId": "pid-1", "Data": {"Endpoint": "x"}}}

    def on_event(evt: dict[str, Any], context: Any = None) -> dict[str, Any]:
        if "error" in behaviour:
            raise behaviour["error"]
        return dict(behaviour["result"])

    monkeypatch.setitem(handler.HANDLERS, "Custom::Test", on_event)
    return behaviour


def test_success_is_put_with_the_ids_cloudformation_matches_and_no_content_type(
    endpoint: str, custom_handler: dict[str, Any]
) -> None:
    handler.lambda_handler(event(endpoint))
    (put,) = Recorder.received
    assert put["path"].startswith("/presigned?")
    # The presigned URL signs no content type; a client's default one breaks the signature.
    assert put["headers"].get("Content-Type", "") == ""
    assert put["body"] == {
        "Status": "SUCCESS",
        "Reason": "",
        "PhysicalResourceId": "pid-1",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "RequestId": "req-1",
        "LogicalResourceId": "Gate",
        "NoEcho": False,
        "Data": {"Endpoint": "x"},
    }


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (Failed("token endpoint answered 503 ten times"), "token endpoint answered 503 ten times"),
        (KeyError("Pool"), "KeyError: 'Pool'"),
    ],
)
def test_any_failure_still_answers_cloudformation_with_the_reason(
    endpoint: str, custom_handler: dict[str, Any], error: Exception, reason: str
) -> None:
    custom_handler["error"] = error
    handler.lambda_handler(event(endpoint, "Update", PhysicalResourceId="pid-0"))
    (put,) = Recorder.received
    assert (put["body"]["Status"], put["body"]["Reason"], put["body"]["PhysicalResourceId"]) == (
        "FAILED",
        reason,
        "pid-0",
    )


def test_a_failed_create_gets_an_id_cloudformation_can_delete(endpoint: str, custom_handler: dict[str, Any]) -> None:
    custom_handler["error"] = Failed("no")
    handler.lambda_handler(event(endpoint))
    assert Recorder.received[0]["body"]["PhysicalResourceId"] == "Gate-req-1"


def test_an_unknown_resource_type_fails_naming_the_known_ones(endpoint: str) -> None:
    handler.lambda_handler({**event(endpoint), "ResourceType": "Custom::Unknown"})
    body = Recorder.received[0]["body"]
    assert body["Status"] == "FAILED" and "Custom::TokenEndpointGate" in body["Reason"]


def test_transient_errors_are_retried_and_a_client_error_is_not(endpoint: str) -> None:
    Recorder.answers = [503, 500, 200]
    response.send(event(endpoint), status="SUCCESS", physical_id="p", sleep=lambda seconds: None)
    assert len(Recorder.received) == 3
    Recorder.answers, Recorder.received = [403], []
    with pytest.raises(Exception, match="403"):
        response.send(event(endpoint), status="SUCCESS", physical_id="p", sleep=lambda seconds: None)
    assert len(Recorder.received) == 1


def test_a_response_over_cloudformations_4096_bytes_fails_instead_of_vanishing(
    endpoint: str, custom_handler: dict[str, Any]
) -> None:
    custom_handler["result"] = {"PhysicalResourceId": "p", "Data": {"Big": "x" * 5000}}
    handler.lambda_handler(event(endpoint))
    body = Recorder.received[0]["body"]
    assert body["Status"] == "FAILED" and body["Data"] == {} and "4096" in body["Reason"]
    assert int(Recorder.received[0]["headers"]["Content-Length"]) <= response.MAX_BODY_BYTES


def test_the_response_url_is_never_logged(
    endpoint: str, custom_handler: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    # The presigned URL can answer for the resource: whoever reads the logs must not be able to.
    caplog.set_level(logging.DEBUG)
    custom_handler["error"] = KeyError("boom")
    handler.lambda_handler(event(endpoint))
    assert caplog.records, "nothing was logged: the check would prove nothing"
    assert not [r for r in caplog.records if "secret-signature" in r.getMessage() + str(r.exc_text)]
