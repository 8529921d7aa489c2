"""Drive any MCP endpoint with the client checks: initialize, list tools, call each tool (`make mcp-check URL=...`)."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from typing import Mapping

from tools.mcp_steps import Probe, Report, check_call, check_initialize, check_listed, execute, sample_arguments

TOKEN_ENV = "MCP_BEARER_TOKEN"


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
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default: 30)")
    return parser.parse_args(argv)


async def check_endpoint(report: Report, url: str, token: str | None, timeout: float, list_only: bool) -> None:
    async with Probe(url, token=token, timeout=timeout) as probe:
        await check_initialize(report, probe)
        tools = await check_listed(report, probe, expected=())
        for tool in [] if list_only else tools:
            await check_call(report, probe, tool.name, sample_arguments(tool.input_schema))


def main(argv: list[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    args = parse_args(argv)
    token = environ.get(TOKEN_ENV) or None
    report = Report()
    if token:
        report.hide(token)
    return execute(
        functools.partial(check_endpoint, url=args.url, token=token, timeout=args.timeout, list_only=args.list_only),
        report,
    )


if __name__ == "__main__":
    sys.exit(main())
