"""app_config.specs: the spec files of OpenAPI, Smithy and Lambda targets, the example set's files, and the example
Lambda function. Each broken fixture is refused in one line naming the file, the place and the rule."""

from __future__ import annotations

import copy
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import botocore.session
import pytest
import yaml

from app_config import specs
from app_config.specs import (
    INLINE_PAYLOAD_MAX_BYTES,
    Operation,
    Spec,
    SpecError,
    check_tool_definitions,
    read_openapi,
    read_smithy,
    read_tool_definitions,
)
from aws_rules.schemas import resource_schema

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "config" / "examples" / "every-kind"
PETSTORE = EXAMPLES / "specs" / "petstore.openapi.yaml"
# A model of an AWS-style service (the traits AgentCore requires) with every feature the reader handles.
WEATHER = ROOT / "tests" / "fixtures" / "specs" / "weather.smithy.json"
LAMBDA_MODEL = EXAMPLES / "specs" / "lambda.smithy.json"
INVENTORY_TOOLS = EXAMPLES / "tools" / "inventory.tools.json"
INVENTORY_APP = ROOT / "functions" / "inventory" / "app.py"
SHOWN = "config/specs/broken"  # how the app names the file in its errors
SECRET = "sk_live_9f8e7d6c5b4a"  # a value no error may echo


def petstore() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(PETSTORE.read_text())
    return document


def weather() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(WEATHER.read_text())
    return document


def inventory() -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = json.loads(INVENTORY_TOOLS.read_text())
    return tools


def write(tmp_path: Path, document: Any, suffix: str = ".yaml") -> Path:
    path = tmp_path / f"spec{suffix}"
    if isinstance(document, str):
        path.write_text(document)
    elif suffix == ".json":
        path.write_text(json.dumps(document, indent=2))
    else:
        path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def refusal(read: Callable[[Path, str], object], path: Path, *fragments: str) -> str:
    """The one-line error `read` gives for `path`, which names the file and holds every fragment."""
    with pytest.raises(SpecError) as caught:
        read(path, SHOWN)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{SHOWN}: ")
    for fragment in fragments:
        assert fragment in message, message
    assert SECRET not in message
    return message


def tools_refusal(tools: Any, *fragments: str) -> str:
    with pytest.raises(SpecError) as caught:
        check_tool_definitions(tools, "config/targets.yaml: targets[2] (inventory)")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("config/targets.yaml: targets[2] (inventory): ")
    for fragment in fragments:
        assert fragment in message, message
    assert SECRET not in message
    return message


# --- the examples -------------------------------------------------------------------------------------------------


def test_the_petstore_example_gives_a_tool_per_operation() -> None:
    spec = read_openapi(PETSTORE, "petstore")
    assert spec.kind == "openapi"
    assert spec.servers == ("https://api.example.com/v1",)
    assert [(o.name, o.method, o.path) for o in spec.operations] == [
        ("createPet", "POST", "/pets"),
        ("getPet", "GET", "/pets/{petId}"),
        ("listPets", "GET", "/pets"),
    ]
    list_pets = spec.operations[2]
    assert list_pets.description.startswith("List the pets available for adoption\n\nReturns at most")
    assert json.loads(spec.payload) == petstore()


def test_the_weather_example_gives_a_tool_per_operation_of_its_service() -> None:
    spec = read_smithy(WEATHER, "weather")
    assert spec == Spec(
        "smithy",
        (
            Operation(
                "GetCurrentWeather", "Current weather conditions in a city: temperature, wind and sky.", None, None
            ),
            Operation("GetForecast", "Daily forecast for a city, one entry per day for up to 7 days.", None, None),
        ),
        spec.payload,
        (),
        "weather",
    )
    assert json.loads(spec.payload) == weather()


def test_the_inventory_example_is_a_valid_tool_schema() -> None:
    tools = read_tool_definitions(INVENTORY_TOOLS, "inventory")
    assert tools == inventory()
    operations = check_tool_definitions(tools, "inventory")
    assert [(o.name, o.method, o.path) for o in operations] == [("getStock", None, None), ("reserveItem", None, None)]
    assert operations[0].description.startswith("How many units")


# --- the payload --------------------------------------------------------------------------------------------------


def test_the_payload_is_compact_canonical_json_whatever_the_files_format_and_order(tmp_path: Path) -> None:
    from_yaml = read_openapi(PETSTORE, "petstore")
    reordered = dict(reversed(list(petstore().items())))
    (tmp_path / "json").mkdir()
    from_json = read_openapi(write(tmp_path / "json", reordered, ".json"), "petstore.json")
    assert from_json == from_yaml
    assert from_yaml.payload == json.dumps(petstore(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert ": " not in from_yaml.payload.replace('": "', "") and "\n" not in from_yaml.payload


def test_a_status_code_written_as_a_number_in_yaml_is_the_string_json_has(tmp_path: Path) -> None:
    text = PETSTORE.read_text().replace('"200":', "200:").replace('"201":', "201:")
    assert text != PETSTORE.read_text()
    assert read_openapi(write(tmp_path, text), SHOWN).payload == read_openapi(PETSTORE, "petstore").payload


def test_a_yaml_date_stays_the_text_it_is(tmp_path: Path) -> None:
    text = PETSTORE.read_text().replace('version: "1.0.0"', "version: 2026-01-01")
    payload = json.loads(read_openapi(write(tmp_path, text), SHOWN).payload)
    assert payload["info"]["version"] == "2026-01-01"


def test_unicode_stays_unescaped_in_the_payload(tmp_path: Path) -> None:
    document = petstore()
    document["info"]["title"] = "Animalerie élégante"
    assert "Animalerie élégante" in read_openapi(write(tmp_path, document), SHOWN).payload


def test_a_payload_over_the_inline_quota_is_refused(tmp_path: Path) -> None:
    document = petstore()
    document["info"]["description"] = "x" * INLINE_PAYLOAD_MAX_BYTES
    refusal(read_openapi, write(tmp_path, document, ".json"), "over the 1,000,000", "inline schema")


def test_the_inline_quota_applies_to_every_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(specs, "INLINE_PAYLOAD_MAX_BYTES", 100)
    refusal(read_smithy, WEATHER, "over the 100")
    tools_refusal(inventory(), "over the 100")


# --- reading files ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "suffix", "fragments"),
    [
        ("", ".yaml", ("the file is empty",)),
        ("# only a comment\n", ".yaml", ("the file is empty",)),
        (f"openapi: '3.0.3'\ninfo: {{title: [{SECRET}\n", ".yaml", ("not valid YAML at line",)),
        (f'{{"openapi": "3.0.3", "info": {SECRET}}}', ".json", ("not valid JSON at line 1",)),
        ('{"openapi": NaN}', ".json", ("NaN is not JSON data",)),
        (
            f"openapi: '3.0.3'\nservers: []\nservers: [{{url: 'https://{SECRET}.example.com'}}]\n",
            ".yaml",
            ("'servers' is written twice", "line 3"),
        ),
        (
            f'{{"openapi": "3.0.3", "paths": {{}}, "paths": {{"/{SECRET}": {{}}}}}}',
            ".json",
            ("'paths' is written twice",),
        ),
        (
            "openapi: '3.0.3'\ninfo: {200: a, '200': b}\n",
            ".yaml",
            ("info", "'200' is written twice (as a number and as a string)"),
        ),
        ("openapi: '3.0.3'\ninfo: {true: yes}\n", ".yaml", ("info", "not a string or a number")),
        ("openapi: '3.0.3'\ninfo: {x: !!binary aGVsbG8=}\n", ".yaml", ("info.x", "bytes value is not JSON data")),
        ("openapi: '3.0.3'\ninfo: {x: .nan}\n", ".yaml", ("info.x", "not a finite number")),
        ("a: &loop [*loop]\n", ".yaml", ("nests too deeply",)),
    ],
)
def test_a_file_that_is_not_clean_data_is_refused_without_quoting_it(
    tmp_path: Path, text: str, suffix: str, fragments: tuple[str, ...]
) -> None:
    refusal(read_openapi, write(tmp_path, text, suffix), *fragments)


def test_a_missing_file_and_a_folder_are_refused(tmp_path: Path) -> None:
    refusal(read_openapi, tmp_path / "nothing.yaml", "file not found")
    refusal(read_smithy, tmp_path, "is a folder")
    refusal(read_tool_definitions, tmp_path / "nothing.json", "file not found")


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(b"openapi: '3.0.3'\ninfo: {title: \xff\xfe}\n")
    refusal(read_openapi, path, "not UTF-8")


# --- OpenAPI rules ------------------------------------------------------------------------------------------------


def _without_operation_id(d: dict[str, Any]) -> None:
    del d["paths"]["/pets"]["get"]["operationId"]


def _duplicate_operation_id(d: dict[str, Any]) -> None:
    d["paths"]["/pets/{petId}"]["get"]["operationId"] = "listPets"


def _bad_operation_id(d: dict[str, Any]) -> None:
    d["paths"]["/pets"]["post"]["operationId"] = "create pet"


def _http_server(d: dict[str, Any]) -> None:
    d["servers"] = [{"url": "https://api.example.com/v1"}, {"url": f"http://api.example.com/v1?key={SECRET}"}]


def _templated_host(d: dict[str, Any]) -> None:
    d["servers"] = [{"url": "https://{host}/v1", "variables": {"host": {"default": f"{SECRET}.example.com"}}}]


def _one_of(d: dict[str, Any]) -> None:
    d["components"]["schemas"]["Pet"]["properties"]["owner"] = {"oneOf": [{"type": "string"}, {"type": "integer"}]}


def _all_of_in_a_parameter(d: dict[str, Any]) -> None:
    d["paths"]["/pets"]["get"]["parameters"][1]["schema"] = {"allOf": [{"type": "integer"}]}


def _any_of_in_a_body(d: dict[str, Any]) -> None:
    d["paths"]["/pets"]["post"]["requestBody"]["content"]["application/json"]["schema"] = {"anyOf": []}


def _dangling_ref(d: dict[str, Any]) -> None:
    del d["components"]["schemas"]["NewPet"]


def _external_ref(d: dict[str, Any]) -> None:
    d["paths"]["/pets/{petId}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {
        "$ref": f"https://{SECRET}.example.com/pet.json"
    }


def _path_server(d: dict[str, Any]) -> None:
    d["paths"]["/pets"]["servers"] = [{"url": f"http://{SECRET}.example.com"}]


def _operation_server(d: dict[str, Any]) -> None:
    d["paths"]["/pets"]["post"]["servers"] = [{"url": "https://{tenant}.example.com"}]


def _text_body(d: dict[str, Any]) -> None:
    body = d["paths"]["/pets"]["post"]["requestBody"]["content"]
    body["text/plain"] = body.pop("application/json")


def _html_response(d: dict[str, Any]) -> None:
    d["paths"]["/pets/{petId}"]["get"]["responses"]["200"]["content"] = {"text/html": {"schema": {"type": "string"}}}


def _text_response_by_ref(d: dict[str, Any]) -> None:
    d["components"]["responses"]["Error"]["content"] = {"text/plain": {"schema": {"type": "string"}}}


def _deep_object(d: dict[str, Any]) -> None:
    d["paths"]["/pets"]["get"]["parameters"][0]["style"] = "deepObject"


def _path_level_matrix(d: dict[str, Any]) -> None:
    d["paths"]["/pets/{petId}"]["parameters"] = [{"name": "petId", "in": "path", "style": "matrix"}]


def _path_serializer(d: dict[str, Any]) -> None:
    d["paths"]["/pets/{;petId}"] = d["paths"].pop("/pets/{petId}")


def _security(d: dict[str, Any]) -> None:
    d["security"] = [{"apiKey": []}]
    d["components"]["securitySchemes"] = {"apiKey": {"type": "apiKey", "in": "header", "name": "X-Key"}}


def _callbacks(d: dict[str, Any]) -> None:
    d["paths"]["/pets"]["post"]["callbacks"] = {"adopted": {}}


def _webhooks(d: dict[str, Any]) -> None:
    d["webhooks"] = {"adopted": {}}


OPENAPI_BREAKS: list[tuple[Callable[[dict[str, Any]], None], tuple[str, ...]]] = [
    (lambda d: d.update(swagger="2.0"), ("swagger:", "Swagger 2.0 is not supported")),
    (lambda d: d.update(openapi="3.2.0"), ("openapi:", "'3.2.0' is not supported", "3.0.x or 3.1.x")),
    (lambda d: d.update(openapi=3.0), ("openapi:", "as a string")),
    (lambda d: d.pop("openapi"), ("openapi:", "as a string")),
    (lambda d: d.pop("paths"), ("paths:", "at least one path")),
    (lambda d: d.update(paths={}), ("paths:", "at least one path")),
    (lambda d: d["paths"].update({"/owners": [1]}), ('paths["/owners"]:', "mapping of methods")),
    (lambda d: d["paths"]["/pets"].update(get="listPets"), ("GET /pets:", "must be a mapping")),
    (_without_operation_id, ("GET /pets:", "has no operationId")),
    (_duplicate_operation_id, ("GET /pets/{petId}:", "'listPets' is also GET /pets's", "unique")),
    (_bad_operation_id, ("POST /pets:", "operationId 'create pet'", "MCP tool name")),
    (lambda d: d.pop("servers"), ("servers:", "at least one server")),
    (lambda d: d.update(servers=[]), ("servers:", "at least one server")),
    (lambda d: d.update(servers=[{"description": "prod"}]), ("servers[0].url:", "the API's URL")),
    (_http_server, ("servers[1].url:", "only HTTPS")),
    (lambda d: d.update(servers=[{"url": "/v1"}]), ("servers[0].url:", "absolute https:// URL")),
    (_templated_host, ("servers[0].url:", "variable in its host")),
    (lambda d: d.update(servers=[{"url": f"https://api.example.com/v1?key={SECRET}"}]), ("servers[0].url:", "query")),
    (lambda d: d.update(servers=[{"url": f"https://bot:{SECRET}@api.example.com/"}]), ("servers[0].url:", "user info")),
    (_path_server, ('paths["/pets"].servers[0].url:', "only HTTPS")),
    (_operation_server, ('paths["/pets"].post.servers[0].url:', "variable in its host")),
    (_one_of, ("components.schemas.Pet.properties.owner.oneOf:", "oneOf is not supported")),
    (_all_of_in_a_parameter, ('paths["/pets"].get.parameters[1].schema.allOf:', "allOf is not supported")),
    (_any_of_in_a_body, ('["application/json"].schema.anyOf:', "anyOf is not supported")),
    (_dangling_ref, ("$ref", "#/components/schemas/NewPet does not exist")),
    (_external_ref, ('paths["/pets/{petId}"].get.responses["200"]', "$ref: points outside the document")),
    (_text_body, ("POST /pets requestBody:", "text/plain is not supported")),
    (_html_response, ("GET /pets/{petId} response 200:", "text/html is not supported")),
    (_text_response_by_ref, ("response default:", "text/plain is not supported")),
    (_deep_object, ('paths["/pets"].get.parameters[0].style:', "deepObject is not supported")),
    (_path_level_matrix, ('paths["/pets/{petId}"].parameters[0].style:', "matrix is not supported")),
    (_path_serializer, ('paths["/pets/{;petId}"]:', "path parameter serializer")),
    (_security, ("security:", "credential provider")),
    (_callbacks, ("POST /pets:", "callbacks are not supported")),
    (_webhooks, ("webhooks:", "webhooks are not supported")),
]


@pytest.mark.parametrize(("break_it", "fragments"), OPENAPI_BREAKS)
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_openapi_rules(
    tmp_path: Path, break_it: Callable[[dict[str, Any]], None], fragments: tuple[str, ...], suffix: str
) -> None:
    document = petstore()
    read_openapi(write(tmp_path, document, suffix), SHOWN)  # the fixture is valid until broken
    break_it(document)
    refusal(read_openapi, write(tmp_path, document, suffix), *fragments)


def test_openapi_3_1_and_a_path_variable_in_a_server_are_accepted(tmp_path: Path) -> None:
    document = petstore()
    document["openapi"] = "3.1.0"
    document["servers"] = [{"url": "https://api.example.com/{version}", "variables": {"version": {"default": "v1"}}}]
    assert read_openapi(write(tmp_path, document), SHOWN).servers == ("https://api.example.com/{version}",)


def test_a_schema_defined_but_unused_components_and_a_json_pointer_escape_resolve(tmp_path: Path) -> None:
    document = petstore()
    document["components"]["schemas"]["a/b~c"] = {"type": "string"}
    document["components"]["schemas"]["Pet"]["properties"]["tag"] = {"$ref": "#/components/schemas/a~1b~0c"}
    read_openapi(write(tmp_path, document), SHOWN)


def test_an_operation_without_summary_or_description_has_an_empty_description(tmp_path: Path) -> None:
    document = petstore()
    del document["paths"]["/pets"]["post"]["summary"]
    spec = read_openapi(write(tmp_path, document), SHOWN)
    assert [o.description for o in spec.operations if o.name == "createPet"] == [""]


# --- Smithy rules -------------------------------------------------------------------------------------------------

NS = "example.weather#"


def _second_service(d: dict[str, Any]) -> None:
    d["shapes"]["example.other#OtherService"] = {"type": "service", "version": "1"}


def _missing_member_target(d: dict[str, Any]) -> None:
    d["shapes"][f"{NS}ForecastDay"]["members"]["high"]["target"] = f"{NS}Celsius"


def _missing_operation(d: dict[str, Any]) -> None:
    d["shapes"][f"{NS}WeatherService"]["operations"].append({"target": f"{NS}GetAlerts"})


def _operation_is_a_structure(d: dict[str, Any]) -> None:
    d["shapes"][f"{NS}WeatherService"]["operations"].append({"target": f"{NS}Conditions"})


def _bare_operation_reference(d: dict[str, Any]) -> None:
    d["shapes"][f"{NS}WeatherService"]["operations"].append(f"{NS}GetForecast")


def _same_name_twice(d: dict[str, Any]) -> None:
    d["shapes"]["example.legacy#GetForecast"] = copy.deepcopy(d["shapes"][f"{NS}GetForecast"])
    d["shapes"][f"{NS}WeatherService"]["operations"].append({"target": "example.legacy#GetForecast"})


SMITHY_BREAKS: list[tuple[Callable[[dict[str, Any]], None], tuple[str, ...]]] = [
    (lambda d: d.pop("smithy"), ("smithy:", "Smithy JSON AST")),
    (lambda d: d.update(smithy="3.0"), ("smithy:", '"2.0"')),
    (lambda d: d.update(shapes={}), ("shapes:", "must map shape ids")),
    (lambda d: d["shapes"].update({"NoNamespace": {"type": "string"}}), ("shapes.NoNamespace:", "absolute shape id")),
    (lambda d: d["shapes"].update({f"{NS}Broken": {"traits": {}}}), (f'shapes["{NS}Broken"]:', "with a type")),
    (lambda d: d["shapes"].pop(f"{NS}WeatherService"), ("shapes:", "exactly one service shape", "found none")),
    (_second_service, ("shapes:", f"found example.other#OtherService, {NS}WeatherService")),
    (_missing_member_target, (f'shapes["{NS}ForecastDay"].members.high.target:', f"{NS}Celsius is not a shape")),
    (_missing_operation, (f'shapes["{NS}WeatherService"].operations[2].target:', f"{NS}GetAlerts is not a shape")),
    (_operation_is_a_structure, ("operations[2].target:", f"{NS}Conditions must be the id of an operation shape")),
    (_bare_operation_reference, ("operations[2]:", "must be a reference")),
    (lambda d: d["shapes"][f"{NS}WeatherService"].update(operations=[]), ("reaches no operation",)),
    (_same_name_twice, (f'shapes["{NS}GetForecast"]:', "same name as example.legacy#GetForecast", "unique")),
]


@pytest.mark.parametrize(("break_it", "fragments"), SMITHY_BREAKS)
def test_smithy_rules(tmp_path: Path, break_it: Callable[[dict[str, Any]], None], fragments: tuple[str, ...]) -> None:
    document = weather()
    read_smithy(write(tmp_path, document, ".json"), SHOWN)
    break_it(document)
    refusal(read_smithy, write(tmp_path, document, ".json"), *fragments)


def test_a_smithy_model_must_be_json_even_with_another_suffix(tmp_path: Path) -> None:
    refusal(read_smithy, write(tmp_path, weather(), ".yaml"), "not valid JSON")


def test_smithy_resources_bring_their_operations_recursively(tmp_path: Path) -> None:
    document = weather()
    shapes = document["shapes"]
    for name in ("GetCity", "ListCities", "PutCity", "RenameCity", "CountCities", "GetStation"):
        shapes[f"{NS}{name}"] = {"type": "operation", "traits": {"smithy.api#documentation": f"{name}."}}
    shapes[f"{NS}City"] = {
        "type": "resource",
        "identifiers": {"cityId": {"target": f"{NS}CityId"}},
        "read": {"target": f"{NS}GetCity"},
        "list": {"target": f"{NS}ListCities"},
        "put": {"target": f"{NS}PutCity"},
        "operations": [{"target": f"{NS}RenameCity"}],
        "collectionOperations": [{"target": f"{NS}CountCities"}],
        "resources": [{"target": f"{NS}Station"}],
    }
    # A resource referring back to one already seen does not loop.
    shapes[f"{NS}Station"] = {
        "type": "resource",
        "read": {"target": f"{NS}GetStation"},
        "resources": [{"target": f"{NS}City"}],
    }
    shapes[f"{NS}WeatherService"]["resources"] = [{"target": f"{NS}City"}]
    spec = read_smithy(write(tmp_path, document, ".json"), SHOWN)
    assert [o.name for o in spec.operations] == [
        "CountCities",
        "GetCity",
        "GetCurrentWeather",
        "GetForecast",
        "GetStation",
        "ListCities",
        "PutCity",
        "RenameCity",
    ]
    assert all(o.method is None and o.path is None for o in spec.operations)
    # An operation no service reaches is not a tool.
    shapes[f"{NS}Unreached"] = {"type": "operation"}
    assert len(read_smithy(write(tmp_path, document, ".json"), SHOWN).operations) == 8


def test_a_resource_reference_must_be_a_resource(tmp_path: Path) -> None:
    document = weather()
    document["shapes"][f"{NS}WeatherService"]["resources"] = [{"target": f"{NS}GetForecast"}]
    refusal(
        read_smithy, write(tmp_path, document, ".json"), "resources[0].target:", "must be the id of a resource shape"
    )


def test_a_smithy_payload_does_not_depend_on_key_order(tmp_path: Path) -> None:
    document = weather()
    document["shapes"] = dict(reversed(list(document["shapes"].items())))
    assert read_smithy(write(tmp_path, document, ".json"), SHOWN) == read_smithy(WEATHER, "weather")


# --- Lambda tool definitions --------------------------------------------------------------------------------------


def test_tool_definitions_may_be_wrapped_in_tools_and_written_in_yaml(tmp_path: Path) -> None:
    assert read_tool_definitions(write(tmp_path, {"tools": inventory()}, ".json"), SHOWN) == inventory()
    assert read_tool_definitions(write(tmp_path, inventory(), ".yaml"), SHOWN) == inventory()


@pytest.mark.parametrize(
    ("document", "fragments"),
    [
        ({"tool": []}, ("(top level):", "list of tool definitions")),
        ({"tools": [], "extra": 1}, ("(top level):", "list of tool definitions")),
        ("just text", ("(top level):", "list of tool definitions")),
        ([{"name": "a"}, "b"], ("tools[1]:", "must be a mapping")),
    ],
)
def test_a_tool_definitions_file_must_hold_a_list(tmp_path: Path, document: Any, fragments: tuple[str, ...]) -> None:
    refusal(read_tool_definitions, write(tmp_path, json.dumps(document), ".json"), *fragments)


def _input(tools: list[dict[str, Any]]) -> dict[str, Any]:
    schema: dict[str, Any] = tools[1]["inputSchema"]
    return schema


TOOL_BREAKS: list[tuple[Callable[[list[dict[str, Any]]], Any], tuple[str, ...]]] = [
    (lambda t: [], ("tools:", "at least one tool definition")),
    (lambda t: {"tools": t}, ("tools:", "at least one tool definition")),
    (lambda t: [*t, "getStock"], ("tools[2]:", "must be a mapping")),
    (lambda t: t[1].pop("name"), ("tools[1]:", "name must be a non-empty string")),
    (lambda t: t[1].update(name="reserve item"), ("tools[1]:", "name 'reserve item'", "MCP tool name")),
    (lambda t: t[1].update(name="x" * 129), ("tools[1]:", "MCP tool name")),
    (
        lambda t: t[1].update(name="getStock"),
        ("tools[1] (getStock):", "a duplicate tool name within a target", "tools[0]"),
    ),
    (lambda t: t[1].pop("description"), ("tools[1] (reserveItem):", "description must be a non-empty string")),
    (lambda t: t[1].update(description="  "), ("tools[1] (reserveItem):", "description must be a non-empty string")),
    (lambda t: t[1].update(annotations={"key": SECRET}), ("tools[1] (reserveItem):", "'annotations'", "holds only")),
    (lambda t: t[1].__delitem__("inputSchema"), ("tools[1] (reserveItem):", "has no inputSchema")),
    (lambda t: t[1].update(inputSchema=[]), ("tools[1] (reserveItem) inputSchema:", "must be a mapping")),
    (lambda t: _input(t).update(type="string"), ("tools[1] (reserveItem) inputSchema.type:", 'must be "object"')),
    (lambda t: _input(t).pop("type"), ("tools[1] (reserveItem) inputSchema:", "type must be one of array, boolean")),
    (lambda t: _input(t).update(type="null"), ("inputSchema:", "type must be one of")),
    (lambda t: _input(t).update(additionalProperties=False), ("inputSchema:", "'additionalProperties'", "hold only")),
    (
        lambda t: _input(t)["properties"]["quantity"].update(minimum=1, default=SECRET),
        ("tools[1] (reserveItem) inputSchema.properties.quantity:", "'default', 'minimum'", "hold only"),
    ),
    (
        lambda t: _input(t)["properties"]["sku"].update(enum=["SKU-1001"]),
        ("inputSchema.properties.sku:", "'enum'"),
    ),
    (lambda t: _input(t).update(required="sku"), ("inputSchema:", "required must be a list")),
    (lambda t: _input(t).update(properties=["sku"]), ("inputSchema:", "properties must map")),
    (lambda t: _input(t).update(description=3), ("inputSchema:", "description must be a string")),
    (
        lambda t: _input(t)["properties"].update(tags={"type": "array", "items": {"type": "string", "format": "x"}}),
        ("inputSchema.properties.tags.items:", "'format'"),
    ),
    (
        lambda t: t[0]["outputSchema"]["properties"].update(at={"type": "date"}),
        ("tools[0] (getStock) outputSchema.properties.at:", "type must be one of"),
    ),
    (lambda t: t[0].update(outputSchema=None), ("tools[0] (getStock) outputSchema:", "must be a mapping")),
]


@pytest.mark.parametrize(("break_it", "fragments"), TOOL_BREAKS)
def test_tool_definition_rules(break_it: Callable[[list[dict[str, Any]]], Any], fragments: tuple[str, ...]) -> None:
    tools = inventory()
    check_tool_definitions(tools, "inventory")
    result = break_it(tools)
    tools_refusal(result if isinstance(result, (list, dict)) else tools, *fragments)


def test_an_output_schema_may_be_any_type_and_may_be_left_out() -> None:
    tools = inventory()
    tools[0]["outputSchema"] = {"type": "array", "items": {"type": "integer"}}
    del tools[1]["outputSchema"]
    assert len(check_tool_definitions(tools, "inventory")) == 2


def test_a_schema_nesting_without_end_is_refused() -> None:
    tools = inventory()
    schema: dict[str, Any] = {"type": "object"}
    schema["properties"] = {"self": schema}
    tools[0]["inputSchema"] = schema
    tools_refusal(tools, "nests deeper than 32 levels")


def test_the_tool_definition_rules_are_botocores_and_the_registrys() -> None:
    model = botocore.session.get_session().get_service_model("bedrock-agentcore-control")
    tool, schema = model.shape_for("ToolDefinition"), model.shape_for("SchemaDefinition")
    assert sorted(tool.members) == list(specs.TOOL_DEFINITION_KEYS)
    assert set(tool.required_members) == {"name", "description", "inputSchema"}
    assert sorted(schema.members) == list(specs.SCHEMA_DEFINITION_KEYS)
    assert sorted(model.shape_for("SchemaType").enum) == list(specs.SCHEMA_TYPES)
    # No length is given to either inline payload: the quota comes from Service Quotas (see INLINE_PAYLOAD_MAX_BYTES).
    assert "max" not in model.shape_for("InlinePayload").metadata
    definitions = resource_schema("AWS::BedrockAgentCore::GatewayTarget")["definitions"]
    assert definitions["ToolDefinition"]["additionalProperties"] is False
    assert definitions["SchemaDefinition"]["additionalProperties"] is False
    assert sorted(p[0].lower() + p[1:] for p in definitions["SchemaDefinition"]["properties"]) == list(
        specs.SCHEMA_DEFINITION_KEYS
    )


# --- the example Lambda function ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def inventory_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("inventory_app", INVENTORY_APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gateway_context(tool: str, target: str = "inventory") -> SimpleNamespace:
    """What the gateway hands the function: the qualified tool name in the client context's custom values."""
    return SimpleNamespace(client_context=SimpleNamespace(custom={"bedrockAgentCoreToolName": f"{target}___{tool}"}))


def test_the_function_serves_exactly_the_tools_its_schema_declares(inventory_app: ModuleType) -> None:
    assert sorted(inventory_app.TOOLS) == [tool["name"] for tool in inventory()]


def test_get_stock(inventory_app: ModuleType) -> None:
    assert inventory_app.handler({"sku": "SKU-1001"}, gateway_context("getStock")) == {
        "sku": "SKU-1001",
        "available": 42,
    }
    assert "error" in inventory_app.handler({"sku": "SKU-9"}, gateway_context("getStock"))
    assert "error" in inventory_app.handler({}, gateway_context("getStock"))


def test_reserve_item(inventory_app: ModuleType) -> None:
    arguments = {"sku": "SKU-1002", "quantity": 3, "orderId": "order-17"}
    result = inventory_app.handler(arguments, gateway_context("reserveItem"))
    assert result["sku"] == "SKU-1002" and result["reserved"] == 3 and result["remaining"] == 4
    # A retry gets the same reservation; another order another one.
    assert inventory_app.handler(dict(arguments), gateway_context("reserveItem")) == result
    other = inventory_app.handler({**arguments, "orderId": "order-18"}, gateway_context("reserveItem"))
    assert other["reservationId"] != result["reservationId"]
    json.dumps(result)


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"sku": "SKU-1002", "quantity": 8, "orderId": "o"}, "only 7 in stock"),
        ({"sku": "SKU-1002", "quantity": 0, "orderId": "o"}, "at least 1"),
        ({"sku": "SKU-1002", "quantity": True, "orderId": "o"}, "at least 1"),
        ({"sku": "SKU-1002", "quantity": "2", "orderId": "o"}, "at least 1"),
        ({"sku": "SKU-1002", "quantity": 1}, "orderId"),
        ({"sku": "nope", "quantity": 1, "orderId": "o"}, "unknown sku"),
    ],
)
def test_reserve_item_refusals(inventory_app: ModuleType, arguments: dict[str, Any], fragment: str) -> None:
    result = inventory_app.handler(arguments, gateway_context("reserveItem"))
    assert fragment in result["error"]
    json.dumps(result)


def test_the_target_prefix_is_stripped_at_the_first_separator(inventory_app: ModuleType) -> None:
    assert inventory_app.tool_name(gateway_context("getStock", target="shop-eu-1")) == "getStock"
    assert inventory_app.tool_name(gateway_context("get___stock")) == "get___stock"


@pytest.mark.parametrize(
    "context",
    [
        None,
        SimpleNamespace(client_context=None),
        SimpleNamespace(client_context=SimpleNamespace(custom=None)),
        SimpleNamespace(client_context=SimpleNamespace(custom={"bedrockAgentCoreToolName": 3})),
        gateway_context("dropTable"),
    ],
)
def test_an_unknown_or_missing_tool_name_is_an_error_result(inventory_app: ModuleType, context: Any) -> None:
    result = inventory_app.handler({"sku": "SKU-1001"}, context)
    assert result["error"].startswith("unknown tool") and "getStock, reserveItem" in result["error"]


def test_the_example_models_an_aws_service_and_its_operations_become_tools() -> None:
    spec = read_smithy(LAMBDA_MODEL, "lambda")
    assert [operation.name for operation in spec.operations] == ["GetFunctionConfiguration", "ListFunctions"]
    assert spec.operations[0].description == "Returns a function's runtime, memory, timeout and last modification."
    assert spec.signing_name == "lambda"


def test_a_smithy_model_of_a_service_that_is_not_aws_is_refused(tmp_path: Path) -> None:
    # AgentCore guide, "Smithy model targets": custom Smithy models for non-AWS services are not supported.
    document = weather()
    traits = document["shapes"]["example.weather#WeatherService"]["traits"]
    del traits["aws.api#service"], traits["aws.auth#sigv4"]
    refusal(read_smithy, write(tmp_path, document, ".json"), "aws.api#service", "openapi entry")


def test_a_smithy_service_not_over_rest_json_is_refused(tmp_path: Path) -> None:
    # AgentCore guide, "Smithy model targets": "Only RestJson protocol is supported".
    document = weather()
    traits = document["shapes"]["example.weather#WeatherService"]["traits"]
    del traits["aws.protocols#restJson1"]
    traits["aws.protocols#awsJson1_0"] = {}
    refusal(read_smithy, write(tmp_path, document, ".json"), "aws.protocols#restJson1", "restJson1 only")
