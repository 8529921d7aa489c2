"""`make new-function NAME=<name>`: a Lambda function folder for a `lambda` entry, its tool schema, its tool lock, and
the entry to add to config/targets.yaml.

The folder holds app.py (a handler serving one read-only example tool, `echo`, dispatched by the tool name the gateway
passes in the client context) and tools.json (the tools' definitions the entry points at). The lock is written beside
the targets file (tool-locks/<name>.json, as `make tools-lock TARGET=<name>` writes it), so the entry, the folder and
the lock make one pull request that `make snapshots` and `make test` accept as created.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app_config.tool_locks import EXISTING_LOCKS_DIR, lock_document, render
from tools.hosted import ROOT
from tools.new_server import name_problem


def display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


TOOL = "echo"
TOOLS = [
    {
        "name": TOOL,
        "description": "Return the text it is given, unchanged. Safe to call: it reads and changes nothing.",
        "inputSchema": {
            "type": "object",
            "properties": {"text": {"type": "string", "description": "What to return."}},
            "required": ["text"],
        },
    }
]

APP = '''"""{name}: the tools of a Lambda target behind the gateway (their definitions: tools.json beside this file).

The gateway invokes the function with the tool's arguments as the event and the tool's name in the client context,
context.client_context.custom["bedrockAgentCoreToolName"], as <target>___<tool> (AgentCore Gateway guide, "AWS Lambda
function targets"); what the handler returns is the tool's result."""

from __future__ import annotations

from typing import Any

SEPARATOR = "___"


def tool_name(context: Any) -> str:
    custom = getattr(getattr(context, "client_context", None), "custom", None) or {{}}
    qualified = custom.get("bedrockAgentCoreToolName", "") if isinstance(custom, dict) else ""
    return qualified.partition(SEPARATOR)[2] if isinstance(qualified, str) and SEPARATOR in qualified else ""


def {tool}(arguments: dict[str, Any]) -> dict[str, Any]:
    text = arguments.get("text")
    if not isinstance(text, str):
        return {{"error": "text must be a string"}}
    return {{"text": text}}


TOOLS = {{"{tool}": {tool}}}


def handler(event: Any, context: Any) -> dict[str, Any]:
    tool = TOOLS.get(tool_name(context))
    if tool is None:
        return {{"error": f"unknown tool: this function serves {{', '.join(sorted(TOOLS))}}"}}
    return tool(event if isinstance(event, dict) else {{}})
'''


def create(folder: Path, name: str, lock: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "app.py").write_text(APP.format(name=name, tool=TOOL))
    (folder / "tools.json").write_text(json.dumps(TOOLS, indent=2) + "\n")
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(render(lock_document(TOOLS)))


def entry(name: str, path: str) -> str:
    return (
        f"  - name: {name}\n"
        "    kind: lambda\n"
        f"    path: {path}\n"
        "    handler: app.handler\n"
        f"    description: Tools of {name} (a Lambda function)\n"
        f"    toolSchemaFile: {path}/tools.json\n"
        f"    smokeTool: {TOOL}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make new-function", description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the entry's name (the target name and tool prefix)")
    parser.add_argument("--dir", help="the folder to create (default: functions/<name>)")
    parser.add_argument(
        "--targets-file", default="config/targets.yaml", help="where the entry goes (its lock goes beside it)"
    )
    args = parser.parse_args(argv)
    problem = name_problem(args.name)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    folder = (ROOT / (args.dir or f"functions/{args.name}")).resolve()
    targets = (ROOT / args.targets_file).resolve()
    lock = targets.parent / EXISTING_LOCKS_DIR / f"{args.name}.json"
    for taken in (folder, lock):
        if taken.exists():
            print(f"error: {display(taken)} exists: choose another NAME or --dir", file=sys.stderr)
            return 1
    create(folder, args.name, lock)
    path = display(folder)
    print(f"created {path}/ (app.py, tools.json) and {display(lock)} (its tool lock)")
    print(f"add this entry to {display(targets)}, then `make snapshots` and `make test`:\n")
    print(entry(args.name, path), end="")
    print(
        f"\nafter a change of tools.json: `make tools-lock TARGET={args.name}` (offline) and review the lock's diff",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
