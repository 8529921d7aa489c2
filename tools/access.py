"""`make access`: who may call what, from the configuration alone (no AWS): each agent's tools and rate limit, then
each entry (its kind, how the gateway authenticates to it, where its tools come from) with each of its tools and the
agents that may call it. The same resolution the app's Cedar policies are built from (a whole target is the tools
its entry declares, or its lock's). `make access CDK_FLAGS="-c env=prod"` for another environment."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app_config import AppConfig, load_config, outbound_auth
from app_config.model import (
    ApiGatewayEntry,
    Entry,
    ExistingEntry,
    HostedEntry,
    LambdaEntry,
    OpenApiEntry,
    SmithyEntry,
)
from app_config.rules import TOOL_SEPARATOR
from app_config.tool_locks import shown_path
from tools.cli import run
from tools.stacks import context_flags

ROOT = Path(__file__).resolve().parent.parent
# How the gateway authenticates to a target (app_config.outbound_auth), as the report says it.
AUTH = {
    "oauth": "oauth (OAuth client credentials)",
    "apiKey": "apiKey (an API-key credential provider; the key stays in Secrets Manager)",
    "iam": "iam (the gateway's own role)",
}


def served_from(entry: Entry) -> str:
    """Where the entry's tools are served from and declared (names of files, endpoints, ARNs: never a secret)."""
    if isinstance(entry, HostedEntry):
        return f"runtime built from {entry.path}"
    if isinstance(entry, ExistingEntry):
        return f"MCP server {entry.endpoint}"
    if isinstance(entry, LambdaEntry):
        function = f"function {entry.function_arn}" if entry.function_arn else f"function built from {entry.path}"
        return f"{function}, tool schema in {entry.tool_schema_file or 'its toolSchema'}"
    if isinstance(entry, OpenApiEntry):
        return f"OpenAPI description {entry.spec or (entry.spec_s3.uri if entry.spec_s3 else '?')}"
    if isinstance(entry, SmithyEntry):
        return f"Smithy model {entry.model or (entry.model_s3.uri if entry.model_s3 else '?')}"
    assert isinstance(entry, ApiGatewayEntry)
    return f"REST API {entry.rest_api_id}, stage {entry.stage}"


def outbound(entry: Entry) -> str:
    auth = outbound_auth(entry)
    if auth == "iam" and isinstance(entry, LambdaEntry):
        return "iam (the gateway's own role invokes the function)"
    if auth == "iam":
        return "iam (the gateway's own role, SigV4)"
    return AUTH[auth]


def report(config: AppConfig) -> str:
    agents = config.agents
    mode = config.environment.policy_mode
    lines = [f"agents ({config.settings.agents_file}; env {config.env_name}, policy engine {mode}):"]
    for agent in agents.entries:
        limit = agent.rate_limit or agents.default_rate_limit
        source = "" if agent.rate_limit else ", the default"
        lines.append(f"  {agent.name}: rate limit {limit.requests} requests per {limit.per}{source}")
        lines += [f"    {tool}" for tool in agents.allowed(agent.name)] or ["    (no tool)"]
    lines.append(f"targets and their tools ({config.settings.targets_file}):")
    for entry in config.targets:
        lock = config.tool_locks.get(entry.name)
        pinned = f"unpinned (no tool lock {config.unpinned[entry.name]})" if entry.name in config.unpinned else ""
        if lock is not None:
            pinned = f"tool lock {shown_path(lock.path, ROOT)}"
        lines.append(f"  {entry.name}: kind {entry.kind}, outbound {outbound(entry)}")
        lines.append(f"    {served_from(entry)}" + (f"; {pinned}" if pinned else ""))
        if not entry.tools:
            lines.append(f"    {entry.name}{TOOL_SEPARATOR}*: no tools declared, so no agent may be granted them")
            continue
        for tool in entry.tools:
            name = f"{entry.name}{TOOL_SEPARATOR}{tool}"
            callers = [a.name for a in agents.entries if name in agents.allowed(a.name)]
            lines.append(f"    {name}: {', '.join(callers) or 'no agent'}")
    if mode == "LOG_ONLY":
        lines.append("LOG_ONLY: the engine logs its decisions and refuses nothing; ENFORCE (prod) refuses the rest")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from aws_cdk import App

    from app import _context_of

    # As the app reads it: cdk.json's context, then the -c flags (CDK_FLAGS).
    context = {
        **json.loads((ROOT / "cdk.json").read_text())["context"],
        **context_flags(sys.argv[1:] if argv is None else argv),
    }
    print(report(load_config(_context_of(App(context=context)))))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
