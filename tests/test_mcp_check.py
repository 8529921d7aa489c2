"""The shared MCP client steps behind tools.smoke and tools.mcp_check: result parsing, failure causes, the report."""

from __future__ import annotations

import json
from typing import NoReturn

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from tools import mcp_check
from tools.mcp_steps import (
    CAUSE_SYNC,
    CAUSE_TOOL,
    CAUSE_UNREACHABLE,
    CheckFailed,
    Report,
    StepFailed,
    describe,
    qualified,
    result_value,
    sample_arguments,
    search_hits,
)


def text(value: str) -> types.TextContent:
    return types.TextContent(type="text", text=value)


HITS = {"tools": [{"name": "orders___getOrder", "inputSchema": {}}, {"name": "orders___updateOrder"}]}


@pytest.mark.parametrize(
    "result",
    [
        types.CallToolResult(content=[text(json.dumps(HITS))]),
        types.CallToolResult(content=[text("2 tools")], structured_content=HITS),
        types.CallToolResult(content=[text("not json"), text(json.dumps(HITS))]),
    ],
    ids=["text-json", "structured", "second-block"],
)
def test_search_hits_read_every_documented_shape(result: types.CallToolResult) -> None:
    assert search_hits(result) == ["orders___getOrder", "orders___updateOrder"]


def test_search_result_without_a_tools_list_points_at_sync() -> None:
    with pytest.raises(CheckFailed) as failed:
        search_hits(types.CallToolResult(content=[text('{"answer": 42}')]))
    assert failed.value.cause == CAUSE_SYNC


@pytest.mark.parametrize(
    ("result", "value"),
    [
        (types.CallToolResult(content=[text("123")], structured_content={"result": 123}), 123),
        (types.CallToolResult(content=[text("456")]), 456),
        (types.CallToolResult(content=[text("order shipped")]), "order shipped"),
    ],
)
def test_result_value_prefers_structured_then_json_text(result: types.CallToolResult, value: object) -> None:
    assert result_value(result) == value


def test_sample_arguments_fill_only_required_properties() -> None:
    schema = {
        "type": "object",
        "properties": {
            "orderId": {"type": "integer"},
            "status": {"type": "string", "enum": ["open", "closed"]},
            "note": {"type": "string", "default": "hi"},
            "flags": {"type": ["array", "null"]},
            "optional": {"type": "string"},
        },
        "required": ["orderId", "status", "note", "flags"],
    }
    assert sample_arguments(schema) == {"orderId": 1, "status": "open", "note": "hi", "flags": []}
    assert sample_arguments(None) == {}


def test_target_prefix_only_when_there_is_one() -> None:
    assert qualified("orders", "getOrder") == "orders___getOrder"
    assert qualified("", "getOrder") == "getOrder"


def test_describe_unwraps_task_group_errors_and_names_the_cause() -> None:
    group = ExceptionGroup("task group", [ExceptionGroup("inner", [httpx2.ConnectError("refused")])])
    assert describe(group) == ("ConnectError: refused", CAUSE_UNREACHABLE)
    assert describe(MCPError(-32603, "internal"), CAUSE_TOOL) == ("MCP error -32603: internal", CAUSE_TOOL)
    assert describe(CheckFailed("missing x", CAUSE_SYNC), CAUSE_TOOL) == ("missing x", CAUSE_SYNC)


def test_report_stops_at_the_first_failure_and_renders_table_and_cause() -> None:
    ticks = iter([0.0, 0.012, 1.0, 1.5])
    report = Report(clock=lambda: next(ticks))

    async def run() -> None:
        assert await report.step("list tools", lambda: (["a"], "1 tools")) == ["a"]

        def fail() -> NoReturn:
            raise CheckFailed("missing orders___getOrder", CAUSE_SYNC)

        await report.step("search", fail)
        raise AssertionError("a failed step must stop the run")

    with pytest.raises(StepFailed):
        anyio.run(run)
    lines = report.table().splitlines()
    assert lines[1].split() == ["list", "tools", "PASS", "12", "ms", "1", "tools"]
    assert lines[2].split()[:4] == ["search", "FAIL", "500", "ms"]
    assert report.summary() == (f"FAILED at step 'search': missing orders___getOrder\nlikely cause: {CAUSE_SYNC}")


def test_report_masks_hidden_values_in_every_detail() -> None:
    report = Report()
    report.hide("tok-123")

    async def run() -> None:
        await report.step("ok", lambda: (None, "got tok-123"))
        await report.step("boom", lambda: (_ for _ in ()).throw(RuntimeError("bad token tok-123")))

    with pytest.raises(StepFailed):
        anyio.run(run)
    assert "tok-123" not in report.table() + report.summary()
    assert "***" in report.table()


def test_mcp_check_requires_a_url(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        mcp_check.main([], environ={})
    assert exited.value.code == 2
    assert "--url" in capsys.readouterr().err
