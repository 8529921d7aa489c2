"""Drive any MCP endpoint with the client checks: the health probe, initialize, list tools, call each tool
(`make mcp-check URL=...`). The contract every hosted folder keeps (tools/hosted.py), checked against a URL."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from typing import Mapping
from urllib.parse import urlsplit, urlunsplit

import httpx2

from tools.mcp_steps import (
    CheckFailed,
    Probe,
    Report,
    check_call,
    check_initialize,
    check_listed,
    execute,
    sample_arguments,
)

TOKEN_ENV = "MCP_BEARER_TOKEN"
# AgentCore Runtime's health probe: GET /ping on the container's port, answered 200 with this status once the server
# can take requests ("HealthyBusy" while it is busy with background work). A runtime whose container fails it never
# becomes READY. Source: the AgentCore developer guide's runtime service contract (GET /ping, {"status": "Healthy"} or
# "HealthyBusy"), as AWS's bedrock-agentcore SDK's PingStatus serves it.
HEALTHY = ("Healthy", "HealthyBusy")
CAUSE_PING = 'the runtime\'s health probe: the server must answer GET /ping with 200 {"status": "Healthy"}'
CAUSE_DECLARED = "the entry's tools: (config/targets.yaml) must name exactly what the server's tools/list gives"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.mcp_check",
        description=__doc__,
        epilog=f"A bearer token, if the endpoint needs one, comes from ${TOKEN_ENV} (never printed). "
        "Each tool is called with the smallest arguments its input schema accepts: point this at servers "
        "whose tools are safe to call.",
    )
    parser.add_argument("--url", required=True, help="streamable HTTP MCP endpoint, e.g. http://127.0.0.1:8000/mcp")
    parser.add_argument("--list-only", action="store_true", help="initialize and list, call nothing")
    parser.add_argument(
        "--tools",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        help="comma-separated: the tools the server must list, no more and no fewer (its entry's tools:)",
    )
    parser.add_argument(
        "--skip-ping", action="store_true", help="no GET /ping (an endpoint that is not a server's own: a gateway)"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default: 30)")
    return parser.parse_args(argv)


def ping_url(url: str) -> str:
    """The health probe beside an MCP endpoint: http://host:8000/mcp -> http://host:8000/ping."""
    parts = urlsplit(url)
    base = parts.path.rstrip("/").removesuffix("/mcp")
    return urlunsplit((parts.scheme, parts.netloc, f"{base}/ping", "", ""))


async def check_ping(report: Report, url: str, timeout: float) -> None:
    async def ping() -> tuple[None, str]:
        async with httpx2.AsyncClient(timeout=timeout) as client:
            response = await client.get(ping_url(url))
        if response.status_code != 200:
            raise CheckFailed(f"GET /ping answered {response.status_code}", CAUSE_PING)
        try:
            status = response.json().get("status")
        except (ValueError, AttributeError):
            status = None
        if status not in HEALTHY:
            raise CheckFailed(f"GET /ping answered {response.text[:80]!r}, not a status of {HEALTHY}", CAUSE_PING)
        return None, status

    await report.step("GET /ping", ping, cause=CAUSE_PING)


async def check_declared(report: Report, listed: list[str], declared: list[str], step: str = "declared tools") -> None:
    def compare() -> tuple[None, str]:
        undeclared, absent = sorted(set(listed) - set(declared)), sorted(set(declared) - set(listed))
        if undeclared or absent:
            parts = [f"lists undeclared {', '.join(undeclared)}"] if undeclared else []
            parts += [f"lacks declared {', '.join(absent)}"] if absent else []
            raise CheckFailed("; ".join(parts), CAUSE_DECLARED)
        return None, ", ".join(sorted(declared))

    await report.step(step, compare, cause=CAUSE_DECLARED)


async def check_endpoint(
    report: Report,
    url: str,
    token: str | None,
    timeout: float,
    list_only: bool,
    declared: list[str] | None = None,
    ping: bool = True,
) -> None:
    """The hosted contract (GET /ping, initialize, tools/list naming exactly `declared` if given), then each tool."""
    if ping:
        await check_ping(report, url, timeout)
    async with Probe(url, token=token, timeout=timeout) as probe:
        await check_initialize(report, probe)
        tools = await check_listed(report, probe, expected=())
        if declared is not None:
            await check_declared(report, [tool.name for tool in tools], declared)
        for tool in [] if list_only else tools:
            await check_call(report, probe, tool.name, sample_arguments(tool.input_schema))


def main(argv: list[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    args = parse_args(argv)
    token = environ.get(TOKEN_ENV) or None
    report = Report()
    if token:
        report.hide(token)
    return execute(
        functools.partial(
            check_endpoint,
            url=args.url,
            token=token,
            timeout=args.timeout,
            list_only=args.list_only,
            declared=args.tools,
            ping=not args.skip_ping,
        ),
        report,
    )


if __name__ == "__main__":
    sys.exit(main())
