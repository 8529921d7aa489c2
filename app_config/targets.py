"""config/targets.yaml: the MCP servers behind the gateway, validated by the model, then the rules that look across
entries (unique names, reserved names, the gateway's quota) and at the repository (each hosted folder's Dockerfile)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from app_config.errors import TargetsError, explain_entries
from app_config.model import (
    ROOT,
    ApiGatewayEntry,
    Entry,
    ExistingEntry,
    HostedEntry,
    LambdaEntry,
    OpenApiEntry,
    SmithyEntry,
    TargetsFile,
)
from app_config.rules import RESERVED_ENTRY_NAMES, pascal

DEFAULT_TARGETS_FILE = ROOT / "config" / "targets.yaml"
SCHEMA_FILE = ROOT / "config" / "targets.schema.json"


M = TypeVar("M", bound=BaseModel)


class UniqueKeysLoader(yaml.SafeLoader):
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
                raise DuplicateKey(
                    f"line {line}: the key {key!r} is written twice in one mapping (first at line "
                    f"{seen[key]}); YAML would keep the last value silently"
                )
            seen[key] = line
        return super().construct_mapping(node, deep)


class DuplicateKey(yaml.YAMLError):
    pass


def yaml_problem(error: yaml.YAMLError) -> str:
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
        document = yaml.load(path.read_text(), Loader=UniqueKeysLoader)  # a SafeLoader: plain data only
    except FileNotFoundError:
        raise TargetsError(f"file not found (set -c {flag}=... or create it)") from None
    except IsADirectoryError:
        raise TargetsError(f"is a folder, not a file (set -c {flag}=... to a YAML file)") from None
    except DuplicateKey as error:
        raise TargetsError(str(error)) from None
    except yaml.YAMLError as error:
        raise TargetsError(yaml_problem(error)) from None
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
        _check_kind(index, entry)
    if len(parsed.targets) > max_targets:
        raise TargetsError(
            f"{len(parsed.targets)} targets exceed the gateway's limit of {max_targets} "
            "(AgentCore quota 'targets per gateway'; raise it with AWS, then -c maxTargetsPerGateway=N)"
        )
    return tuple(parsed.targets)


def _one_of(index: int, entry: Entry, fields: dict[str, object], why: str) -> None:
    """Exactly one of `fields` (the file's names, with their values) is set."""
    given = [name for name, value in fields.items() if value is not None]
    if len(given) != 1:
        listed = " or ".join(fields)
        state = "both " + " and ".join(given) if given else "none"
        raise TargetsError(f"targets[{index}] {entry.name}: set exactly one of {listed} ({why}); it sets {state}")


def _repository_file(index: int, entry: Entry, key: str, value: str) -> None:
    path = (ROOT / value).resolve()
    where = f"targets[{index}].{key} {value!r}"
    if not path.is_relative_to(ROOT):
        raise TargetsError(f"{where} is outside the repository ({ROOT}): only files a review of it saw are deployed")
    if not path.is_file():
        raise TargetsError(f"{where}: no such file in the repository (paths are relative to its root)")


def _check_kind(index: int, entry: Entry) -> None:
    """The rules between an entry's fields, which the model (one field at a time) cannot say."""
    where = f"targets[{index}] {entry.name}"
    if isinstance(entry, ExistingEntry):
        _one_of(
            index,
            entry,
            {"oauth": entry.oauth, "apiKey": entry.api_key, "iam": entry.iam},
            "how the gateway authenticates to the server",
        )
        return
    if isinstance(entry, HostedEntry):
        return
    if isinstance(entry, OpenApiEntry):
        _one_of(index, entry, {"spec": entry.spec, "specS3": entry.spec_s3}, "the API's OpenAPI description")
    elif isinstance(entry, SmithyEntry):
        _one_of(index, entry, {"model": entry.model, "modelS3": entry.model_s3}, "the service's Smithy model")
    s3 = {LambdaEntry: None, OpenApiEntry: "specS3", SmithyEntry: "modelS3", ApiGatewayEntry: None}[type(entry)]
    from_s3 = s3 is not None and getattr(entry, "spec_s3" if s3 == "specS3" else "model_s3") is not None
    if entry.tools is not None and not from_s3:
        raise TargetsError(
            f"{where}: tools: is taken from what the entry declares ({_declared_by(entry)}); leave it out"
        )
    if entry.tools is None and from_s3:
        raise TargetsError(
            f"{where}: {s3} is read by the gateway, not at synth: list its tools (the operations agents may be "
            "granted) in tools:"
        )
    if isinstance(entry, LambdaEntry):
        _one_of(index, entry, {"path": entry.path, "functionArn": entry.function_arn}, "the function's source")
        _one_of(
            index,
            entry,
            {"toolSchema": entry.tool_schema, "toolSchemaFile": entry.tool_schema_file},
            "the tools' definitions",
        )
        if entry.tool_schema_file is not None:
            _repository_file(index, entry, "toolSchemaFile", entry.tool_schema_file)
        if entry.path is not None:
            if entry.cross_account_or_region:
                raise TargetsError(
                    f"{where}: crossAccountOrRegion is for a functionArn; a function built from path is deployed here"
                )
            _check_handler(index, entry)
    elif isinstance(entry, OpenApiEntry):
        _one_of(index, entry, {"apiKey": entry.api_key, "oauth": entry.oauth}, "how the gateway authenticates")
        if entry.spec is not None:
            _repository_file(index, entry, "spec", entry.spec)
    elif isinstance(entry, SmithyEntry):
        if entry.model is not None:
            _repository_file(index, entry, "model", entry.model)
    elif isinstance(entry, ApiGatewayEntry):
        seen: dict[str, int] = {}
        routes: dict[tuple[str, str], int] = {}
        for number, operation in enumerate(entry.operations):
            if operation.name in seen:
                raise TargetsError(
                    f"targets[{index}].operations[{number}].name {operation.name!r} duplicates "
                    f"operations[{seen[operation.name]}]: tool names are unique within a target"
                )
            seen[operation.name] = number
            route = (operation.method, operation.path)
            if route in routes:
                raise TargetsError(
                    f"targets[{index}].operations[{number}]: {operation.method} {operation.path} is already "
                    f"operations[{routes[route]}]: one tool per method and path"
                )
            routes[route] = number


def _declared_by(entry: Entry) -> str:
    if isinstance(entry, LambdaEntry):
        return "toolSchema or toolSchemaFile"
    if isinstance(entry, OpenApiEntry):
        return "the operationIds of its spec"
    if isinstance(entry, SmithyEntry):
        return "the operations of its model"
    return "operations"


def _check_handler(index: int, entry: LambdaEntry) -> None:
    folder = entry.folder
    assert folder is not None
    _repository_folder(f"targets[{index}].path {entry.path!r}", folder, "the function would be built")
    module, function = entry.handler.rsplit(".", 1)
    source = folder / (module.replace(".", "/") + ".py")
    if not source.is_file():
        raise TargetsError(
            f"targets[{index}].handler {entry.handler!r}: no {source.relative_to(ROOT)} in the function's folder "
            "(the handler is <module>.<function> of a Python file there)"
        )
    if not _defines(source, function):
        raise TargetsError(
            f"targets[{index}].handler {entry.handler!r}: {source.relative_to(ROOT)} defines no top-level function "
            f"{function!r}"
        )


def _defines(source: Path, function: str) -> bool:
    import ast

    try:
        tree = ast.parse(source.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return False
    return any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function for node in tree.body
    )


def _repository_folder(where: str, folder: Path, built: str, advice: str = "") -> None:
    """A folder of this repository (resolved: links followed, .. applied): what a review of it saw is what deploys."""
    if not folder.is_relative_to(ROOT):
        raise TargetsError(
            f"{where} is outside the repository ({ROOT}): {built} from files no review of this repository saw{advice}"
        )
    if not folder.is_dir():
        raise TargetsError(f"{where}: no such folder in the repository (paths are relative to its root)")


def _check_folder(index: int, entry: HostedEntry) -> None:
    where = f"targets[{index}].path {entry.path!r}"
    folder = entry.folder  # resolved: symbolic links followed, .. applied
    _repository_folder(where, folder, "the image would be built", "; put the server's folder in the repository")
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
