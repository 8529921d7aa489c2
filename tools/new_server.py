"""`make new-server NAME=<name>`: a minimal hosted MCP server folder that keeps the contract (tools/hosted.py) as
created, and the entry to add to config/targets.yaml.

The folder holds a server with one read-only example tool (`echo`), its Dockerfile and .dockerignore, its
requirements.in, a hashed lock file and its tool lock (tools.lock.json, what the server lists: `make tools-lock`
rewrites it after a tool change). The lock is the part of mcp_server/'s lock the new server's requirements need
(resolved offline from the installed packages' metadata), so it needs no network and pins what mcp_server pins.
mcp_server/ stays the full reference: logging, strict argument checks, graceful shutdown.
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import metadata
from pathlib import Path

from app_config.rules import ENTRY_NAME_MAX, ENTRY_NAME_PATTERN, ENTRY_NAME_RULE
from tools.hosted import LOCK, ROOT, closure, display, locked, requirements

REFERENCE = ROOT / "mcp_server"
TOOL = "echo"

SERVER = '''"""{name}: an MCP server behind the gateway. Stateless streamable HTTP on 0.0.0.0:8000/mcp and GET /ping, as AgentCore
Runtime requires (tools/hosted.py has the whole contract; mcp_server/server.py is the full reference)."""

from __future__ import annotations

import os

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations
from starlette.requests import Request
from starlette.responses import JSONResponse

mcp = MCPServer(name="{name}", version="0.1.0")


# Every tool it lists must be declared in its entry's tools: (config/targets.yaml), and no other, and recorded in
# tools.lock.json (`make tools-lock` after a change of a tool's name, description, schemas or annotations).
@mcp.tool(title="Echo", annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False))
async def {tool}(text: str) -> str:
    """Return the text it is given, unchanged. Safe to call: it reads and changes nothing."""
    return text


@mcp.custom_route("/ping", methods=["GET"])
async def ping(request: Request) -> JSONResponse:
    """AgentCore Runtime's health probe: the runtime is READY once this answers."""
    return JSONResponse({{"status": "Healthy"}})


if __name__ == "__main__":
    # The image sets MCP_HOST=0.0.0.0 and MCP_PORT=8000; the tests and `make serve` may choose another port.
    mcp.run(
        "streamable-http",
        host=os.environ.get("MCP_HOST", "0.0.0.0"),
        port=int(os.environ.get("MCP_PORT", "8000")),
        stateless_http=True,
    )
'''

DOCKERFILE = """# syntax=docker/dockerfile:1
# {name}: the image AgentCore Runtime runs (linux/arm64, port 8000, POST /mcp, GET /ping).

# AgentCore Runtime only runs arm64 images, so the platform is part of the contract.
# hadolint ignore=DL3029
FROM --platform=linux/arm64 python:3.12-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.txt /tmp/requirements.txt
# Wheels only, every hash checked: the lock file is the whole dependency set.
RUN python -m venv --without-pip /opt/venv \\
    && python -m pip --python /opt/venv/bin/python install \\
       --no-deps --require-hashes --only-binary=:all: -r /tmp/requirements.txt \\
    && python -m compileall -q -f -j 0 --invalidation-mode unchecked-hash /opt/venv/lib

# hadolint ignore=DL3029
FROM --platform=linux/arm64 python:3.12-slim-bookworm
LABEL org.opencontainers.image.title="{name} MCP server" \\
      org.opencontainers.image.description="{name} tools over stateless streamable HTTP on :8000/mcp" \\
      org.opencontainers.image.source="https://github.com/agentcore-mcp-gateway/agentcore-mcp-gateway" \\
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 mcp \\
    && useradd --system --uid 10001 --gid mcp --no-create-home --shell /usr/sbin/nologin mcp
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY server.py ./
ENV PATH="/opt/venv/bin:${{PATH}}" PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \\
    MCP_HOST=0.0.0.0 MCP_PORT=8000
USER 10001:10001
EXPOSE 8000
# Same entry point as `make serve DIR={path}`.
CMD ["python", "server.py"]
"""

DOCKERIGNORE = """# Only what the image copies: no virtualenv, cache or local file reaches the image or its asset hash.
*
!requirements.txt
!server.py
"""

REQUIREMENTS_IN = """# What server.py imports. Pinned, with hashes, in requirements.txt (`make new-server` took them from mcp_server/'s
# lock); after a change: uv pip compile requirements.in --generate-hashes --python-version 3.12 \\
#   --python-platform aarch64-manylinux_2_28 --no-header -o requirements.txt
mcp=={mcp}
mcp-types
starlette
"""


def lock_subset(roots: list[str]) -> str:
    """The entries of mcp_server/'s lock that `roots` need on the image, as that lock writes them (hashes included)."""
    pins = locked(REFERENCE)
    requires = {}
    for name, version in pins.items():
        installed = metadata.version(name)
        if installed != version:
            raise SystemExit(f"error: {name} {installed} is installed, mcp_server/ locks {version}: run `make setup`")
        requires[name] = metadata.requires(name) or []
    needed, missing = closure(roots, requires, pins)
    if missing:
        raise SystemExit(f"error: mcp_server/{LOCK} lacks what the template needs: {'; '.join(missing)}")
    entries = re.split(r"\n(?=[A-Za-z])", (REFERENCE / LOCK).read_text().strip())
    kept = [e for e in entries if re.split(r"[=\s]", e, maxsplit=1)[0].lower().replace("_", "-") in needed]
    return "\n".join(kept) + "\n"


def create(folder: Path, name: str) -> None:
    path = display(folder).rstrip("/")
    files = {
        "server.py": SERVER.format(name=name, tool=TOOL),
        "Dockerfile": DOCKERFILE.format(name=name, path=path),
        ".dockerignore": DOCKERIGNORE,
        "requirements.in": REQUIREMENTS_IN.format(mcp=locked(REFERENCE)["mcp"]),
    }
    folder.mkdir(parents=True)
    for file_name, text in files.items():
        (folder / file_name).write_text(text)
    (folder / LOCK).write_text(lock_subset(requirements(folder)))
    write_tool_lock(folder)


def write_tool_lock(folder: Path) -> None:
    """The folder's tool lock (app_config.tool_locks), written as `make tools-lock` writes it: from what the new
    server lists, started as the folder checks start it. Every hosted entry needs one, so the folder passes every
    check (and synth) as created."""
    from app_config.tool_locks import HOSTED_LOCK_FILE, LockError, lock_document, render
    from tools.tools_lock import LockToolError, list_tools, serving

    try:
        with serving(folder) as url:
            tools = list_tools(url, None, 30.0)
        (folder / HOSTED_LOCK_FILE).write_text(render(lock_document(tools)), encoding="utf-8")
    except (LockToolError, LockError) as error:
        raise SystemExit(f"error: {error}") from None


def entry(name: str, path: str) -> str:
    return (
        f"  - name: {name}\n"
        "    kind: hosted\n"
        f"    path: {path}\n"
        f"    description: {name} tools\n"
        f"    tools: [{TOOL}]\n"
        f'    smokeTool: {TOOL}           # read-only: what make smoke SMOKE_ARGS="--target {name}" calls\n'
    )


def name_problem(name: str) -> str | None:
    """Why `name` cannot name an entry (the rule config/targets.yaml applies), or None: what `make new-server` and
    `make new-function` print before creating anything."""
    if re.fullmatch(ENTRY_NAME_PATTERN, name) and len(name) <= ENTRY_NAME_MAX:
        return None
    return f"error: NAME={name!r} {ENTRY_NAME_RULE} (it names the target and its tools)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make new-server", description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the entry's name: target name and tool prefix (lowercase, digits, hyphens)")
    parser.add_argument("--dir", help="the folder to create (default: servers/<name>)")
    args = parser.parse_args(argv)
    problem = name_problem(args.name)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    folder = (ROOT / (args.dir or f"servers/{args.name}")).resolve()
    if folder.exists():
        print(f"error: {display(folder)} exists: choose another NAME or DIR", file=sys.stderr)
        return 2
    create(folder, args.name)
    path = display(folder).rstrip("/")
    print(f"created {path}/ (server.py, Dockerfile, .dockerignore, requirements.in, {LOCK}, tools.lock.json)")
    print(f"run it: make serve DIR={path}    check it: make mcp-check TOOLS={TOOL}")
    print("add this entry to config/targets.yaml, then `make snapshots` and `make test`:\n")
    print(entry(args.name, path), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
