"""MCP client checks shared by tools.smoke and tools.mcp_check: timed steps, a result table, a likely cause."""

from __future__ import annotations

import inspect
import json
import re
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable, TypeVar

import anyio
import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

SEARCH_TOOL = "x_amz_bedrock_agentcore_search"
# The gateway exposes a target's tools as <target name>___<tool name>.
TARGET_SEPARATOR = "___"
MAX_PAGES = 100

CAUSE_AUTH = (
    "token/authorizer: the gateway refused the bearer token (wrong pool, client not allowed, expired, wrong scope)"
)
CAUSE_SYNC = (
    "target sync: the gateway's tool catalog lacks the server's tools; check the target is READY and run "
    "SynchronizeGatewayTargets after a runtime image change"
)
CAUSE_TOOL = (
    "runtime/OAuth: the tool call failed past the catalog; check the runtime's logs and the target's OAuth "
    "credential provider (runtime pool token, scope, allowed client)"
)
CAUSE_UNREACHABLE = "endpoint: nothing answered MCP at this URL (server down, wrong URL or path, network)"
CAUSE_SEARCH = "search: the gateway's search tool failed; was the gateway created with searchType SEMANTIC?"
CAUSE_POLICY = (
    "policy: the gateway's policy engine (ENFORCE) refused the call: the agent's grants in config/agents.yaml (its "
    "Cedar policy in the agents stack) do not include this tool"
)
# How AgentCore words a refusal by its policy engine ("Tool call not allowed due to policy enforcement [...]"); it is
# not documented whether it comes as a JSON-RPC error or as an isError result, so both are read for it.
POLICY_REFUSAL = re.compile(r"\bpolic(y|ies)\b", re.IGNORECASE)

T = TypeVar("T")


class CheckFailed(Exception):
    """A check that did not hold; `cause` says where to look."""

    def __init__(self, message: str, cause: str = "") -> None:
        super().__init__(message)
        self.cause = cause


class StepFailed(Exception):
    """Raised once a step failed and was recorded; carries only that step's recorded text."""

    def __init__(self, step: "Step") -> None:
        super().__init__(f"{step.name}: {step.detail}")
        self.step = step


@dataclass
class Step:
    name: str
    ok: bool
    detail: str
    seconds: float
    cause: str = ""
    skipped: bool = False

    @property
    def result(self) -> str:
        return "SKIP" if self.skipped else "PASS" if self.ok else "FAIL"


@dataclass
class Report:
    """Runs steps in order, stops at the first failure, and renders what happened."""

    steps: list[Step] = field(default_factory=list)
    clock: Callable[[], float] = time.perf_counter
    # Printed after the verdict, whatever it is: where to read more about the calls just made.
    notes: list[str] = field(default_factory=list)
    _hidden: list[str] = field(default_factory=list, repr=False)

    def hide(self, value: str) -> None:
        """Never render `value`: a defence in depth for credentials, should any message ever quote one."""
        if value:
            self._hidden.append(value)

    def _scrub(self, text: str) -> str:
        for value in self._hidden:
            text = text.replace(value, "***")
        return text

    async def step(
        self,
        name: str,
        action: Callable[[], tuple[T, str] | Awaitable[tuple[T, str]]],
        *,
        cause: str = "",
    ) -> T:
        """Run `action` (sync or async), which returns (value, detail); record the outcome; return the value."""
        start = self.clock()
        try:
            outcome = action()
            if inspect.isawaitable(outcome):
                outcome = await outcome
        except Exception as exc:  # every failure becomes a recorded step, never a traceback
            message, why = describe(exc, cause)
            failed = Step(name, False, self._scrub(message), self.clock() - start, why)
            self.steps.append(failed)
            raise StepFailed(failed) from None
        value, detail = outcome
        self.steps.append(Step(name, True, self._scrub(detail), self.clock() - start))
        return value

    def skip(self, name: str, detail: str) -> None:
        """Record a step that did not run, and why: one row of the table, not a failure."""
        self.steps.append(Step(name, True, self._scrub(detail), 0.0, skipped=True))

    @property
    def failure(self) -> Step | None:
        return next((s for s in self.steps if not s.ok), None)

    def table(self) -> str:
        rows = [("step", "result", "latency", "detail")]
        rows += [(s.name, s.result, "-" if s.skipped else f"{s.seconds * 1000:.0f} ms", s.detail) for s in self.steps]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
            for row in rows
        )

    def summary(self) -> str:
        failed = self.failure
        if failed is None:
            skipped = sum(s.skipped for s in self.steps)
            passed = f"OK: {len(self.steps) - skipped} steps passed"
            return passed + (f", {skipped} skipped" if skipped else "")
        text = f"FAILED at step '{failed.name}': {failed.detail}"
        return self._scrub(text + (f"\nlikely cause: {failed.cause}" if failed.cause else ""))


def execute(checks: Callable[[Report], Awaitable[None]], report: Report | None = None) -> int:
    """Run the checks, print the table and the verdict; 0 when every step passed, 1 otherwise."""
    report = report or Report()
    try:
        anyio.run(checks, report)
    except StepFailed:
        pass
    print(report.table())
    failed = report.failure is not None
    print(report.summary(), file=sys.stderr if failed else sys.stdout)
    for note in report.notes:
        print(note)
    return 1 if failed else 0


def describe(exc: BaseException, cause: str = "") -> tuple[str, str]:
    """A one-line message and a likely cause for an exception, from its type and message."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, CheckFailed):
        return str(exc), exc.cause or cause
    if isinstance(exc, httpx2.TransportError):
        return f"{type(exc).__name__}: {exc}", CAUSE_UNREACHABLE
    if isinstance(exc, TimeoutError):
        return "timed out", cause or CAUSE_UNREACHABLE
    if isinstance(exc, MCPError):
        return f"MCP error {exc.code}: {exc.message}", cause
    return f"{type(exc).__name__}: {exc}", cause


class _HttpLog:
    """The last HTTP answer, kept by an httpx2 hook: the MCP client turns a 401 into a generic JSON-RPC error."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.challenge: str | None = None

    async def record(self, response: httpx2.Response) -> None:
        self.status = response.status_code
        self.challenge = response.headers.get("www-authenticate")

    def forget_status(self) -> None:
        self.status = None


class Probe:
    """One MCP endpoint over streamable HTTP, driven through the official client (handshake-era `initialize`)."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 30.0) -> None:
        self.url = url
        self.timeout = timeout
        self._token = token
        self._http = _HttpLog()
        self._stack = AsyncExitStack()
        self._client: Client | None = None

    def __repr__(self) -> str:  # the bearer token is a credential: keep it out of any repr
        return f"Probe(url={self.url!r}, auth={'bearer' if self._token else 'none'})"

    async def __aenter__(self) -> "Probe":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._stack.aclose()

    async def _guard(self, action: Callable[[], Awaitable[T]]) -> T:
        # A method, not `self._http.status = None`: a type checker would take the status for None from then on.
        self._http.forget_status()
        try:
            return await action()
        except Exception:
            status = self._http.status
            if status in (401, 403):
                challenge = f" (WWW-Authenticate: {self._http.challenge})" if self._http.challenge else ""
                raise CheckFailed(f"HTTP {status} from {self.url}{challenge}", CAUSE_AUTH) from None
            if status is not None and status >= 400:
                raise CheckFailed(f"HTTP {status} from {self.url}") from None
            raise

    async def initialize(self) -> tuple[None, str]:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else None
        http = await self._stack.enter_async_context(
            httpx2.AsyncClient(headers=headers, timeout=self.timeout, event_hooks={"response": [self._http.record]})
        )
        # Legacy mode: the gateway speaks the 2025 handshake versions, not the 2026 discover probe.
        client = Client(
            streamable_http_client(self.url, http_client=http),
            mode="legacy",
            cache=None,
            read_timeout_seconds=self.timeout,
        )
        self._client = await self._guard(lambda: self._stack.enter_async_context(client))
        info = client.server_info
        name = f"{info.name} {info.version}".strip() if info else "unnamed server"
        return None, f"{name}, protocol {client.protocol_version}"

    async def list_tools(self) -> list[types.Tool]:
        """Every page of tools/list, following nextCursor."""
        tools: list[types.Tool] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):

            async def next_page(cursor: str | None = cursor) -> types.ListToolsResult:
                return await self._connected.list_tools(cursor=cursor)

            page = await self._guard(next_page)
            tools += page.tools
            cursor = page.next_cursor
            if not cursor:
                return tools
            if cursor in seen:
                raise CheckFailed(f"tools/list returned cursor {cursor!r} twice; pagination never ends")
            seen.add(cursor)
        raise CheckFailed(f"tools/list still had a nextCursor after {MAX_PAGES} pages")

    async def attempt(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult | ToolError:
        """Call a tool: its result, or the error it answered with (a JSON-RPC error or an isError result). HTTP and
        transport failures still raise: they are no answer of the tool's."""
        try:
            result = await self._guard(lambda: self._connected.call_tool(name, arguments))
        except MCPError as exc:
            return ToolError(name, exc.message, exc.code)
        if result.is_error:
            return ToolError(name, _text(result), None)
        return result

    async def call(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        """Call a tool; a JSON-RPC error or an isError result both fail, with the runtime/OAuth cause (the policy
        cause when the policy engine refused it)."""
        outcome = await self.attempt(name, arguments)
        if isinstance(outcome, ToolError):
            raise CheckFailed(outcome.message, CAUSE_POLICY if outcome.by_policy else CAUSE_TOOL)
        return outcome

    @property
    def _connected(self) -> Client:
        if self._client is None:
            raise CheckFailed("not connected: initialize failed or was skipped")
        return self._client


@dataclass(frozen=True)
class ToolError:
    """A tool call's error answer: `code` is the JSON-RPC error's, None for an isError result."""

    tool: str
    text: str
    code: int | None

    @property
    def message(self) -> str:
        if self.code is not None:
            return f"{self.tool}: MCP error {self.code}: {self.text}"
        return f"{self.tool} returned an error: {self.text[:200]}"

    @property
    def by_policy(self) -> bool:
        """The gateway's policy engine refused the call (its answer names the policy enforcement)."""
        return bool(POLICY_REFUSAL.search(self.text))


def _text(result: types.CallToolResult) -> str:
    return " ".join(block.text for block in result.content if isinstance(block, types.TextContent))


def result_value(result: types.CallToolResult) -> Any:
    """A tool's return value: structured `{"result": ...}` when present, else its text, parsed when it is JSON."""
    structured = result.structured_content
    if isinstance(structured, dict) and "result" in structured:
        return structured["result"]
    text = _text(result)
    try:
        return json.loads(text)
    except ValueError:
        return text


def search_hits(result: types.CallToolResult) -> list[str]:
    """Tool names in the gateway search tool's result: structuredContent.tools, else a text block {"tools": [...]}."""
    candidates: list[Any] = [result.structured_content]
    for block in result.content:
        if isinstance(block, types.TextContent):
            try:
                candidates.append(json.loads(block.text))
            except ValueError:
                continue
    for candidate in candidates:
        if isinstance(candidate, dict) and isinstance(candidate.get("tools"), list):
            return [tool["name"] for tool in candidate["tools"] if isinstance(tool, dict) and "name" in tool]
    raise CheckFailed(f"{SEARCH_TOOL} answered without a tools list: {_text(result)[:200]!r}", CAUSE_SYNC)


def sample_arguments(schema: dict[str, Any] | None) -> dict[str, Any]:
    """Smallest arguments an input schema accepts: its required properties, from default, enum or type."""
    schema = schema or {}
    properties = schema.get("properties") or {}
    by_type = {"integer": 1, "number": 1, "string": "test", "boolean": True, "array": [], "object": {}}
    arguments = {}
    for name in schema.get("required") or []:
        spec: dict[str, Any] = properties.get(name) or {}
        if "default" in spec:
            arguments[name] = spec["default"]
        elif spec.get("enum"):
            arguments[name] = spec["enum"][0]
        else:
            kind: Any = spec.get("type")  # a JSON Schema type: a name or a list of names
            arguments[name] = by_type.get(kind[0] if isinstance(kind, list) else kind, "test")
    return arguments


def qualified(prefix: str, tool: str) -> str:
    return f"{prefix}{TARGET_SEPARATOR}{tool}" if prefix else tool


# The checks, each one step of a report.


async def check_initialize(report: Report, probe: Probe) -> None:
    await report.step("initialize", probe.initialize)


async def check_search(report: Report, probe: Probe, query: str, expected: Iterable[str]) -> list[str]:
    """The search tool returns at least one of the expected tools: the catalog was synchronized and indexed."""
    expected = list(expected)

    async def search() -> tuple[list[str], str]:
        try:
            result = await probe.call(SEARCH_TOOL, {"query": query})
        except CheckFailed as failed:
            kept = failed.cause in (CAUSE_AUTH, CAUSE_POLICY)
            raise CheckFailed(str(failed), failed.cause if kept else CAUSE_SEARCH) from None
        hits = search_hits(result)
        found = [name for name in expected if name in hits]
        if not found:
            listed = ", ".join(hits) or "none"
            raise CheckFailed(f"search {query!r} found none of {', '.join(expected)} (hits: {listed})", CAUSE_SYNC)
        return hits, f"{len(hits)} hits, incl. {', '.join(found)}"

    return await report.step("search", search, cause=CAUSE_SYNC)


async def check_listed(report: Report, probe: Probe, expected: Iterable[str]) -> list[types.Tool]:
    expected = list(expected)

    async def listed() -> tuple[list[types.Tool], str]:
        tools = await probe.list_tools()
        names = [tool.name for tool in tools]
        missing = [name for name in expected if name not in names]
        if missing:
            raise CheckFailed(f"missing {', '.join(missing)} (listed: {', '.join(names) or 'none'})", CAUSE_SYNC)
        return tools, f"{len(tools)} tools"

    return await report.step("list tools", listed)


async def check_call(report: Report, probe: Probe, tool: str, arguments: dict[str, Any], expected: Any = None) -> Any:
    """Call a tool; with `expected`, its return value must equal it."""

    async def call() -> tuple[Any, str]:
        value = result_value(await probe.call(tool, arguments))
        if expected is not None and value != expected:
            raise CheckFailed(f"{tool} returned {value!r}, expected {expected!r}", CAUSE_TOOL)
        return value, f"-> {value!r}"

    return await report.step(f"call {tool}", call, cause=CAUSE_TOOL)
