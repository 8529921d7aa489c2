"""The tools an entry of a declared kind (lambda, openapi, smithy, apiGateway) offers, read from what the repository
declares: a Lambda target's tool schema, the operations of an OpenAPI description or a Smithy model, an API Gateway
entry's operations. Shaped as MCP tools/list entries (name, description, and a Lambda tool's schemas): what the
entry's tool lock holds, so that its contract is reviewed, diffed and checked for drift as a server's is."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from app_config.model import ROOT, ApiGatewayEntry, Entry, LambdaEntry, OpenApiEntry, SmithyEntry
from app_config.specs import Spec, SpecError, check_tool_definitions, read_openapi, read_smithy, read_tool_definitions

__all__ = ["SpecError", "declared_tools", "declares_its_tools", "is_declared", "spec_of"]

DECLARED_KINDS = (LambdaEntry, OpenApiEntry, SmithyEntry, ApiGatewayEntry)


def is_declared(entry: Entry) -> bool:
    return isinstance(entry, DECLARED_KINDS)


@lru_cache(maxsize=None)
def _spec(kind: str, path: Path) -> Spec:
    shown = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    return read_openapi(path, shown) if kind == "openapi" else read_smithy(path, shown)


def declares_its_tools(entry: Entry) -> bool:
    """Whether the repository holds what the entry's tools are (declared_tools gives them), without reading it."""
    if isinstance(entry, (LambdaEntry, ApiGatewayEntry)):
        return True
    if isinstance(entry, OpenApiEntry):
        return entry.spec is not None
    return isinstance(entry, SmithyEntry) and entry.model is not None


def spec_of(entry: Entry) -> Spec | None:
    """The entry's OpenAPI description or Smithy model, read and checked (None: not from the repository)."""
    if isinstance(entry, OpenApiEntry) and entry.spec is not None:
        return _spec("openapi", (ROOT / entry.spec).resolve())
    if isinstance(entry, SmithyEntry) and entry.model is not None:
        return _spec("smithy", (ROOT / entry.model).resolve())
    return None


def lambda_definitions(entry: LambdaEntry) -> list[dict[str, Any]]:
    """A Lambda entry's tool definitions, checked: inline (toolSchema) or from its file (toolSchemaFile)."""
    if entry.tool_schema is not None:
        definitions, where = list(entry.tool_schema), f"entry {entry.name}, toolSchema"
    else:
        assert entry.tool_schema_file is not None
        definitions = read_tool_definitions((ROOT / entry.tool_schema_file).resolve(), entry.tool_schema_file)
        where = entry.tool_schema_file
    check_tool_definitions(definitions, where)
    return definitions


def declared_tools(entry: Entry) -> list[dict[str, Any]] | None:
    """The entry's tools as tools/list entries, from its declaration; None when the repository does not hold it (an
    MCP server lists its own; an S3 description is read by the gateway only)."""
    if isinstance(entry, LambdaEntry):
        return [
            {
                "name": tool["name"],
                "description": tool["description"],
                "inputSchema": tool["inputSchema"],
                **({"outputSchema": tool["outputSchema"]} if "outputSchema" in tool else {}),
            }
            for tool in lambda_definitions(entry)
        ]
    if isinstance(entry, ApiGatewayEntry):
        return [{"name": op.name, "description": op.description} for op in entry.operations]
    spec = spec_of(entry)
    if spec is None:
        return None
    return [{"name": op.name, "description": op.description} for op in spec.operations]
