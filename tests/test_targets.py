"""Many MCP servers behind one gateway: the targets file's rules, stable sharding, and the wiring of each kind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from app import create_app, synthesize
from app_config import ConfigError, ExistingEntry, HostedEntry, load_config, shard_of
from aws_rules import check
from aws_rules.limits import LIMITS, usage
from tests.cdk_helpers import ROOT, Assembly, load_context, schema_and_model_agree
from tests.conftest import write_config

HOSTED: dict[str, Any] = {"name": "orders", "kind": "hosted", "path": "mcp_server"}
EXISTING: dict[str, Any] = {
    "name": "billing",
    "kind": "existing",
    "endpoint": "https://billing.example.com/mcp",
    "oauth": {
        "discoveryUrl": "https://login.example.com/.well-known/openid-configuration",
        "clientId": "gateway",
        "scopes": ["billing/invoke"],
        "clientSecretName": "teams/billing/mcp",
    },
}


def config_with(tmp_path: Path, entries: list[dict[str, Any]], **context):
    return load_config(load_context(**write_config(tmp_path, entries), **context))


def error_for(tmp_path: Path, entries, **context) -> str:
    with pytest.raises(ConfigError) as raised:
        config_with(tmp_path, entries, **context)
    return str(raised.value)


def test_both_kinds_load_into_typed_entries(tmp_path: Path) -> None:
    config = config_with(tmp_path, [HOSTED, EXISTING])
    hosted, existing = config.targets
    assert isinstance(hosted, HostedEntry) and hosted.folder == ROOT / "mcp_server" and not hosted.own_pool
    assert isinstance(existing, ExistingEntry)
    assert (existing.endpoint, existing.oauth.client_secret_name, existing.oauth.scopes) == (
        "https://billing.example.com/mcp",
        "teams/billing/mcp",
        ["billing/invoke"],
    )


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([{**HOSTED, "name": "Orders"}], "targets[0].name: 'Orders' is invalid: must match"),
        (
            [{**HOSTED, "name": "o" * 25}],
            "targets[0].name: " + repr("o" * 25) + " is invalid: must be at most 24 characters",
        ),
        ([{**HOSTED, "kind": "lambda"}], "targets[0]: 'kind' must be 'hosted' or 'existing'"),
        ([{k: v for k, v in HOSTED.items() if k != "path"}], "targets[0]: 'path' is a required property"),
        ([{**HOSTED, "path": "docs"}], "targets[0].path 'docs': no Dockerfile in"),
        (
            [{**EXISTING, "endpoint": "http://billing.example.com/mcp"}],
            "targets[0].endpoint: 'http://billing.example.com/mcp' is invalid",
        ),
        (
            [{**EXISTING, "oauth": {**EXISTING["oauth"], "discoveryUrl": "https://login.example.com/"}}],
            "targets[0].oauth.discoveryUrl: 'https://login.example.com/' is invalid",
        ),
        # A secret pasted into the file is refused: the file may only name a Secrets Manager secret.
        (
            [{**EXISTING, "oauth": {**EXISTING["oauth"], "clientSecret": "hunter2"}}],
            "targets[0].oauth: Additional properties are not allowed ('clientSecret' was unexpected)",
        ),
        (
            [{**EXISTING, "oauth": {k: v for k, v in EXISTING["oauth"].items() if k != "clientSecretName"}}],
            "targets[0].oauth: 'clientSecretName' is a required property",
        ),
        (
            [HOSTED, {**EXISTING, "name": "orders"}],
            "targets[1].name 'orders' duplicates targets[0]: target names are the gateway's tool prefixes and must be unique",
        ),
        ([], "targets: [] is invalid: must list at least 1"),
        # It would take the shared runtime pool's domain and credential provider names.
        ([{**EXISTING, "name": "runtime"}], "targets[0].name 'runtime' is reserved"),
        # Both would be named OrdersV2... (construct ids, logical ids, outputs): refused, not a synth crash.
        (
            [{**EXISTING, "name": "orders-v2"}, {**EXISTING, "name": "orders-v-2"}],
            "targets[1].name 'orders-v-2' and targets[0] both give the resource names OrdersV2",
        ),
    ],
)
def test_each_rule_names_the_entry_and_field(tmp_path: Path, entries: list[dict[str, Any]], expected: str) -> None:
    message = error_for(tmp_path, entries)
    assert message.startswith(f"Invalid configuration targetsFile='{tmp_path / 'targets.yaml'}': ")
    assert expected in message


def test_the_oauth_credential_provider_quota_is_checked(tmp_path: Path) -> None:
    # AgentCore Identity allows 50 OAuth2 credential providers per account and region (L-431051DC): one per existing
    # or own-pool entry, plus the shared runtime pool's.
    entries = [{**EXISTING, "name": f"team{i}"} for i in range(2)] + [{**HOSTED, "name": "private", "ownPool": True}]
    message = error_for(tmp_path, entries, maxOAuthCredentialProviders=3)
    assert "needs 4 OAuth2 credential providers" in message and "quota of 3" in message
    assert "L-431051DC" in message and "-c maxOAuthCredentialProviders=N" in message
    assert len(config_with(tmp_path, entries, maxOAuthCredentialProviders=4).targets) == 3


def test_the_gateway_target_limit_is_checked(tmp_path: Path) -> None:
    entries = [{**EXISTING, "name": f"team{i}"} for i in range(3)]
    assert "3 targets exceed the gateway's limit of 2" in error_for(tmp_path, entries, maxTargetsPerGateway=2)


def test_names_that_would_break_a_service_rule_fail_with_the_derived_name(tmp_path: Path) -> None:
    # 20 + 1 + 3 + 1 + 24 characters: a valid entry name, but the runtime name would exceed 48.
    message = error_for(tmp_path, [{**HOSTED, "name": "a" * 24}], namePrefix="p" * 20)
    assert f"targets.{'a' * 24}={'a' * 24!r}" in message
    assert "gives the runtime name 'pppppppppppppppppppp_dev_" in message and "at most 48 characters" in message


def test_a_missing_or_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    assert "file not found" in str(
        pytest.raises(ConfigError, load_config, load_context(targetsFile=str(tmp_path / "none.yaml"))).value
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("targets: [\n")
    assert "not valid YAML" in str(pytest.raises(ConfigError, load_config, load_context(targetsFile=str(broken))).value)


def test_sharding_is_deterministic_and_stable_under_insertion() -> None:
    names = [f"team-{i}" for i in range(40)]
    before = {name: shard_of(name, 4) for name in names}
    # Fixed values: a change of the hash function would re-home every deployed target.
    assert [shard_of(n, 4) for n in ("orders", "billing", "tickets")] == [3, 0, 2]
    assert set(before.values()) == {0, 1, 2, 3}
    inserted = names[:20] + ["newcomer"] + names[20:]
    after = {name: shard_of(name, 4) for name in inserted}
    assert {n: s for n, s in after.items() if n != "newcomer"} == before


def test_adding_an_entry_changes_its_shard_stack_and_no_other(tmp_path: Path, example_three_targets: Assembly) -> None:
    entries = yaml.safe_load((ROOT / "config" / "examples" / "three-targets.yaml").read_text())["targets"]
    newcomer = {**EXISTING, "name": "newcomer"}
    path = tmp_path / "four.yaml"
    path.write_text(yaml.safe_dump({"targets": entries[:1] + [newcomer] + entries[1:]}))
    # The example's tool locks, beside the targets file as they are beside the example's.
    shutil.copytree(ROOT / "config" / "examples" / "tool-locks", tmp_path / "tool-locks")

    assembly = synthesize(create_app(load_context(targetsFile=str(path))))

    changed = {s.stack_name for s in assembly.stacks if s.template != example_three_targets.template(s.stack_name)}
    assert changed == {f"mcpgw-dev-mcp-targets-{shard_of('newcomer', 4)}"}


def test_removing_a_hosted_entry_empties_its_shard_and_drops_its_dashboard_row(tmp_path: Path) -> None:
    entries = yaml.safe_load((ROOT / "config" / "examples" / "three-targets.yaml").read_text())["targets"]
    # Agents that do not use orders (an agent granted orders would have to let go of it in the same change).
    agents = {"defaultRateLimit": {"requests": 60, "per": "minute"}, "agents": [{"name": "a", "targets": ["billing"]}]}
    three = Assembly.from_cdk_assembly(synthesize(create_app(load_context(**write_config(tmp_path, entries, agents)))))
    two = [e for e in entries if e["name"] != "orders"]
    (tmp_path / "two").mkdir()
    assembly = synthesize(create_app(load_context(**write_config(tmp_path / "two", two, agents))))

    shard = f"mcpgw-dev-mcp-targets-{shard_of('orders', 4)}"
    changed = {s.stack_name for s in assembly.stacks if s.template != three.template(s.stack_name)}
    assert changed == {shard, "mcpgw-dev-monitoring"}
    # The dashboard names its runtimes from the config (no reference to a shard): the row goes, nothing else.
    before = three.template("mcpgw-dev-monitoring")["Resources"]
    after = assembly.get_stack_by_name("mcpgw-dev-monitoring").template["Resources"]
    assert {k for k in before if before[k] != after.get(k)} == {"Dashboard"}
    assert "mcpgw_dev_orders" in json.dumps(before["Dashboard"]) and "mcpgw_dev_orders" not in json.dumps(
        after["Dashboard"]
    )
    # The stack stays, empty, so the deploy deletes what it held: CloudFormation deletes the target before the
    # runtime it points at (one stack, so the order follows the dependency).
    assert list(assembly.get_stack_by_name(shard).template["Resources"]) == ["EmptyShard"]


def test_no_shard_stack_is_referenced_by_another_stack(example_three_targets: Assembly, many: Assembly) -> None:
    # An export of a shard stack would block removing what it exports; and a target sits with its runtime, so
    # the invocation URL needs no cross-stack reference (weak Fn::GetStackOutput included).
    for assembly in (example_three_targets, many):
        for stack_name, template in assembly.templates.items():
            if "-mcp-targets-" in stack_name:
                assert not [o for o in template.get("Outputs", {}).values() if "Export" in o], stack_name
        text = json.dumps(assembly.templates)
        assert (
            '"StackName": "mcpgw-dev-mcp-targets' not in text
            and '"Fn::ImportValue": "mcpgw-dev-mcp-targets' not in text
        )


def test_existing_server_target_uses_its_own_provider_and_a_dynamic_secret_reference(
    example_three_targets: Assembly,
) -> None:
    stack = f"mcpgw-dev-mcp-targets-{shard_of('billing', 4)}"
    resources = example_three_targets.template(stack)["Resources"]
    provider = resources["BillingOAuthProvider"]["Properties"]
    custom = provider["Oauth2ProviderConfigInput"]["CustomOauth2ProviderConfig"]
    assert provider["Name"] == "mcpgw-dev-billing-oauth"
    assert custom["ClientId"] == "gateway-billing"
    assert custom["ClientSecret"] == "{{resolve:secretsmanager:mcp-gateway/billing/client-secret:SecretString:::}}"
    target = resources["BillingTarget"]
    assert (
        target["Properties"]["TargetConfiguration"]["Mcp"]["McpServer"]["Endpoint"]
        == "https://billing.mcp.example.com/mcp"
    )
    oauth = target["Properties"]["CredentialProviderConfigurations"][0]["CredentialProvider"]["OauthCredentialProvider"]
    assert oauth["ProviderArn"] == {"Fn::GetAtt": ["BillingOAuthProvider", "CredentialProviderArn"]}
    assert oauth["Scopes"] == ["billing/mcp.invoke"]
    # Its provider is named like every provider of the deployment: the gateway role's grant covers it.
    assert provider["Name"].startswith("mcpgw-dev-")


def test_every_secret_in_any_template_is_a_reference(example_three_targets: Assembly, dev: Assembly) -> None:
    for assembly in (dev, example_three_targets):
        for stack, logical_id, resource in assembly.all_resources():
            if resource["Type"] != "AWS::BedrockAgentCore::OAuth2CredentialProvider":
                continue
            secret = resource["Properties"]["Oauth2ProviderConfigInput"]["CustomOauth2ProviderConfig"]["ClientSecret"]
            reference = isinstance(secret, dict) and "Fn::GetAtt" in secret
            dynamic = (
                isinstance(secret, str)
                and secret.startswith("{{resolve:secretsmanager:")
                and secret.endswith(":SecretString:::}}")
            )
            assert reference or dynamic, f"{stack}/{logical_id} holds a literal client secret"


def test_each_shard_stays_under_half_of_every_cloudformation_limit(example_three_targets: Assembly) -> None:
    for stack_name, template in example_three_targets.templates.items():
        for what, value in usage(template, example_three_targets.template_bytes(stack_name)).items():
            assert value <= LIMITS[what] / 2, f"{stack_name}: {what} {value}"


def test_a_stack_over_a_limit_fails_naming_stack_figure_and_remedy() -> None:
    template = {"Resources": {f"R{i}": {"Type": "AWS::CloudFormation::WaitConditionHandle"} for i in range(501)}}
    (violation,) = [
        v for v in check({"mcpgw-dev-mcp-targets-1": template}) if v.rule.id == "cloudformation-stack-limits"
    ]
    assert str(violation).startswith(
        "mcpgw-dev-mcp-targets-1: 501 resources, over CloudFormation's limit of 500 [cloudformation-stack-limits:"
    )
    assert "targetShards" in str(violation) and "cloudformation-limits.html" in str(violation)


def test_a_hosted_server_with_its_own_pool_gets_pool_provider_and_gate(many: Assembly) -> None:
    shard = shard_of("private", 4)
    resources = many.template(f"mcpgw-dev-mcp-targets-{shard}")["Resources"]
    assert {"PrivateUserPool", "PrivateUserPoolClient", "PrivateUserPoolDomain", "PrivateRuntime"} <= set(resources)
    jwt = resources["PrivateRuntime"]["Properties"]["AuthorizerConfiguration"]["CustomJWTAuthorizer"]
    assert jwt["AllowedClients"] == [{"Ref": "PrivateUserPoolClient"}]
    provider = resources["PrivateOAuthProvider"]["Properties"]
    assert provider["Name"] == "mcpgw-dev-private-oauth"
    custom = provider["Oauth2ProviderConfigInput"]["CustomOauth2ProviderConfig"]
    assert custom["ClientSecret"] == {"Fn::GetAtt": ["PrivateUserPoolClient", "ClientSecret"]}
    gate = resources["PrivateTokenGate"]
    assert gate["Type"] == "Custom::TokenEndpointGate"
    assert "PrivateUserPoolDomain" in json.dumps(gate["Properties"]["TokenEndpoint"])
    assert gate["Properties"]["ClientId"] == {"Ref": "PrivateUserPoolClient"}
    # The target is created (and synchronizes its tools) only once the pool's new domain issues tokens.
    target = resources["PrivateTarget"]
    assert "PrivateTokenGate" in target["DependsOn"]
    oauth = target["Properties"]["CredentialProviderConfigurations"][0]["CredentialProvider"]["OauthCredentialProvider"]
    assert oauth["ProviderArn"] == {"Fn::GetAtt": ["PrivateOAuthProvider", "CredentialProviderArn"]}
    assert oauth["Scopes"] == ["mcpgw-dev-private/invoke"]


def test_shared_pool_targets_wait_for_the_credential_provider_stacks_gate_not_their_own(many: Assembly) -> None:
    gates = [(s, i) for s, i, r in many.all_resources() if r["Type"] == "Custom::TokenEndpointGate"]
    # One for the shared runtime pool, one for the entry with its own pool: not one per shard or per target.
    assert sorted(gates) == sorted(
        [
            ("mcpgw-dev-credential-provider", "RuntimePoolTokenGate"),
            (f"mcpgw-dev-mcp-targets-{shard_of('private', 4)}", "PrivateTokenGate"),
        ]
    )


@pytest.mark.parametrize("name", ["awsome", "amazonia", "my-cognito"])
def test_an_own_pool_entry_whose_cognito_domain_holds_a_reserved_word_fails_at_synth(tmp_path: Path, name: str) -> None:
    # Cognito refuses domain prefixes containing aws, amazon or cognito; the own pool's domain carries the entry name.
    message = error_for(tmp_path, [{**HOSTED, "name": name, "ownPool": True}])
    assert f"targets.{name}={name!r}: gives the cognito domain 'mcpgw-dev-{name}-123456789012'" in message
    assert "Cognito rejects it" in message
    # Without its own pool the entry has no domain, so the same name is fine.
    assert config_with(tmp_path, [{**HOSTED, "name": name}]).targets[0].name == name


def test_the_committed_schema_is_the_one_the_model_generates() -> None:
    # config/targets.schema.json is for editors and reviewers; the model is what validates. `make schema` writes it.
    from app_config.targets import SCHEMA_FILE, json_schema

    assert json.loads(SCHEMA_FILE.read_text()) == json_schema(), (
        "config/targets.schema.json is stale: run `make schema`"
    )


@pytest.mark.parametrize(
    "document",
    [
        {"targets": [HOSTED, EXISTING]},
        {"targets": [{**HOSTED, "name": "Orders"}]},
        {"targets": [{**HOSTED, "kind": "lambda"}]},
        {"targets": [{**EXISTING, "oauth": {**EXISTING["oauth"], "clientSecret": "hunter2"}}]},
        {"targets": [{**EXISTING, "endpoint": "http://billing.example.com/mcp"}]},
        {"targets": [{**HOSTED, "description": "d" * 181}]},
        {"targets": []},
        {"targets": [HOSTED], "extra": 1},
    ],
)
def test_the_schema_and_the_model_agree(document: dict[str, Any]) -> None:
    from app_config.model import TargetsFile
    from app_config.targets import json_schema

    assert schema_and_model_agree(json_schema(), TargetsFile, document), document


def test_every_shipped_targets_file_validates_against_the_schema() -> None:
    import jsonschema

    from app_config.targets import json_schema

    for path in [ROOT / "config" / "targets.yaml", *(ROOT / "config" / "examples").glob("*.yaml")]:
        jsonschema.validate(yaml.safe_load(path.read_text()), json_schema())


def test_a_shards_hosted_runtimes_share_one_execution_role_trusted_only_by_this_deployments_runtimes(
    many: Assembly,
) -> None:
    for stack_name, template in many.templates.items():
        resources = template["Resources"]
        runtimes = {k: r for k, r in resources.items() if r["Type"] == "AWS::BedrockAgentCore::Runtime"}
        roles = {k for k, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
        if not runtimes:
            assert not roles & {"RuntimeRole"}, stack_name
            continue
        assert "RuntimeRole" in roles, stack_name
        for name, runtime in runtimes.items():
            assert runtime["Properties"]["RoleArn"] == {"Fn::GetAtt": ["RuntimeRole", "Arn"]}, name
            # Created after its grants, or its first image pull fails.
            assert {"RuntimeRole", "RuntimeRolePolicy"} <= set(runtime["DependsOn"]), name
        (statement,) = resources["RuntimeRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "bedrock-agentcore.amazonaws.com"}
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
        source = statement["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1]
        assert source[-1] == ":runtime/mcpgw_dev_*", stack_name
    shared = [s for s, t in many.templates.items() if "RuntimeRole" in t["Resources"]]
    hosted = sum(1 for _, _, r in many.all_resources() if r["Type"] == "AWS::BedrockAgentCore::Runtime")
    assert len(shared) < hosted, "every runtime got its own role: the sharing did nothing"
