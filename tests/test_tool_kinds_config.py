"""config/targets.yaml's other kinds of tool source (lambda, openapi, smithy, apiGateway; existing servers by API key
or IAM): what loads, the tools each offers, and every bad input refused in one line naming the entry and field,
never echoing a credential."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from app_config import ConfigError, load_config, outbound_auth
from app_config.declared import declared_tools
from app_config.tool_locks import lock_document, render
from tests.cdk_helpers import ROOT, load_context
from tests.conftest import write_config

EXAMPLE = ROOT / "config" / "examples" / "every-kind"
SECRET = "sk_live_9f8e7d6c5b4aZZ"  # what no error may show
SCHEMA = [{"name": "ping", "description": "Answers pong.", "inputSchema": {"type": "object"}}]
FUNCTION_ARN = "arn:aws:lambda:us-east-1:111122223333:function:tools"
AGENTS = {"defaultRateLimit": {"requests": 60, "per": "minute"}}


def agents_for(*tools: str) -> dict[str, Any]:
    return {**AGENTS, "agents": [{"name": "tester", "tools": list(tools)}]}


def load(folder: Path, entries: list[dict[str, Any]], *grants: str, locks: bool = True) -> Any:
    """The config of `entries` (files in `folder`, inside the repository), with the declared entries' locks written
    as `make tools-lock` would, and an agent granted `grants`."""
    whole = {**AGENTS, "agents": [{"name": "tester", "targets": [entries[0]["name"]]}]}
    context = write_config(folder, entries, agents_for(*grants) if grants else whole)
    if locks:
        write_locks(folder)
    return load_config(load_context(**context))


def write_locks(folder: Path) -> None:
    """As `make tools-lock` would; nothing for a file the loader refuses (the test is about its error)."""
    from app_config.errors import TargetsError
    from app_config.specs import SpecError
    from app_config.targets import load_targets

    try:
        entries = load_targets(folder / "targets.yaml", max_targets=100)
    except TargetsError:
        return
    for entry in entries:
        try:
            tools = declared_tools(entry)
        except SpecError:
            continue
        if tools is not None:
            (folder / "tool-locks").mkdir(exist_ok=True)
            (folder / "tool-locks" / f"{entry.name}.json").write_text(render(lock_document(tools)))


def refusal(folder: Path, entries: list[dict[str, Any]], locks: bool = True) -> str:
    with pytest.raises(ConfigError) as raised:
        load(folder, entries, locks=locks)
    message = str(raised.value)
    assert "\n" not in message and SECRET not in message, message
    return message


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_every_kind_of_the_example_loads_with_the_tools_its_declaration_gives() -> None:
    config = load_config(
        load_context(targetsFile=relative(EXAMPLE / "targets.yaml"), agentsFile=relative(EXAMPLE / "agents.yaml"))
    )
    by_name = {entry.name: entry for entry in config.targets}
    assert {entry.kind for entry in config.targets} == {
        "hosted",
        "existing",
        "lambda",
        "openapi",
        "smithy",
        "apiGateway",
    }
    # The tools come from the declaration (tool schema file, inline schema, spec operationIds, Smithy operations,
    # API Gateway operations): what agents may be granted.
    assert by_name["inventory"].tools == ["getStock", "reserveItem"]
    assert by_name["pricing"].tools == ["quotePrice"]
    assert by_name["pets"].tools == ["createPet", "getPet", "listPets"]
    assert by_name["lambda-api"].tools == ["GetFunctionConfiguration", "ListFunctions"]
    assert by_name["shipping"].tools == ["getShipment", "listShipments"]
    assert {name: outbound_auth(entry) for name, entry in by_name.items()} == {
        "orders": "oauth",
        "billing": "oauth",
        "catalog": "apiKey",
        "reports": "iam",
        "inventory": "iam",
        "pricing": "iam",
        "pets": "apiKey",
        "lambda-api": "iam",
        "shipping": "iam",
    }


def test_agents_are_granted_only_the_operations_a_description_defines(repo_tmp_path: Path) -> None:
    pets: dict[str, Any] = {
        "name": "pets",
        "kind": "openapi",
        "spec": relative(EXAMPLE / "specs" / "petstore.openapi.yaml"),
    }
    pets["apiKey"] = {"secretName": "pets/key"}
    assert load(repo_tmp_path, [pets], "pets___getPet").agents.entries[0].tools == ["pets___getPet"]
    with pytest.raises(ConfigError) as raised:
        load(repo_tmp_path, [pets], "pets___deletePet")
    assert "pets___deletePet" in str(raised.value) and "getPet" in str(raised.value)


def test_a_declared_entry_needs_its_lock_and_a_stale_lock_names_the_tool(repo_tmp_path: Path) -> None:
    entry = {"name": "fn", "kind": "lambda", "functionArn": FUNCTION_ARN, "toolSchema": SCHEMA}
    assert "no tool lock" in refusal(repo_tmp_path, [entry], locks=False)
    assert "make tools-lock TARGET=fn" in refusal(repo_tmp_path, [entry], locks=False)
    load(repo_tmp_path, [entry])  # the lock written from the declaration
    changed = {**entry, "toolSchema": [{**SCHEMA[0], "description": "Answers pong, loudly."}]}
    (repo_tmp_path / "targets.yaml").write_text(yaml.safe_dump({"targets": [changed]}))
    with pytest.raises(ConfigError) as raised:
        load_config(
            load_context(targetsFile=str(repo_tmp_path / "targets.yaml"), agentsFile=str(repo_tmp_path / "agents.yaml"))
        )
    assert "is stale (tool ping differs from its declaration)" in str(raised.value)


def test_s3_descriptions_list_their_tools_and_declared_kinds_do_not(repo_tmp_path: Path) -> None:
    s3 = {"name": "pets", "kind": "openapi", "specS3": {"uri": "s3://specs-bucket/pets.json"}}
    s3["apiKey"] = {"secretName": "pets/key"}
    assert "list its tools" in refusal(repo_tmp_path, [s3])
    config = load(repo_tmp_path, [{**s3, "tools": ["getPet"]}], "pets___getPet")
    assert config.targets[0].tools == ["getPet"] and "pets" in config.unpinned
    lambda_ = {"name": "fn", "kind": "lambda", "functionArn": FUNCTION_ARN, "toolSchema": SCHEMA, "tools": ["ping"]}
    assert "tools: is taken from what the entry declares" in refusal(repo_tmp_path, [lambda_])


def _spec(folder: Path, name: str, text: str) -> str:
    (folder / name).write_text(text)
    return relative(folder / name)


OPENAPI_HEAD = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\nservers: [{url: 'https://api.example.com'}]\n"


@pytest.mark.parametrize(
    ("build", "fragments"),
    [
        # A description that does not parse.
        (
            lambda d: {"kind": "openapi", "spec": _spec(d, "s.yaml", "openapi: 3.0.0\npaths: [\n"), "apiKey": {}},
            ("targets[0] e: ", "s.yaml: not valid YAML at line 3"),
        ),
        # An operation without an operationId.
        (
            lambda d: {
                "kind": "openapi",
                "spec": _spec(
                    d, "s.yaml", OPENAPI_HEAD + "paths:\n  /x:\n    get: {responses: {'200': {description: ok}}}\n"
                ),
            },
            ("targets[0] e: ", "GET /x: has no operationId"),
        ),
        # An HTTP server URL, and an HTTP MCP endpoint.
        (
            lambda d: {
                "kind": "openapi",
                "spec": _spec(
                    d,
                    "s.yaml",
                    OPENAPI_HEAD.replace("https://", "http://")
                    + "paths:\n  /x:\n    get: {operationId: x, responses: {'200': {description: ok}}}\n",
                ),
            },
            ("targets[0] e: ", "servers[0].url: must be an absolute https:// URL"),
        ),
        (
            lambda d: {"kind": "existing", "endpoint": "http://mcp.example.com/mcp", "apiKey": {"secretName": "k"}},
            ("targets[0].endpoint: ", "must be an https:// URL"),
        ),
        # A tool name twice within a target (a tool schema; API Gateway operations).
        (
            lambda d: {"kind": "lambda", "functionArn": FUNCTION_ARN, "toolSchema": SCHEMA * 2},
            ("targets[0] e: ", "tools[1] (ping): a duplicate tool name within a target"),
        ),
        (
            lambda d: {
                "kind": "apiGateway",
                "restApiId": "a1b2c3d4e5",
                "stage": "prod",
                "operations": [
                    {"name": "get", "method": "GET", "path": "/a", "description": "A."},
                    {"name": "get", "method": "GET", "path": "/b", "description": "B."},
                ],
            },
            ("targets[0].operations[1].name 'get' duplicates operations[0]",),
        ),
        # A function folder without its handler.
        (
            lambda d: {"kind": "lambda", "path": relative(d), "toolSchema": SCHEMA},
            ("targets[0].handler 'app.handler': no ", "app.py in the function's folder"),
        ),
        (
            lambda d: {
                "kind": "lambda",
                "path": _folder_with(d, "app.py", "def other(event, context): ..."),
                "toolSchema": SCHEMA,
            },
            ("targets[0].handler 'app.handler': ", "defines no top-level function 'handler'"),
        ),
        # A function in another region (or account) without saying so.
        (
            lambda d: {
                "kind": "lambda",
                "functionArn": FUNCTION_ARN.replace("us-east-1", "eu-west-1"),
                "toolSchema": SCHEMA,
            },
            ("targets[0].functionArn is in region eu-west-1", "set crossAccountOrRegion: true"),
        ),
        # A credential written into the file: as the API key, in place of its secret's name, or as a field.
        (
            lambda d: {"kind": "existing", "endpoint": "https://mcp.example.com/mcp", "apiKey": SECRET},
            ("targets[0].apiKey: must be a map",),
        ),
        (
            lambda d: {"kind": "existing", "endpoint": "https://mcp.example.com/mcp", "apiKey": {"secretName": SECRET}},
            ("targets[0].apiKey.secretName: looks like a credential",),
        ),
        (
            lambda d: {"kind": "existing", "endpoint": "https://mcp.example.com/mcp", "apiKey": {"value": SECRET}},
            ("targets[0].apiKey: 'secretName' is a required property", "the secret itself never goes in this file"),
        ),
        (
            lambda d: {
                "kind": "openapi",
                "spec": relative(EXAMPLE / "specs" / "petstore.openapi.yaml"),
                "oauth": {
                    "discoveryUrl": "https://login.example.com/.well-known/openid-configuration",
                    "clientId": "gateway",
                    "scopes": ["pets"],
                    "clientSecret": SECRET,
                },
            },
            ("targets[0].oauth: 'clientSecretName' is a required property",),
        ),
        # Exactly one way to authenticate, one source of tools.
        (
            lambda d: {
                "kind": "existing",
                "endpoint": "https://mcp.example.com/mcp",
                "apiKey": {"secretName": "k"},
                "iam": {"service": "lambda", "grants": [{"actions": ["lambda:InvokeFunctionUrl"], "resources": ["*"]}]},
            },
            ("targets[0] e: set exactly one of oauth or apiKey or iam", "it sets both apiKey and iam"),
        ),
        (
            lambda d: {"kind": "lambda", "toolSchema": SCHEMA},
            ("targets[0] e: set exactly one of path or functionArn", "it sets none"),
        ),
        # A bare * grant.
        (
            lambda d: {
                "kind": "smithy",
                "model": relative(EXAMPLE / "specs" / "lambda.smithy.json"),
                "grants": [{"actions": ["*"], "resources": ["*"]}],
            },
            ("targets[0].grants[0].actions[0]: '*' is invalid: must be an IAM action",),
        ),
    ],
)
def test_bad_input_is_one_line_naming_the_entry_and_field(
    repo_tmp_path: Path, build: Any, fragments: tuple[str, ...]
) -> None:
    entry = {"name": "e", **build(repo_tmp_path)}
    if entry.get("apiKey") == {}:
        entry["apiKey"] = {"secretName": "k"}
    if entry["kind"] == "openapi" and "apiKey" not in entry and "oauth" not in entry:
        entry["apiKey"] = {"secretName": "k"}
    message = refusal(repo_tmp_path, [entry])
    assert message.startswith("Invalid configuration targetsFile="), message
    for fragment in fragments:
        assert fragment in message, message


def _folder_with(folder: Path, name: str, text: str) -> str:
    function = folder / "function"
    function.mkdir(exist_ok=True)
    (function / name).write_text(text)
    return relative(function)


def test_a_lock_lists_what_the_declaration_says_and_nothing_of_a_spec_it_cannot_know(repo_tmp_path: Path) -> None:
    # An OpenAPI tool's input schema is the gateway's derivation: the lock holds its name and description only, so
    # that the drift check never reports a field the app cannot predict.
    shutil.copy(EXAMPLE / "specs" / "petstore.openapi.yaml", repo_tmp_path / "pets.yaml")
    entry: dict[str, Any] = {"name": "pets", "kind": "openapi", "spec": relative(repo_tmp_path / "pets.yaml")}
    entry["apiKey"] = {"secretName": "pets/key"}
    load(repo_tmp_path, [entry])
    lock = json.loads((repo_tmp_path / "tool-locks" / "pets.json").read_text())
    assert {field for tool in lock["tools"] for field in tool} == {"name", "sha256", "description"}


def test_a_new_function_is_one_pull_request_the_app_accepts_as_created(
    repo_tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    from tools import new_function

    targets = repo_tmp_path / "targets.yaml"
    folder = repo_tmp_path / "fresh"
    assert new_function.main(["fresh", "--dir", relative(folder), "--targets-file", relative(targets)]) == 0
    printed = capsys.readouterr().out
    entry = yaml.safe_load(printed.split("`make test`:\n\n", 1)[1].split("\n\n", 1)[0])
    (repo_tmp_path / "agents.yaml").write_text(
        yaml.safe_dump({**AGENTS, "agents": [{"name": "tester", "tools": ["fresh___echo"]}]})
    )
    targets.write_text(yaml.safe_dump({"targets": entry}))
    config = load_config(load_context(targetsFile=str(targets), agentsFile=str(repo_tmp_path / "agents.yaml")))
    (fresh,) = config.targets
    assert fresh.tools == ["echo"] and fresh.smoke_tool == "echo"  # the lock beside the targets file, as written
    # The handler answers the tool the gateway names in the client context, and nothing else.
    spec = importlib.util.spec_from_file_location("fresh_app", folder / "app.py")
    assert spec is not None and spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)

    class Context:
        class client_context:
            custom = {"bedrockAgentCoreToolName": "fresh___echo"}

    assert app.handler({"text": "hi"}, Context()) == {"text": "hi"}
    Context.client_context.custom = {"bedrockAgentCoreToolName": "fresh___other"}
    assert "unknown tool" in app.handler({}, Context())["error"]
    # A second run refuses to overwrite.
    assert new_function.main(["fresh", "--dir", relative(folder), "--targets-file", relative(targets)]) == 1


def test_both_an_openapi_file_and_s3_are_refused_as_such(repo_tmp_path: Path) -> None:
    entry = {
        "name": "pets",
        "kind": "openapi",
        "spec": relative(EXAMPLE / "specs" / "petstore.openapi.yaml"),
        "specS3": {"uri": "s3://specs-bucket/pets.json"},
        "apiKey": {"secretName": "pets/key"},
    }
    assert "set exactly one of spec or specS3" in refusal(repo_tmp_path, [entry])


def test_hosted_entries_on_the_shared_pool_share_its_one_credential_provider(repo_tmp_path: Path) -> None:
    # The OAuth2 provider quota counts the shared runtime provider once, whatever the number of hosted entries on it.
    hosted: list[dict[str, Any]] = [{"name": f"hosted{i}", "kind": "hosted", "path": "mcp_server"} for i in range(3)]
    context = write_config(repo_tmp_path, hosted, {**AGENTS, "agents": [{"name": "tester", "targets": ["hosted0"]}]})
    assert len(load_config(load_context(**context, maxOAuthCredentialProviders=1)).targets) == 3
    own = [*hosted, {"name": "own", "kind": "hosted", "path": "mcp_server", "ownPool": True}]
    context = write_config(repo_tmp_path, own, {**AGENTS, "agents": [{"name": "tester", "targets": ["hosted0"]}]})
    with pytest.raises(ConfigError, match="needs 2 OAuth2 credential providers"):
        load_config(load_context(**context, maxOAuthCredentialProviders=1))


def test_a_function_of_an_unnamed_account_is_noted_and_of_another_named_account_refused(repo_tmp_path: Path) -> None:
    entry = {"name": "fn", "kind": "lambda", "functionArn": FUNCTION_ARN, "toolSchema": SCHEMA}
    # The environment names no account: the function's cannot be compared, and synth says so (and how to have it).
    (note,) = load(repo_tmp_path, [entry]).notes
    assert "fn's functionArn is in account 111122223333" in note and "environments.<env>.account" in note
    # Named and the same: nothing to say; named and another: refused in one line.
    context = load_context(
        targetsFile=str(repo_tmp_path / "targets.yaml"), agentsFile=str(repo_tmp_path / "agents.yaml")
    )
    assert load_config({**context, "account": "111122223333"}).notes == ()
    with pytest.raises(ConfigError) as raised:
        load_config({**context, "account": "444455556666"})
    assert "targets[0].functionArn is in account 111122223333 (the deployment's is 444455556666)" in str(raised.value)
    assert "set crossAccountOrRegion: true" in str(raised.value)


@pytest.mark.parametrize(
    ("action", "fragment"),
    [
        ("iam:PassRole", "grants what no tool source may give the gateway's role"),
        ("sts:AssumeRole", "grants what no tool source may give the gateway's role"),
        ("kms:Create*", "grants what no tool source may give the gateway's role"),
        ("secretsmanager:GetSecretValue", "grants what no tool source may give the gateway's role"),
    ],
)
def test_no_entry_may_grant_the_shared_role_power_over_identities_or_secrets(
    repo_tmp_path: Path, action: str, fragment: str
) -> None:
    # Every IAM-signed target shares the one gateway role: one entry's grant would be every such target's.
    entry = {
        "name": "e",
        "kind": "existing",
        "endpoint": "https://mcp.example.com/mcp",
        "tools": ["ping"],
        "iam": {"service": "execute-api", "grants": [{"actions": [action], "resources": ["*"]}]},
    }
    message = refusal(repo_tmp_path, [entry])
    assert "targets[0].iam.grants[0].actions[0]" in message and fragment in message


def test_a_smithy_entry_grants_only_its_services_actions(repo_tmp_path: Path) -> None:
    entry = {
        "name": "lambda-api",
        "kind": "smithy",
        "model": relative(EXAMPLE / "specs" / "lambda.smithy.json"),
        "grants": [{"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::bucket/key"]}],
    }
    message = refusal(repo_tmp_path, [entry])
    assert "targets[0].grants[0]: s3:GetObject is not an action of the model's service (lambda:...)" in message
