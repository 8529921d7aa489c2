"""The spec files a gateway target's tools come from (an OpenAPI description, a Smithy model, a Lambda target's tool
definitions), read and checked against what AgentCore Gateway accepts, then rendered as the inline payload the target
carries. Errors are one line naming the file, the place in it and the rule, never a value from the file (a spec may
embed an API key or a private host)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import yaml

from app_config.rules import TOOL_NAME_PATTERN
from app_config.targets import DuplicateKey, UniqueKeysLoader, yaml_problem

__all__ = [
    "INLINE_PAYLOAD_MAX_BYTES",
    "Operation",
    "Spec",
    "SpecError",
    "check_tool_definitions",
    "read_openapi",
    "read_smithy",
    "read_tool_definitions",
]

# The inline payload (ApiSchemaConfiguration.inlinePayload, ToolSchema.inlinePayload) has no length in botocore's
# bedrock-agentcore-control model nor in the registry schema of AWS::BedrockAgentCore::GatewayTarget. Service Quotas
# lists "Gateway target inline schema definition size: 1 MB" (default, adjustable), and the payload sits in a stack
# template, which CloudFormation caps at 1 MB anyway (aws_rules.limits). Counted in UTF-8 bytes, 1 MB read as 10^6
# (the stricter reading).
INLINE_PAYLOAD_MAX_BYTES = 1_000_000

# AgentCore Gateway guide, "OpenAPI schema targets → Key considerations and limitations": "OpenAPI versions 3.0 and 3.1
# are supported (Swagger 2.0 is not supported)"; aws-cdk-lib 2.275's validateOpenApiSchema checks the same prefixes.
OPENAPI_VERSION_PREFIXES = ("3.0.", "3.1.")
# The operations of an OpenAPI path item (OpenAPI 3.0/3.1, Path Item Object); each one is a tool.
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# AgentCore guide, same section: "Complex schema features such as oneOf, anyOf, and allOf are not supported".
COMPOSITION_KEYWORDS = ("allOf", "anyOf", "oneOf")
# Same section: "Path parameter serializers and parameter serializers for query, header and cookie parameters are not
# supported"; aws-cdk-lib 2.275 (validation-helpers.js) refuses these styles and these path-template serializers.
UNSUPPORTED_PARAMETER_STYLES = ("deepObject", "label", "matrix")
UNSUPPORTED_PATH_SERIALIZERS = ("{;", "{?", "{*}")
# Same section: "Only application/json content type is fully supported"; aws-cdk-lib 2.275 (validation-helpers.js)
# refuses any media type outside these lists, for request bodies and responses.
REQUEST_MEDIA_TYPES = (
    "application/json",
    "application/x-www-form-urlencoded",
    "application/xml",
    "multipart/form-data",
)
RESPONSE_MEDIA_TYPES = ("application/json", "application/xml")

# The Smithy JSON AST's version field (Smithy spec, "JSON AST": "smithy" is "1.0" or "2.0", "1"/"2" allowed). The
# AgentCore guide asks for "a Smithy model in JSON AST format" and names no version: both are accepted.
SMITHY_VERSIONS = ("1", "1.0", "2", "2.0")
# Smithy resource lifecycle operations (Smithy spec, "Resource"), each a reference to an operation shape.
RESOURCE_LIFECYCLE = ("create", "put", "read", "update", "delete", "list")
RESOURCE_OPERATION_LISTS = ("operations", "collectionOperations")
# Shapes every model may target without defining them (Smithy spec, "Prelude").
SMITHY_PRELUDE = "smithy.api#"
SMITHY_DOCUMENTATION = "smithy.api#documentation"

# botocore bedrock-agentcore-control, ToolDefinition (required: name, description, inputSchema) and SchemaDefinition
# (required: type); the registry schema of AWS::BedrockAgentCore::GatewayTarget says additionalProperties: false for
# both. tests/test_specs.py checks these against the botocore model in the venv.
TOOL_DEFINITION_KEYS = ("description", "inputSchema", "name", "outputSchema")
SCHEMA_DEFINITION_KEYS = ("description", "items", "properties", "required", "type")
SCHEMA_TYPES = ("array", "boolean", "integer", "number", "object", "string")  # botocore SchemaType's enum
# Deeper than this, a schema is a mistake (or a YAML alias that refers to itself).
SCHEMA_DEPTH_MAX = 32

_TOOL_NAME = re.compile(TOOL_NAME_PATTERN)
_TOOL_NAME_RULE = "must be an MCP tool name: 1-128 letters, digits, _, - or ."
_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")


class SpecError(ValueError):
    """A spec file the app refuses, in one line: the file (as shown to the user), the place in it (path and method,
    operation, tool index, JSON path) and the rule. Never a value from the file: only names of paths, operations,
    tools and fields, which are not secrets."""


@dataclass(frozen=True)
class Operation:
    """One tool the gateway makes of a spec."""

    name: str  # the tool's name behind the target (OpenAPI operationId, Smithy operation shape name, Lambda tool name)
    description: str  # what an agent reads about it
    method: str | None  # OpenAPI: the HTTP method in capitals; None otherwise
    path: str | None  # OpenAPI: the path template; None otherwise


@dataclass(frozen=True)
class Spec:
    """A checked spec: its tools and the payload to inline into the target."""

    kind: str  # "openapi" | "smithy"
    operations: tuple[Operation, ...]  # sorted by name
    payload: str  # the document as compact canonical JSON: the same document in YAML or JSON gives the same payload
    servers: tuple[str, ...]  # OpenAPI: the top-level servers' URLs; () for Smithy
    signing_name: str = ""  # Smithy: the service's SigV4 name (aws.auth#sigv4), its IAM actions' prefix


# --- reading a document -------------------------------------------------------------------------------------------


class _SpecLoader(UniqueKeysLoader):
    """The targets file's loader (a key written twice is refused), leaving dates as strings: JSON has no date, and
    `version: 2026-01-01` means the text."""


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(f"the key {key!r} is written twice in one object")
        result[key] = value
    return result


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON data")


def _read_document(path: Path, shown: str, *, json_only: bool = False) -> Any:
    """The file's data: JSON for a .json file (or when json_only), YAML otherwise; plain JSON data either way."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{shown}: file not found") from None
    except IsADirectoryError:
        raise SpecError(f"{shown}: is a folder, not a file") from None
    except UnicodeDecodeError:
        raise SpecError(f"{shown}: is not UTF-8 text") from None
    if not text.strip():
        raise SpecError(f"{shown}: the file is empty")
    try:
        if json_only or path.suffix.lower() == ".json":
            document = json.loads(text, object_pairs_hook=_unique_pairs, parse_constant=_no_constant)
        else:
            document = yaml.load(text, Loader=_SpecLoader)  # a SafeLoader: plain data only
    except DuplicateKey as error:
        raise SpecError(f"{shown}: {error}") from None
    except json.JSONDecodeError as error:
        # error.msg names the problem ("Expecting ',' delimiter"), never the text.
        raise SpecError(f"{shown}: not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}") from None
    except ValueError as error:
        raise SpecError(f"{shown}: {error}") from None
    except yaml.YAMLError as error:
        raise SpecError(f"{shown}: {yaml_problem(error)}") from None
    if document is None:
        raise SpecError(f"{shown}: the file is empty (or only comments)")
    try:
        return _plain(document, shown, ())
    except RecursionError:
        raise SpecError(f"{shown}: nests too deeply (a YAML alias that refers to itself?)") from None


def _plain(value: Any, shown: str, at: tuple[str | int, ...]) -> Any:
    """`value` as JSON data: mapping keys as strings (YAML reads `200:` as a number, JSON has only string keys)."""
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise SpecError(f"{shown}: {_at(at)}: a key that is not a string or a number (JSON keys are strings)")
            text = str(key)
            if text in result:
                raise SpecError(f"{shown}: {_at(at)}: the key {text!r} is written twice (as a number and as a string)")
            result[text] = _plain(item, shown, (*at, text))
        return result
    if isinstance(value, list):
        return [_plain(item, shown, (*at, index)) for index, item in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(f"{shown}: {_at(at)}: not a finite number (JSON has no NaN or infinity)")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise SpecError(f"{shown}: {_at(at)}: a {type(value).__name__} value is not JSON data")


def _payload(document: Any, shown: str) -> str:
    payload = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    size = len(payload.encode("utf-8"))
    if size > INLINE_PAYLOAD_MAX_BYTES:
        raise SpecError(
            f"{shown}: {size:,} bytes as compact JSON, over the {INLINE_PAYLOAD_MAX_BYTES:,} an inline schema may hold "
            "(Service Quotas: Gateway target inline schema definition size; a stack template holds 1 MB)"
        )
    return payload


def _at(parts: tuple[str | int, ...]) -> str:
    """A JSON path a reader can follow: paths["/pets/{id}"].get.responses["200"]."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text or "(top level)"


def _walk(
    value: Any, at: tuple[str | int, ...] = (), skip: str | None = None
) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """Every mapping in `value`, with its JSON path, in document order (not under a key named `skip`)."""
    if isinstance(value, dict):
        yield at, value
        for key, item in value.items():
            if key != skip:
                yield from _walk(item, (*at, key), skip)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*at, index), skip)


Fail = Callable[[str, str], NoReturn]


def _failer(shown: str) -> Fail:
    def fail(place: str, rule: str) -> NoReturn:
        raise SpecError(f"{shown}: {place}: {rule}")

    return fail


def _check_tool_name(name: Any, place: str, fail: Fail, what: str) -> str:
    if not isinstance(name, str) or not name:
        fail(place, f"{what} must be a non-empty string")
    if not _TOOL_NAME.fullmatch(name):
        # An MCP tool name (app_config.rules.TOOL_NAME_PATTERN): the gateway lists the tool as <target>___<name>.
        fail(place, f"{what} {name!r} {_TOOL_NAME_RULE}")
    return name


# --- OpenAPI ------------------------------------------------------------------------------------------------------


def read_openapi(path: Path, shown: str) -> Spec:
    """An OpenAPI 3.0/3.1 description (YAML or JSON) the gateway can make tools of: one per operation."""
    document = _read_document(path, shown)
    fail = _failer(shown)
    if not isinstance(document, dict):
        fail("(top level)", "must be a mapping (an OpenAPI document)")
    if "swagger" in document:
        fail("swagger", "Swagger 2.0 is not supported: the gateway takes OpenAPI 3.0 or 3.1 (convert the document)")
    version = document.get("openapi")
    if not isinstance(version, str):
        fail("openapi", 'must be the OpenAPI version as a string, e.g. "3.0.3" (quote it in YAML)')
    if not version.startswith(OPENAPI_VERSION_PREFIXES):
        fail("openapi", f"version {version!r} is not supported: the gateway takes OpenAPI 3.0.x or 3.1.x")
    servers = _check_servers(document.get("servers"), ("servers",), fail, required=True)
    # aws-cdk-lib 2.275 (validation-helpers.js) refuses a document-wide security requirement: the gateway
    # authenticates to the API with the target's credential provider (outbound auth), not with the document's.
    if document.get("security"):
        fail(
            "security",
            "a document-wide security requirement is not supported: the target's credential provider authenticates",
        )
    # aws-cdk-lib 2.275 (validation-helpers.js): webhooks and callbacks are not supported (the gateway only calls out).
    if "webhooks" in document:
        fail("webhooks", "webhooks are not supported by the gateway")
    operations = _openapi_operations(document, fail)
    for at, mapping in _walk(document):
        for keyword in COMPOSITION_KEYWORDS:
            if keyword in mapping:
                fail(_at((*at, keyword)), f"{keyword} is not supported by the gateway (nor anyOf, allOf or oneOf)")
    _check_refs(document, fail)
    return Spec("openapi", operations, _payload(document, shown), servers)


def _check_servers(servers: Any, at: tuple[str | int, ...], fail: Fail, *, required: bool) -> tuple[str, ...]:
    # AgentCore guide, OpenAPI key considerations: "The server attribute needs to have a valid URL of the actual
    # endpoint". Its security warning: no fully dynamic host (https://{yourDomain}/, https://{host}/api/): a variable
    # host lets a caller point the gateway at any endpoint (server-side request forgery). Never echo a URL: it may
    # carry a key in its query.
    if servers is None and not required:
        return ()
    if not isinstance(servers, list) or not servers:
        fail(_at(at), "must list at least one server with its url: the gateway calls the API there")
    urls = []
    for index, server in enumerate(servers):
        place = _at((*at, index, "url"))
        url = server.get("url") if isinstance(server, dict) else None
        if not isinstance(url, str) or not url:
            fail(place, "must be the API's URL")
        parts = urlsplit(url)
        if parts.scheme.lower() != "https" or not parts.netloc:
            fail(place, "must be an absolute https:// URL: the gateway calls only HTTPS")
        if "{" in parts.netloc or "}" in parts.netloc:
            fail(
                place,
                "has a variable in its host: a templated host lets a caller redirect the gateway (AWS's security warning)",
            )
        # Not an AWS rule but ours: the payload is inlined into a stack template, where no secret may sit; a key
        # in a server URL belongs in the target's credential provider.
        if parts.query or parts.username is not None or parts.password is not None:
            fail(
                place, "carries a query or user info: credentials go in the target's credential provider, not the spec"
            )
        urls.append(url)
    return tuple(urls)


def _openapi_operations(document: dict[str, Any], fail: Fail) -> tuple[Operation, ...]:
    paths = document.get("paths")
    if not isinstance(paths, dict) or not paths:
        fail("paths", "must map at least one path to its operations: each operation is a tool")
    found: dict[str, Operation] = {}
    for path, item in paths.items():
        if not isinstance(item, dict):
            fail(_at(("paths", path)), "must be a mapping of methods to operations")
        if any(serializer in path for serializer in UNSUPPORTED_PATH_SERIALIZERS):
            fail(
                _at(("paths", path)),
                "uses a path parameter serializer ({;...}, {?...}, {*}): not supported by the gateway",
            )
        _check_servers(item.get("servers"), ("paths", path, "servers"), fail, required=False)
        _check_parameters(item.get("parameters"), ("paths", path, "parameters"), fail)
        for method in HTTP_METHODS:
            if method not in item:
                continue
            operation, place = item[method], f"{method.upper()} {path}"
            if not isinstance(operation, dict):
                fail(place, "must be a mapping (an operation)")
            if "operationId" not in operation:
                # AgentCore guide: "The OpenAPI specification must include operationId fields for all operations
                # that you want to expose as tools. The operationId is used as the tool name".
                fail(place, "has no operationId: the gateway names each operation's tool after its operationId")
            name = _check_tool_name(operation["operationId"], place, fail, "operationId")
            if name in found:
                first = found[name]
                fail(
                    place,
                    f"operationId {name!r} is also {first.method} {first.path}'s: tool names are unique in a target",
                )
            if "callbacks" in operation:
                fail(place, "callbacks are not supported by the gateway")
            _check_servers(operation.get("servers"), ("paths", path, method, "servers"), fail, required=False)
            _check_parameters(operation.get("parameters"), ("paths", path, method, "parameters"), fail)
            _check_media_types(document, operation, place, fail)
            found[name] = Operation(name, _openapi_description(operation), method.upper(), path)
    return tuple(sorted(found.values(), key=lambda operation: operation.name))


def _openapi_description(operation: dict[str, Any]) -> str:
    # AWS does not document which of summary and description the gateway shows as the tool's description: keep both.
    # (Once, when they say the same.)
    texts = [text.strip() for key in ("summary", "description") if isinstance(text := operation.get(key), str)]
    return "\n\n".join(dict.fromkeys(text for text in texts if text))


def _check_parameters(parameters: Any, at: tuple[str | int, ...], fail: Fail) -> None:
    if not isinstance(parameters, list):
        return
    for index, parameter in enumerate(parameters):
        if isinstance(parameter, dict) and parameter.get("style") in UNSUPPORTED_PARAMETER_STYLES:
            fail(_at((*at, index, "style")), f"style {parameter['style']} is not supported by the gateway")


def _resolved(document: dict[str, Any], value: Any) -> Any:
    """A requestBody or response object, through one local $ref."""
    if isinstance(value, dict) and isinstance(value.get("$ref"), str) and value["$ref"].startswith("#/"):
        return _pointer(document, value["$ref"])
    return value


def _check_media_types(document: dict[str, Any], operation: dict[str, Any], place: str, fail: Fail) -> None:
    body = _resolved(document, operation.get("requestBody"))
    content = body.get("content") if isinstance(body, dict) else None
    for media_type in content if isinstance(content, dict) else {}:
        if media_type not in REQUEST_MEDIA_TYPES:
            fail(f"{place} requestBody", f"media type {media_type} is not supported: use application/json")
    responses = operation.get("responses")
    for status, response in responses.items() if isinstance(responses, dict) else ():
        response = _resolved(document, response)
        content = response.get("content") if isinstance(response, dict) else None
        for media_type in content if isinstance(content, dict) else {}:
            if media_type not in RESPONSE_MEDIA_TYPES:
                fail(f"{place} response {status}", f"media type {media_type} is not supported: use application/json")


_MISSING = object()


def _pointer(document: Any, ref: str) -> Any:
    """What a local JSON pointer (#/components/schemas/Pet) points at, or _MISSING."""
    node = document
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _check_refs(document: dict[str, Any], fail: Fail) -> None:
    # The gateway receives this one document (the inline payload): a $ref must point inside it, at something that
    # exists (AgentCore guide: "The OpenAPI file must be free of semantic errors").
    for at, mapping in _walk(document):
        ref = mapping.get("$ref")
        if not isinstance(ref, str):
            continue
        place = _at((*at, "$ref"))
        if not ref.startswith("#/"):
            fail(place, "points outside the document: the gateway receives this one document, so refer only to #/...")
        if _pointer(document, ref) is _MISSING:
            fail(place, f"{ref} does not exist in the document")


# --- Smithy -------------------------------------------------------------------------------------------------------


AWS_SERVICE_TRAITS = ("aws.api#service", "aws.auth#sigv4")


def read_smithy(path: Path, shown: str) -> Spec:
    """A Smithy model as its JSON AST, with one service: each operation the service reaches is a tool."""
    # AgentCore guide, "Smithy model targets": the model is given "in JSON AST format" (inline as a JSON string).
    document = _read_document(path, shown, json_only=True)
    fail = _failer(shown)
    if not isinstance(document, dict):
        fail("(top level)", "must be an object (a Smithy JSON AST)")
    version = document.get("smithy")
    if version not in SMITHY_VERSIONS:
        fail("smithy", 'must be the Smithy version, "2.0" (or "1.0"): the file must be a Smithy JSON AST')
    shapes = document.get("shapes")
    if not isinstance(shapes, dict) or not shapes:
        fail("shapes", "must map shape ids to shapes")
    for shape_id, shape in shapes.items():
        if "#" not in shape_id:
            fail(_at(("shapes", shape_id)), "is not an absolute shape id (namespace#Name)")
        if not isinstance(shape, dict) or not isinstance(shape.get("type"), str):
            fail(_at(("shapes", shape_id)), "must be an object with a type")
    for shape_id, shape in shapes.items():
        # Traits are applied values (documentation, http bindings), not references to shapes.
        for at, mapping in _walk(shape, skip="traits"):
            target = mapping.get("target")
            if isinstance(target, str) and target not in shapes and not target.startswith(SMITHY_PRELUDE):
                fail(
                    _at(("shapes", shape_id, *at, "target")),
                    f"{target} is not a shape of the model (nor of the prelude)",
                )
    services = sorted(shape_id for shape_id, shape in shapes.items() if shape["type"] == "service")
    if len(services) != 1:
        listed = ", ".join(services) if services else "none"
        fail("shapes", f"must hold exactly one service shape (the target's service); found {listed}")
    service = services[0]
    traits = shapes[service].get("traits")
    if not isinstance(traits, dict) or not all(trait in traits for trait in AWS_SERVICE_TRAITS):
        # AgentCore guide, "Smithy model targets": the gateway "doesn't support custom Smithy models for non-AWS
        # services", and calls the service with the gateway's role (SigV4): a model of an AWS service carries both
        # traits (as every model of the AWS API Models repository does). Built for the stricter of the guide and the
        # wish to model one's own API, which an openapi entry serves.
        fail(
            _at(("shapes", service, "traits")),
            f"must carry {' and '.join(AWS_SERVICE_TRAITS)}: AgentCore Gateway serves Smithy models of AWS services "
            "only (Smithy targets guide); describe your own API with an openapi entry",
        )
    if "aws.protocols#restJson1" not in traits:
        # AgentCore guide, "Smithy model targets": "Only RestJson protocol is supported" (an older page named
        # DynamoDB, awsJson1_0, as the default model: built for the stricter, current statement).
        fail(
            _at(("shapes", service, "traits")),
            "must carry aws.protocols#restJson1: AgentCore Gateway calls Smithy services over restJson1 only (Smithy "
            "targets guide)",
        )
    operation_ids = sorted(_reachable_operations(shapes, service, fail))
    if not operation_ids:
        fail(_at(("shapes", service)), "reaches no operation: a target needs at least one tool")
    found: dict[str, str] = {}
    operations = []
    for operation_id in operation_ids:
        place = _at(("shapes", operation_id))
        name = _check_tool_name(operation_id.split("#", 1)[1], place, fail, "the operation's name")
        if name in found:
            fail(place, f"has the same name as {found[name]}: tool names are unique in a target")
        found[name] = operation_id
        documentation = shapes[operation_id].get("traits", {}).get(SMITHY_DOCUMENTATION)
        operations.append(Operation(name, documentation.strip() if isinstance(documentation, str) else "", None, None))
    sigv4 = traits.get("aws.auth#sigv4")
    signing = sigv4.get("name") if isinstance(sigv4, dict) else None
    if not isinstance(signing, str) or not signing:
        fail(_at(("shapes", service, "traits", "aws.auth#sigv4")), "must name the service's SigV4 signing name (name)")
    return Spec(
        "smithy",
        tuple(sorted(operations, key=lambda operation: operation.name)),
        _payload(document, shown),
        (),
        signing,
    )


def _reachable_operations(shapes: dict[str, Any], service: str, fail: Fail) -> set[str]:
    """The operations a service reaches: its own, and its resources' (recursively) lifecycle and other operations."""
    operations: set[str] = set()
    seen: set[str] = set()

    def references(shape_id: str, keys: tuple[str, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
        shape = shapes[shape_id]
        for key in keys:
            value = shape.get(key)
            for index, reference in enumerate(value if isinstance(value, list) else [value] if value else []):
                at = (key, index) if isinstance(value, list) else (key,)
                target = reference.get("target") if isinstance(reference, dict) else None
                if not isinstance(target, str):
                    fail(_at(("shapes", shape_id, *at)), 'must be a reference: {"target": "namespace#Name"}')
                yield at, target

    def expect(shape_id: str, at: tuple[str | int, ...], target: str, kind: str) -> None:
        if shapes.get(target, {}).get("type") != kind:
            article = "an" if kind[0] in "aeiou" else "a"
            fail(_at(("shapes", shape_id, *at, "target")), f"{target} must be the id of {article} {kind} shape")

    def visit(shape_id: str, keys: tuple[str, ...]) -> None:
        if shape_id in seen:
            return
        seen.add(shape_id)
        for at, target in references(shape_id, keys):
            expect(shape_id, at, target, "operation")
            operations.add(target)
        for at, target in references(shape_id, ("resources",)):
            expect(shape_id, at, target, "resource")
            visit(target, (*RESOURCE_LIFECYCLE, *RESOURCE_OPERATION_LISTS))

    visit(service, ("operations",))
    return operations


# --- Lambda tool definitions --------------------------------------------------------------------------------------


def read_tool_definitions(path: Path, shown: str) -> list[dict[str, Any]]:
    """A Lambda target's tool definitions from a JSON (or YAML) file: a list, or {"tools": [...]}. Not yet checked:
    pass the list to check_tool_definitions."""
    document = _read_document(path, shown)
    if isinstance(document, dict) and list(document) == ["tools"]:
        document = document["tools"]
    if not isinstance(document, list):
        raise SpecError(f'{shown}: (top level): must be a list of tool definitions (or {{"tools": [...]}})')
    for index, tool in enumerate(document):
        if not isinstance(tool, dict):
            raise SpecError(f"{shown}: tools[{index}]: must be a mapping (a tool definition)")
    return document


def check_tool_definitions(definitions: list[dict[str, Any]], where: str) -> tuple[Operation, ...]:
    """A Lambda target's tool schema as the gateway takes it (botocore ToolDefinition/SchemaDefinition); `where` names
    the file or entry in errors."""
    fail = _failer(where)
    if not isinstance(definitions, list) or not definitions:
        fail("tools", "must list at least one tool definition")
    found: dict[str, int] = {}
    operations = []
    for index, tool in enumerate(definitions):
        place = f"tools[{index}]"
        if not isinstance(tool, dict):
            fail(place, "must be a mapping (a tool definition)")
        name = _check_tool_name(tool.get("name"), place, fail, "name")
        place = f"tools[{index}] ({name})"
        unknown = sorted(set(tool) - set(TOOL_DEFINITION_KEYS))
        if unknown:
            fail(
                place,
                f"{', '.join(map(repr, unknown))}: a tool definition holds only {', '.join(TOOL_DEFINITION_KEYS)}",
            )
        if name in found:
            fail(place, f"a duplicate tool name within a target (tools[{found[name]}] has it too)")
        found[name] = index
        description = tool.get("description")
        if not isinstance(description, str) or not description.strip():
            fail(place, "description must be a non-empty string: it is what an agent reads to choose the tool")
        if "inputSchema" not in tool:
            fail(place, "has no inputSchema (required by the gateway's ToolDefinition)")
        _check_schema(tool["inputSchema"], ("inputSchema",), place, fail)
        # The AgentCore guide ("Lambda function tool schema") shows the input schema as "type": "object": the
        # arguments arrive as the Lambda event, a JSON object.
        if tool["inputSchema"]["type"] != "object":
            fail(f"{place} inputSchema.type", 'must be "object": the tool\'s arguments arrive as one JSON object')
        if "outputSchema" in tool:
            _check_schema(tool["outputSchema"], ("outputSchema",), place, fail)
        operations.append(Operation(name, description.strip(), None, None))
    _payload(definitions, where)
    return tuple(sorted(operations, key=lambda operation: operation.name))


def _check_schema(schema: Any, at: tuple[str | int, ...], place: str, fail: Fail) -> None:
    """A botocore SchemaDefinition: type (its enum), properties, required, items, description; nothing else."""
    where = f"{place} {_at(at)}"
    if len(at) > SCHEMA_DEPTH_MAX:
        fail(where, f"nests deeper than {SCHEMA_DEPTH_MAX} levels")
    if not isinstance(schema, dict):
        fail(where, "must be a mapping (a schema)")
    unknown = sorted(set(schema) - set(SCHEMA_DEFINITION_KEYS))
    if unknown:
        fail(
            where,
            f"{', '.join(map(repr, unknown))}: the gateway's schemas hold only {', '.join(SCHEMA_DEFINITION_KEYS)}",
        )
    if schema.get("type") not in SCHEMA_TYPES:
        fail(where, f"type must be one of {', '.join(SCHEMA_TYPES)}")
    if "description" in schema and not isinstance(schema["description"], str):
        fail(where, "description must be a string")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(item, str) for item in required):
        fail(where, "required must be a list of property names")
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        fail(where, "properties must map property names to schemas")
    for key, value in properties.items():
        _check_schema(value, (*at, "properties", key), place, fail)
    if "items" in schema:
        _check_schema(schema["items"], (*at, "items"), place, fail)
