"""A deployed environment, faked on loopback for the smoke and the agent demo: Cognito's token endpoint and a gateway
(bearer check against the agents' clients, target-prefixed tools, semantic search, pagination, a policy engine that
logs or enforces each agent's grants), plus the stacks' outputs, the pool and one app client per agent in moto."""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
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

from app_config import pascal, shard_of
from app_config.agents import Agents, load_agents
from app_config.targets import load_targets
from tests.cdk_helpers import DEFAULT_FIXTURE, load_context
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
ARN = f"arn:aws:bedrock-agentcore:{REGION}:123456789012"
# The tests' agents (tests/fixtures/default/agents.yaml): the smoke acts as the first, its denial check as the second
# (granted getOrder, not updateOrder).
SMOKE_AGENT, DENIED_AGENT = "platform-smoke", "order-viewer"
# A client of the gateway pool that is no agent's: the gateway's authorizer does not allow it.
OUTSIDER = "outsider"


def secret_of(agent: str) -> str:
    """Each agent's own client secret: distinctive, so a leak anywhere in output or logs is unmistakable."""
    return f"S3CRET-{agent}-do-not-print-{hashlib.sha256(agent.encode()).hexdigest()[:24]}"


SECRET = secret_of(SMOKE_AGENT)


@functools.cache
def shipped_agents() -> Agents:
    """The tests' agents file, each agent's grants resolved against their targets file as the app does."""
    return load_agents(
        ROOT / DEFAULT_FIXTURE["agentsFile"], load_targets(ROOT / DEFAULT_FIXTURE["targetsFile"], max_targets=100)
    )


@pytest.fixture
def fixture_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The smoke and the demo read the tests' configuration (tests/fixtures/default/), not the shipped config/."""
    context = load_context()
    monkeypatch.setattr(smoke, "cdk_context", lambda: context)
    from tools import agent_demo

    monkeypatch.setattr(agent_demo, "cdk_context", lambda: context)


# How AgentCore's docs quote an enforcing gateway's refusal of a tool call.
POLICY_REFUSAL = (
    "Tool call not allowed due to policy enforcement [No policy applies to the request (denied by default).]"
)
DASHBOARD_URL = (
    f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}#dashboards/dashboard/mcpgw-dev-gateway"
)


# A loopback fake of the Cognito token endpoint and the gateway (bearer check, prefixed tools, search, pagination).


@dataclass
class Fake:
    # Cognito: each app client's secret (the pool's, in moto). The gateway: the clients its authorizer allows (the
    # agents'), the tools each one's policy permits, and the mode its policy engine runs in.
    secrets: dict[str, str] = field(default_factory=dict)
    allowed_clients: set[str] = field(default_factory=set)
    grants: dict[str, set[str]] = field(default_factory=dict)
    policy_mode: str = "LOG_ONLY"
    # How an enforcing gateway answers a refused call: "error" (JSON-RPC) or "result" (isError); AWS documents neither.
    refuse_as: str = "error"
    prefix: str = PREFIX
    page_size: int = 10
    token_lifetime: float = 3600
    token_503s: int = 0
    accept_tokens: bool = True
    endless_cursor: bool = False
    hide_from_list: set[str] = field(default_factory=set)
    search_shape: str = "text"
    failing_tool: str | None = None
    # Whose calls of failing_tool fail (a client id); None: everyone's.
    failing_client: str | None = None
    fail_as: str = "result"
    # Whether an enforcing gateway hides from tools/list what no policy lets the caller call (AWS documents it does).
    filter_listing: bool = True
    update_returns: int = 456
    tokens: dict[str, float] = field(default_factory=dict)
    # Token -> the client it was issued to: the principal the policies are evaluated for.
    token_clients: dict[str, str] = field(default_factory=dict)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    list_cursors: list[str | None] = field(default_factory=list)
    bearer_seen: list[str | None] = field(default_factory=list)
    # (client id, tool, "allow" | "deny"): the policy engine's decisions, logged whatever the mode.
    decisions: list[tuple[str, str, str]] = field(default_factory=list)

    def permits(self, client_id: str, tool: str) -> bool:
        # The search tool is the gateway's own, not a target's: no agent's policy names it, and whether an enforcing
        # gateway evaluates it is not documented; here anyone may search.
        return tool == SEARCH_TOOL or tool in self.grants.get(client_id, set())

    def order_tools(self) -> list[types.Tool]:
        order_id = {"type": "object", "properties": {"orderId": {"type": "integer"}}, "required": ["orderId"]}
        return [
            types.Tool(name=f"{self.prefix}___getOrder", description="Get an order", input_schema={"type": "object"}),
            types.Tool(name=f"{self.prefix}___updateOrder", description="Update an order", input_schema=order_id),
        ]

    def catalog(self, client_id: str) -> list[types.Tool]:
        """What tools/list shows this caller: everything in the catalog, but only what its policy permits when the
        engine enforces (AWS: a principal sees only the tools a policy would let it call)."""
        search = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
        listed = [t for t in self.order_tools() if t.name not in self.hide_from_list]
        if self.policy_mode == "ENFORCE" and self.filter_listing:
            listed = [t for t in listed if self.permits(client_id, t.name)]
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

    def issue(self, lifetime: float, client_id: str = "") -> str:
        token = f"tok-{len(self.state.tokens)}-{time.time_ns()}"
        self.state.tokens[token] = time.time() + lifetime
        self.state.token_clients[token] = client_id
        return token

    def caller(self, ctx: Any) -> str:
        """The client id of the token the request carried (the gateway's authorizer let it in)."""
        header = ctx.request.headers.get("authorization", "") if ctx.request is not None else ""
        return self.state.token_clients.get(header.removeprefix("Bearer "), "")

    async def _app(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == "/oauth2/token":
            return await self._token(scope, receive, send)
        if scope["type"] == "http":
            header = dict(scope["headers"]).get(b"authorization", b"").decode()
            self.state.bearer_seen.append(header or None)
            token = header.removeprefix("Bearer ")
            if not self.state.accept_tokens or token not in self.state.tokens:
                return await _unauthorized('Bearer error="invalid_token"')(scope, receive, send)
            if self.state.token_clients[token] not in self.state.allowed_clients:
                # A token of the pool, but of a client the authorizer's allowedClients does not name.
                return await _unauthorized('Bearer error="invalid_token", error_description="Client not allowed"')(
                    scope, receive, send
                )
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
        known = self.state.secrets.get(client_id)
        self.state.token_requests.append({**form, "client_id": client_id, "secret_ok": secret == known})
        if self.state.token_503s:
            self.state.token_503s -= 1
            response = JSONResponse({"error": "unavailable"}, status_code=503)
        elif known is None or secret != known:
            response = JSONResponse({"error": "invalid_client"}, status_code=400)
        elif form.get("grant_type") != "client_credentials" or form.get("scope") != SCOPE:
            response = JSONResponse({"error": "invalid_scope"}, status_code=400)
        else:
            token = self.issue(self.state.token_lifetime, client_id)
            response = JSONResponse({"access_token": token, "expires_in": 3600, "token_type": "Bearer"})
        await response(scope, receive, send)

    async def _list_tools(self, ctx, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        cursor = params.cursor if params else None
        self.state.list_cursors.append(cursor)
        catalog, start = self.state.catalog(self.caller(ctx)), int(cursor or 0)
        end = start + self.state.page_size
        following = "0" if self.state.endless_cursor else (str(end) if end < len(catalog) else None)
        return types.ListToolsResult(tools=catalog[start:end], next_cursor=following)

    async def _call_tool(self, ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        state, name = self.state, params.name
        client_id = self.caller(ctx)
        permitted = state.permits(client_id, name)
        state.decisions.append((client_id, name, "allow" if permitted else "deny"))
        if not permitted and state.policy_mode == "ENFORCE":
            if state.refuse_as == "error":
                raise MCPError(-32002, POLICY_REFUSAL)
            return types.CallToolResult(content=[text(POLICY_REFUSAL)], is_error=True)
        if name == state.failing_tool and state.failing_client in (None, client_id):
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
    world: World
    outputs_file: Path
    outputs: dict[str, dict[str, str]]
    sleeps: list[float]

    def run(self, *extra: str, aws: smoke.AwsClients | None = None, outputs: dict[str, Any] | None = None) -> int:
        self.outputs_file.write_text(json.dumps(outputs or self.outputs))
        argv = ["--outputs-file", str(self.outputs_file), *extra]
        return smoke.main(argv, aws=aws or aws_with({}), sleep=self._sleep)

    def client_id(self, agent: str) -> str:
        return self.world.clients[agent]

    def enforce(self) -> None:
        """Deployed as prod is: the gateway enforces, and its PolicyEngineMode output says so."""
        self.fake.state.policy_mode = "ENFORCE"
        self.outputs["mcpgw-dev-gateway"]["PolicyEngineMode"] = "ENFORCE"

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@dataclass
class World:
    """What the fake deployment holds: the stacks' outputs, and each client's id (by agent name) and secret."""

    outputs: dict[str, dict[str, str]]
    clients: dict[str, str]
    secrets: dict[str, str]

    def fake(self, grants: dict[str, tuple[str, ...]] | None = None, **settings: Any) -> Fake:
        """The gateway's state: the agents' clients allowed, each with its grants (the shipped config's, or these)."""
        by_agent = grants if grants is not None else shipped_agents().tools
        agents = {agent: client for agent, client in self.clients.items() if agent != OUTSIDER}
        return Fake(
            secrets={self.clients[agent]: secret for agent, secret in self.secrets.items()},
            allowed_clients=set(agents.values()),
            grants={client: set(by_agent.get(agent, ())) for agent, client in agents.items()},
            **settings,
        )


@pytest.fixture(scope="module")
def aws_world(gateway_server: FakeGateway):
    """Moto's Cognito holds one app client per agent (and an outsider), each with its own secret; moto's control
    plane holds the gateway, with its policy engine, and two targets."""
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name=REGION)
        pool = cognito.create_user_pool(PoolName="mcpgw-dev-gateway-pool")["UserPool"]["Id"]
        clients: dict[str, str] = {}
        secrets: dict[str, str] = {}
        for agent in [*(entry.name for entry in shipped_agents().entries), OUTSIDER]:
            secrets[agent] = secret_of(agent)
            clients[agent] = cognito.create_user_pool_client(
                UserPoolId=pool,
                ClientName=f"mcpgw-dev-agent-{agent}",
                GenerateSecret=True,
                ClientSecret=secrets[agent],
            )["UserPoolClient"]["ClientId"]
        control = boto3.client("bedrock-agentcore-control", region_name=REGION)
        gateway = control.create_gateway(
            name="mcpgw-dev-gateway",
            roleArn="arn:aws:iam::123456789012:role/gw",
            protocolType="MCP",
            authorizerType="CUSTOM_JWT",
            policyEngineConfiguration={"arn": f"{ARN}:policy-engine/mcpgw_dev_agents-0123456789", "mode": "LOG_ONLY"},
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
                **{f"Agent{pascal(entry.name)}ClientId": clients[entry.name] for entry in shipped_agents().entries},
                "GatewayUserPoolId": pool,
                "GatewayTokenEndpoint": f"{gateway_server.base}/oauth2/token",
                "GatewayScope": SCOPE,
                "CredentialProviderArn": f"{ARN}:token-vault/default/oauth2credentialprovider/mcpgw-dev-runtime-oauth",
            },
            "mcpgw-dev-gateway": {
                "GatewayUrl": f"{gateway_server.base}/mcp",
                "GatewayId": gateway["gatewayId"],
                "GatewayLogGroup": "/aws/vendedlogs/bedrock-agentcore/mcpgw-dev-gateway",
                "PolicyEngineMode": "LOG_ONLY",
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
        yield World(outputs, clients, secrets)


@pytest.fixture
def deployed(gateway_server: FakeGateway, aws_world: World, tmp_path: Path) -> Deployed:
    gateway_server.state = aws_world.fake()
    return Deployed(gateway_server, aws_world, tmp_path / "outputs.json", copy.deepcopy(aws_world.outputs), [])


def assert_nothing_leaked(captured: CaptureResult[str], records: list[logging.LogRecord], state: Fake) -> None:
    """No agent's client secret and no issued token in stdout, stderr or the (DEBUG) log records."""
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in records)
    assert records, "DEBUG logging was not captured, so this check would prove nothing"
    # Every client's secret as Cognito (moto) holds it, and as the fake token endpoint expects it.
    secrets = {secret_of(agent) for agent in (*(e.name for e in shipped_agents().entries), OUTSIDER)}
    secrets |= set(state.secrets.values())
    assert len(secrets) >= 3, "no secrets to look for: this check would prove nothing"
    for channel in (captured.out, captured.err, logged):
        for secret in secrets:
            assert secret not in channel
        for token in state.tokens:
            assert token not in channel
