"""config/targets.yaml: the MCP servers behind the gateway, validated by the model, then the rules that look across
entries (unique names, reserved names, the gateway's quota) and at the repository (each hosted folder's Dockerfile)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from app_config.errors import TargetsError, explain_entries
from app_config.model import ROOT, Entry, HostedEntry, TargetsFile
from app_config.rules import RESERVED_ENTRY_NAMES, pascal

DEFAULT_TARGETS_FILE = ROOT / "config" / "targets.yaml"
SCHEMA_FILE = ROOT / "config" / "targets.schema.json"


M = TypeVar("M", bound=BaseModel)


class _UniqueKeysLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key written twice in one mapping: plain YAML keeps the last value silently
    (two `path:` lines in one entry ship whichever comes second)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            # A merge key (<<: *base) may repeat what it merges: only keys written in this mapping count.
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise _DuplicateKey(
                    f"line {line}: the key {key!r} is written twice in one mapping (first at line "
                    f"{seen[key]}); YAML would keep the last value silently"
                )
            seen[key] = line
        return super().construct_mapping(node, deep)


class _DuplicateKey(yaml.YAMLError):
    pass


def _yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML error in one line, without the snippet of the file PyYAML quotes (it may hold a secret)."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = ": ".join(part for part in (error.context, error.problem) if part)
        return f"not valid YAML at {where}{problem}"
    return f"not valid YAML: {error}"


def read_entries(path: Path, model: type[M], flag: str) -> M:
    """An entries file (targets, agents) parsed and validated by `model`; errors name the entry and the field."""
    try:
        document = yaml.load(path.read_text(), Loader=_UniqueKeysLoader)  # a SafeLoader: plain data only
    except FileNotFoundError:
        raise TargetsError(f"file not found (set -c {flag}=... or create it)") from None
    except IsADirectoryError:
        raise TargetsError(f"is a folder, not a file (set -c {flag}=... to a YAML file)") from None
    except _DuplicateKey as error:
        raise TargetsError(str(error)) from None
    except yaml.YAMLError as error:
        raise TargetsError(_yaml_problem(error)) from None
    if document is None:
        raise TargetsError("the file is empty (or only comments): see config/examples/ for what it holds")
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise TargetsError(explain_entries(error)) from None


class UniqueNames:
    """Entry names seen so far, refusing a repeat and a name whose resource names (<label prefix><Pascal name>...:
    construct ids, logical ids, outputs) another name already gives."""

    def __init__(self, key: str, why: str, label_prefix: str = "") -> None:
        self.key, self.why, self.label_prefix = key, why, label_prefix
        self.seen: dict[str, int] = {}
        self.labels: dict[str, int] = {}

    def add(self, index: int, name: str) -> None:
        where = f"{self.key}[{index}].name {name!r}"
        if name in self.seen:
            raise TargetsError(f"{where} duplicates {self.key}[{self.seen[name]}]: {self.why}")
        self.seen[name] = index
        label = f"{self.label_prefix}{pascal(name)}"
        if label in self.labels:
            raise TargetsError(
                f"{where} and {self.key}[{self.labels[label]}] both give the resource names {label}...: names that "
                "differ only in where a hyphen falls before a digit cannot both be used"
            )
        self.labels[label] = index


def load_targets(path: Path, *, max_targets: int) -> tuple[Entry, ...]:
    parsed = read_entries(path, TargetsFile, "targetsFile")
    names = UniqueNames("targets", "target names are the gateway's tool prefixes and must be unique")
    for index, entry in enumerate(parsed.targets):
        if entry.name in RESERVED_ENTRY_NAMES:
            raise TargetsError(
                f"targets[{index}].name {entry.name!r} is reserved: the shared pools and the runtime pool's "
                f"credential provider are named after {', '.join(RESERVED_ENTRY_NAMES)}"
            )
        names.add(index, entry.name)
        if entry.tools and len(set(entry.tools)) != len(entry.tools):
            duplicate = next(t for t in entry.tools if entry.tools.count(t) > 1)
            raise TargetsError(f"targets[{index}].tools lists {duplicate!r} twice")
        # An entry declaring no tools may take them from its tool lock: app_config.tool_locks.resolve checks it then.
        if entry.smoke_tool is not None and entry.tools is not None and entry.smoke_tool not in entry.tools:
            raise TargetsError(
                f"targets[{index}].smokeTool {entry.smoke_tool!r} is not one of its tools "
                f"({', '.join(entry.tools or []) or 'none declared'}): the smoke calls only a declared tool"
            )
        if isinstance(entry, HostedEntry):
            _check_folder(index, entry)
    if len(parsed.targets) > max_targets:
        raise TargetsError(
            f"{len(parsed.targets)} targets exceed the gateway's limit of {max_targets} "
            "(AgentCore quota 'targets per gateway'; raise it with AWS, then -c maxTargetsPerGateway=N)"
        )
    return tuple(parsed.targets)


def _check_folder(index: int, entry: HostedEntry) -> None:
    where = f"targets[{index}].path {entry.path!r}"
    folder = entry.folder  # resolved: symbolic links followed, .. applied
    if not folder.is_relative_to(ROOT):
        raise TargetsError(
            f"{where} is outside the repository ({ROOT}): the image would be built from files no review of this "
            "repository saw; put the server's folder in the repository"
        )
    if not folder.is_dir():
        raise TargetsError(f"{where}: no such folder in the repository (paths are relative to its root)")
    if not (folder / "Dockerfile").is_file():
        raise TargetsError(f"{where}: no Dockerfile in {folder.relative_to(ROOT)}/ (the image is built from it)")


def json_schema() -> dict[str, Any]:
    """config/targets.schema.json, generated from the model (`make schema` writes it; a test fails on drift)."""
    schema = TargetsFile.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/agentcore-mcp-gateway/config/targets.schema.json",
        **schema,
    }
