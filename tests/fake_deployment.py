"""A deployed environment, faked on loopback for the smoke and the agent demo: Cognito's token endpoint and a gateway
(bearer check, target-prefixed tools, semantic search, pagination), plus the stacks' outputs and the pool in moto."""

from __future__ import annotations

import base64
import copy
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import boto3
import mcp_types as types
import pytest
import uvicorn
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from moto import mock_aws
from starlette.responses import JSONResponse

from app_config import shard_of
from tests.mcp_fixtures import wait_for
from tools import smoke
from tools.mcp_steps import SEARCH_TOOL

if TYPE_CHECKING:
    from _pytest.capture import CaptureResult  # what capsys.readouterr() returns; pytest does not export it

ROOT = Path(__file__).resolve().parent.parent
REGION = "eu-west-1"
# The example config entry (the smoke's default --target): the gateway target's name and its tools' prefix.
PREFIX = "orders"
# Another entry, in another shard of cdk.json's 4, so picking its stack is observable.
OTHER = "billing"
ORDERS_TARGETS = f"mcpgw-dev-mcp-targets-{shard_of(PREFIX, 4)}"
BILLING_TARGETS = f"mcpgw-dev-mcp-targets-{shard_of(OTHER, 4)}"
SCOPE = "mcpgw-dev-gateway/invoke"
# Distinctive, so a leak anywhere in output or logs is unmistakable.
SECRET = "S3CRET-smoke-do-not-print-5f0c9a7e1d2b4c6a8e0f"
ARN = f"arn:aws:bedrock-agentcore:{REGION}:123456789012"
DASHBOARD_URL = (
    f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}#dashboards/dashboard/mcpgw-dev-gateway"
)


# A loopback fake of the Cognito token endpoint and the gateway (bearer check, prefixed tools, search, pagination).


@dataclass
class Fake:
    client_id: str = ""
    secret: str = SECRET
    prefix: str = PREFIX
    page_size: int = 10
    token_lifetime: float = 3600
    token_503s: int = 0
    accept_tokens: bool = True
    endless_cursor: bool = False
    hide_from_list: set[str] = field(default_factory=set)
    search_shape: str = "text"
    failing_tool: str | None = None
    fail_as: str = "result"
    update_returns: int = 456
    tokens: dict[str, float] = field(default_factory=dict)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    list_cursors: list[str | None] = field(default_factory=list)
    bearer_seen: list[str | None] = field(default_factory=list)

    def order_tools(self) -> list[types.Tool]:
        order_id = {"type": "object", "properties": {"orderId": {"type": "integer"}}, "required": ["orderId"]}
        return [
            types.Tool(name=f"{self.prefix}___getOrder", description="Get an order", input_schema={"type": "object"}),
            types.Tool(name=f"{self.prefix}___updateOrder", description="Update an order", input_schema=order_id),
        ]

    def catalog(self) -> list[types.Tool]:
        search = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
        listed = [t for t in self.order_tools() if t.name not in self.hide_from_list]
        return [types.Tool(name=SEARCH_TOOL, description="Search the gateway's tools", input_schema=search), *listed]


class FakeGateway:
    def __init__(self) -> None:
        self.state = Fake()
        server = Server("fake-gateway", on_list_tools=self._list_tools, on_call_tool=self._call_tool)
        self._mcp = server.streamable_http_app(stateless_http=True, json_response=True)
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(self._app, interface="asgi3", log_level="warning", lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def __enter__(self) -> "FakeGateway":
        self._thread.start()
        wait_for(lambda: self._server.started or not self._thread.is_alive(), "fake gateway")
        assert self._server.started, "the fake gateway failed to start (see the uvicorn log above)"
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()

    def issue(self, lifetime: float) -> str:
        token = f"tok-{len(self.state.tokens)}-{time.time_ns()}"
        self.state.tokens[token] = time.time() + lifetime
        return token

    async def _app(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == "/oauth2/token":
            return await self._token(scope, receive, send)
        if scope["type"] == "http":
            header = dict(scope["headers"]).get(b"authorization", b"").decode()
            self.state.bearer_seen.append(header or None)
            token = header.removeprefix("Bearer ")
            if not self.state.accept_tokens or token not in self.state.tokens:
                return await _unauthorized('Bearer error="invalid_token"')(scope, receive, send)
            if self.state.tokens[token] < time.time():
                challenge = 'Bearer error="invalid_token", error_description="The access token expired"'
                return await _unauthorized(challenge)(scope, receive, send)
        await self._mcp(scope, receive, send)

    async def _token(self, scope, receive, send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        basic = dict(scope["headers"]).get(b"authorization", b"").decode().removeprefix("Basic ")
        client_id, _, secret = base64.b64decode(basic).decode().partition(":") if basic else ("", "", "")
        self.state.token_requests.append({**form, "client_id": client_id, "secret_ok": secret == self.state.secret})
        if self.state.token_503s:
            self.state.token_503s -= 1
            response = JSONResponse({"error": "unavailable"}, status_code=503)
        elif (client_id, secret) != (self.state.client_id, self.state.secret):
            response = JSONResponse({"error": "invalid_client"}, status_code=400)
        elif form.get("grant_type") != "client_credentials" or form.get("scope") != SCOPE:
            response = JSONResponse({"error": "invalid_scope"}, status_code=400)
        else:
            token = self.issue(self.state.token_lifetime)
            response = JSONResponse({"access_token": token, "expires_in": 3600, "token_type": "Bearer"})
        await response(scope, receive, send)

    async def _list_tools(self, ctx, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        cursor = params.cursor if params else None
        self.state.list_cursors.append(cursor)
        catalog, start = self.state.catalog(), int(cursor or 0)
        end = start + self.state.page_size
        following = "0" if self.state.endless_cursor else (str(end) if end < len(catalog) else None)
        return types.ListToolsResult(tools=catalog[start:end], next_cursor=following)

    async def _call_tool(self, ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        state, name = self.state, params.name
        if name == state.failing_tool:
            if state.fail_as == "protocol":
                raise MCPError(-32603, "An internal error occurred. Please retry later.")
            return types.CallToolResult(content=[text("target returned 502")], is_error=True)
        if name == SEARCH_TOOL:
            hits = {"tools": [t.model_dump(by_alias=True, exclude_none=True) for t in state.order_tools()]}
            if state.search_shape == "structured":
                return types.CallToolResult(content=[text("found")], structured_content=hits)
            return types.CallToolResult(content=[text(json.dumps(hits))])
        value = {f"{state.prefix}___getOrder": 123, f"{state.prefix}___updateOrder": state.update_returns}[name]
        return types.CallToolResult(content=[text(str(value))])


def text(value: str) -> types.TextContent:
    return types.TextContent(type="text", text=value)


def _unauthorized(challenge: str) -> JSONResponse:
    return JSONResponse({"message": "Unauthorized"}, status_code=401, headers={"WWW-Authenticate": challenge})


@pytest.fixture(scope="module")
def gateway_server():
    with FakeGateway() as fake:
        yield fake


def aws_with(stubbed: dict[str, Any]) -> smoke.AwsClients:
    """Clients as the smoke creates them (moto answers), but these services' from a botocore Stubber."""
    return lambda service, region: stubbed.get(service) or boto3.client(service, region_name=region)


@dataclass
class Deployed:
    fake: FakeGateway
    outputs_file: Path
    outputs: dict[str, dict[str, str]]
    sleeps: list[float]

    def run(self, *extra: str, aws: smoke.AwsClients | None = None, outputs: dict[str, Any] | None = None) -> int:
        self.outputs_file.write_text(json.dumps(outputs or self.outputs))
        argv = ["--outputs-file", str(self.outputs_file), *extra]
        return smoke.main(argv, aws=aws or aws_with({}), sleep=self._sleep)

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture(scope="module")
def aws_world(gateway_server: FakeGateway):
    """Moto's Cognito holds the app client and its secret; moto's control plane holds the gateway and target."""
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name=REGION)
        pool = cognito.create_user_pool(PoolName="mcpgw-dev-gateway-pool")["UserPool"]["Id"]
        client = cognito.create_user_pool_client(
            UserPoolId=pool,
            ClientName="mcpgw-dev-gateway-client",
            GenerateSecret=True,
            ClientSecret=SECRET,
        )["UserPoolClient"]
        control = boto3.client("bedrock-agentcore-control", region_name=REGION)
        gateway = control.create_gateway(
            name="mcpgw-dev-gateway",
            roleArn="arn:aws:iam::123456789012:role/gw",
            protocolType="MCP",
            authorizerType="CUSTOM_JWT",
        )
        target, billing = (
            control.create_gateway_target(
                gatewayIdentifier=gateway["gatewayId"],
                name=name,
                targetConfiguration={"mcp": {"mcpServer": {"endpoint": f"https://example.com/{name}/invocations"}}},
            )
            for name in (PREFIX, OTHER)
        )
        # What `cdk deploy --all --outputs-file` writes for two entries in two shards (stacks without outputs,
        # such as the gateway role and empty shards, are left out of the file).
        outputs = {
            "mcpgw-dev-cognito": {
                "GatewayUserPoolId": pool,
                "GatewayClientId": client["ClientId"],
                "GatewayTokenEndpoint": f"{gateway_server.base}/oauth2/token",
                "GatewayScope": SCOPE,
                "CredentialProviderArn": f"{ARN}:token-vault/default/oauth2credentialprovider/mcpgw-dev-runtime-oauth",
            },
            "mcpgw-dev-gateway": {
                "GatewayUrl": f"{gateway_server.base}/mcp",
                "GatewayId": gateway["gatewayId"],
                "GatewayLogGroup": "/aws/vendedlogs/bedrock-agentcore/mcpgw-dev-gateway",
            },
            "mcpgw-dev-monitoring": {
                "DashboardName": "mcpgw-dev-gateway",
                "DashboardUrl": DASHBOARD_URL,
                "AlarmTopicArn": "arn:aws:sns:us-east-1:123456789012:mcpgw-dev-alarms",
            },
            ORDERS_TARGETS: {
                "OrdersRuntimeArn": f"{ARN}:runtime/mcpgw_dev_orders-a",
                "OrdersTargetId": target["targetId"],
            },
            BILLING_TARGETS: {
                "BillingRuntimeArn": f"{ARN}:runtime/mcpgw_dev_billing-b",
                "BillingTargetId": billing["targetId"],
            },
        }
        yield outputs


@pytest.fixture
def deployed(gateway_server: FakeGateway, aws_world: dict[str, Any], tmp_path: Path) -> Deployed:
    gateway_server.state = Fake(client_id=aws_world["mcpgw-dev-cognito"]["GatewayClientId"])
    return Deployed(gateway_server, tmp_path / "outputs.json", copy.deepcopy(aws_world), [])


def assert_nothing_leaked(captured: CaptureResult[str], records: list[logging.LogRecord], state: Fake) -> None:
    """Neither the client secret nor any issued token in stdout, stderr or the (DEBUG) log records."""
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in records)
    assert records, "DEBUG logging was not captured, so this check would prove nothing"
    for channel in (captured.out, captured.err, logged):
        assert SECRET not in channel
        for token in state.tokens:
            assert token not in channel
