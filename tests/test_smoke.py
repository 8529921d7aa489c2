"""tools.smoke and tools.mcp_check end to end: the real local MCP server, and a loopback fake Cognito plus gateway."""

from __future__ import annotations

import base64
import copy
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import boto3
import mcp_types as types
import pytest
import uvicorn
from botocore.stub import Stubber
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from moto import mock_aws
from starlette.responses import JSONResponse

from app_config import shard_of
from tests.mcp_fixtures import ServerProcess, free_port, wait_for
from tools import mcp_check, smoke
from tools.mcp_steps import SEARCH_TOOL

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


# The real server, started the way the container starts it.


@pytest.fixture(scope="module")
def local_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    server = ServerProcess.start(tmp_path_factory.mktemp("local-server"))
    try:
        yield server.url
    finally:
        server.stop()


def test_smoke_no_auth_passes_against_the_local_server(local_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.main(["--url", local_url, "--no-auth"]) == 0
    out = capsys.readouterr().out
    assert steps(out) == [
        ("initialize", "PASS"),
        ("list tools", "PASS"),
        ("call updateOrder", "PASS"),
        ("call getOrder", "PASS"),
    ]
    assert "-> 456" in out and "-> 123" in out
    assert "search" not in out  # the local server has no gateway search tool


def test_smoke_runs_as_a_module_the_way_make_smoke_does(local_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.smoke", "--url", local_url, "--no-auth"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK: 4 steps passed" in done.stdout


def test_mcp_check_calls_every_local_tool(local_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert mcp_check.main(["--url", local_url], environ={}) == 0
    out = capsys.readouterr().out
    assert "call getOrder" in out and "-> 123" in out
    assert "call updateOrder" in out and "-> 456" in out


def test_mcp_check_list_only_calls_nothing(local_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert mcp_check.main(["--url", local_url, "--list-only"], environ={}) == 0
    out = capsys.readouterr().out
    assert "list tools" in out and "call " not in out


def test_smoke_names_an_unreachable_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.main(["--url", f"http://127.0.0.1:{free_port()}/mcp", "--no-auth", "--timeout", "5"]) == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'initialize'" in err and "likely cause: endpoint" in err


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

    def run(self, *extra: str, aws: smoke.AwsClients | None = None, outputs: dict | None = None) -> int:
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
            },
            "mcpgw-dev-gateway": {"GatewayUrl": f"{gateway_server.base}/mcp", "GatewayId": gateway["gatewayId"]},
            "mcpgw-dev-credential-provider": {
                "CredentialProviderArn": f"{ARN}:token-vault/default/oauth2credentialprovider/mcpgw-dev-runtime-oauth",
            },
            f"mcpgw-dev-mcp-servers-{shard_of(PREFIX, 4)}": {"OrdersRuntimeArn": f"{ARN}:runtime/mcpgw_dev_orders-a"},
            ORDERS_TARGETS: {"OrdersTargetId": target["targetId"]},
            f"mcpgw-dev-mcp-servers-{shard_of(OTHER, 4)}": {"BillingRuntimeArn": f"{ARN}:runtime/mcpgw_dev_billing-b"},
            BILLING_TARGETS: {"BillingTargetId": billing["targetId"]},
        }
        yield outputs


@pytest.fixture
def deployed(gateway_server: FakeGateway, aws_world: dict, tmp_path: Path) -> Deployed:
    gateway_server.state = Fake(client_id=aws_world["mcpgw-dev-cognito"]["GatewayClientId"])
    return Deployed(gateway_server, tmp_path / "outputs.json", copy.deepcopy(aws_world), [])


def steps(out: str) -> list[tuple[str, str]]:
    """(step, PASS/FAIL) rows of the printed table."""
    rows = []
    for line in out.splitlines()[1:]:
        cells = line.split("  ")
        cells = [c.strip() for c in cells if c.strip()]
        if len(cells) >= 2 and cells[1] in ("PASS", "FAIL"):
            rows.append((cells[0], cells[1]))
    return rows


GATEWAY_STEPS = [
    "stack outputs",
    "client secret",
    "token",
    "initialize",
    "search",
    "list tools",
    f"call {PREFIX}___updateOrder",
    f"call {PREFIX}___getOrder",
]


@pytest.mark.parametrize("shape", ["text", "structured"])
def test_gateway_smoke_passes_end_to_end(deployed: Deployed, shape: str, capsys: pytest.CaptureFixture[str]) -> None:
    deployed.fake.state.search_shape = shape
    assert deployed.run() == 0
    assert steps(capsys.readouterr().out) == [(name, "PASS") for name in GATEWAY_STEPS]
    state = deployed.fake.state
    [grant] = state.token_requests
    assert grant == {
        "grant_type": "client_credentials",
        "scope": SCOPE,
        "client_id": state.client_id,
        "secret_ok": True,
    }
    assert state.bearer_seen and all(seen in {f"Bearer {t}" for t in state.tokens} for seen in state.bearer_seen)


def test_shard_stacks_of_the_two_entries_differ() -> None:
    # The tests below tell the entries' stacks apart; with both in one shard they would prove less.
    assert ORDERS_TARGETS != BILLING_TARGETS


def test_another_entry_is_checked_with_the_target_option(deployed: Deployed, capsys) -> None:
    deployed.fake.state.prefix = OTHER
    assert deployed.run("--target", OTHER) == 0
    out = capsys.readouterr().out
    assert [name for name, _ in steps(out)][-2:] == [f"call {OTHER}___updateOrder", f"call {OTHER}___getOrder"]
    # Its target id comes from its own shard's stack, not the orders entry's.
    assert f"target {OTHER} ({deployed.outputs[BILLING_TARGETS]['BillingTargetId']})" in out


def test_outputs_file_keyed_by_cdk_artifact_ids_is_accepted(deployed: Deployed, capsys) -> None:
    # The app's construct ids (stacks/__init__.py): Cognito, Gateway, CredentialProvider, McpServers<N>, McpTargets<N>.
    def artifact_id(stack_name: str) -> str:
        return "".join(part.capitalize() for part in stack_name.removeprefix("mcpgw-dev-").split("-"))

    renamed = {artifact_id(name): values for name, values in deployed.outputs.items()}
    assert {"Cognito", "Gateway", f"McpTargets{shard_of(PREFIX, 4)}"} <= set(renamed)
    assert deployed.run(outputs=renamed) == 0
    assert f"target {PREFIX} ({deployed.outputs[ORDERS_TARGETS]['OrdersTargetId']})" in capsys.readouterr().out


def test_tools_list_pages_are_followed(deployed: Deployed, capsys) -> None:
    deployed.fake.state.page_size = 1
    assert deployed.run() == 0
    # The MCP client lists page one on its own before the first call (to learn output schemas); the list step pages on.
    assert deployed.fake.state.list_cursors[-3:] == [None, "1", "2"]
    assert "3 tools" in capsys.readouterr().out


def test_a_cursor_that_never_ends_fails_the_list_step(deployed: Deployed, capsys) -> None:
    deployed.fake.state.page_size, deployed.fake.state.endless_cursor = 1, True
    assert deployed.run() == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'list tools': tools/list returned cursor '0' twice; pagination never ends" in err


def test_rejected_token_is_blamed_on_the_token_or_authorizer(deployed: Deployed, capsys) -> None:
    deployed.fake.state.accept_tokens = False
    assert deployed.run() == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'initialize': HTTP 401" in err
    assert "likely cause: token/authorizer" in err


def test_expired_token_shows_the_gateway_challenge(deployed: Deployed, capsys) -> None:
    deployed.fake.state.token_lifetime = -60
    assert deployed.run() == 1
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "The access token expired" in err
    assert "likely cause: token/authorizer" in err


def test_wrong_client_secret_fails_at_the_token_step(deployed: Deployed, capsys) -> None:
    deployed.fake.state.secret = "another-secret"
    assert deployed.run() == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'token': HTTP 400 from the token endpoint: invalid_client" in err
    assert "likely cause: token:" in err
    assert deployed.fake.state.bearer_seen == []  # nothing reached the gateway


def test_token_endpoint_5xx_is_retried_with_backoff_without_real_sleeps(deployed: Deployed) -> None:
    deployed.fake.state.token_503s = 2
    assert deployed.run() == 0
    assert deployed.sleeps == [1, 2]
    assert len(deployed.fake.state.token_requests) == 3


def test_token_endpoint_that_keeps_failing_gives_up(deployed: Deployed, capsys) -> None:
    deployed.fake.state.token_503s = 99
    assert deployed.run("--token-attempts", "3") == 1
    assert deployed.sleeps == [1, 2]
    assert "token endpoint failed 3 times, last: HTTP 503" in capsys.readouterr().err


def test_tools_under_another_target_name_fail_the_search_with_the_sync_cause(deployed: Deployed, capsys) -> None:
    # The gateway serves orders___* only; the billing entry is deployed (its stack has an id) but not in the catalog.
    assert deployed.run("--target", OTHER) == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'search'" in err and f"{OTHER}___getOrder" in err
    target_id = deployed.outputs[BILLING_TARGETS]["BillingTargetId"]
    assert "likely cause: target sync" in err and f"target {target_id} is READY" in err


def test_an_entry_without_a_target_id_output_is_named_in_the_cause(deployed: Deployed, capsys) -> None:
    # No such entry deployed: the sync cause says which output of which stack was looked for.
    assert deployed.run("--target", "payments") == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'search'" in err and "likely cause: target sync" in err
    assert f"no PaymentsTargetId output in mcpgw-dev-mcp-targets-{shard_of('payments', 4)}" in err


def test_shards_option_picks_the_entry_stack_of_that_many_shards(deployed: Deployed, capsys) -> None:
    # Deployed with -c targetShards=2: the orders entry lives in another stack than with cdk.json's 4.
    assert shard_of(PREFIX, 2) != shard_of(PREFIX, 4)
    outputs = {name: values for name, values in deployed.outputs.items() if "-mcp-" not in name}
    outputs[f"mcpgw-dev-mcp-targets-{shard_of(PREFIX, 2)}"] = {"OrdersTargetId": "TGT2SHARDS"}
    outputs[ORDERS_TARGETS] = {"OrdersTargetId": "TGT-OF-ANOTHER-LAYOUT"}
    assert deployed.run("--shards", "2", outputs=outputs) == 0
    assert f"target {PREFIX} (TGT2SHARDS)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--target", "Orders"], "not a config/targets.yaml entry name"),
        (["--target", "orders___getOrder"], "not a config/targets.yaml entry name"),
        (["--shards", "0"], "must be a positive integer"),
    ],
)
def test_bad_target_or_shards_are_refused_before_anything_runs(argv: list[str], complaint: str, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        smoke.main(argv, aws=lambda service, region: pytest.fail(f"called {service}"))
    assert exited.value.code == 2
    assert complaint in capsys.readouterr().err


def test_stale_catalog_fails_the_list_step_and_reports_the_target_status(deployed: Deployed, capsys) -> None:
    deployed.fake.state.hide_from_list = {f"{PREFIX}___updateOrder"}
    control = boto3.client("bedrock-agentcore-control", region_name=REGION)
    gateway_id = deployed.outputs["mcpgw-dev-gateway"]["GatewayId"]
    target_id = deployed.outputs[ORDERS_TARGETS]["OrdersTargetId"]
    with Stubber(control) as stub:
        stub.add_response(
            "get_gateway_target",
            {
                "gatewayArn": f"{ARN}:gateway/{gateway_id}",
                "targetId": target_id,
                "name": PREFIX,
                "status": "SYNCHRONIZE_UNSUCCESSFUL",
                "statusReasons": ["initialize returned 401"],
                "createdAt": "2026-01-01T00:00:00Z",
                "updatedAt": "2026-01-01T00:00:00Z",
                "targetConfiguration": {"mcp": {"mcpServer": {"endpoint": "https://example.com/invocations"}}},
                "credentialProviderConfigurations": [
                    {
                        "credentialProviderType": "OAUTH",
                        "credentialProvider": {
                            "oauthCredentialProvider": {
                                "providerArn": f"{ARN}:token-vault/default/oauth2credentialprovider/p",
                                "scopes": ["mcpgw-dev-runtime/invoke"],
                            }
                        },
                    }
                ],
            },
            {"gatewayIdentifier": gateway_id, "targetId": target_id},
        )
        assert deployed.run(aws=aws_with({"bedrock-agentcore-control": control})) == 1
    err = capsys.readouterr().err
    assert f"FAILED at step 'list tools': missing {PREFIX}___updateOrder" in err
    assert f"target {target_id} is SYNCHRONIZE_UNSUCCESSFUL (initialize returned 401)" in err


@pytest.mark.parametrize("fail_as", ["result", "protocol"])
def test_tool_error_is_blamed_on_the_runtime_or_its_oauth(deployed: Deployed, fail_as: str, capsys) -> None:
    deployed.fake.state.failing_tool, deployed.fake.state.fail_as = f"{PREFIX}___updateOrder", fail_as
    assert deployed.run() == 1
    err = capsys.readouterr().err
    assert f"FAILED at step 'call {PREFIX}___updateOrder'" in err
    assert "likely cause: runtime/OAuth" in err


def test_failing_search_tool_points_at_the_gateway_search_configuration(deployed: Deployed, capsys) -> None:
    deployed.fake.state.failing_tool = SEARCH_TOOL
    assert deployed.run() == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'search'" in err and "searchType SEMANTIC" in err


def test_unexpected_tool_result_fails_the_call(deployed: Deployed, capsys) -> None:
    deployed.fake.state.update_returns = 999
    assert deployed.run() == 1
    assert "returned 999, expected 456" in capsys.readouterr().err


@pytest.mark.parametrize("scenario", ["passes", "wrong secret", "rejected token", "tool error"])
def test_secret_and_token_never_reach_output_or_logs(
    deployed: Deployed,
    scenario: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = deployed.fake.state
    if scenario == "wrong secret":
        state.secret = "another-secret"
    elif scenario == "rejected token":
        state.accept_tokens = False
    elif scenario == "tool error":
        state.failing_tool = f"{PREFIX}___getOrder"
    with caplog.at_level(logging.DEBUG):
        deployed.run()
    captured = capsys.readouterr()
    records = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert caplog.records, "DEBUG logging was not captured, so this test would prove nothing"
    for channel in (captured.out, captured.err, records):
        assert SECRET not in channel
        for token in state.tokens:
            assert token not in channel


def test_secret_renders_masked() -> None:
    secret = smoke.Secret(SECRET)
    assert SECRET not in f"{secret} {secret!r} {[secret]}"
    assert secret.reveal() == SECRET


def test_client_credentials_are_never_sent_over_plain_http_to_a_remote_host() -> None:
    with pytest.raises(smoke.CheckFailed, match="refusing to send client credentials over http"):
        smoke._require_https("http://example.com/oauth2/token")
    smoke._require_https("https://example.auth.eu-west-1.amazoncognito.com/oauth2/token")


# Outputs from CloudFormation (botocore Stubber validates each call against the real service model).


def _cloudformation_stub(outputs: dict[str, dict[str, str]], stacks: list[str], missing: set[str] = frozenset()):
    """Answers DescribeStacks for exactly these stacks, in this order: any other call fails the smoke."""
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    stub = Stubber(cloudformation)
    for name in stacks:
        if name in missing:
            stub.add_client_error(
                "describe_stacks",
                "ValidationError",
                f"Stack with id {name} does not exist",
                expected_params={"StackName": name},
            )
            continue
        stub.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": name,
                        "CreationTime": "2026-01-01T00:00:00Z",
                        "StackStatus": "CREATE_COMPLETE",
                        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.get(name, {}).items()],
                    }
                ]
            },
            {"StackName": name},
        )
    return cloudformation, stub


@pytest.mark.parametrize(
    ("extra", "target", "targets_stack"),
    [
        ([], PREFIX, ORDERS_TARGETS),
        (["--target", OTHER], OTHER, BILLING_TARGETS),
        (["--shards", "2"], PREFIX, f"mcpgw-dev-mcp-targets-{shard_of(PREFIX, 2)}"),
    ],
    ids=["default", "other-target", "two-shards"],
)
def test_outputs_are_read_from_cloudformation_by_stack_name(
    deployed: Deployed,
    extra: list[str],
    target: str,
    targets_stack: str,
    capsys,
) -> None:
    # Only the three stacks the smoke needs: no servers stacks, no other shard, no credential provider.
    deployed.fake.state.prefix = target
    stacks = ["mcpgw-dev-cognito", "mcpgw-dev-gateway", targets_stack]
    outputs = {**deployed.outputs, targets_stack: {f"{target.capitalize()}TargetId": "TGT-FROM-CFN"}}
    cloudformation, stub = _cloudformation_stub(outputs, stacks)
    with stub:
        argv = ["--env", "dev", "--prefix", "mcpgw", "--region", REGION, *extra]
        code = smoke.main(argv, aws=aws_with({"cloudformation": cloudformation}))
        stub.assert_no_pending_responses()
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"target {target} (TGT-FROM-CFN)" in out


def test_missing_targets_stack_only_loses_the_target_id(deployed: Deployed, capsys) -> None:
    stacks = ["mcpgw-dev-cognito", "mcpgw-dev-gateway", ORDERS_TARGETS]
    cloudformation, stub = _cloudformation_stub(deployed.outputs, stacks, missing={ORDERS_TARGETS})
    with stub:
        code = smoke.main(["--prefix", "mcpgw", "--region", REGION], aws=aws_with({"cloudformation": cloudformation}))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"target {PREFIX} (no OrdersTargetId in {ORDERS_TARGETS})" in out


def test_missing_stack_fails_the_outputs_step_with_a_deploy_hint(deployed: Deployed, capsys) -> None:
    stacks = ["mcpgw-dev-cognito", "mcpgw-dev-gateway", ORDERS_TARGETS]
    cloudformation, stub = _cloudformation_stub(deployed.outputs, stacks, missing={"mcpgw-dev-cognito"})
    with stub:
        code = smoke.main(["--prefix", "mcpgw", "--region", REGION], aws=lambda service, region: cloudformation)
    err = capsys.readouterr().err
    assert code == 1
    assert "FAILED at step 'stack outputs': missing outputs GatewayUserPoolId" in err
    assert "likely cause: stack outputs: deploy first" in err


def test_outputs_of_our_environment_win_over_another_environment_in_the_same_file() -> None:
    dev = {
        "GatewayUserPoolId": "a",
        "GatewayClientId": "b",
        "GatewayTokenEndpoint": "c",
        "GatewayScope": "d",
        "GatewayUrl": "https://dev/mcp",
    }
    prod = {**dev, "GatewayUrl": "https://prod/mcp"}
    by_stack = {"mcpgw-dev-cognito": dev, "mcpgw-prod-cognito": prod}
    assert smoke.pick_outputs(by_stack, smoke.TargetLayout("mcpgw", "prod"))["GatewayUrl"] == "https://prod/mcp"
    # Keys that are neither our stack names nor our artifact ids: used only when they agree.
    with pytest.raises(smoke.CheckFailed, match="differs between stacks"):
        smoke.pick_outputs({"first": dev, "second": prod}, smoke.TargetLayout("mcpgw", "dev"))


@pytest.mark.parametrize("keyed_by", ["stack name", "artifact id"])
def test_the_target_id_comes_only_from_the_entry_shard_stack(keyed_by: str) -> None:
    gateway = {
        "GatewayUserPoolId": "a",
        "GatewayClientId": "b",
        "GatewayTokenEndpoint": "c",
        "GatewayScope": "d",
        "GatewayUrl": "https://dev/mcp",
    }
    shard = shard_of(PREFIX, 4)
    stacks = {
        "cognito": gateway,
        f"mcp-targets-{shard}": {"OrdersTargetId": "RIGHT"},
        f"mcp-targets-{(shard + 1) % 4}": {"OrdersTargetId": "STALE"},
    }
    if keyed_by == "stack name":
        by_stack = {f"mcpgw-dev-{component}": values for component, values in stacks.items()}
    else:
        by_stack = {
            "Cognito": gateway,
            f"McpTargets{shard}": {"OrdersTargetId": "RIGHT"},
            f"McpTargets{(shard + 1) % 4}": {"OrdersTargetId": "STALE"},
        }
    assert smoke.pick_outputs(by_stack, smoke.TargetLayout("mcpgw", "dev"))["OrdersTargetId"] == "RIGHT"


def test_the_smoke_reads_outputs_the_app_declares(dev) -> None:
    """Stack names, artifact ids and output keys the smoke reads exist in the synthesized app (cdk.json's shards)."""
    stack_names = {
        artifact_id: artifact["properties"]["stackName"]
        for artifact_id, artifact in dev.manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    layout = smoke.TargetLayout("mcpgw", "dev", PREFIX, smoke._cdk_shards(smoke._cdk_context()))
    for component, keys in layout.outputs.items():
        stack_name = layout.stack_name(component)
        assert stack_names[layout.artifact_id(component)] == stack_name
        assert set(keys) <= set(dev.template(stack_name).get("Outputs", {})), stack_name


def test_target_names_follow_the_config_schema() -> None:
    name = json.loads((ROOT / "config" / "targets.schema.json").read_text())["$defs"]["name"]
    assert (smoke.TARGET_NAME.pattern, smoke.TARGET_NAME_MAX) == (name["pattern"], name["maxLength"])


# tools.mcp_check against the fake gateway: the bearer token comes from the environment and stays unprinted.


def test_mcp_check_sends_the_bearer_token_from_the_environment(gateway_server: FakeGateway, capsys) -> None:
    gateway_server.state = Fake()
    token = gateway_server.issue(3600)
    code = mcp_check.main(["--url", f"{gateway_server.base}/mcp"], environ={mcp_check.TOKEN_ENV: token})
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"call {SEARCH_TOOL}" in captured.out and f"call {PREFIX}___updateOrder" in captured.out
    assert set(gateway_server.state.bearer_seen) == {f"Bearer {token}"}
    assert token not in captured.out + captured.err


def test_mcp_check_without_a_token_is_refused(gateway_server: FakeGateway, capsys) -> None:
    gateway_server.state = Fake()
    assert mcp_check.main(["--url", f"{gateway_server.base}/mcp"], environ={}) == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'initialize': HTTP 401" in err and "token/authorizer" in err
