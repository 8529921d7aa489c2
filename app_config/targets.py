"""config/targets.yaml: the MCP servers behind the gateway, validated by the model, then the rules that look across
entries (unique names, reserved names, the gateway's quota) and at the repository (each hosted folder's Dockerfile)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from app_config.errors import TargetsError, explain_entries
from app_config.model import ROOT, Entry, HostedEntry, TargetsFile
from app_config.rules import RESERVED_ENTRY_NAMES, pascal

DEFAULT_TARGETS_FILE = ROOT / "config" / "targets.yaml"
SCHEMA_FILE = ROOT / "config" / "targets.schema.json"


def load_targets(path: Path, *, max_targets: int) -> tuple[Entry, ...]:
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise TargetsError("file not found (set -c targetsFile=... or create it)") from None
    except yaml.YAMLError as error:
        raise TargetsError(f"not valid YAML: {error}") from None
    try:
        parsed = TargetsFile.model_validate(document)
    except ValidationError as error:
        raise TargetsError(explain_entries(error)) from None

    seen: dict[str, int] = {}
    labels: dict[str, int] = {}  # logical ids and outputs are named <Pascal name>...
    for index, entry in enumerate(parsed.targets):
        if entry.name in RESERVED_ENTRY_NAMES:
            raise TargetsError(
                f"targets[{index}].name {entry.name!r} is reserved: the shared pools and the runtime pool's "
                f"credential provider are named after {', '.join(RESERVED_ENTRY_NAMES)}"
            )
        if entry.name in seen:
            raise TargetsError(
                f"targets[{index}].name {entry.name!r} duplicates targets[{seen[entry.name]}]: "
                "target names are the gateway's tool prefixes and must be unique"
            )
        seen[entry.name] = index
        label = pascal(entry.name)
        if label in labels:
            raise TargetsError(
                f"targets[{index}].name {entry.name!r} and targets[{labels[label]}] both give the resource names "
                f"{label}...: names that differ only in where a hyphen falls before a digit cannot both be used"
            )
        labels[label] = index
        if entry.tools and len(set(entry.tools)) != len(entry.tools):
            duplicate = next(t for t in entry.tools if entry.tools.count(t) > 1)
            raise TargetsError(f"targets[{index}].tools lists {duplicate!r} twice")
        if isinstance(entry, HostedEntry) and not (entry.folder / "Dockerfile").is_file():
            raise TargetsError(f"targets[{index}].path {entry.path!r}: no Dockerfile in {entry.folder}")
    if len(parsed.targets) > max_targets:
        raise TargetsError(
            f"{len(parsed.targets)} targets exceed the gateway's limit of {max_targets} "
            "(AgentCore quota 'targets per gateway'; raise it with AWS, then -c maxTargetsPerGateway=N)"
        )
    return tuple(parsed.targets)


def json_schema() -> dict[str, Any]:
    """config/targets.schema.json, generated from the model (`make schema` writes it; a test fails on drift)."""
    schema = TargetsFile.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/agentcore-mcp-gateway/config/targets.schema.json",
        **schema,
    }
