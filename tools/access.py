"""`make access`: who may call what, from the configuration alone (no AWS): each agent's tools and rate limit, then
each declared tool and the agents that may call it. The same resolution the app's Cedar policies are built from
(a whole target is the tools its entry declares). `make access CDK_FLAGS="-c env=prod"` for another environment."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app_config import AppConfig, load_config
from app_config.rules import TOOL_SEPARATOR
from tools.cli import run
from tools.stacks import context_flags

ROOT = Path(__file__).resolve().parent.parent


def report(config: AppConfig) -> str:
    agents = config.agents
    mode = config.environment.policy_mode
    lines = [f"agents ({config.settings.agents_file}; env {config.env_name}, policy engine {mode}):"]
    for agent in agents.entries:
        limit = agent.rate_limit or agents.default_rate_limit
        source = "" if agent.rate_limit else ", the default"
        lines.append(f"  {agent.name}: rate limit {limit.requests} requests per {limit.per}{source}")
        lines += [f"    {tool}" for tool in agents.allowed(agent.name)] or ["    (no tool)"]
    lines.append(f"tools ({config.settings.targets_file}):")
    for entry in config.targets:
        if not entry.tools:
            lines.append(f"  {entry.name}{TOOL_SEPARATOR}*: no tools declared, so no agent may be granted them")
            continue
        for tool in entry.tools:
            name = f"{entry.name}{TOOL_SEPARATOR}{tool}"
            callers = [a.name for a in agents.entries if name in agents.allowed(a.name)]
            lines.append(f"  {name}: {', '.join(callers) or 'no agent'}")
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
