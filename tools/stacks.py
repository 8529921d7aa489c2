"""`make deploy STACKS="gateway agents"`: the CDK CLI's stack selectors for stacks named as the docs name them.

The docs call a stack by what follows `<prefix>-<env>-` in its name (cognito, gateway-role, credential-provider,
gateway, mcp-targets-N, agents, monitoring); the CLI selects by construct id (Cognito, GatewayRole, ...). This prints
the ids, space-separated, for the deployment the flags pick (`-c env=prod` ...), or one line naming an unknown stack.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from tools.cli import run

ROOT = Path(__file__).resolve().parent.parent


def resolve(wanted: Iterable[str], stacks: Mapping[str, str], prefix: str) -> list[str]:
    """Construct ids for `wanted`, each a short name (`gateway`), a stack name (`mcpgw-dev-gateway`) or a construct id;
    `stacks` maps each stack name to its construct id, `prefix` is `<namePrefix>-<env>-`."""
    by_name: dict[str, str] = {}
    for stack_name, construct_id in stacks.items():
        by_name[stack_name] = by_name[construct_id] = construct_id
        by_name[stack_name.removeprefix(prefix)] = construct_id
    ids = []
    for name in wanted:
        if name not in by_name:
            known = ", ".join(sorted(s.removeprefix(prefix) for s in stacks))
            raise SystemExit(f"error: STACKS names no stack {name!r} (stacks: {known})")
        ids.append(by_name[name])
    return ids


def context_flags(flags: list[str]) -> dict[str, str]:
    """`-c key=value` pairs, as the CDK CLI reads them from CDK_FLAGS."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-c", "--context", action="append", default=[])
    known, _ = parser.parse_known_args(flags)
    return dict(item.split("=", 1) for item in known.context if "=" in item)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    flags, names = (args[: args.index("--")], args[args.index("--") + 1 :]) if "--" in args else ([], args)
    from aws_cdk import App, Stack

    import app

    # What the CLI hands the app: cdk.json's context, then the -c flags.
    context = {**json.loads((ROOT / "cdk.json").read_text())["context"], **context_flags(flags)}
    cdk_app = App(context=context)
    built = app.build_stacks(cdk_app)
    stacks = {c.stack_name: c.node.id for c in cdk_app.node.children if isinstance(c, Stack)}
    # Every stack is named <prefix>-<env>-<what>; the cognito stack's name gives the deployment's <prefix>-<env>-.
    print(" ".join(resolve(names, stacks, built.cognito.stack_name.removesuffix("cognito"))))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
