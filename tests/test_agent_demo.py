"""tools.agent_demo against the real local MCP server (and the smoke's fake gateway), with Converse scripted by a Stubber."""

from __future__ import annotations

import copy
import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import mcp_types as types
import pytest
from botocore.stub import Stubber

from tests.fake_deployment import (
    DENIED_AGENT,
    POLICY_REFUSAL,
    PREFIX,
    SMOKE_AGENT,
    FakeGateway,
    World,
    assert_nothing_leaked,
    aws_with,
)
from tools import agent_demo

pytestmark = pytest.mark.usefixtures("fixture_config")
ROOT = Path(__file__).resolve().parent.parent
BEDROCK_REGION = "us-east-1"
FINAL = "Order 123 is updated: the updated order's id is 456."


@dataclass
class ScriptedModel:
    """A real bedrock-runtime client whose Converse answers are scripted: botocore still validates every request
    against the service model, and the Stubber validates every scripted response."""

    client: Any = field(
        default_factory=lambda: boto3.client(
            "bedrock-runtime",
            region_name=BEDROCK_REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
    )
    requests: list[dict[str, Any]] = field(default_factory=list)
    services: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stubber = Stubber(self.client)
        self.stubber.activate()
        # A copy of each request as the demo built it; botocore validates it after this hook.
        self.client.meta.events.register(
            "before-parameter-build.bedrock-runtime.Converse",
            lambda params, **_: self.requests.append(copy.deepcopy(params)),
        )

    def answer(self, stop_reason: str, *content: dict[str, Any]) -> None:
        self.stubber.add_response(
            "converse",
            {
                "output": {"message": {"role": "assistant", "content": list(content)}},
                "stopReason": stop_reason,
                "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
                "metrics": {"latencyMs": 1},
            },
        )

    def aws(self, service: str, region: str | None) -> Any:
        self.services.append(service)
        return self.client if service == "bedrock-runtime" else None

    def run(self, *argv: str) -> int:
        return agent_demo.main(list(argv), aws=self.aws)


def tool_use(use_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"toolUse": {"toolUseId": use_id, "name": name, "input": arguments}}


def text(value: str) -> dict[str, Any]:
    return {"text": value}


def tool_results(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The toolResults of the request's last message, which the demo sends as the user."""
    last = request["messages"][-1]
    assert last["role"] == "user"
    return [block["toolResult"] for block in last["content"]]


@pytest.fixture
def model() -> Iterator[ScriptedModel]:
    scripted = ScriptedModel()
    yield scripted
    scripted.stubber.deactivate()


def test_model_updates_an_order_through_the_local_server(
    local_url: str, model: ScriptedModel, capsys: pytest.CaptureFixture[str]
) -> None:
    model.answer("tool_use", text("I'll update order 123."), tool_use("t1", "updateOrder", {"orderId": 123}))
    model.answer("end_turn", text(FINAL))

    assert model.run("Update", "order", "123", "--url", local_url, "--no-auth") == 0

    model.stubber.assert_no_pending_responses()
    out, err = capsys.readouterr()
    assert out == FINAL + "\n"
    assert 'tool updateOrder {"orderId": 123} -> success: 456' in err
    assert model.services == ["bedrock-runtime"]  # --no-auth: no stack outputs, no Cognito

    first, second = model.requests
    assert first["modelId"] == "us.anthropic.claude-sonnet-4-20250514-v1:0"
    assert first["messages"] == [{"role": "user", "content": [{"text": "Update order 123"}]}]
    specs = {tool["toolSpec"]["name"]: tool["toolSpec"] for tool in first["toolConfig"]["tools"]}
    assert set(specs) == {"getOrder", "updateOrder"}
    # The server's own schema and description, so the model knows what an order id is.
    update = specs["updateOrder"]
    assert update["inputSchema"]["json"]["required"] == ["orderId"]
    assert update["inputSchema"]["json"]["properties"]["orderId"]["type"] == "integer"
    assert update["description"].startswith("Update an existing customer order")
    # The model's tool_use turn goes back verbatim, followed by the structured result as json.
    assert second["messages"][1]["content"][1] == tool_use("t1", "updateOrder", {"orderId": 123})
    assert tool_results(second) == [{"toolUseId": "t1", "content": [{"json": {"result": 456}}], "status": "success"}]
    assert second["toolConfig"] == first["toolConfig"]


def test_failing_tools_go_back_to_the_model_with_status_error(
    local_url: str, model: ScriptedModel, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two tool uses in one turn: arguments the server refuses (ids start at 1), and a tool that does not exist.
    model.answer("tool_use", tool_use("bad", "updateOrder", {"orderId": 0}), tool_use("gone", "deleteOrder", {}))
    model.answer("end_turn", text("I could not update order 0."))

    assert model.run("--url", local_url, "--no-auth") == 0

    results = tool_results(model.requests[1])
    assert [(r["toolUseId"], r["status"]) for r in results] == [("bad", "error"), ("gone", "error")]
    assert "greater than or equal to 1" in results[0]["content"][0]["text"]
    assert "unknown tool 'deleteOrder'" in results[1]["content"][0]["text"]
    assert capsys.readouterr().out == "I could not update order 0.\n"


def test_turn_limit_stops_a_model_that_never_ends(
    local_url: str, model: ScriptedModel, capsys: pytest.CaptureFixture[str]
) -> None:
    for turn in range(3):
        model.answer("tool_use", tool_use(f"t{turn}", "getOrder", {}))

    assert model.run("--url", local_url, "--no-auth", "--max-turns", "3") == 1

    model.stubber.assert_no_pending_responses()
    assert len(model.requests) == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert "the model still asked for tools after 3 turns (2 tool calls)" in err
    assert "likely cause: turn limit" in err
    # The last turn's tool use is not run: its result could never reach the model.
    assert err.count("tool getOrder {} -> success: 123") == 2


def test_an_answer_cut_short_is_printed_but_fails(
    local_url: str, model: ScriptedModel, capsys: pytest.CaptureFixture[str]
) -> None:
    model.answer("max_tokens", text("Order 123 is"))

    assert model.run("--url", local_url, "--no-auth") == 1

    out, err = capsys.readouterr()
    assert out == "Order 123 is\n"
    assert "cut short (max_tokens)" in err


def test_a_bedrock_error_is_named_with_its_likely_cause(
    local_url: str, model: ScriptedModel, capsys: pytest.CaptureFixture[str]
) -> None:
    model.stubber.add_client_error(
        "converse", "AccessDeniedException", "You don't have access to the model with the specified model ID."
    )

    assert model.run("--url", local_url, "--no-auth") == 1

    err = capsys.readouterr().err
    assert "FAILED: Converse: AccessDeniedException: You don't have access" in err
    assert "likely cause: Bedrock" in err


def test_tool_names_converse_refuses_are_mapped_one_to_one_and_back() -> None:
    listed = ["orders___getOrder", "files/read.v2", "files_read_v2", "x" * 80, "files/read.v2"]
    tools = [types.Tool(name=name, description="", input_schema={"type": "object"}) for name in listed]
    names = agent_demo.ToolNames()

    specs = [spec["toolSpec"] for spec in agent_demo.tool_specs(tools, names)]

    aliases = [spec["name"] for spec in specs]
    assert len(aliases) == len(set(aliases)) == 4  # the duplicate listing is sent once
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", alias) for alias in aliases)
    # Names Converse accepts are kept, so the model sees the gateway's names.
    assert aliases[0] == "orders___getOrder" and aliases[2] == "files_read_v2"
    assert [names.to_mcp[alias] for alias in aliases] == listed[:4]
    assert all("description" not in spec for spec in specs)  # Converse refuses an empty one


def test_gateway_token_is_used_and_never_printed(
    gateway_server: FakeGateway,
    aws_world: World,
    model: ScriptedModel,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The smoke's fake Cognito token endpoint and gateway (tools as orders___<tool>, text results) and moto's pool.
    state = gateway_server.state = aws_world.fake()
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(aws_world.outputs))
    model.answer("tool_use", tool_use("t1", f"{PREFIX}___updateOrder", {"orderId": 123}))
    model.answer("end_turn", text(FINAL))
    moto = aws_with({"bedrock-runtime": model.client})

    with caplog.at_level(logging.DEBUG):
        code = agent_demo.main(["--outputs-file", str(outputs), "--region", BEDROCK_REGION], aws=moto)

    assert code == 0
    assert tool_results(model.requests[1]) == [{"toolUseId": "t1", "content": [{"text": "456"}], "status": "success"}]
    names = {tool["toolSpec"]["name"] for tool in model.requests[0]["toolConfig"]["tools"]}
    assert {f"{PREFIX}___getOrder", f"{PREFIX}___updateOrder"} <= names
    # Every gateway request carried a token Cognito issued, to the default agent's client.
    assert state.bearer_seen and all(
        header is not None and header.removeprefix("Bearer ") in state.tokens for header in state.bearer_seen
    )
    assert set(state.token_clients.values()) == {aws_world.clients[SMOKE_AGENT]}
    captured = capsys.readouterr()
    assert_nothing_leaked(captured, caplog.records, state)


def run_as(agent: str, aws_world: World, model: ScriptedModel, tmp_path: Path) -> int:
    """The demo against the fake deployment, as `agent` (the gateway's mode is the fake's, set by the test)."""
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(aws_world.outputs))
    argv = ["--outputs-file", str(outputs), "--region", BEDROCK_REGION, "--agent", agent]
    return agent_demo.main(argv, aws=aws_with({"bedrock-runtime": model.client}))


def test_the_model_gets_the_tools_the_gateway_lists_to_the_agent(
    gateway_server: FakeGateway, aws_world: World, model: ScriptedModel, tmp_path: Path, capsys
) -> None:
    # Enforced: order-viewer is listed getOrder only, so that is all the model is offered.
    state = gateway_server.state = aws_world.fake(policy_mode="ENFORCE")
    model.answer("end_turn", text("I can only read orders."))

    assert run_as(DENIED_AGENT, aws_world, model, tmp_path) == 0

    names = {tool["toolSpec"]["name"] for tool in model.requests[0]["toolConfig"]["tools"]}
    assert f"{PREFIX}___getOrder" in names and f"{PREFIX}___updateOrder" not in names
    assert set(state.token_clients.values()) == {aws_world.clients[DENIED_AGENT]}
    assert capsys.readouterr().out == "I can only read orders.\n"


def test_a_call_the_policy_refuses_goes_back_to_the_model(
    gateway_server: FakeGateway, aws_world: World, model: ScriptedModel, tmp_path: Path, capsys
) -> None:
    # The model asks for a tool the agent's policy does not permit: the refusal is a tool error it can answer.
    gateway_server.state = aws_world.fake(policy_mode="ENFORCE", filter_listing=False)
    model.answer("tool_use", tool_use("t1", f"{PREFIX}___updateOrder", {"orderId": 123}))
    model.answer("end_turn", text("I may not update orders."))

    assert run_as(DENIED_AGENT, aws_world, model, tmp_path) == 0

    [result] = tool_results(model.requests[1])
    assert result["status"] == "error" and POLICY_REFUSAL in result["content"][0]["text"]
    out, err = capsys.readouterr()
    assert out == "I may not update orders.\n"
    assert f"tool {PREFIX}___updateOrder" in err and "-> error" in err


@pytest.mark.parametrize("agent", ["Order-Viewer", "order_viewer", "a" * 25])
def test_a_bad_agent_name_is_refused_before_anything_runs(agent: str, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        agent_demo.main(["--agent", agent], aws=lambda service, region: pytest.fail(f"called {service}"))
    assert exited.value.code == 2
    assert "not a config/agents.yaml agent name" in capsys.readouterr().err


def test_an_agent_the_deployment_lacks_is_named(
    gateway_server: FakeGateway, aws_world: World, model: ScriptedModel, tmp_path: Path, capsys
) -> None:
    gateway_server.state = aws_world.fake()
    assert run_as("ghost", aws_world, model, tmp_path) == 1
    err = capsys.readouterr().err
    assert "FAILED: missing outputs AgentGhostClientId" in err and "is 'ghost' an agent" in err
    assert model.requests == []


def test_help_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.agent_demo", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "--model-id" in done.stdout and "--no-auth" in done.stdout and "--agent AGENT" in done.stdout
