"""Tool contracts: what each entry's tools tell an agent (name, title, description, input and output schemas,
annotations), canonicalized into a lock file with a sha256 per tool and per lock, written by `make tools-lock`.

Where a lock lives: a hosted entry's in its folder (`<path>/tools.lock.json`: the folder's code defines the tools,
and every entry built from the folder serves the same ones); an `existing` entry's beside the targets file
(`<targets file's folder>/tool-locks/<name>.json`). A hosted entry must have one; an existing entry without one is
unpinned (its declared `tools:` stand) until its team records it.

The lock is the source of the tool names an entry offers: its declared `tools:` must name exactly the lock's tools
(or be left out, and the lock's names are taken), so agents' grants and the Cedar actions follow the lock.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from app_config.declared import SpecError, declared_tools
from app_config.model import Entry, HostedEntry
from app_config.rules import sync_revision

HOSTED_LOCK_FILE = "tools.lock.json"
EXISTING_LOCKS_DIR = "tool-locks"
LOCK_VERSION = 1
# The parts of an MCP tool definition (tools/list) that make its contract, in the order a lock lists them: what an
# agent reads to decide whether and how to call it. Everything else a server may add (_meta, icons) is left out.
CONTRACT_FIELDS = ("name", "title", "description", "annotations", "inputSchema", "outputSchema")
_COMMENT = (
    "Tool contracts, written by `make tools-lock`; reviewed like code, never edited by hand (each sha256 covers its "
    "tool's fields, the top one every tool's)."
)


class LockError(ValueError):
    """A lock the app refuses; one line naming the file, and the entry and tool where there is one."""


@dataclass(frozen=True)
class ToolContract:
    name: str
    sha256: str
    fields: Mapping[str, Any]  # every contract field the tool has, name included (canonical form)


@dataclass(frozen=True)
class ToolLock:
    path: Path
    sha256: str
    tools: tuple[ToolContract, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(tool.name for tool in self.tools)

    def tool(self, name: str) -> ToolContract | None:
        return next((tool for tool in self.tools if tool.name == name), None)


# --- canonical form and hashes ----------------------------------------------------------------------------------------


def _sorted(value: Any) -> Any:
    """JSON with every object's keys sorted (their order means nothing in JSON); lists keep their order."""
    if isinstance(value, Mapping):
        return {str(key): _sorted(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [_sorted(item) for item in value]
    return value


def canonical_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    """A tools/list entry (as the wire spells it: inputSchema, outputSchema) reduced to its contract, canonical."""
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise LockError("a tool without a name")
    return {field: _sorted(tool[field]) for field in CONTRACT_FIELDS if tool.get(field) is not None}


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def tool_hash(contract: Mapping[str, Any]) -> str:
    return _digest({field: contract[field] for field in CONTRACT_FIELDS if field in contract})


def lock_hash(tools: Iterable[tuple[str, str]]) -> str:
    """The lock's hash, over each tool's name and hash (in name order)."""
    return _digest([{"name": name, "sha256": digest} for name, digest in sorted(tools)])


def lock_document(tools: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The lock file's content for these tools/list entries: canonical tools in name order, each with its hash."""
    contracts = sorted((canonical_tool(tool) for tool in tools), key=lambda contract: contract["name"])
    names = [contract["name"] for contract in contracts]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise LockError(f"the server lists {', '.join(map(repr, repeated))} more than once")
    rows = []
    for contract in contracts:
        digest = tool_hash(contract)
        # name and sha256 first, then the fields in CONTRACT_FIELDS' order: one field per line once rendered.
        rows.append({"name": contract["name"], "sha256": digest, **{k: v for k, v in contract.items() if k != "name"}})
    return {
        "$comment": _COMMENT,
        "lockVersion": LOCK_VERSION,
        "sha256": lock_hash((row["name"], row["sha256"]) for row in rows),
        "tools": rows,
    }


def render(document: Mapping[str, Any]) -> str:
    """The file's text: one field per line, descriptions as plain strings, non-ASCII as written."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- reading ----------------------------------------------------------------------------------------------------------


def read_lock(path: Path, *, shown: str, entry: str) -> ToolLock:
    """A lock file, parsed and checked against its own hashes. `shown` is the path errors print; `entry` the entry
    it serves (errors name it)."""
    where = f"{shown} (entry {entry})"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LockError(f"{where}: no such lock: run `make tools-lock`") from None
    except (OSError, UnicodeDecodeError) as error:
        raise LockError(f"{where}: cannot be read ({type(error).__name__})") from None
    except ValueError as error:
        raise LockError(
            f"{where}: not valid JSON (line {getattr(error, 'lineno', '?')}): run `make tools-lock`"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("tools"), list):
        raise LockError(f"{where}: not a tool lock (a map with a 'tools' list): run `make tools-lock`")
    if document.get("lockVersion") != LOCK_VERSION:
        raise LockError(f"{where}: lockVersion must be {LOCK_VERSION}: run `make tools-lock`")
    tools: list[ToolContract] = []
    for index, row in enumerate(document["tools"]):
        name = row.get("name") if isinstance(row, dict) else None
        if not isinstance(name, str) or not name:
            raise LockError(f"{where}: tools[{index}] has no name: run `make tools-lock`")
        label = f"{where}, tool {name}"
        unknown = sorted(set(row) - {*CONTRACT_FIELDS, "sha256"})
        if unknown:
            raise LockError(f"{label}: unknown field {unknown[0]!r} (a lock holds {', '.join(CONTRACT_FIELDS)})")
        if not isinstance(row.get("description", ""), str) or not isinstance(row.get("title", ""), str):
            raise LockError(f"{label}: title and description must be strings")
        if any(name == other.name for other in tools):
            raise LockError(f"{label}: listed twice")
        contract = canonical_tool(row)
        digest = tool_hash(contract)
        if row.get("sha256") != digest:
            raise LockError(
                f"{label}: its sha256 does not match its fields (edited by hand?): write the lock with "
                "`make tools-lock`, never by hand"
            )
        tools.append(ToolContract(name, digest, contract))
    if not tools:
        raise LockError(f"{where}: lists no tools")
    digest = lock_hash((tool.name, tool.sha256) for tool in tools)
    if document.get("sha256") != digest:
        raise LockError(
            f"{where}: its top sha256 does not match its tools (a tool added, removed or renamed by hand?): write the "
            "lock with `make tools-lock`"
        )
    return ToolLock(path, digest, tuple(sorted(tools, key=lambda tool: tool.name)))


# --- where locks live, and the entries' agreement with them -----------------------------------------------------------


def lock_path(entry: Entry, targets_file: Path) -> Path:
    """Where `entry`'s lock lives: its folder's tools.lock.json (hosted), or tool-locks/<name>.json beside the targets
    file (every other kind)."""
    if isinstance(entry, HostedEntry):
        return entry.folder / HOSTED_LOCK_FILE
    return targets_file.parent / EXISTING_LOCKS_DIR / f"{entry.name}.json"


def shown_path(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def check_agreement(index: int, entry: Entry, lock: ToolLock, shown: str) -> None:
    """An entry's declared tools name exactly its lock's tools (declared none: the lock's stand)."""
    declared: Sequence[str] | None = entry.tools
    if declared is None:
        return
    where = f"targets[{index}] {entry.name}"
    for tool in declared:
        if tool not in lock.names:
            raise LockError(
                f"{where}: tools lists {tool!r}, which its lock {shown} lacks (locked: {', '.join(lock.names)}): run "
                "`make tools-lock` if the server has it, else drop it from tools:"
            )
    for tool in lock.names:
        if tool not in declared:
            raise LockError(
                f"{where}: its lock {shown} has tool {tool!r}, which tools: does not list: add it (or leave tools: "
                "out: the lock names them)"
            )


def contract_mark(lock: ToolLock | None, entry: Entry) -> str:
    """What a gateway target's description carries of its tools' contract (its sync revision), so that a change of it
    updates the target and the gateway re-synchronizes its catalog (UpdateGatewayTarget synchronizes an MCP target's
    tools, DEFAULT listing mode): the lock's hash, else (unpinned) the declared names, with the entry's syncToken."""
    return sync_revision(entry.tools, entry.sync_token, lock.sha256 if lock is not None else None)


def static_schema(lock: ToolLock) -> str:
    """The lock's tools as a static MCP tool list (a target's McpToolSchema InlinePayload), shaped as a tools/list
    result (botocore: "The tool schema must be aligned with the MCP specification"), exactly as locked."""
    tools = [dict(tool.fields) for tool in lock.tools]
    return json.dumps({"tools": tools}, separators=(",", ":"), ensure_ascii=False)


def resolve(
    targets: Sequence[Entry], targets_file: Path, root: Path
) -> tuple[tuple[Entry, ...], dict[str, ToolLock], dict[str, str]]:
    """Each entry's lock, read and checked against the entry: (the entries, those without `tools:` given the lock's
    names; the locks by entry name; the unpinned entries, each with the lock path it lacks). A hosted entry must have
    a lock; an existing one may not have one yet (unpinned)."""
    resolved: list[Entry] = []
    locks: dict[str, ToolLock] = {}
    unpinned: dict[str, str] = {}
    read: dict[Path, ToolLock] = {}  # a folder's lock, read once however many entries it serves
    for index, entry in enumerate(targets):
        path = lock_path(entry, targets_file)
        shown = shown_path(path, root)
        try:
            derived = declared_tools(entry)
        except SpecError as error:
            raise LockError(f"targets[{index}] {entry.name}: {error}") from None
        if derived is not None:
            lock = _declared_lock(index, entry, derived, path, shown)
            locks[entry.name] = lock
            resolved.append(entry.model_copy(update={"tools": list(lock.names)}))
            continue
        if not isinstance(entry, HostedEntry) and not path.is_file():
            if getattr(entry, "static_tool_schema", False):
                raise LockError(
                    f"targets[{index}] {entry.name}: staticToolSchema serves the locked tools, and there is no lock "
                    f"{shown}: record it first (`make tools-lock TARGET={entry.name}`)"
                )
            unpinned[entry.name] = shown
            resolved.append(entry)
            continue
        lock = read.get(path) or read_lock(path, shown=shown, entry=entry.name)
        read[path] = lock
        check_agreement(index, entry, lock, shown)
        locks[entry.name] = lock
        resolved.append(entry if entry.tools is not None else entry.model_copy(update={"tools": list(lock.names)}))
    for index, entry in enumerate(resolved):
        # The smoke calls a tool the entry offers: declared, or (tools: left out) locked.
        if entry.smoke_tool is not None and entry.smoke_tool not in (entry.tools or []):
            raise LockError(
                f"targets[{index}].smokeTool {entry.smoke_tool!r} is not one of its tools "
                f"({', '.join(entry.tools or []) or 'none declared'}): the smoke calls only a declared tool"
            )
    return tuple(resolved), locks, unpinned


def _declared_lock(index: int, entry: Entry, derived: list[dict[str, Any]], path: Path, shown: str) -> ToolLock:
    """A declared entry's lock, which must say what its declaration says: written offline by `make tools-lock`, and
    reviewed (and diffed, and checked for drift) as a server's lock is."""
    where = f"targets[{index}] {entry.name}"
    fix = f"`make tools-lock TARGET={entry.name}` (offline: it reads the entry's declaration), then review the lock"
    try:
        expected = lock_document(derived)
    except LockError as error:
        raise LockError(f"{where}: {error}") from None
    if not path.is_file():
        raise LockError(f"{where}: no tool lock {shown}: write it with {fix}")
    lock = read_lock(path, shown=shown, entry=entry.name)
    if lock.sha256 != expected["sha256"]:
        declared = {row["name"]: row["sha256"] for row in expected["tools"]}
        locked = {tool.name: tool.sha256 for tool in lock.tools}
        what = next(
            (f"tool {name} is declared, not locked" for name in sorted(set(declared) - set(locked))),
            next(
                (f"tool {name} is locked, no longer declared" for name in sorted(set(locked) - set(declared))),
                next(
                    (
                        f"tool {name} differs from its declaration"
                        for name in sorted(declared)
                        if declared[name] != locked[name]
                    ),
                    "it differs",
                ),
            ),
        )
        raise LockError(f"{where}: its lock {shown} is stale ({what}): write it with {fix}")
    return lock


def unpinned_note(entry: str, shown: str) -> str:
    """The one line synth prints for an existing entry without a lock."""
    return (
        f"note: targets entry {entry} is unpinned (no {shown}): its declared tools stand, unreviewed; record them with "
        f"`make tools-lock TARGET={entry}`"
    )
