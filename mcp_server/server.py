"""Example MCP server (the tutorial's order tools): stateless streamable HTTP on 0.0.0.0:8000/mcp, as AgentCore Runtime requires."""

from __future__ import annotations

# ruff: noqa: E402 - the imports below come after gc.disable() on purpose
import gc

# Importing the SDK builds some thousands of pydantic models and validators that live as long as the process:
# collecting garbage among them wastes start-up time (about a tenth of it), and scanning them in every later full
# collection wastes request time. So: no collection while importing, then they are frozen out of the collector.
gc.disable()

import contextlib
import datetime
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import uvicorn
from mcp.server.context import CallNext, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, ToolAnnotations
from pydantic import ConfigDict, Field, ValidationError
from sse_starlette.sse import AppStatus
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MCP_PATH = "/mcp"
# AgentCore Runtime probes the container's health; it answers only once the server listens, i.e. once everything is
# imported and built, which is also when a V2 runtime takes the snapshot it restores for each new session.
HEALTH_PATH = "/ping"
HEALTHY = b'{"status":"Healthy"}'
# Long enough for any in-flight tool call to finish, short enough for an orchestrator's stop timeout (10 s in Docker).
SHUTDOWN_GRACE_SECONDS = 5

log = logging.getLogger("orders")

# The JSON Schema of this parameter is what the gateway indexes for semantic search and what an LLM reads, so it says
# what an order id is and how to get one.
OrderId = Annotated[
    int,
    Field(
        title="Order ID",
        description="The id of the order to update: a positive integer, as returned by getOrder.",
        ge=1,
        le=2**63 - 1,
    ),
]
ReturnedOrderId = Annotated[int, Field(description="The order's id.")]


# The tools are coroutines because they never block: a plain function would be run on a worker thread per call.
async def getOrder() -> ReturnedOrderId:  # camelCase: tool names are the tutorial's contract
    """Get the current customer order and return its order id. Takes no arguments."""
    return 123


async def updateOrder(orderId: OrderId) -> ReturnedOrderId:  # camelCase: the tutorial's contract
    """Update an existing customer order, identified by its order id, and return the updated order's id."""
    return 456


def _strict(tool: Tool) -> Tool:
    """Refuse what the advertised input schema refuses, which pydantic's defaults would let through: coerced values
    ("42" and true as integers) and unknown arguments (a misspelt one would be dropped without a word). Whole-number
    floats such as 1.0 are refused too, though JSON Schema would call them integers: an order id is written as one."""
    lenient = tool.fn_metadata.arg_model

    class StrictArguments(lenient):  # type: ignore[misc,valid-type]  # subclasses the tool's generated model, held in a variable
        model_config = ConfigDict(extra="forbid", strict=True, title=lenient.__name__)

    tool.fn_metadata.arg_model = StrictArguments
    tool.parameters = StrictArguments.model_json_schema(by_alias=True)
    return tool


TOOLS = [
    _strict(
        Tool.from_function(
            getOrder,
            title="Get order",
            annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
        )
    ),
    _strict(
        Tool.from_function(
            updateOrder,
            title="Update order",
            annotations=ToolAnnotations(read_only_hint=False, idempotent_hint=True, open_world_hint=False),
        )
    ),
]
TOOL_NAMES = frozenset(tool.name for tool in TOOLS)


async def observe_requests(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> Any:
    """One log line per JSON-RPC request (method, tool name, outcome; never arguments), and a protocol error for an
    unknown tool, as the MCP spec asks, rather than a tool result an LLM might take for an answer."""
    if ctx.request_id is None:
        return await call_next(ctx)
    fields: dict[str, Any] = {"rpc_method": ctx.method}
    name = ctx.params.get("name") if ctx.method == "tools/call" and isinstance(ctx.params, Mapping) else None
    if isinstance(name, str):
        fields["tool"] = name[:64]  # a name is caller data: bounded, so a huge one cannot flood the log
    start = time.perf_counter()
    outcome = "error"
    try:
        if isinstance(name, str) and name not in TOOL_NAMES:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {name[:64]!r}")
        result = await call_next(ctx)
        # The chain hands back the result already shaped for the wire.
        outcome = "tool_error" if isinstance(result, Mapping) and result.get("isError") is True else "ok"
        return result
    except MCPError as exc:
        fields["error_code"] = exc.error.code
        raise
    except ValidationError:
        fields["error_code"] = INVALID_PARAMS
        raise
    finally:
        fields["duration_ms"] = round((time.perf_counter() - start) * 1000, 3)
        log.info("rpc", extra={"outcome": outcome, **fields})


mcp = MCPServer(
    name="orders",
    title="Orders",
    version="1.0.0",
    instructions="Tools to read and update customer orders: getOrder returns the current order's id, "
    "updateOrder updates the order with a given id.",
    tools=TOOLS,
    # Stateless: nothing may outlive a request, so no subscription streams either.
    subscriptions=False,
    middleware=[observe_requests],
)


class HttpEdge:
    """The HTTP surface around the MCP app: one access-log line per request (no query string, headers or body),
    405 for anything but POST on the MCP path (a stateless server has no stream to offer on GET, the spec's 405
    answer, where the SDK would hold the connection open with nothing to send), and the health probe on /ping."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if scope["path"] == MCP_PATH and scope["method"] != "POST":
                await Response(status_code=405, headers={"Allow": "POST"})(scope, receive, send_and_note_status)
            elif scope["path"] == HEALTH_PATH:
                health = (
                    Response(HEALTHY, media_type="application/json")
                    if scope["method"] in ("GET", "HEAD")
                    else Response(status_code=405, headers={"Allow": "GET, HEAD"})
                )
                await health(scope, receive, send_and_note_status)
            else:
                await self.app(scope, receive, send_and_note_status)
        finally:
            log.info(
                "http",
                extra={
                    "method": scope["method"],
                    "path": scope["path"][:256],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                },
            )


# Standard record attributes are not extra fields; uvicorn's color_message is the message again, with ANSI codes.
_NOT_EXTRA = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for CloudWatch Logs Insights: time, level, logger, message, and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((key, value) for key, value in vars(record).items() if key not in _NOT_EXTRA)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    # force: MCPServer() already gave the root logger a plain-text handler on stderr.
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # The SDK logs "Terminating session: None" for every stateless request; the access line already says it.
    logging.getLogger("mcp.server.streamable_http").setLevel(logging.WARNING)


class GracefulServer(uvicorn.Server):
    """uvicorn that treats SIGTERM as the orchestrator's request to stop: stop accepting, drain in-flight requests
    (up to SHUTDOWN_GRACE_SECONDS), exit 0. Stock uvicorn re-raises the signal after draining, so the process
    would end killed by SIGTERM and report a failure."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


# Everything above lives as long as the process: out of the collector's way from here on (see the top of the file).
gc.freeze()
gc.enable()


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"MCP_PORT must be a TCP port number (1-65535), not {value!r}")
    return int(value)


def _log_level(value: str) -> str:
    if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise SystemExit(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {value!r}")
    return value.upper()


def main() -> None:
    configure_logging(_log_level(os.environ.get("LOG_LEVEL", "INFO")))
    # sse-starlette ends every open SSE response the moment uvicorn is told to stop: right for endless streams, wrong
    # here, where each SSE response carries one tool result and cutting it drops an answer in flight. They end on
    # their own, well within the grace period.
    AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]  # sse-starlette leaves it unannotated
    # AgentCore Runtime connects to 0.0.0.0:8000/mcp; a server bound to 127.0.0.1 fails the target's sync.
    host = os.environ.get("MCP_HOST", "0.0.0.0")  # all interfaces: the container contract
    port = _port(os.environ.get("MCP_PORT", "8000"))
    app = HttpEdge(mcp.streamable_http_app(streamable_http_path=MCP_PATH, stateless_http=True, host=host))
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,  # uvicorn's loggers propagate to the JSON handler above
        access_log=False,  # HttpEdge writes the access line, without the query string
        server_header=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
    GracefulServer(config).run()


if __name__ == "__main__":
    main()
