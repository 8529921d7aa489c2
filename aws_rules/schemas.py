"""CloudFormation's resource schemas, as AWS publishes them in its registry (the copy cfn-lint ships)."""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

# Found without importing cfnlint (half a second of imports on every synth for a few JSON files).
_SPEC = importlib.util.find_spec("cfnlint")
assert _SPEC is not None and _SPEC.submodule_search_locations, "cfn-lint is not installed (requirements.txt)"
_SCHEMAS = Path(list(_SPEC.submodule_search_locations)[0]) / "data" / "schemas"


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    return dict(json.loads((_SCHEMAS / "providers" / "us-east-1.json").read_text()))


@lru_cache(maxsize=None)
def resource_schema(resource_type: str) -> dict[str, Any]:
    """The registry schema of `resource_type` (us-east-1's copy); {} for custom resources."""
    if resource_type not in _index():
        return {}
    return dict(json.loads((_SCHEMAS / "resources" / f"{_index()[resource_type]}.json").read_text()))


def create_only_properties(resource_type: str) -> list[str]:
    return [p.removeprefix("/properties/") for p in resource_schema(resource_type).get("createOnlyProperties", [])]


def property_schema(resource_type: str, name: str) -> dict[str, Any]:
    """A top-level property's schema, $ref resolved."""
    schema = resource_schema(resource_type)
    prop = dict(schema.get("properties", {}).get(name, {}))
    seen = 0
    while "$ref" in prop and seen < 10:
        ref = prop.pop("$ref")
        target = schema
        for part in ref.removeprefix("#/").split("/"):
            target = target.get(part, {})
        prop = {**target, **prop}
        seen += 1
    return prop


def handler_permissions(resource_type: str, handler: str) -> list[str]:
    """The permissions CloudFormation's own handler uses to create/update/... a resource of this type."""
    return list(resource_schema(resource_type).get("handlers", {}).get(handler, {}).get("permissions", []))
