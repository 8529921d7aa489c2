"""The MCP servers behind the gateway: config/targets.yaml, checked against its schema and the service's limits."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TARGETS_FILE = ROOT / "config" / "targets.yaml"
SCHEMA_FILE = ROOT / "config" / "targets.schema.json"

# AgentCore Gateway's default quota (adjustable): "Number of targets per gateway: 100".
DEFAULT_MAX_TARGETS = 100
# Entries are spread over this many pairs of stacks (servers, targets) by a hash of their name, so an entry
# always lands in the same pair whatever else the file holds. Changing it re-homes entries: a migration.
DEFAULT_SHARDS = 4


# Entry names end up in Cognito domain, pool and credential provider names beside the shared ones.
RESERVED_NAMES = ("gateway", "runtime")


class TargetsError(ValueError):
    """A targets file the app refuses; the message names the entry and the field (the caller names the file)."""


@dataclass(frozen=True)
class HostedTarget:
    """A folder of this repository with a Dockerfile, deployed to its own AgentCore Runtime."""

    name: str
    path: Path
    description: str
    own_pool: bool = False
    kind: str = "hosted"


@dataclass(frozen=True)
class ExistingTarget:
    """An MCP server run elsewhere, reached over HTTPS with OAuth client credentials."""

    name: str
    endpoint: str
    description: str
    discovery_url: str
    client_id: str
    scopes: tuple[str, ...]
    client_secret_name: str
    kind: str = "existing"


TargetEntry = Union[HostedTarget, ExistingTarget]


def pascal(name: str) -> str:
    """`orders-v2` -> `OrdersV2`: the construct ids, logical ids and output keys derived from an entry's name."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


def shard_of(name: str, shards: int) -> int:
    """Stable across runs, machines and the rest of the file (unlike Python's salted hash())."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % shards


def load_targets(path: Path, *, max_targets: int = DEFAULT_MAX_TARGETS) -> tuple[TargetEntry, ...]:
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise TargetsError("file not found (set -c targetsFile=... or create it)") from None
    except yaml.YAMLError as error:
        raise TargetsError(f"not valid YAML: {error}") from None

    schema = json.loads(SCHEMA_FILE.read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        raise TargetsError(_explain(_most_specific(errors[0])))

    entries = document["targets"]
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if entry["name"] in RESERVED_NAMES:
            raise TargetsError(
                f"targets[{index}].name {entry['name']!r} is reserved: the shared pools and the runtime pool's "
                f"credential provider are named after {', '.join(RESERVED_NAMES)}"
            )
        if entry["name"] in seen:
            raise TargetsError(
                f"targets[{index}].name {entry['name']!r} duplicates targets[{seen[entry['name']]}]: "
                "target names are the gateway's tool prefixes and must be unique"
            )
        seen[entry["name"]] = index
    if len(entries) > max_targets:
        raise TargetsError(
            f"{len(entries)} targets exceed the gateway's limit of {max_targets} "
            "(AgentCore quota 'targets per gateway'; raise it with AWS, then -c maxTargetsPerGateway=N)"
        )
    return tuple(_entry(index, entry) for index, entry in enumerate(entries))


def _entry(index: int, raw: dict[str, Any]) -> TargetEntry:
    description = raw.get("description", f"MCP server {raw['name']}")
    if raw["kind"] == "hosted":
        folder = (ROOT / raw["path"]).resolve()  # relative to the repository, or absolute
        if not (folder / "Dockerfile").is_file():
            raise TargetsError(f"targets[{index}].path {raw['path']!r}: no Dockerfile in {folder}")
        return HostedTarget(raw["name"], folder, description, bool(raw.get("ownPool", False)))
    oauth = raw["oauth"]
    return ExistingTarget(
        raw["name"],
        raw["endpoint"],
        description,
        oauth["discoveryUrl"],
        oauth["clientId"],
        tuple(oauth["scopes"]),
        oauth["clientSecretName"],
    )


def _most_specific(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    # For a oneOf (hosted | existing), report against the branch the entry's `kind` chose.
    if error.validator == "oneOf" and isinstance(error.instance, dict):
        kind = error.instance.get("kind")
        for sub in error.context or []:
            branch = sub.schema_path[0] if sub.schema_path else None
            if (kind, branch) in (("hosted", 0), ("existing", 1)):
                return _most_specific(sub)
    return error


def _explain(error: jsonschema.ValidationError) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    if error.validator == "oneOf":
        return f"{path or 'entry'}: 'kind' must be 'hosted' or 'existing'"
    if error.validator == "additionalProperties":
        return f"{path or 'file'}: {error.message}"
    if error.validator == "required":
        return f"{path or 'file'}: {error.message}"
    rule = error.schema.get("description") or f"{error.validator} {error.validator_value!r}"
    if error.validator == "pattern":
        rule = f"must match {error.validator_value}"
    elif error.validator == "minItems":
        rule = f"must list at least {error.validator_value}"
    elif error.validator == "maxLength":
        rule = f"must be at most {error.validator_value} characters"
    return f"{path}: {error.instance!r} is invalid: {rule}"
