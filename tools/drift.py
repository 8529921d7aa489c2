"""Drift check (`make drift`): does what a deployed gateway tells agents about each tool still match the committed
tool locks? Lists the gateway's tools as agents (each agent's own client, its secret read from Cognito and never
printed, as `make smoke` does) and compares every tool of a locked entry, field by field, with its lock.

Exit status: 0 no drift; 1 drift (one line per difference naming the entry, the tool and the field) or the tools
could not be listed; 2 bad options or a config the app refuses.

Offline: --url (any MCP endpoint; with --entry, a server of that entry, its tools unprefixed; --no-auth for a local
server) or --recorded (a tools/list answer of the gateway saved as JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import anyio

from app_config import AppConfig, ConfigError, load_config
from app_config.declared import is_declared
from app_config.rules import agent_client_output
from app_config.tool_locks import CONTRACT_FIELDS, LockError, canonical_tool, shown_path
from tools.contracts import compare
from tools.mcp_steps import SEARCH_TOOL, CheckFailed, Probe, describe

PROG = "python -m tools.drift"
SEPARATOR = "___"
# Fields a gateway may leave out of its listing without that being drift (AWS does not document which of a server's
# tool fields its catalog keeps): each one the gateway does not list is said once, as a note.
OPTIONAL_AT_GATEWAY = ("title", "annotations", "outputSchema")
# An entry whose tools the repository declares (lambda, openapi, smithy, apiGateway) has a lock of what the
# declaration says, and the gateway builds the rest of each tool itself: an OpenAPI, Smithy or API Gateway tool's
# inputSchema from the description's operation (its lock holds name and description only). Such an entry's tools are
# compared on the fields its lock holds; a field only the gateway lists is noted, never drift.

AwsClients = Callable[[str, str | None], Any]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="dev", help="environment in cdk.json (default: dev)")
    parser.add_argument("--targets-file", help="the targets file, its locks beside it (default: cdk.json's)")
    parser.add_argument("--agents-file", help="the agents file (default: cdk.json's)")
    parser.add_argument("--prefix", help="name prefix of the stacks (default: cdk.json's for --env)")
    parser.add_argument("--region", help="region (default: from the gateway pool's id, else cdk.json's)")
    parser.add_argument(
        "--outputs-file", type=Path, help="a `cdk deploy --outputs-file` JSON file (default: CloudFormation)"
    )
    parser.add_argument(
        "--agent",
        action="append",
        help="list as this agent (repeatable); default: the fewest agents of the agents file whose grants cover every "
        "granted tool (an enforcing gateway lists an agent only the tools it may call)",
    )
    offline = parser.add_argument_group("offline sources instead of the deployed gateway")
    offline.add_argument("--url", help="an MCP endpoint to list (a gateway, or with --entry one entry's server)")
    offline.add_argument("--entry", help="with --url: the endpoint is this entry's server (tools without prefix)")
    offline.add_argument("--no-auth", action="store_true", help="with --url: no token (a local server)")
    offline.add_argument("--recorded", type=Path, help="a recorded tools/list answer of the gateway (JSON)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default: 30)")
    args = parser.parse_args(argv)
    if args.url and args.recorded:
        parser.error("--url and --recorded are two sources: pick one")
    if (args.entry or args.no_auth) and not args.url:
        parser.error("--entry and --no-auth go with --url")
    return args


# --- the listing --------------------------------------------------------------------------------------------------------


def read_recorded(path: Path) -> list[dict[str, Any]]:
    """A saved tools/list answer: the JSON-RPC response, its result, or the tools list itself."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CheckFailed(f"{path}: cannot be read as JSON ({type(error).__name__})") from None
    if isinstance(data, dict):
        data = data.get("result", data)
    if isinstance(data, dict):
        data = data.get("tools")
    if not isinstance(data, list) or not all(isinstance(tool, dict) and "name" in tool for tool in data):
        raise CheckFailed(f"{path}: no tools list (a tools/list response, its result, or the list)")
    return data


async def _listing(url: str, token: str | None, timeout: float) -> list[dict[str, Any]]:
    async with Probe(url, token=token, timeout=timeout) as probe:
        await probe.initialize()
        tools = await probe.list_tools()
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]


def list_url(url: str, token: str | None, timeout: float) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        return await _listing(url, token, timeout)

    try:
        return anyio.run(run)
    except CheckFailed:
        raise
    except Exception as error:  # one line, never a traceback
        message, cause = describe(error)
        raise CheckFailed(f"{url}: {message}" + (f" ({cause})" if cause else "")) from None


@dataclass
class GatewayListing:
    tools: list[dict[str, Any]]
    mode: str  # the gateway's PolicyEngineMode output: ENFORCE lists each agent only what it may call
    agents: tuple[str, ...]


def deployment_outputs(args: argparse.Namespace, aws: AwsClients) -> dict[str, str]:
    """The cognito and gateway stacks' outputs (from the outputs file, else CloudFormation), merged."""
    from tools import smoke

    context = smoke.cdk_context()
    settings = smoke.cdk_environment(context, args.env)
    prefix = args.prefix or settings.get("namePrefix", "mcpgw")
    region = args.region or settings.get("region")
    stacks = [f"{prefix}-{args.env}-cognito", f"{prefix}-{args.env}-gateway"]
    if args.outputs_file:
        by_stack = smoke.outputs_from_file(args.outputs_file)
    else:
        cloudformation = aws("cloudformation", region)
        by_stack = {}
        for name in stacks:
            try:
                stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
            except Exception as error:  # botocore's ClientError names the stack and the code, never a secret
                raise CheckFailed(f"DescribeStacks {name}: {type(error).__name__}", smoke.CAUSE_AWS) from None
            by_stack[name] = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    outputs: dict[str, str] = {}
    for name in stacks:
        outputs.update(by_stack.get(name, {}))
    missing = [
        key for key in ("GatewayUserPoolId", "GatewayTokenEndpoint", "GatewayScope", "GatewayUrl") if key not in outputs
    ]
    if missing:
        raise CheckFailed(f"missing outputs {', '.join(missing)} of {', '.join(stacks)}", smoke.CAUSE_OUTPUTS)
    return outputs


def gateway_listing(
    args: argparse.Namespace, agents: tuple[str, ...], aws: AwsClients | None = None
) -> list[dict[str, Any]]:
    """Every tool the deployed gateway lists to these agents (one session each), by name."""
    return list_gateway(args, agents, aws).tools


def list_gateway(args: argparse.Namespace, agents: tuple[str, ...], aws: AwsClients | None = None) -> GatewayListing:
    from tools import smoke

    clients = aws or smoke.boto_client
    outputs = deployment_outputs(args, clients)
    region = outputs["GatewayUserPoolId"].split("_", 1)[0]

    async def run() -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        for agent in agents:
            key = agent_client_output(agent)
            if key not in outputs:
                raise CheckFailed(f"no {key} output: is {agent!r} an agent of this deployment?", smoke.CAUSE_OUTPUTS)
            secret = smoke.read_client_secret(
                clients("cognito-idp", region), outputs["GatewayUserPoolId"], outputs[key]
            )
            token, _ = await smoke.fetch_token(
                outputs["GatewayTokenEndpoint"], outputs[key], secret, outputs["GatewayScope"], timeout=args.timeout
            )
            for tool in await _listing(outputs["GatewayUrl"], token, args.timeout):
                seen.setdefault(tool["name"], tool)
        return list(seen.values())

    try:
        tools = anyio.run(run)
    except CheckFailed:
        raise
    except Exception as error:
        message, cause = describe(error)
        raise CheckFailed(f"{outputs['GatewayUrl']}: {message}" + (f" ({cause})" if cause else "")) from None
    return GatewayListing(tools, outputs.get("PolicyEngineMode", ""), agents)


def covering_agents(config: AppConfig) -> tuple[str, ...]:
    """The fewest agents (greedy, in file order) whose grants together cover every granted tool."""
    left = {tool for tools in config.agents.tools.values() for tool in tools}
    chosen: list[str] = []
    while left:
        best = max(config.agents.entries, key=lambda agent: len(left & set(config.agents.allowed(agent.name))))
        covered = left & set(config.agents.allowed(best.name))
        if not covered:
            break
        chosen.append(best.name)
        left -= covered
    return tuple(chosen)


# --- the comparison -----------------------------------------------------------------------------------------------------


@dataclass
class Findings:
    drift: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def compare_listing(
    config: AppConfig,
    tools: list[dict[str, Any]],
    *,
    visible: set[str] | None = None,
    gateway: bool = True,
    only: str | None = None,
) -> Findings:
    """The listed tools (gateway names, <entry>___<tool>) against the locks. `visible`: the gateway names the listing
    could show (an enforcing gateway lists each agent only its tools); None: all of them. `gateway`: fields a gateway
    may not list (OPTIONAL_AT_GATEWAY) are noted, not drift. `only`: one entry."""
    findings = Findings()
    entries = [entry for entry in config.targets if only in (None, entry.name)]
    listed: dict[str, dict[str, dict[str, Any]]] = {entry.name: {} for entry in entries}
    for tool in tools:
        name = str(tool.get("name", ""))
        prefix, separator, local = name.partition(SEPARATOR)
        if name == SEARCH_TOOL or not separator:
            continue
        if prefix in listed:
            try:
                listed[prefix][local] = canonical_tool({**tool, "name": local})
            except LockError as error:
                findings.drift.append(f"{prefix}: tool {local}: {error}")
        elif only is None:
            findings.notes.append(f"{name}: listed by the gateway, but no entry of the targets file is {prefix!r}")
    absent_fields: set[str] = set()
    for entry in entries:
        lock = config.tool_locks.get(entry.name)
        if lock is None:
            findings.notes.append(f"{entry.name}: unpinned (no tool lock): its tools are not compared")
            continue
        shown = shown_path(lock.path, Path.cwd())
        locked = {tool.name: dict(tool.fields) for tool in lock.tools}
        seen = listed[entry.name]
        for name in sorted(set(locked) - set(seen)):
            qualified = f"{entry.name}{SEPARATOR}{name}"
            if visible is not None and qualified not in visible:
                findings.notes.append(
                    f"{entry.name}: tool {name}: granted to none of the agents listed as, not checked"
                )
            else:
                findings.drift.append(
                    f"{entry.name}: tool {name}: in its lock {shown}, not listed by the {_source(gateway)}"
                )
        for name in sorted(set(seen) - set(locked)):
            findings.drift.append(
                f"{entry.name}: tool {name}: listed by the {_source(gateway)}, not in its lock {shown} (a new tool no "
                "review saw)"
            )
        common = sorted(set(seen) & set(locked))
        before = {name: locked[name] for name in common}
        after = {name: seen[name] for name in common}
        built: set[str] = set()  # fields the gateway lists that a declared entry's lock does not hold
        for change in compare(before, after, tuple(f for f in CONTRACT_FIELDS if f != "name")):
            if gateway and change.after is None and change.field in OPTIONAL_AT_GATEWAY:
                absent_fields.add(str(change.field))
                continue
            if change.before is None and is_declared(entry):
                built.add(str(change.field))
                continue
            findings.drift.append(change.line(entry.name))
        if built:
            findings.notes.append(
                f"{entry.name}: the {_source(gateway)} lists {', '.join(sorted(built))} of its {entry.kind} tools, which "
                f"it builds itself and the lock {shown} (from the declaration) does not hold: not compared"
            )
    for absent in sorted(absent_fields):
        findings.notes.append(f"the gateway does not list the field {absent} of some locked tools: not compared")
    return findings


def _source(gateway: bool) -> str:
    return "gateway" if gateway else "server"


# --- main ---------------------------------------------------------------------------------------------------------------


def load(args: argparse.Namespace) -> AppConfig:
    from tools.smoke import cdk_context

    context = cdk_context()
    context["env"] = args.env
    for key, value in (("targetsFile", args.targets_file), ("agentsFile", args.agents_file)):
        if value:
            context[key] = str(Path(value).resolve())
    return load_config(context)


def run(args: argparse.Namespace, aws: AwsClients | None = None) -> int:
    try:
        config = load(args)
    except ConfigError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    if args.entry and args.entry not in {entry.name for entry in config.targets}:
        print(f"{PROG}: error: --entry {args.entry!r} is no entry of the targets file", file=sys.stderr)
        return 2
    visible: set[str] | None = None
    gateway = True
    try:
        if args.recorded:
            tools, source = read_recorded(args.recorded), f"recorded answer {args.recorded}"
        elif args.url:
            import os

            token = None if args.no_auth else (os.environ.get("MCP_BEARER_TOKEN") or None)
            tools, source = list_url(args.url, token, args.timeout), args.url
            if args.entry:
                gateway = False
                tools = [{**tool, "name": f"{args.entry}{SEPARATOR}{tool['name']}"} for tool in tools]
        else:
            agents = tuple(args.agent or covering_agents(config))
            if not agents:
                raise CheckFailed("no agent is granted any tool: nothing can be listed as an agent")
            listing = list_gateway(args, agents, aws)
            tools, source = listing.tools, f"gateway of {args.env}, as {', '.join(agents)}"
            if listing.mode == "ENFORCE":
                visible = {tool for agent in agents for tool in config.agents.tools.get(agent, ())}
    except CheckFailed as failed:
        print(
            f"{PROG}: could not list the tools: {failed}" + (f" ({failed.cause})" if failed.cause else ""),
            file=sys.stderr,
        )
        return 1
    findings = compare_listing(config, tools, visible=visible, gateway=gateway, only=args.entry)
    for note in findings.notes:
        print(f"note: {note}")
    for line in findings.drift:
        print(f"DRIFT {line}")
    locked = sum(1 for entry in config.targets if entry.name in config.tool_locks and args.entry in (None, entry.name))
    if findings.drift:
        print(
            f"{len(findings.drift)} difference(s) between the {source} and the tool locks: see docs/operations.md, "
            '"Tool contracts", for what to do',
            file=sys.stderr,
        )
        return 1
    print(f"no drift: {locked} locked entr{'y' if locked == 1 else 'ies'} match the {source}")
    return 0


def main(argv: list[str] | None = None, aws: AwsClients | None = None) -> int:
    return run(parse_args(argv), aws)


if __name__ == "__main__":
    sys.exit(main())
