# TEMPORARY STUB (not committed): replaced by the helper's module.
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class SpecError(ValueError):
    pass


@dataclass(frozen=True)
class Operation:
    name: str
    description: str
    method: str | None
    path: str | None


@dataclass(frozen=True)
class Spec:
    kind: str
    operations: tuple[Operation, ...]
    payload: str
    servers: tuple[str, ...]


def read_openapi(path: Path, shown: str) -> Spec:
    import yaml

    doc = yaml.safe_load(path.read_text())
    ops = []
    for p, item in doc["paths"].items():
        for m, op in item.items():
            ops.append(Operation(op["operationId"], op.get("summary", ""), m.upper(), p))
    return Spec(
        "openapi",
        tuple(sorted(ops, key=lambda o: o.name)),
        json.dumps(doc, sort_keys=True, separators=(",", ":")),
        tuple(s["url"] for s in doc.get("servers", [])),
    )


def read_smithy(path: Path, shown: str) -> Spec:
    doc = json.loads(path.read_text())
    ops = [
        Operation(k.split("#")[1], v.get("traits", {}).get("smithy.api#documentation", ""), None, None)
        for k, v in doc["shapes"].items()
        if v["type"] == "operation"
    ]
    return Spec(
        "smithy", tuple(sorted(ops, key=lambda o: o.name)), json.dumps(doc, sort_keys=True, separators=(",", ":")), ()
    )


def check_tool_definitions(definitions: list[dict[str, Any]], where: str) -> tuple[Operation, ...]:
    return tuple(Operation(d["name"], d["description"], None, None) for d in definitions)


def read_tool_definitions(path: Path, shown: str) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text()))
