"""The example MCP server, started as its image starts it and driven over HTTP by the official mcp client and by raw requests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import httpx2
import jsonschema
import pytest
from mcp import Client
from mcp.client import session as client_session
from mcp.shared.exceptions import MCPError
from mcp.types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from mcp_types import INVALID_PARAMS, METHOD_NOT_FOUND, PARSE_ERROR

from aws_rules.gateway import GATEWAY_MCP_VERSIONS
from tests.mcp_fixtures import MCP_HEADERS, SERVER_DIR, ServerProcess, json_rpc_reply, rpc, wait_for
from tools.bench_mcp import free_port

T = TypeVar("T")
# The version AgentCore Gateway speaks to its MCP targets (protocolConfiguration.mcp.supportedVersions).
GATEWAY_PROTOCOL_VERSION = "2025-03-26"
SDK_BODY_LIMIT = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess.start(tmp_path_factory.mktemp("mcp_server"))
    yield server
    server.stop()


def with_client(url: str, use: Callable[[Client], Awaitable[T]], mode: str = "legacy") -> T:
    """Run `use` on a connected client. Legacy (initialize handshake) is how the gateway talks to its targets."""

    async def run() -> T:
        with anyio.fail_after(30):
            async with Client(url, mode=mode) as client:
                return await use(client)

    return anyio.run(run)


def list_tools(server: ServerProcess) -> dict[str, Any]:
    async def use(client: Client) -> dict[str, Any]:
        return {tool.name: tool for tool in (await client.list_tools()).tools}

    return with_client(server.url, use)


def call_tool(server: ServerProcess, name: str, arguments: dict[str, Any]) -> Any:
    async def use(client: Client) -> Any:
        return await client.call_tool(name, arguments)

    return with_client(server.url, use)


def assert_still_serving(server: ServerProcess) -> None:
    assert server.process.poll() is None, f"the server died:\n{server.output()[-3000:]}"
    assert call_tool(server, "getOrder", {}).structured_content == {"result": 123}


# Handshake and discovery.


def test_initialize_names_the_server_and_offers_its_tools(server: ServerProcess) -> None:
    async def use(client: Client) -> None:
        assert client.server_info is not None and client.server_info.name == "orders"
        assert client.server_capabilities.tools is not None
        assert "getOrder" in (client.instructions or "") and "updateOrder" in (client.instructions or "")

    with_client(server.url, use)


def test_initialize_accepts_the_gateways_protocol_version(server: ServerProcess) -> None:
    params = {
        "protocolVersion": GATEWAY_PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    }
    response = httpx2.post(server.url, json=rpc("initialize", params), headers=MCP_HEADERS)
    assert response.status_code == 200
    assert json_rpc_reply(response)["result"]["protocolVersion"] == GATEWAY_PROTOCOL_VERSION


def test_requests_carrying_agentcore_runtimes_session_header_are_served(server: ServerProcess) -> None:
    # AgentCore Runtime adds an Mcp-Session-Id to every request it forwards; a stateless server must not refuse it.
    headers = {
        **MCP_HEADERS,
        "Mcp-Session-Id": "8d3c5a52-3d1b-4c8e-9a41-0f6f2b7c1e55",
        "MCP-Protocol-Version": GATEWAY_PROTOCOL_VERSION,
    }
    response = httpx2.post(server.url, json=rpc("tools/call", {"name": "getOrder", "arguments": {}}), headers=headers)
    assert response.status_code == 200
    assert json_rpc_reply(response)["result"]["structuredContent"] == {"result": 123}


def test_clients_of_the_2026_protocol_are_served_too(server: ServerProcess) -> None:
    async def use(client: Client) -> tuple[str, Any]:
        return client.protocol_version, (await client.call_tool("updateOrder", {"orderId": 9})).structured_content

    version, structured = with_client(server.url, use, mode="auto")
    assert version in MODERN_PROTOCOL_VERSIONS
    assert structured == {"result": 456}


@pytest.mark.parametrize("version", GATEWAY_MCP_VERSIONS)
def test_the_official_client_is_served_at_every_version_the_gateway_is_created_with(
    server: ServerProcess, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The gateway's versions are fixed at create (aws_rules gateway-mcp-versions-fixed-at-create): it is created with
    # all four, so the server must serve each. Handshake versions: the client offers `version` in initialize (the
    # SDK's offer is its session module's LATEST_HANDSHAKE_VERSION); 2026-07-28 is pinned as the client's mode.
    if version in MODERN_PROTOCOL_VERSIONS:
        mode = version
    else:
        assert version in HANDSHAKE_PROTOCOL_VERSIONS
        monkeypatch.setattr(client_session, "LATEST_HANDSHAKE_VERSION", version)
        mode = "legacy"

    async def use(client: Client) -> tuple[str, set[str], Any]:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        called = await client.call_tool("updateOrder", {"orderId": 7})
        return client.protocol_version, tools, called.structured_content

    assert with_client(server.url, use, mode=mode) == (version, {"getOrder", "updateOrder"}, {"result": 456})


def test_tools_keep_the_tutorials_names_and_arguments(server: ServerProcess) -> None:
    tools = list_tools(server)
    assert set(tools) == {"getOrder", "updateOrder"}
    assert tools["getOrder"].input_schema["properties"] == {}
    update = tools["updateOrder"].input_schema
    assert update["type"] == "object"
    assert set(update["properties"]) == {"orderId"}
    assert update["properties"]["orderId"]["type"] == "integer"
    assert update["required"] == ["orderId"]


def test_tool_definitions_tell_an_llm_what_it_needs(server: ServerProcess) -> None:
    tools = list_tools(server)
    for tool in tools.values():
        # The gateway embeds name, description and parameter descriptions for semantic search.
        assert len(tool.description.split()) >= 8, tool.name
        assert tool.input_schema["additionalProperties"] is False, tool.name
        jsonschema.Draft202012Validator.check_schema(tool.input_schema)
        jsonschema.Draft202012Validator.check_schema(tool.output_schema)
        assert tool.output_schema["properties"]["result"]["type"] == "integer", tool.name
    order_id = tools["updateOrder"].input_schema["properties"]["orderId"]
    assert "getOrder" in order_id["description"]
    assert order_id["minimum"] == 1
    assert tools["getOrder"].annotations.read_only_hint is True
    assert tools["updateOrder"].annotations.read_only_hint is False


@pytest.mark.parametrize(
    ("name", "arguments", "expected"), [("getOrder", {}, 123), ("updateOrder", {"orderId": 42}, 456)]
)
def test_tools_answer_with_structured_output(
    server: ServerProcess, name: str, arguments: dict[str, Any], expected: int
) -> None:
    output_schema = list_tools(server)[name].output_schema
    result = call_tool(server, name, arguments)
    assert result.is_error is False
    assert result.structured_content == {"result": expected}
    jsonschema.validate(result.structured_content, output_schema)
    # Clients that ignore structuredContent (the tutorial's agent) read the same value as text.
    assert [block.text for block in result.content] == [str(expected)]


# Bad input: a tool error for arguments (the model can read it and retry, as the spec asks), a JSON-RPC error or a
# 4xx for everything else; never a 500, and the server keeps serving.

BAD_ARGUMENTS = [
    pytest.param("updateOrder", {"orderId": "abc"}, "orderId", id="not-a-number"),
    pytest.param("updateOrder", {"orderId": "42"}, "orderId", id="number-as-string"),
    pytest.param("updateOrder", {"orderId": True}, "orderId", id="boolean"),
    pytest.param("updateOrder", {"orderId": 4.5}, "orderId", id="fraction"),
    pytest.param("updateOrder", {"orderId": None}, "orderId", id="null"),
    pytest.param("updateOrder", {"orderId": [1]}, "orderId", id="list"),
    pytest.param("updateOrder", {"orderId": 0}, "orderId", id="zero"),
    pytest.param("updateOrder", {"orderId": 2**63}, "orderId", id="beyond-int64"),
    pytest.param("updateOrder", {}, "orderId", id="missing"),
    pytest.param("updateOrder", {"orderId": 1, "note": "x"}, "note", id="extra"),
    pytest.param("getOrder", {"orderId": 1}, "orderId", id="extra-on-getOrder"),
]


@pytest.mark.parametrize(("name", "arguments", "culprit"), BAD_ARGUMENTS)
def test_bad_arguments_get_a_tool_error_naming_the_argument(
    server: ServerProcess, name: str, arguments: dict[str, Any], culprit: str
) -> None:
    result = call_tool(server, name, arguments)
    assert result.is_error is True
    assert result.structured_content is None
    assert culprit in result.content[0].text
    assert_still_serving(server)


@pytest.mark.parametrize(("name", "arguments", "culprit"), BAD_ARGUMENTS)
def test_the_advertised_input_schema_rejects_what_the_server_rejects(
    server: ServerProcess, name: str, arguments: dict[str, Any], culprit: str
) -> None:
    # A client that validates against the schema before calling sees the same rules as the server.
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(arguments, list_tools(server)[name].input_schema)


def test_an_unknown_tool_is_a_json_rpc_invalid_params_error(server: ServerProcess) -> None:
    async def use(client: Client) -> MCPError:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("deleteOrder", {"orderId": 1})
        return raised.value

    error = with_client(server.url, use)
    assert error.error.code == INVALID_PARAMS
    assert "deleteOrder" in error.error.message
    assert_still_serving(server)


BAD_MESSAGES = [
    pytest.param(b"{not json", PARSE_ERROR, id="not-json"),
    pytest.param(b"", PARSE_ERROR, id="empty-body"),
    pytest.param(b'{"jsonrpc": "2.0", "id": 1, "method": "\xff"}', PARSE_ERROR, id="not-utf8"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, PARSE_ERROR, id="nested-too-deep"),
    pytest.param(json.dumps({"hello": "world"}).encode(), INVALID_PARAMS, id="not-json-rpc"),
    pytest.param(
        json.dumps({"jsonrpc": "1.0", "id": 1, "method": "ping"}).encode(), INVALID_PARAMS, id="wrong-version"
    ),
    pytest.param(json.dumps([rpc("tools/list")]).encode(), INVALID_PARAMS, id="batch"),
    pytest.param(
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": "getOrder"}).encode(),
        INVALID_PARAMS,
        id="params-not-an-object",
    ),
    pytest.param(json.dumps(rpc("tools/call", {"arguments": {}})).encode(), INVALID_PARAMS, id="call-without-name"),
    pytest.param(json.dumps(rpc("tools/call", {"name": 7})).encode(), INVALID_PARAMS, id="name-not-a-string"),
    pytest.param(
        json.dumps(rpc("tools/call", {"name": "updateOrder", "arguments": [7]})).encode(),
        INVALID_PARAMS,
        id="arguments-not-an-object",
    ),
    pytest.param(json.dumps(rpc("orders/delete", {})).encode(), METHOD_NOT_FOUND, id="unknown-method"),
]


@pytest.mark.parametrize(("body", "code"), BAD_MESSAGES)
def test_malformed_messages_get_a_json_rpc_error(server: ServerProcess, body: bytes, code: int) -> None:
    response = httpx2.post(server.url, content=body, headers=MCP_HEADERS)
    assert response.status_code in (200, 400), response.text[:300]
    assert json_rpc_reply(response)["error"]["code"] == code
    assert_still_serving(server)


def test_an_oversized_body_is_refused_with_413(server: ServerProcess) -> None:
    padding = "x" * SDK_BODY_LIMIT
    body = json.dumps(rpc("tools/call", {"name": "updateOrder", "arguments": {"orderId": 1, "pad": padding}}))
    assert httpx2.post(server.url, content=body, headers=MCP_HEADERS).status_code == 413
    assert_still_serving(server)


def test_an_oversized_chunked_body_is_refused_with_413(server: ServerProcess) -> None:
    # No Content-Length: the limit has to hold while the body streams in.
    chunks = (b"x" * 65536 for _ in range(SDK_BODY_LIMIT // 65536 + 2))
    assert httpx2.post(server.url, content=chunks, headers=MCP_HEADERS).status_code == 413
    assert_still_serving(server)


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        pytest.param("GET", MCP_HEADERS, 405, id="GET-has-no-stream-when-stateless"),
        pytest.param("DELETE", MCP_HEADERS, 405, id="DELETE-has-no-session"),
        pytest.param("PUT", MCP_HEADERS, 405, id="PUT"),
        pytest.param("POST", {**MCP_HEADERS, "Content-Type": "text/plain"}, 400, id="POST-not-JSON-content-type"),
    ],
)
def test_wrong_http_requests_get_a_4xx(
    server: ServerProcess, method: str, headers: dict[str, str], status: int
) -> None:
    # A short timeout: a GET that opened a never-ending stream would hang here instead of failing.
    response = httpx2.request(method, server.url, headers=headers, content=json.dumps(rpc("ping")), timeout=5)
    assert response.status_code == status
    if status == 405:
        assert response.headers["allow"] == "POST"
    assert_still_serving(server)


def test_the_health_probe_answers_healthy_without_credentials(server: ServerProcess) -> None:
    # AgentCore Runtime's health check (and a V2 runtime's snapshot point): the HTTP contract's answer.
    ping = server.url.replace("/mcp", "/ping")
    response = httpx2.get(ping, timeout=5)
    assert (response.status_code, response.json()) == (200, {"status": "Healthy"})
    assert httpx2.head(ping, timeout=5).status_code == 200
    refused = httpx2.post(ping, json=rpc("ping"), timeout=5)
    assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD")


def test_other_paths_are_404(server: ServerProcess) -> None:
    response = httpx2.post(server.url.replace("/mcp", "/invocations"), json=rpc("ping"), headers=MCP_HEADERS)
    assert response.status_code == 404


# Load.


def test_fifty_concurrent_sessions_are_all_served(server: ServerProcess) -> None:
    sessions = 50
    results: dict[int, tuple[int, Any, Any]] = {}

    async def session(order_id: int, all_connected: anyio.Event, connected: list[int]) -> None:
        async with Client(server.url, mode="legacy") as client:
            connected.append(order_id)
            if len(connected) == sessions:
                all_connected.set()
            # Every session is open before any calls a tool: the calls really overlap.
            await all_connected.wait()
            tools = await client.list_tools()
            got = await client.call_tool("getOrder", {})
            updated = await client.call_tool("updateOrder", {"orderId": order_id})
            results[order_id] = (len(tools.tools), got.structured_content, updated.structured_content)

    async def run() -> None:
        all_connected, connected = anyio.Event(), list[int]()
        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                for order_id in range(1, sessions + 1):
                    group.start_soon(session, order_id, all_connected, connected)

    anyio.run(run)
    assert results == {order_id: (2, {"result": 123}, {"result": 456}) for order_id in range(1, sessions + 1)}
    assert_still_serving(server)


# A whole life: started on the default host, used (with secrets in headers, arguments and bodies), stopped with
# SIGTERM while a request is in flight.

SECRETS = {
    "token": "tok-SECRET-4f1c",
    "argument": "arg-SECRET-8e2d",
    "body": "body-SECRET-77ab",
    "query": "q-SECRET-5d0e",
}


@dataclass
class Life:
    server: ServerProcess
    in_flight_reply: bytes = b""
    exit_code: int | None = None
    seconds_to_exit: float = 0.0


def _use_with_secrets(server: ServerProcess) -> None:
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {SECRETS['token']}"}
    url = f"{server.url}?token={SECRETS['query']}"
    call = rpc("tools/call", {"name": "updateOrder", "arguments": {"orderId": SECRETS["argument"]}})
    assert json_rpc_reply(httpx2.post(url, json=call, headers=headers))["result"]["isError"] is True
    assert httpx2.post(url, content=b"{" + SECRETS["body"].encode(), headers=headers).status_code == 400
    ok = rpc("tools/call", {"name": "updateOrder", "arguments": {"orderId": 5}})
    assert json_rpc_reply(httpx2.post(url, json=ok, headers=headers))["result"]["structuredContent"] == {"result": 456}


def _stop_with_a_request_in_flight(life: Life) -> None:
    server, port = life.server, life.server.port
    body = json.dumps(rpc("tools/call", {"name": "updateOrder", "arguments": {"orderId": 11}})).encode()
    head = (
        f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json, text/event-stream\r\nContent-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        # The server answers 100 Continue once the app asks for the body: from then on the request is in flight.
        assert sock.recv(1024).startswith(b"HTTP/1.1 100")
        start = time.monotonic()
        server.terminate()
        wait_for(lambda: "Waiting for connections to close" in server.stdout(), "the server to start draining", 10)
        sock.sendall(body)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
        life.in_flight_reply = reply
    life.exit_code = server.process.wait(timeout=15)
    life.seconds_to_exit = time.monotonic() - start


@pytest.fixture(scope="module")
def life(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Life]:
    server = ServerProcess.start(tmp_path_factory.mktemp("mcp_server_life"), host=None)
    life = Life(server)
    try:
        _use_with_secrets(server)
        _stop_with_a_request_in_flight(life)
        yield life
    finally:
        server.stop()


def test_binds_all_interfaces_by_default_as_agentcore_requires(life: Life) -> None:
    assert f"Uvicorn running on http://0.0.0.0:{life.server.port}" in life.server.stdout()


def test_sigterm_lets_the_request_in_flight_finish_then_exits_zero(life: Life) -> None:
    assert life.in_flight_reply.startswith(b"HTTP/1.1 200"), life.in_flight_reply[:300]
    assert b'"structuredContent":{"result":456}' in life.in_flight_reply
    assert life.exit_code == 0, life.server.output()[-3000:]
    assert life.seconds_to_exit < 5


def test_logs_are_json_lines_on_stdout(life: Life) -> None:
    lines = life.server.stdout().splitlines()
    assert lines, "the server logged nothing"
    entries = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    assert life.server.stderr() == ""
    # The requests are there, as metadata: method, tool, outcome, status.
    calls = [entry for entry in entries if entry["message"] == "rpc" and entry.get("tool") == "updateOrder"]
    assert {call["outcome"] for call in calls} == {"ok", "tool_error"}
    statuses = {entry["status"] for entry in entries if entry["message"] == "http"}
    assert {200, 400} <= statuses


def test_logs_hold_no_request_bodies_tokens_or_query_strings(life: Life) -> None:
    output = life.server.output()
    assert [name for name, secret in SECRETS.items() if secret in output] == []


@pytest.mark.parametrize(("variable", "value"), [("MCP_PORT", "eighty"), ("MCP_PORT", "70000"), ("LOG_LEVEL", "LOUD")])
def test_bad_configuration_is_refused_with_a_clear_message(variable: str, value: str) -> None:
    done = subprocess.run(
        [sys.executable, "server.py"],
        cwd=SERVER_DIR,
        # Valid values for the rest, so a server that wrongly accepted `value` would start, not fail for another reason.
        env={**os.environ, "MCP_HOST": "127.0.0.1", "MCP_PORT": str(free_port()), variable: value},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    # One line naming the variable and the value, not a traceback.
    assert done.stderr.strip() == done.stderr.strip().splitlines()[-1]
    assert variable in done.stderr and value in done.stderr
