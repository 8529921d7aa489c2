"""`make tools-lock`: write each entry's tool lock from what its server answers to tools/list.

Hosted entries: each folder is started locally as the folder checks start it (tools.hosted: the Dockerfile's CMD,
its python this venv's, on a free port) and its lock written to <folder>/tools.lock.json. An existing entry, one at a time
(`make tools-lock TARGET=<name>`): from the live server through the entry's own OAuth client (the client secret is
read from the Secrets Manager secret the entry names, which needs AWS credentials allowed
secretsmanager:GetSecretValue on it), from any URL (--url, with --no-auth for a local server), or from the deployed
gateway as an agent (--from-gateway); its lock goes to tool-locks/<name>.json beside the targets file.

Declared kinds (lambda, openapi, smithy, apiGateway), offline: the lock is what the repository declares (a tool
schema, a description's operations, the operations listed), written for every such entry without TARGET. What this
tool cannot read is skipped without TARGET and refused with it, in one line, unless --from-gateway or --url says where
to read: an existing server called with an API key or IAM (it holds neither), an OpenAPI description or Smithy model
in S3 (only the gateway reads it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

import anyio
import httpx2

from app_config.declared import SpecError, declared_tools, declares_its_tools
from app_config.errors import TargetsError
from app_config.model import ROOT, Entry, ExistingEntry, HostedEntry
from app_config.targets import load_targets
from app_config.tool_locks import LockError, lock_document, lock_path, render, shown_path
from tools import hosted
from tools.bench_mcp import free_port
from tools.contracts import compare, contracts_of
from tools.mcp_steps import CheckFailed, Probe, describe

PROG = "python -m tools.tools_lock"
# The gateway names a target's tools <target>___<tool>.
SEPARATOR = "___"

Fetch = Callable[[str, str | None, float], list[dict[str, Any]]]


class LockToolError(Exception):
    """What stops the command, said in one line (exit status 1)."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets-file", type=Path, help="the targets file (default: cdk.json's targetsFile)")
    parser.add_argument("--target", help="one entry (required for an existing entry); default: every hosted entry")
    parser.add_argument("--url", help="read tools/list from this MCP endpoint instead (any entry)")
    parser.add_argument("--no-auth", action="store_true", help="no token: a local server at --url")
    parser.add_argument(
        "--from-gateway", action="store_true", help="read the entry's tools from the deployed gateway, as an agent"
    )
    gateway = parser.add_argument_group("the deployed gateway (--from-gateway), as `make smoke` finds it")
    gateway.add_argument("--env", default="dev", help="environment name in cdk.json (default: dev)")
    gateway.add_argument("--prefix", help="name prefix (default: cdk.json's for --env)")
    gateway.add_argument("--region", help="region (default: cdk.json's for --env)")
    gateway.add_argument("--outputs-file", type=Path, help="a `cdk deploy --outputs-file` JSON file")
    gateway.add_argument("--agent", default="platform-smoke", help="the agent to list as (granted the entry's tools)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a lock differs")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default: 30)")
    args = parser.parse_args(argv)
    if args.no_auth and not args.url:
        parser.error("--no-auth needs --url")
    if (args.url or args.from_gateway) and not args.target:
        parser.error("--url and --from-gateway read one entry: name it with --target")
    if args.url and args.from_gateway:
        parser.error("--url and --from-gateway are two sources: pick one")
    return args


# --- where tools/list comes from ------------------------------------------------------------------------------------


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """The hosted folder's server, started as the folder checks start it (tools.hosted: its image's command, its
    python this venv's) on a free port; its /mcp URL."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="tools-lock-") as logs:
        try:
            process = hosted.start_local(folder, port, Path(logs) / "server.log")
        except RuntimeError as error:
            raise LockToolError(str(error)) from None
        except (OSError, ValueError, IndexError) as error:
            raise LockToolError(hosted.problem(folder, "Dockerfile", str(error) or "no FROM")) from None
        try:
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            hosted.stop(process)


def list_tools(url: str, token: str | None, timeout: float) -> list[dict[str, Any]]:
    """Every tool the endpoint lists (all pages), as the wire spells them, through the official MCP client."""

    async def read() -> list[dict[str, Any]]:
        async with Probe(url, token=token, timeout=timeout) as probe:
            await probe.initialize()
            tools = await probe.list_tools()
        return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]

    try:
        return anyio.run(read)
    except Exception as error:  # one line, never a traceback; a token is never part of the message
        message, cause = describe(error)
        raise LockToolError(f"{url}: {message}" + (f" ({cause})" if cause else "")) from None


def oauth_token(entry: ExistingEntry, timeout: float, secrets: Any = None) -> str:
    """A client-credentials token from the entry's own OAuth client: the discovery document's token endpoint, the
    client id and scopes of the entry, the secret from Secrets Manager (never printed)."""
    from tools.smoke import Secret, fetch_token  # the smoke's token request: https only, retried, secret-safe

    oauth = entry.oauth
    assert oauth is not None
    name = oauth.client_secret_name
    print(
        f"{entry.name}: reading the client secret from Secrets Manager secret {name!r} (needs AWS credentials with "
        "secretsmanager:GetSecretValue on it)",
        file=sys.stderr,
    )
    try:
        if secrets is None:
            import boto3

            secrets = boto3.client("secretsmanager")
        value = secrets.get_secret_value(SecretId=name)["SecretString"]
    except Exception as error:  # botocore's errors name the secret, never its value
        raise LockToolError(f"{entry.name}: cannot read secret {name!r}: {type(error).__name__}") from None
    try:
        discovery = httpx2.get(oauth.discovery_url, timeout=timeout).json()
        endpoint = str(discovery["token_endpoint"])
    except Exception as error:
        raise LockToolError(
            f"{entry.name}: no token_endpoint from {oauth.discovery_url} ({type(error).__name__})"
        ) from None

    async def token() -> str:
        access, _ = await fetch_token(endpoint, oauth.client_id, Secret(value), " ".join(oauth.scopes))
        return access

    try:
        return anyio.run(token)
    except CheckFailed as failed:
        raise LockToolError(f"{entry.name}: {failed}") from None


def from_gateway(entry: Entry, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The entry's tools as the deployed gateway lists them to an agent, the target's prefix taken off."""
    from tools.drift import gateway_listing

    listed = gateway_listing(args, agents=(args.agent,))
    prefix = f"{entry.name}{SEPARATOR}"
    tools = [{**tool, "name": tool["name"][len(prefix) :]} for tool in listed if tool["name"].startswith(prefix)]
    if not tools:
        raise LockToolError(
            f"{entry.name}: the gateway lists no {prefix}* tool to {args.agent} (is it granted them? --agent)"
        )
    return tools


# --- writing ----------------------------------------------------------------------------------------------------------


def write_lock(
    path: Path,
    tools: list[dict[str, Any]],
    entries: list[tuple[int, Entry]],
    *,
    check: bool,
    source: str = "what the server lists",
) -> bool:
    """Write (or, with `check`, compare) one lock; print what changed. True when the lock is (or was) up to date.
    `source`: what the tools were read from, as the --check failure says it."""
    shown = shown_path(path, ROOT)
    try:
        document = lock_document(tools)
    except LockError as error:
        raise LockToolError(f"{shown}: {error}") from None
    text = render(document)
    before_text = path.read_text(encoding="utf-8") if path.is_file() else ""
    try:
        before = contracts_of(json.loads(before_text)["tools"]) if before_text else {}
    except (ValueError, KeyError, TypeError, LockError):
        before = {}
    changes = compare(before, contracts_of(document["tools"]))
    label = ", ".join(entry.name for _, entry in entries)
    if before_text == text:
        print(f"{shown}: up to date ({len(document['tools'])} tools; {label})")
        return True
    for change in changes or []:
        print(f"  {change.line(label)}")
    if check:
        target = f" TARGET={entries[0][1].name}" if len(entries) == 1 else ""
        print(f"{shown}: differs from {source} ({label}): run `make tools-lock{target}`", file=sys.stderr)
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"{shown}: written ({len(document['tools'])} tools; {label})")
    names = [tool["name"] for tool in document["tools"]]
    for index, entry in entries:
        if entry.tools is not None and sorted(entry.tools) != sorted(names):
            print(f"  targets[{index}] {entry.name}: set tools: [{', '.join(names)}] (or leave tools: out)")
    return True


def targets_file_of(args: argparse.Namespace) -> Path:
    if args.targets_file:
        given = Path(args.targets_file)
        return given if given.is_absolute() else Path.cwd() / given
    from tools.smoke import DEFAULT_TARGETS_FILE, cdk_context

    value = cdk_context().get("targetsFile")
    chosen = Path(value if isinstance(value, str) and value else str(DEFAULT_TARGETS_FILE))
    return chosen if chosen.is_absolute() else ROOT / chosen


def run(args: argparse.Namespace, fetch: Fetch = list_tools) -> int:
    targets_file = targets_file_of(args)
    try:
        entries = load_targets(targets_file, max_targets=10_000)
    except TargetsError as error:
        raise LockToolError(f"{shown_path(targets_file, ROOT)}: {error}") from None
    indexed = list(enumerate(entries))
    if args.target:
        indexed = [(i, e) for i, e in indexed if e.name == args.target]
        if not indexed:
            names = ", ".join(entry.name for entry in entries)
            raise LockToolError(f"{shown_path(targets_file, ROOT)}: no entry {args.target!r} (entries: {names})")
    ok = True
    by_lock: dict[Path, list[tuple[int, Entry]]] = {}
    for index, entry in indexed:
        if not isinstance(entry, HostedEntry) and not declares_its_tools(entry) and not args.target:
            print(f"{entry.name}: {entry.kind} entry, skipped: {how_to_record(entry)}")
            continue
        by_lock.setdefault(lock_path(entry, targets_file), []).append((index, entry))
    for path, served in by_lock.items():
        entry = served[0][1]
        try:
            declared = declared_tools(entry)
        except SpecError as error:
            raise LockToolError(f"{entry.name}: {error}") from None
        if declared is not None:
            # Offline: what the repository declares (a tool schema, a description's operations) is the contract.
            ok = write_lock(path, declared, served, check=args.check, source="what its declaration says") and ok
            continue
        if args.url:
            tools = fetch(args.url, None if args.no_auth else _env_token(), args.timeout)
        elif args.from_gateway:
            tools = from_gateway(entry, args)
        elif isinstance(entry, HostedEntry):
            with serving(entry.folder) as url:
                tools = fetch(url, None, args.timeout)
        elif isinstance(entry, ExistingEntry) and entry.oauth is not None:
            tools = fetch(entry.endpoint, oauth_token(entry, args.timeout), args.timeout)
        else:
            raise LockToolError(f"{entry.name}: {unreadable(entry)}: {THROUGH_GATEWAY}")
        ok = write_lock(path, tools, served, check=args.check) and ok
    return 0 if ok else 1


THROUGH_GATEWAY = (
    "record its tools as the deployed gateway lists them (TOOLS_LOCK_ARGS=--from-gateway) or from an MCP endpoint "
    "(--url)"
)


def unreadable(entry: Entry) -> str:
    """Why this tool cannot read the entry's tools itself (an entry neither hosted, nor OAuth, nor declared)."""
    spec = getattr(entry, "spec_s3", None) or getattr(entry, "model_s3", None)
    if spec is not None:
        what = "OpenAPI description" if entry.kind == "openapi" else "Smithy model"
        return f"its {what} is in S3 ({spec.uri}), which only the gateway reads"
    how = "an API key" if getattr(entry, "api_key", None) is not None else "IAM (SigV4)"
    return f"its server is called with {how}, which this tool does not hold"


def how_to_record(entry: Entry) -> str:
    """What the skip line tells the team to run for an entry this tool does not read unasked."""
    if isinstance(entry, ExistingEntry) and entry.oauth is not None:
        return f"`make tools-lock TARGET={entry.name}` reads its server through its OAuth client"
    return f"{unreadable(entry)}: `make tools-lock TARGET={entry.name} TOOLS_LOCK_ARGS=--from-gateway` records it"


def _env_token() -> str | None:
    # As `make mcp-check`: a bearer token for --url, if the endpoint needs one, from the environment (never printed).
    return os.environ.get("MCP_BEARER_TOKEN") or None


def main(argv: list[str] | None = None, fetch: Fetch = list_tools) -> int:
    args = parse_args(argv)
    try:
        return run(args, fetch)
    except (LockToolError, CheckFailed) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
