"""Fine-grained assertions on the wiring: who trusts whom, which client each authorizer allows, what reaches the target."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest

from app_config import shard_of
from tests.cdk_helpers import Assembly, evaluate

COGNITO = "mcpgw-dev-cognito"
ROLE = "mcpgw-dev-gateway-role"
GATEWAY = "mcpgw-dev-gateway"
PROVIDER = "mcpgw-dev-credential-provider"
# The example server's entry lands in the shard its name hashes to; its runtime and its target share the stack.
SHARD = shard_of("orders", 4)
TARGET = f"mcpgw-dev-mcp-targets-{SHARD}"


def test_one_stack_per_component_and_one_per_shard(dev: Assembly) -> None:
    shards = [f"mcpgw-dev-mcp-targets-{i}" for i in range(4)]
    assert sorted(dev.templates) == sorted(
        [COGNITO, ROLE, GATEWAY, PROVIDER, "mcpgw-dev-agents", "mcpgw-dev-monitoring", *shards]
    )


def test_each_stack_owns_one_part_of_the_architecture(dev: Assembly) -> None:
    # The design's separate stacks: the pools, the gateway's role, the gateway, the runtime pool's credential
    # provider and the MCP targets (the example's entry is in shard 3).
    def types(stack: str) -> set[str]:
        return {r["Type"] for r in dev.template(stack)["Resources"].values()}

    assert {"AWS::Cognito::UserPool", "AWS::Cognito::UserPoolDomain"} <= types(COGNITO)
    assert types(ROLE) == {"AWS::IAM::Role"}
    assert "AWS::BedrockAgentCore::Gateway" in types(GATEWAY)
    assert types(PROVIDER) == {
        "AWS::Cognito::UserPoolClient",
        "AWS::BedrockAgentCore::OAuth2CredentialProvider",
        "Custom::TokenEndpointGate",
    }
    assert {"AWS::BedrockAgentCore::GatewayTarget", "AWS::BedrockAgentCore::Runtime"} <= types(TARGET)
    owners = {
        t: [stack for stack in dev.templates if t in types(stack)]
        for t in ("AWS::Cognito::UserPool", "AWS::IAM::Role", "AWS::BedrockAgentCore::Gateway")
    }
    assert owners["AWS::Cognito::UserPool"] == [COGNITO]
    assert owners["AWS::BedrockAgentCore::Gateway"] == [GATEWAY]
    assert "AWS::BedrockAgentCore::OAuth2CredentialProvider" not in types(COGNITO)


@pytest.mark.parametrize(
    ("pool", "client_id", "client_stack"),
    # The gateway pool's clients are the agents' (config/agents.yaml), beside their pool; the runtime pool's is the
    # gateway's, in the credential-provider stack with the provider that holds its secret.
    [
        ("Gateway", "AgentPlatformSmokeClient", COGNITO),
        ("Gateway", "AgentOrderViewerClient", COGNITO),
        ("Runtime", "RuntimeUserPoolClient", PROVIDER),
    ],
)
def test_each_pool_is_machine_to_machine_with_an_invoke_scope(
    dev: Assembly, pool: str, client_id: str, client_stack: str
) -> None:
    resources = dev.template(COGNITO)["Resources"]
    server = resources[f"{pool}ResourceServer"]["Properties"]
    client = dev.template(client_stack)["Resources"][client_id]["Properties"]
    domain = resources[f"{pool}UserPoolDomain"]["Properties"]
    identifier = f"mcpgw-dev-{pool.lower()}"

    def in_cognito(value: Any) -> Any:
        return value if client_stack == COGNITO else dev.resolve_import(value)[1]

    assert server["Identifier"] == identifier
    assert [s["ScopeName"] for s in server["Scopes"]] == ["invoke"]
    assert server["UserPoolId"] == {"Ref": f"{pool}UserPool"}
    assert in_cognito(client["UserPoolId"]) == {"Ref": f"{pool}UserPool"}
    assert client["GenerateSecret"] is True
    assert client["AllowedOAuthFlows"] == ["client_credentials"]
    refs = {f"{pool}ResourceServer": server["Identifier"]}

    def lookup(kind: str, arg: Any) -> str:
        if kind == "ImportValue":
            return refs[dev.resolve_import({"Fn::ImportValue": arg})[1]["Ref"]]
        return refs[arg]

    assert evaluate(client["AllowedOAuthScopes"], lookup) == [f"{identifier}/invoke"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert domain["UserPoolId"] == {"Ref": f"{pool}UserPool"}
    assert "Fn::Join" in domain["Domain"] or domain["Domain"].startswith(identifier)
    assert resources[f"{pool}UserPool"]["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True


def test_gateway_role_trust_is_conditioned_on_our_account_and_gateway(dev: Assembly) -> None:
    role = dev.template(ROLE)["Resources"]["GatewayServiceRole"]["Properties"]
    statements = role["AssumeRolePolicyDocument"]["Statement"]
    # A single statement: the L2's own role adds an unconditioned one beside it (aws/aws-cdk#38780).
    assert len(statements) == 1
    (trust,) = statements
    assert trust["Principal"] == {"Service": "bedrock-agentcore.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source_arn = evaluate(trust["Condition"]["ArnLike"]["aws:SourceArn"], _pseudo)
    assert source_arn == "arn:aws:bedrock-agentcore:us-east-1:111122223333:gateway/mcpgw-dev-gateway-*"
    assert [p["PolicyName"] for p in role["Policies"]] == ["outbound-oauth", "outbound-api-keys", "policy-engine"]
    assert "ManagedPolicyArns" not in role


def test_no_role_anywhere_has_an_unconditioned_service_trust(dev: Assembly) -> None:
    for stack, logical_id, resource in dev.all_resources():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            service = statement["Principal"].get("Service")
            if service == "bedrock-agentcore.amazonaws.com" and stack == ROLE:
                assert "Condition" in statement, f"{stack}/{logical_id} trusts AgentCore without conditions"


def test_gateway_is_mcp_semantic_and_allows_exactly_the_agents_clients(dev: Assembly) -> None:
    gateway = dev.template(GATEWAY)["Resources"]["Gateway"]["Properties"]
    assert gateway["Name"] == "mcpgw-dev-gateway" == gateway["Name"].lower()
    assert gateway["ProtocolType"] == "MCP"
    assert gateway["ProtocolConfiguration"]["Mcp"]["SearchType"] == "SEMANTIC"
    # Every version AgentCore serves: none can be added after create (tests/test_gateway_rules.py).
    assert gateway["ProtocolConfiguration"]["Mcp"]["SupportedVersions"] == [
        "2025-03-26",
        "2025-06-18",
        "2025-11-25",
        "2026-07-28",
    ]
    assert gateway["AuthorizerType"] == "CUSTOM_JWT"
    jwt = gateway["AuthorizerConfiguration"]["CustomJWTAuthorizer"]
    # Read from the cognito stack's outputs by weak reference: removing an agent must not wait on an export.
    allowed = [dev.resolve_stack_output(client) for client in jwt["AllowedClients"]]
    assert allowed == [
        (COGNITO, {"Ref": "AgentPlatformSmokeClient"}),
        (COGNITO, {"Ref": "AgentOrderViewerClient"}),
    ]
    assert "GatewayUserPoolClient" not in dev.template(COGNITO)["Resources"], "a shared client would outlive the agents"
    assert _discovery_pool(dev, jwt["DiscoveryUrl"]) == "GatewayUserPool"
    assert dev.resolve_import(gateway["RoleArn"]) == (ROLE, {"Fn::GetAtt": ["GatewayServiceRole", "Arn"]})


def test_runtime_is_mcp_on_arm64_and_allows_only_the_runtime_pool_client(dev: Assembly) -> None:
    runtime = dev.template(TARGET)["Resources"]["OrdersRuntime"]["Properties"]
    assert runtime["AgentRuntimeName"] == "mcpgw_dev_orders"
    assert runtime["ProtocolConfiguration"] == "MCP"
    jwt = runtime["AuthorizerConfiguration"]["CustomJWTAuthorizer"]
    (allowed,) = jwt["AllowedClients"]
    assert dev.resolve_import(allowed) == (PROVIDER, {"Ref": "RuntimeUserPoolClient"})
    assert _discovery_pool(dev, jwt["DiscoveryUrl"]) == "RuntimeUserPool"

    images = dev.docker_images(TARGET)
    assert len(images) == 1
    (image,) = images
    assert image["source"]["platform"] == "linux/arm64"
    assert (dev.outdir / image["source"]["directory"] / "Dockerfile").is_file()
    assert image["source"]["directory"] and "server.py" in {
        p.name for p in (dev.outdir / image["source"]["directory"]).iterdir()
    }


def test_credential_provider_sits_beside_its_client_and_takes_its_secret_by_reference(dev: Assembly) -> None:
    resources = dev.template(PROVIDER)["Resources"]
    provider = resources["RuntimeOAuthProvider"]["Properties"]
    assert provider["Name"] == "mcpgw-dev-runtime-oauth"
    assert provider["CredentialProviderVendor"] == "CustomOauth2"
    custom = provider["Oauth2ProviderConfigInput"]["CustomOauth2ProviderConfig"]
    assert custom["ClientId"] == {"Ref": "RuntimeUserPoolClient"}
    join = custom["OauthDiscovery"]["DiscoveryUrl"]["Fn::Join"]
    assert join[1][0] == "https://cognito-idp.us-east-1.amazonaws.com/"
    assert dev.resolve_import(join[1][1]) == (COGNITO, {"Ref": "RuntimeUserPool"})
    assert join[1][2:] == ["/.well-known/openid-configuration"]
    # The secret is CloudFormation's attribute of the client in the same stack: resolved at deploy time into the
    # provider's write-only configuration, never a value in the template, never an export.
    assert custom["ClientSecret"] == {"Fn::GetAtt": ["RuntimeUserPoolClient", "ClientSecret"]}
    assert not [r for r in resources.values() if r["Type"].startswith("Custom::") and "ClientSecret" in json.dumps(r)]
    assert "ClientSecret" not in json.dumps(dev.template(PROVIDER).get("Outputs", {}))
    # The discovery document names a token endpoint only once the pool has a domain (in the cognito stack): the
    # whole stack deploys after it.
    assert COGNITO in dev.stack_dependencies(PROVIDER)


def test_target_calls_the_runtime_invocation_url_with_a_url_encoded_arn(dev: Assembly) -> None:
    target = dev.template(TARGET)["Resources"]["OrdersTarget"]["Properties"]
    arn = "arn:aws:bedrock-agentcore:us-east-1:111122223333:runtime/mcpgw_dev_orders-AbC123xYz0"

    def lookup(kind: str, arg: object) -> str:
        if kind == "GetAtt":
            # The runtime is in the target's own stack: no cross-stack reference to build the URL from.
            assert arg == ["OrdersRuntime", "AgentRuntimeArn"]
            return arn
        return _pseudo(kind, arg)

    endpoint = evaluate(target["TargetConfiguration"]["Mcp"]["McpServer"]["Endpoint"], lookup)
    assert endpoint == (
        f"https://bedrock-agentcore.us-east-1.amazonaws.com/runtimes/{quote(arn, safe='')}/invocations?qualifier=DEFAULT"
    )
    assert "%3A" in endpoint and "%2F" in endpoint and arn not in endpoint


def test_target_gets_runtime_pool_tokens_through_the_provider(dev: Assembly) -> None:
    target = dev.template(TARGET)["Resources"]["OrdersTarget"]["Properties"]
    assert target["Name"] == "orders"
    (config,) = target["CredentialProviderConfigurations"]
    assert config["CredentialProviderType"] == "OAUTH"
    oauth = config["CredentialProvider"]["OauthCredentialProvider"]
    assert oauth["Scopes"] == ["mcpgw-dev-runtime/invoke"]
    assert dev.resolve_import(oauth["ProviderArn"]) == (
        PROVIDER,
        {"Fn::GetAtt": ["RuntimeOAuthProvider", "CredentialProviderArn"]},
    )
    assert dev.resolve_import(target["GatewayIdentifier"]) == (
        GATEWAY,
        {"Fn::GetAtt": ["Gateway", "GatewayIdentifier"]},
    )


def test_the_runtime_pool_token_gate_waits_for_its_domain_and_every_target_stack_for_the_gate(dev: Assembly) -> None:
    gate = dev.template(PROVIDER)["Resources"]["RuntimePoolTokenGate"]
    assert gate["Type"] == "Custom::TokenEndpointGate"

    def lookup(kind: str, arg: object) -> str:
        if kind == "ImportValue":
            return "<{}>".format(dev.resolve_import({"Fn::ImportValue": arg})[1]["Ref"])
        return f"<{arg}>"

    # Referencing the domain (imported from the cognito stack) is what makes the gate wait for it.
    endpoint = evaluate(gate["Properties"]["TokenEndpoint"], lookup)
    assert endpoint == "https://<RuntimeUserPoolDomain>.auth.us-east-1.amazoncognito.com/oauth2/token"
    assert dev.resolve_import(gate["Properties"]["UserPoolId"]) == (COGNITO, {"Ref": "RuntimeUserPool"})
    assert gate["Properties"]["ClientId"] == {"Ref": "RuntimeUserPoolClient"}
    assert "ClientSecret" not in json.dumps(gate["Properties"])
    # Every targets stack, whatever it holds, deploys after the whole credential-provider stack, gate included.
    for shard in range(4):
        assert PROVIDER in dev.stack_dependencies(f"mcpgw-dev-mcp-targets-{shard}")


def test_a_new_image_updates_the_target_so_the_gateway_resynchronizes_its_tools(dev: Assembly) -> None:
    # UpdateGatewayTarget re-synchronizes an MCP target's tools (DEFAULT listing mode): the image hash in the
    # description turns an image-only change into a target update, run by CloudFormation after the runtime's.
    resources = dev.template(TARGET)["Resources"]
    (image,) = dev.docker_images(TARGET)
    tag = json.dumps(resources["OrdersRuntime"]["Properties"]["AgentRuntimeArtifact"]["ContainerConfiguration"])
    description = resources["OrdersTarget"]["Properties"]["Description"]
    markers = description.removeprefix("Example order tools (the tutorial's MCP server) (image ").removesuffix(")")
    digest, sync = markers.split(", sync ")
    assert len(digest) == 12 and f":{digest}" in tag
    # The sync revision (the tool lock's hash and the syncToken): a lock change updates the target too
    # (tests/test_targets.py, tests/test_tool_locks.py).
    assert len(sync) == 8
    assert len(description) <= 200  # the service's limit
    assert not [r for r in resources.values() if r["Type"].startswith("Custom::") and "Sync" in r["Type"]]


def test_the_gateway_role_gets_tokens_from_this_deployments_providers_only(dev: Assembly) -> None:
    # One policy, whatever the number of targets: scoped by the app's provider naming (mcpgw-dev-*-oauth), so that
    # no target has to add a grant to the role (IAM caps a role's inline policies at 10,240 characters).
    policies = dev.template(ROLE)["Resources"]["GatewayServiceRole"]["Properties"]["Policies"]
    statements = {
        s["Sid"]: s
        for p in policies
        if p["PolicyName"] in ("outbound-oauth", "outbound-api-keys")
        for s in p["PolicyDocument"]["Statement"]
    }
    assert set(statements) == {
        "WorkloadAccessToken",
        "ResourceOAuth2Token",
        "ProviderClientSecrets",
        "ResourceApiKey",
        "ProviderApiKeys",
    }
    for statement in statements.values():
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert "*" not in resources
    secret = evaluate(statements["ProviderClientSecrets"]["Resource"], _pseudo)
    assert secret == (
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:bedrock-agentcore-identity!default/oauth2/mcpgw-dev-*-oauth-*"
    )
    assert statements["ProviderClientSecrets"]["Action"] == "secretsmanager:GetSecretValue"
    # API keys likewise: this deployment's API-key providers (mcpgw-dev-*-apikey) and the keys AgentCore keeps for them.
    assert evaluate(statements["ProviderApiKeys"]["Resource"], _pseudo) == (
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:bedrock-agentcore-identity!default/apikey/mcpgw-dev-*-apikey-*"
    )
    api_keys = [evaluate(r, _pseudo) for r in statements["ResourceApiKey"]["Resource"]]
    assert statements["ResourceApiKey"]["Action"] == "bedrock-agentcore:GetResourceApiKey"
    assert (
        "arn:aws:bedrock-agentcore:us-east-1:111122223333:token-vault/default/apikeycredentialprovider/mcpgw-dev-*-apikey"
        in api_keys
    )
    token = statements["ResourceOAuth2Token"]
    assert token["Action"] == "bedrock-agentcore:GetResourceOauth2Token"
    token_resources = [evaluate(r, _pseudo) for r in token["Resource"]]
    assert (
        "arn:aws:bedrock-agentcore:us-east-1:111122223333:token-vault/default/oauth2credentialprovider/mcpgw-dev-*-oauth"
        in token_resources
    )
    assert "CompleteResourceTokenAuth" not in json.dumps(policies)  # client credentials never need it
    workload = [evaluate(r, _pseudo) for r in statements["WorkloadAccessToken"]["Resource"]]
    assert workload[-1].endswith(":workload-identity-directory/default/workload-identity/mcpgw-dev-gateway-*")
    # No other stack attaches anything to the role: its own two policies are all it holds.
    attached = [
        f"{stack}/{logical_id}"
        for stack, logical_id, r in dev.all_resources()
        if r["Type"] == "AWS::IAM::Policy" and "GatewayServiceRole" in json.dumps(r)
    ]
    assert attached == []


def test_the_gateway_role_may_use_the_policy_engine_a_stack_before_the_gateway_attaches_it(dev: Assembly) -> None:
    # AgentCore's policy permissions: GetPolicyEngine on the engine; AuthorizeAction and PartiallyAuthorizeActions
    # on the engine and the gateway. Without them attaching the engine fails and every tool call is denied; granted
    # in the gateway's own stack, seconds before the gateway, IAM may not have propagated them yet.
    role = dev.template(ROLE)["Resources"]["GatewayServiceRole"]["Properties"]
    (grant,) = [p["PolicyDocument"] for p in role["Policies"] if p["PolicyName"] == "policy-engine"]
    statements = {s["Sid"]: s for s in grant["Statement"]}
    engine = "arn:aws:bedrock-agentcore:us-east-1:111122223333:policy-engine/mcpgw_dev_agents-*"
    assert statements["ReadPolicyEngine"]["Action"] == "bedrock-agentcore:GetPolicyEngine"
    assert evaluate(statements["ReadPolicyEngine"]["Resource"], _pseudo) == engine
    authorize = statements["AuthorizeToolCalls"]
    assert authorize["Action"] == ["bedrock-agentcore:AuthorizeAction", "bedrock-agentcore:PartiallyAuthorizeActions"]
    assert sorted(evaluate(authorize["Resource"], _pseudo)) == [
        "arn:aws:bedrock-agentcore:us-east-1:111122223333:gateway/mcpgw-dev-gateway-*",
        engine,
    ]
    resources = dev.template(GATEWAY)["Resources"]
    assert not [k for k, r in resources.items() if r["Type"].startswith("AWS::IAM::")]
    assert ROLE in dev.stack_dependencies(GATEWAY)
    engine_arn = {"Fn::GetAtt": ["PolicyEngine", "PolicyEngineArn"]}
    assert resources["Gateway"]["Properties"]["PolicyEngineConfiguration"] == {"Arn": engine_arn, "Mode": "LOG_ONLY"}
    assert resources["PolicyEngine"]["Properties"]["Name"] == "mcpgw_dev_agents"


def test_outputs_give_a_client_what_it_needs(dev: Assembly) -> None:
    def outputs(stack: str) -> set[str]:
        # ExportsOutput*/PublishOutput*: CDK's own outputs behind strong and weak cross-stack references.
        return {
            k for k in dev.template(stack).get("Outputs", {}) if not k.startswith(("ExportsOutput", "PublishOutput"))
        }

    assert outputs(COGNITO) == {
        "GatewayUserPoolId",
        "AgentPlatformSmokeClientId",
        "AgentOrderViewerClientId",
        "GatewayTokenEndpoint",
        "GatewayScope",
    }
    assert outputs(PROVIDER) == {"CredentialProviderArn"}
    assert outputs(GATEWAY) == {"GatewayUrl", "GatewayId", "GatewayLogGroup", "PolicyEngineMode"}
    assert outputs("mcpgw-dev-monitoring") == {"DashboardName", "DashboardUrl", "AlarmTopicArn"}
    assert outputs(TARGET) == {"OrdersRuntimeArn", "OrdersTargetId"}
    domain = dev.template(COGNITO)["Resources"]["GatewayUserPoolDomain"]["Properties"]["Domain"]

    def lookup(kind: str, arg: object) -> str:
        return evaluate(domain, _pseudo) if arg == "GatewayUserPoolDomain" else _pseudo(kind, arg)

    token_endpoint = evaluate(dev.template(COGNITO)["Outputs"]["GatewayTokenEndpoint"]["Value"], lookup)
    assert token_endpoint == "https://mcpgw-dev-gateway-111122223333.auth.us-east-1.amazoncognito.com/oauth2/token"


def test_no_secret_reaches_an_output_or_an_export(dev: Assembly, many: Assembly) -> None:
    for assembly in (dev, many):
        secret_references = [
            (stack, logical_id)
            for stack, logical_id, resource in assembly.all_resources()
            if '"ClientSecret"]' in json.dumps(resource)
        ]
        assert secret_references, "the secret reference this test guards is gone; update the test"
        for stack, template in assembly.templates.items():
            for key, output in template.get("Outputs", {}).items():
                text = json.dumps(output["Value"])
                assert "ClientSecret" not in text, f"{stack} output {key} carries a client secret"


# A secret as CloudFormation resolves it at deploy time (an existing entry's clientSecretName): the template holds the
# secret's name, never its value.
DYNAMIC_SECRET = re.compile(r"^\{\{resolve:secretsmanager:[^{}]+\}\}$")


def literal_secrets(template: Any, where: str = "") -> list[str]:
    """Where a template holds a secret's value: a ClientSecret or SecretString that is not a dynamic reference, or a
    client_secret= form field."""
    found = []
    if isinstance(template, dict):
        for key, value in template.items():
            if key in ("ClientSecret", "SecretString") and isinstance(value, str) and not DYNAMIC_SECRET.match(value):
                found.append(f"{where}/{key}")
            found += literal_secrets(value, f"{where}/{key}")
    elif isinstance(template, list):
        for index, value in enumerate(template):
            found += literal_secrets(value, f"{where}[{index}]")
    elif isinstance(template, str) and "client_secret=" in template:
        found.append(where)
    return found


def test_literal_secrets_are_found_and_dynamic_references_are_not() -> None:
    reference = "{{resolve:secretsmanager:mcp-gateway/billing/client-secret:SecretString:::}}"
    assert literal_secrets({"P": {"ClientSecret": reference}}) == []
    assert literal_secrets({"P": {"ClientSecret": "s3cr3t"}}) == ["/P/ClientSecret"]
    assert literal_secrets({"P": [{"SecretString": f"x{reference}"}]}) == ["/P[0]/SecretString"]
    assert literal_secrets({"P": {"Body": "grant_type=client_credentials&client_secret=s3cr3t"}}) == ["/P/Body"]


@pytest.mark.parametrize("set_name", ["dev", "prod", "example_three_targets", "example_every_kind", "many"])
def test_no_template_holds_a_literal_secret(set_name: str, request: pytest.FixtureRequest) -> None:
    # The example and `many` hold existing entries, whose client secret is a Secrets Manager dynamic reference.
    assembly: Assembly = request.getfixturevalue(set_name)
    for stack, template in assembly.templates.items():
        assert not literal_secrets(template), f"{stack} holds a secret at {literal_secrets(template)}"


def _discovery_pool(dev: Assembly, discovery_url: object) -> str:
    """The logical id of the user pool a discovery URL points at, following the cross-stack import."""
    seen = []

    def lookup(kind: str, arg: object) -> str:
        if kind == "ImportValue":
            producer, value = dev.resolve_import({"Fn::ImportValue": arg})
            assert producer == COGNITO
            seen.append(value["Ref"])
            return "us-east-1_POOL"
        return _pseudo(kind, arg)

    url = evaluate(discovery_url, lookup)
    assert url == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_POOL/.well-known/openid-configuration"
    (pool,) = seen
    return pool


def _pseudo(kind: str, arg: object) -> str:
    values = {
        "AWS::Partition": "aws",
        "AWS::Region": "us-east-1",
        "AWS::AccountId": "111122223333",
        "AWS::URLSuffix": "amazonaws.com",
    }
    assert kind == "Ref" and arg in values, f"unexpected {kind} {arg}"
    return values[arg]


def test_the_gateway_keeps_target_sessions_and_the_runtime_outlives_them(dev: Assembly) -> None:
    # With a session timeout the gateway reuses a target's Mcp-Session-Id across an agent's tool calls, and
    # AgentCore Runtime routes them to the same microVM: one cold start per agent session, not per call.
    protocol = dev.template(GATEWAY)["Resources"]["Gateway"]["Properties"]["ProtocolConfiguration"]["Mcp"]
    assert protocol["SessionConfiguration"] == {"SessionTimeoutInSeconds": 3600}
    runtime = dev.template(TARGET)["Resources"]["OrdersRuntime"]["Properties"]
    lifecycle = runtime["LifecycleConfiguration"]
    assert lifecycle["MaxLifetime"] == protocol["SessionConfiguration"]["SessionTimeoutInSeconds"]
    assert 60 <= lifecycle["IdleRuntimeSessionTimeout"] <= lifecycle["MaxLifetime"]
    assert runtime["PlatformVersion"] == "V1"  # set, not left to a default AWS may change


def test_session_and_platform_settings_come_from_config() -> None:
    from app import create_app
    from tests.cdk_helpers import load_context

    settings = {"gatewaySessionTimeoutSeconds": 7200, "runtimeIdleTimeoutSeconds": 1800, "runtimePlatformVersion": "V2"}
    assembly = create_app(load_context(**settings)).synth()
    gateway = assembly.get_stack_by_name(GATEWAY).template["Resources"]["Gateway"]["Properties"]
    runtime = assembly.get_stack_by_name(TARGET).template["Resources"]["OrdersRuntime"]["Properties"]
    assert gateway["ProtocolConfiguration"]["Mcp"]["SessionConfiguration"]["SessionTimeoutInSeconds"] == 7200
    assert runtime["LifecycleConfiguration"] == {"IdleRuntimeSessionTimeout": 1800, "MaxLifetime": 7200}
    assert runtime["PlatformVersion"] == "V2"
