"""Every kind of tool source (config/examples/every-kind/): each target wired as AWS documents it (its target
configuration, its outbound credentials, the gateway role's grants), and an entry of each kind confined to its shard.

The shapes are AWS::BedrockAgentCore::GatewayTarget's (registry schema in cfn-lint's data: TargetConfiguration.Mcp is
one of Lambda, OpenApiSchema, SmithyModel, ApiGateway, McpServer; CredentialProviderConfigurations' types OAUTH,
API_KEY, GATEWAY_IAM_ROLE), and the AgentCore guide's "Specify the authorization type and credentials to access the
gateway target": Lambda, API Gateway and Smithy targets take GATEWAY_IAM_ROLE alone, an MCP server the signing service
in IamCredentialProvider.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from app import create_app, synthesize
from app_config import pascal, shard_of
from tests.cdk_helpers import ROOT, Assembly, evaluate, shipped_context
from tools import snapshots
from tools.tools_lock import main as tools_lock

EXAMPLE = ROOT / snapshots.EVERY_KIND
ENTRIES: dict[str, dict[str, Any]] = {
    e["name"]: e for e in yaml.safe_load((EXAMPLE / "targets.yaml").read_text())["targets"]
}


def stack_of(name: str) -> str:
    return f"mcpgw-dev-mcp-targets-{shard_of(name, 4)}"


def target(assembly: Assembly, name: str) -> dict[str, Any]:
    properties: dict[str, Any] = assembly.template(stack_of(name))["Resources"][f"{pascal(name)}Target"]["Properties"]
    assert properties["Name"] == name
    return properties


def mcp(assembly: Assembly, name: str) -> dict[str, Any]:
    configuration: dict[str, Any] = target(assembly, name)["TargetConfiguration"]["Mcp"]
    assert len(configuration) == 1, configuration  # one kind per target (the schema's oneOf)
    return configuration


def credentials(assembly: Assembly, name: str) -> dict[str, Any]:
    (configuration,) = target(assembly, name)["CredentialProviderConfigurations"]
    found: dict[str, Any] = configuration
    return found


def names(kind: str, arg: Any) -> str:
    return f"<{arg[0] if isinstance(arg, list) else arg}>"


def _cdk_shape(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema as the target's ToolSchema writes it (SchemaDefinition: Type, Properties, Required...)."""
    shaped: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            value = {name: _cdk_shape(item) for name, item in value.items()}
        elif key == "items":
            value = _cdk_shape(value)
        shaped[key[:1].upper() + key[1:]] = value
    return shaped


def _tool_payload(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "Name": tool["name"],
            "Description": tool["description"],
            "InputSchema": _cdk_shape(tool["inputSchema"]),
            **({"OutputSchema": _cdk_shape(tool["outputSchema"])} if "outputSchema" in tool else {}),
        }
        for tool in tools
    ]


def test_lambda_targets_name_the_function_and_carry_the_declared_tools(example_every_kind: Assembly) -> None:
    built = mcp(example_every_kind, "inventory")["Lambda"]
    # The function built from the repository, by reference (its ARN is known only at deploy).
    assert built["LambdaArn"] == {"Fn::GetAtt": ["InventoryFunction", "Arn"]}
    tools = json.loads((ROOT / ENTRIES["inventory"]["toolSchemaFile"]).read_text())
    assert built["ToolSchema"] == {"InlinePayload": _tool_payload(tools)}

    existing = mcp(example_every_kind, "pricing")["Lambda"]
    assert existing["LambdaArn"] == ENTRIES["pricing"]["functionArn"]
    assert existing["ToolSchema"] == {"InlinePayload": _tool_payload(ENTRIES["pricing"]["toolSchema"])}


def test_openapi_and_smithy_targets_carry_the_repositorys_description_inline(example_every_kind: Assembly) -> None:
    spec = yaml.safe_load((ROOT / ENTRIES["pets"]["spec"]).read_text())
    assert json.loads(mcp(example_every_kind, "pets")["OpenApiSchema"]["InlinePayload"]) == spec
    model = json.loads((ROOT / ENTRIES["lambda-api"]["model"]).read_text())
    assert json.loads(mcp(example_every_kind, "lambda-api")["SmithyModel"]["InlinePayload"]) == model


def test_an_api_gateway_target_exposes_exactly_the_declared_operations(example_every_kind: Assembly) -> None:
    entry = ENTRIES["shipping"]
    api = mcp(example_every_kind, "shipping")["ApiGateway"]
    assert (api["RestApiId"], api["Stage"]) == (entry["restApiId"], entry["stage"])
    tools = api["ApiGatewayToolConfiguration"]
    declared: dict[str, list[str]] = {}
    for operation in entry["operations"]:
        declared.setdefault(operation["path"], []).append(operation["method"])
    # One filter per path with exactly its declared methods: the stage's other operations stay out of the catalog.
    assert {f["FilterPath"]: f["Methods"] for f in tools["ToolFilters"]} == declared
    assert len(tools["ToolFilters"]) == len(declared)
    assert tools["ToolOverrides"] == [
        {"Name": o["name"], "Description": o["description"], "Method": o["method"], "Path": o["path"]}
        for o in entry["operations"]
    ]


def test_mcp_server_targets_name_their_endpoint(example_every_kind: Assembly) -> None:
    for name in ("billing", "catalog", "reports"):
        assert mcp(example_every_kind, name) == {"McpServer": {"Endpoint": ENTRIES[name]["endpoint"]}}
    # The hosted server: its runtime's invocation URL, in its own stack.
    endpoint = evaluate(mcp(example_every_kind, "orders")["McpServer"]["Endpoint"], names)
    assert endpoint.startswith("https://bedrock-agentcore.<AWS::Region>.<AWS::URLSuffix>/runtimes/")


def test_each_outbound_authentication_has_its_credential_provider_type(example_every_kind: Assembly) -> None:
    assert credentials(example_every_kind, "billing") == {
        "CredentialProviderType": "OAUTH",
        "CredentialProvider": {
            "OauthCredentialProvider": {
                "ProviderArn": {"Fn::GetAtt": ["BillingOAuthProvider", "CredentialProviderArn"]},
                "Scopes": ENTRIES["billing"]["oauth"]["scopes"],
            }
        },
    }
    for name, prefix in (("catalog", {"CredentialPrefix": ENTRIES["catalog"]["apiKey"]["prefix"]}), ("pets", {})):
        key = ENTRIES[name]["apiKey"]
        assert credentials(example_every_kind, name) == {
            "CredentialProviderType": "API_KEY",
            "CredentialProvider": {
                "ApiKeyCredentialProvider": {
                    "ProviderArn": {"Fn::GetAtt": [f"{pascal(name)}ApiKeyProvider", "CredentialProviderArn"]},
                    "CredentialLocation": "HEADER",
                    "CredentialParameterName": key["parameterName"],
                    # Left out, no prefix (not the L2's 'Bearer ').
                    **prefix,
                }
            },
        }
    # SigV4 with the gateway's role: an MCP server names the signing service; the other kinds' service is known.
    assert credentials(example_every_kind, "reports") == {
        "CredentialProviderType": "GATEWAY_IAM_ROLE",
        "CredentialProvider": {"IamCredentialProvider": {"Service": ENTRIES["reports"]["iam"]["service"]}},
    }
    for name in ("inventory", "pricing", "lambda-api", "shipping"):
        assert credentials(example_every_kind, name) == {"CredentialProviderType": "GATEWAY_IAM_ROLE"}, name


def test_api_keys_stay_in_secrets_manager(example_every_kind: Assembly) -> None:
    providers = {
        (stack, logical_id): resource["Properties"]
        for stack, logical_id, resource in example_every_kind.all_resources()
        if resource["Type"] == "AWS::BedrockAgentCore::ApiKeyCredentialProvider"
    }
    assert set(providers) == {(stack_of(n), f"{pascal(n)}ApiKeyProvider") for n in ("catalog", "pets")}
    for (_, logical_id), properties in providers.items():
        entry = ENTRIES[logical_id.removesuffix("ApiKeyProvider").lower()]
        assert properties["Name"] == f"mcpgw-dev-{entry['name']}-apikey"
        # A dynamic reference: CloudFormation resolves it at deploy, the template names the secret only.
        assert properties["ApiKey"] == f"{{{{resolve:secretsmanager:{entry['apiKey']['secretName']}:SecretString:::}}}}"
    # And no snapshot holds anything but the reference where a key goes.
    for path in (ROOT / "tests" / "snapshots" / "example-every-kind").glob("*.json"):
        for resource in json.loads(path.read_text()).get("Resources", {}).values():
            if resource["Type"] == "AWS::BedrockAgentCore::ApiKeyCredentialProvider":
                assert resource["Properties"]["ApiKey"].startswith("{{resolve:secretsmanager:"), path.name


def test_the_shard_policy_holds_exactly_the_declared_grants(example_every_kind: Assembly) -> None:
    grants = {
        stack: resources
        for stack in example_every_kind.templates
        if (resources := example_every_kind.resources(stack, "AWS::IAM::ManagedPolicy"))
    }
    # Only the shard whose entries need identity grants has a policy: a same-account function is invoked by its
    # resource policy, an inline description is read from the template, API keys through the role's fixed policy.
    assert list(grants) == [stack_of("shipping")]
    properties = grants[stack_of("shipping")]["GatewayGrants"]["Properties"]
    assert properties["ManagedPolicyName"] == f"mcpgw-dev-gateway-shard-{shard_of('shipping', 4)}"
    assert properties["Roles"] == ["mcpgw-dev-gateway-role"]  # by name: no export of the gateway-role stack
    statements = {
        s["Sid"]: (s["Action"], evaluate(s["Resource"], names)) for s in properties["PolicyDocument"]["Statement"]
    }

    def one(value: list[str]) -> str | list[str]:
        return value[0] if len(value) == 1 else value

    shipping = ENTRIES["shipping"]
    assert statements == {
        "Reports0": (
            one(ENTRIES["reports"]["iam"]["grants"][0]["actions"]),
            one(ENTRIES["reports"]["iam"]["grants"][0]["resources"]),
        ),
        "LambdaApi0": (
            one(ENTRIES["lambda-api"]["grants"][0]["actions"]),
            one(ENTRIES["lambda-api"]["grants"][0]["resources"]),
        ),
        "LambdaApi1": (
            one(ENTRIES["lambda-api"]["grants"][1]["actions"]),
            one(ENTRIES["lambda-api"]["grants"][1]["resources"]),
        ),
        "ShippingInvoke": (
            "execute-api:Invoke",
            sorted(
                f"arn:aws:execute-api:us-east-1:<AWS::AccountId>:{shipping['restApiId']}/{shipping['stage']}/"
                f"{o['method']}{o['path'].replace('{id}', '*')}"
                for o in shipping["operations"]
            ),
        ),
    }


def test_a_same_account_function_allows_exactly_the_gateway_role_by_name(example_every_kind: Assembly) -> None:
    role_name = example_every_kind.template("mcpgw-dev-gateway-role")["Resources"]["GatewayServiceRole"]["Properties"][
        "RoleName"
    ]
    for name, function in (
        ("inventory", {"Fn::GetAtt": ["InventoryFunction", "Arn"]}),
        ("pricing", ENTRIES["pricing"]["functionArn"]),
    ):
        resources = example_every_kind.template(stack_of(name))["Resources"]
        permissions = {k: r for k, r in resources.items() if r["Type"] == "AWS::Lambda::Permission"}
        permission = permissions[f"{pascal(name)}GatewayInvoke"]["Properties"]
        assert permission == {
            "Action": "lambda:InvokeFunction",
            "FunctionName": function,
            "Principal": {"Fn::Join": ["", ["arn:aws:iam::", {"Ref": "AWS::AccountId"}, f":role/{role_name}"]]},
        }
        # The target waits for it (its first call comes right after the deploy).
        assert f"{pascal(name)}GatewayInvoke" in resources[f"{pascal(name)}Target"]["DependsOn"]
    # Nothing in a shard imports from the gateway-role stack: its role is referred to by name only.
    for stack, template in example_every_kind.templates.items():
        if "-mcp-targets-" in stack:
            assert "mcpgw-dev-gateway-role:" not in json.dumps(template), stack


# --- an entry of each kind changes its own shard only ---------------------------------------------------------------

# One entry of every new kind (and both new ways to reach an existing server), named to spread over the shards.
NEWCOMERS: list[dict[str, Any]] = [
    {
        "name": "stock",
        "kind": "lambda",
        "path": "functions/inventory",
        "handler": "app.handler",
        "description": "Stock levels, a second function from the same code",
        "toolSchemaFile": f"{snapshots.EVERY_KIND}/tools/inventory.tools.json",
    },
    {
        "name": "quotes",
        "kind": "lambda",
        "functionArn": "arn:aws:lambda:us-east-1:111122223333:function:quotes-tools",
        "description": "Quotes, a function of this account",
        "toolSchema": ENTRIES["pricing"]["toolSchema"],
    },
    {
        "name": "remote",
        "kind": "lambda",
        "functionArn": "arn:aws:lambda:eu-west-1:444455556666:function:remote-tools:live",
        "crossAccountOrRegion": True,
        "description": "A function of another team's account and region",
        "toolSchema": ENTRIES["pricing"]["toolSchema"],
    },
    {**ENTRIES["pets"], "name": "zoo", "apiKey": {"secretName": "mcp-gateway/zoo/api-key"}},
    {**ENTRIES["lambda-api"], "name": "forecast"},
    {**ENTRIES["shipping"], "name": "tickets", "restApiId": "f6g7h8i9j0"},
    {**ENTRIES["catalog"], "name": "docs", "endpoint": "https://docs.example.com/mcp"},
    {
        **ENTRIES["reports"],
        "name": "audit",
        "endpoint": "https://fghij67890.execute-api.us-east-1.amazonaws.com/p/mcp",
        "iam": {
            "service": "execute-api",
            "grants": [
                {
                    "actions": ["execute-api:Invoke"],
                    "resources": ["arn:aws:execute-api:us-east-1:111122223333:fghij67890/p/POST/mcp"],
                }
            ],
        },
    },
]


def test_adding_an_entry_of_each_kind_changes_its_shard_only(tmp_path: Path, example_every_kind: Assembly) -> None:
    # One synth for every kind: each entry's resources and outputs must appear in its own shard's stack and nowhere
    # else. Removing an entry is the same comparison read the other way (from this app back to the example).
    entries = list(ENTRIES.values())
    # Each newcomer after an existing entry, so that it lands mid-file, as a team's pull request may put it.
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump({"targets": [*entries[:1], *NEWCOMERS, *entries[1:]]}))
    shutil.copytree(EXAMPLE / "tool-locks", tmp_path / "tool-locks")
    for newcomer in NEWCOMERS:
        if newcomer["kind"] != "existing":  # the declared kinds' locks, written offline as `make tools-lock` does
            assert tools_lock(["--targets-file", str(path), "--target", newcomer["name"]]) == 0
    context = shipped_context(**{**snapshots.SETS["example-every-kind"], "targetsFile": str(path)})
    after = Assembly.from_cdk_assembly(synthesize(create_app(context)))

    added_by_stack: dict[str, set[str]] = {}
    for newcomer in NEWCOMERS:
        added_by_stack.setdefault(stack_of(newcomer["name"]), set()).add(pascal(newcomer["name"]))
    changed = {name for name in after.templates if after.template(name) != example_every_kind.template(name)}
    # Not the monitoring stack either: its dashboard rows are per hosted runtime; a Lambda function gets none.
    assert changed == set(added_by_stack)
    for stack, labels in added_by_stack.items():
        before, now = example_every_kind.template(stack), after.template(stack)
        new = set(now["Resources"]) - set(before["Resources"])
        assert set(before["Resources"]) <= set(now["Resources"]), stack
        assert all(k.startswith(tuple(labels)) or k == "GatewayGrants" for k in new), (stack, sorted(new))
        assert {label for label in labels if any(k.startswith(label) for k in new)} == labels, stack
        for logical_id, resource in before["Resources"].items():
            if resource != now["Resources"][logical_id]:
                # An entry's neighbours: only their place in the one-at-a-time order, and the shard's policy.
                differs = {key for key in resource.keys() | now["Resources"][logical_id].keys()} - {"DependsOn"}
                assert logical_id == "GatewayGrants" or all(
                    resource.get(key) == now["Resources"][logical_id].get(key) for key in differs
                ), (stack, logical_id)
        new_outputs = set(now.get("Outputs", {})) - set(before.get("Outputs", {}))
        assert new_outputs and all(o.startswith(tuple(labels)) for o in new_outputs), (stack, new_outputs)
    # A function elsewhere: no resource policy this app could not write; the gateway's role is granted exactly it in
    # its shard's policy instead (cross-account access needs the caller's identity policy: IAM policy evaluation).
    remote = after.template(stack_of("remote"))["Resources"]
    assert not [k for k, r in remote.items() if k.startswith("Remote") and r["Type"] == "AWS::Lambda::Permission"]
    (invoke,) = [
        s for s in remote["GatewayGrants"]["Properties"]["PolicyDocument"]["Statement"] if s["Sid"] == "RemoteInvoke"
    ]
    assert invoke["Action"] == "lambda:InvokeFunction"
    assert invoke["Resource"] == "arn:aws:lambda:eu-west-1:444455556666:function:remote-tools:live"


def test_a_built_function_runs_as_declared_and_may_only_write_its_logs(example_every_kind: Assembly) -> None:
    from constructs.custom_resource_handlers import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME

    resources = example_every_kind.template(stack_of("inventory"))["Resources"]
    function = resources["InventoryFunction"]["Properties"]
    assert function["Architectures"] == [LAMBDA_ARCHITECTURE.name] == ["arm64"]
    assert function["Runtime"] == LAMBDA_RUNTIME.name
    assert function["FunctionName"] == "mcpgw-dev-fn-inventory"
    assert function["Role"] == {"Fn::GetAtt": ["InventoryFunctionRole", "Arn"]}
    role = resources["InventoryFunctionRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert [s["Principal"] for s in role["AssumeRolePolicyDocument"]["Statement"]] == [
        {"Service": "lambda.amazonaws.com"}
    ]
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert evaluate(statement["Resource"], names).endswith(":log-group:/aws/lambda/mcpgw-dev-fn-inventory:*")
    # No other policy anywhere names the function's role.
    others = [
        (stack, logical_id)
        for stack, logical_id, r in example_every_kind.all_resources()
        if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        and "InventoryFunctionRole" in json.dumps(r["Properties"].get("Roles", []))
    ]
    assert others == []


def test_an_api_key_is_sent_as_written_unless_the_entry_gives_a_prefix(example_every_kind: Assembly) -> None:
    def api_key(entry: str) -> dict[str, Any]:
        target = example_every_kind.template(stack_of(entry))["Resources"][f"{pascal(entry)}Target"]["Properties"]
        (configuration,) = target["CredentialProviderConfigurations"]
        assert configuration["CredentialProviderType"] == "API_KEY"
        return dict(configuration["CredentialProvider"]["ApiKeyCredentialProvider"])

    # pets reads its key from x-api-key as it is: the L2's default 'Bearer ' is not sent.
    assert "CredentialPrefix" not in api_key("pets") and api_key("pets")["CredentialParameterName"] == "x-api-key"
    assert api_key("catalog")["CredentialPrefix"] == ENTRIES["catalog"]["apiKey"]["prefix"] == "Key "
