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
from app_config.rules import TARGET_DESCRIPTION_MAX, sync_revision
from app_config.tool_locks import HOSTED_LOCK_FILE, read_lock
from aws_rules import check
from aws_rules.limits import LIMITS, usage
from tests.cdk_helpers import ROOT, Assembly, load_context, schema_and_model_agree
from tests.conftest import many_agents, many_entries, write_config
from tools import snapshots

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
    assert isinstance(existing, ExistingEntry) and existing.oauth is not None
    assert (existing.endpoint, existing.oauth.client_secret_name, existing.oauth.scopes) == (
        "https://billing.example.com/mcp",
        "teams/billing/mcp",
        ["billing/invoke"],
    )


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (
            [{**HOSTED, "name": "Orders"}],
            "targets[0].name: 'Orders' is invalid: must be 1-24 lowercase letters and digits, starting with a letter, "
            "in words joined by single hyphens (no hyphen at the end)",
        ),
        (
            [{**HOSTED, "name": "o" * 25}],
            "targets[0].name: " + repr("o" * 25) + " is invalid: must be 1-24 lowercase letters",
        ),
        (
            [{**HOSTED, "kind": "ftp"}],
            "targets[0]: 'kind' must be one of 'hosted', 'existing', 'lambda', 'openapi', 'smithy', 'apiGateway'",
        ),
        ([{k: v for k, v in HOSTED.items() if k != "path"}], "targets[0]: 'path' is a required property"),
        ([{**HOSTED, "path": "app_config"}], "targets[0].path 'app_config': no Dockerfile in app_config/"),
        # Reported as "no Dockerfile" before: the folder is not there at all.
        ([{**HOSTED, "path": "servers/orders"}], "targets[0].path 'servers/orders': no such folder in the repository"),
        # The image would be built from files no review of this repository saw.
        ([{**HOSTED, "path": "../mcp_server"}], "targets[0].path '../mcp_server' is outside the repository"),
        ([{**HOSTED, "path": "/tmp"}], "targets[0].path '/tmp' is outside the repository"),
        (
            [{**EXISTING, "oauth": {**EXISTING["oauth"], "scopes": ["billing invoke"]}}],
            "targets[0].oauth.scopes[0]: 'billing invoke' is invalid: must be an OAuth scope: printable ASCII "
            "without spaces",
        ),
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


SECRET = "hunter2-0a1b2c"


@pytest.mark.parametrize(
    ("field", "url", "says"),
    [
        ("endpoint", f"https://gateway:{SECRET}@billing.example.com/mcp", "user information before '@'"),
        ("endpoint", f"https://billing.example.com/mcp?api_key={SECRET}", "the query parameter 'api_key'"),
        ("endpoint", f"https://billing.example.com/mcp?v=2&access_token={SECRET}", "'access_token'"),
        ("endpoint", f"https://billing.example.com/mcp?X-Amz-Signature={SECRET}", "'X-Amz-Signature'"),
        ("endpoint", f"https://billing.example.com/mcp?sig={SECRET}", "the query parameter 'sig'"),
        ("endpoint", f"https://billing.example.com/mcp#access_token={SECRET}", "the fragment parameter 'access_token'"),
        ("discoveryUrl", f"https://{SECRET}@login.example.com/.well-known/openid-configuration", "user information"),
        ("discoveryUrl", f"https://login.example.com/?secret={SECRET}/.well-known/openid-configuration", "'secret'"),
        # A secret pasted where its name belongs.
        ("clientSecretName", f"{SECRET}!#%", "must be a Secrets Manager secret name"),
        # Refused for another reason, with a query string it may still hold a credential: not shown either.
        ("endpoint", f"http://billing.example.com/mcp?k={SECRET}", "must be an https:// URL"),
    ],
)
def test_credentials_in_an_entry_are_refused_without_showing_them(
    tmp_path: Path, field: str, url: str, says: str
) -> None:
    # Endpoints and discovery URLs are written into the templates, the snapshots and every diff.
    entry = (
        {**EXISTING, "endpoint": url}
        if field == "endpoint"
        else {**EXISTING, "oauth": {**EXISTING["oauth"], field: url}}
    )
    message = error_for(tmp_path, [entry])
    where = "targets[0].endpoint: " if field == "endpoint" else f"targets[0].oauth.{field}: "
    assert where in message and says in message and "\n" not in message
    assert SECRET not in message


def test_a_key_written_twice_in_one_entry_is_refused_with_its_line(tmp_path: Path) -> None:
    # A team shipped another team's image this way: the second `path:` silently won.
    path = tmp_path / "targets.yaml"
    path.write_text(
        "targets:\n"
        "  - name: orders\n"
        "    kind: hosted\n"
        "    path: mcp_server\n"
        "    tools: [ping]\n"
        "    path: other_team/mcp_server\n"
    )
    message = str(pytest.raises(ConfigError, load_config, load_context(targetsFile=str(path))).value)
    assert message == (
        f"Invalid configuration targetsFile='{path}': line 6: the key 'path' is written twice in one mapping (first "
        "at line 4); YAML would keep the last value silently"
    )
    # A merge key may repeat what it merges: that is YAML's own override, written on purpose.
    path.write_text(
        "base: &base {kind: hosted, path: mcp_server, tools: [ping]}\ntargets:\n  - <<: *base\n    name: orders\n"
    )
    assert "Additional properties are not allowed ('base'" in str(
        pytest.raises(ConfigError, load_config, load_context(targetsFile=str(path))).value
    )


def test_an_empty_file_and_broken_yaml_are_said_in_one_line_without_quoting_the_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# the servers go here\n")
    message = str(pytest.raises(ConfigError, load_config, load_context(targetsFile=str(empty))).value)
    assert message.endswith(": the file is empty (or only comments): see config/examples/ for what it holds")
    broken = tmp_path / "broken.yaml"
    broken.write_text(f"targets:\n  - name: billing\n    oauth: {{clientSecret: {SECRET}\n")
    message = str(pytest.raises(ConfigError, load_config, load_context(targetsFile=str(broken))).value)
    assert "not valid YAML at line " in message and "\n" not in message and SECRET not in message


def test_a_string_rule_with_a_pattern_says_it_in_words() -> None:
    # Users read the rule, not a regular expression.
    from app_config.rules import text

    with pytest.raises(TypeError, match="needs the rule in words"):
        text(pattern=r"^[a-z]+$")


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
    example = snapshots.SETS["example-three-targets"]
    entries = yaml.safe_load((ROOT / example["targetsFile"]).read_text())["targets"]
    newcomer = {**EXISTING, "name": "newcomer"}
    path = tmp_path / "four.yaml"
    path.write_text(yaml.safe_dump({"targets": entries[:1] + [newcomer] + entries[1:]}))
    # The example's tool locks, beside the targets file as they are beside the example's.
    shutil.copytree(ROOT / "config" / "examples" / "three-targets" / "tool-locks", tmp_path / "tool-locks")

    assembly = synthesize(create_app(load_context(**{**example, "targetsFile": str(path)})))

    changed = {s.stack_name for s in assembly.stacks if s.template != example_three_targets.template(s.stack_name)}
    assert changed == {f"mcpgw-dev-mcp-targets-{shard_of('newcomer', 4)}"}


def test_removing_a_hosted_entry_empties_its_shard_and_drops_its_dashboard_row(tmp_path: Path) -> None:
    entries = yaml.safe_load((ROOT / snapshots.SETS["example-three-targets"]["targetsFile"]).read_text())["targets"]
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

    for path in [ROOT / "config" / "targets.yaml", *(ROOT / "config" / "examples").glob("*/targets.yaml")]:
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


def test_a_change_of_declared_tools_or_sync_token_updates_the_target_and_nothing_else(
    tmp_path: Path, many: Assembly
) -> None:
    # The gateway refreshes a target's tool catalog only when the target is created or updated (AgentCore guide, MCP
    # server targets; terraform-provider-aws#50023). A tool added to a server, to its entry's tools: and to an agent
    # would otherwise reach the agents stack with a catalog that lacks it, and the engine refuses the policy.
    entries = many_entries()
    by_name = {e["name"]: e for e in entries}
    # hosted3 and remote1 are granted only tool by tool, so no agent's policy changes with their tools.
    # remote1 is unpinned (no tool lock): its declared tools stand for its contract.
    by_name["remote1"]["tools"] = ["fetch", "search", "summarize"]
    # A server change its lock does not show (a tool's behaviour, not its contract): its team bumps syncToken.
    by_name["hosted3"]["syncToken"] = "2026-12-03"
    changed = synthesize(create_app(load_context(env="dev", **write_config(tmp_path, entries, many_agents()))))

    differences = set()
    for stack in changed.stacks:
        before, after = many.template(stack.stack_name)["Resources"], stack.template["Resources"]
        assert set(before) == set(after), stack.stack_name
        for logical_id in before:
            if before[logical_id] != after[logical_id]:
                old, new = before[logical_id]["Properties"], after[logical_id]["Properties"]
                keys = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
                differences.add((logical_id, *sorted(keys)))
        assert many.template(stack.stack_name).get("Outputs") == stack.template.get("Outputs")
    assert differences == {("Hosted3Target", "Description"), ("Remote1Target", "Description")}
    # A hosted entry's revision follows its folder's tool lock (a lock change: tests/test_tool_locks.py).
    locks = {"hosted3": read_lock(ROOT / "mcp_server" / HOSTED_LOCK_FILE, shown="x", entry="hosted3").sha256}
    for entry, logical_id in (("hosted3", "Hosted3Target"), ("remote1", "Remote1Target")):
        shard = f"mcpgw-dev-mcp-targets-{shard_of(entry, 4)}"
        description = changed.get_stack_by_name(shard).template["Resources"][logical_id]["Properties"]["Description"]
        lock = locks.get(entry)
        assert description.endswith(
            f"sync {sync_revision(by_name[entry].get('tools'), by_name[entry].get('syncToken'), lock)})"
        )
        assert len(description) <= 200


def test_the_sync_revision_follows_the_declared_tools_as_a_set_and_the_token() -> None:
    base = sync_revision(["getOrder", "updateOrder"], None)
    assert sync_revision(["updateOrder", "getOrder"], None) == base  # reordering is no change to the catalog
    assert sync_revision(["getOrder", "updateOrder", "cancelOrder"], None) != base
    assert sync_revision(["getOrder"], None) != base
    assert sync_revision(["getOrder", "updateOrder"], "2") != base != sync_revision(None, None)
    assert sync_revision(["getOrder", "updateOrder"], "2") != sync_revision(["getOrder", "updateOrder"], "3")
    # With a tool lock, its sha256 stands for the tools (every word of every tool), and the token still counts.
    locked = sync_revision(["getOrder", "updateOrder"], None, "a" * 64)
    assert locked != base and locked != sync_revision(["getOrder", "updateOrder"], None, "b" * 64)
    assert locked != sync_revision(["getOrder", "updateOrder"], "2", "a" * 64)


def test_the_longest_description_fits_the_services_limit_with_both_markers(tmp_path: Path) -> None:
    # 160 characters, the image hash and the sync revision: 196 of the 200 the service allows.
    entries = [{**HOSTED, "description": "d" * TARGET_DESCRIPTION_MAX, "syncToken": "x" * 32}]
    assembly = Assembly.from_cdk_assembly(synthesize(create_app(load_context(**write_config(tmp_path, entries)))))
    (_, target) = assembly.single(
        f"mcpgw-dev-mcp-targets-{shard_of('orders', 4)}", "AWS::BedrockAgentCore::GatewayTarget"
    )
    assert len(target["Properties"]["Description"]) <= 200
    longer = [{**HOSTED, "description": "d" * (TARGET_DESCRIPTION_MAX + 1)}]
    assert f"must be at most {TARGET_DESCRIPTION_MAX} characters" in error_for(tmp_path, longer)


@pytest.mark.parametrize(
    ("sync_token", "why"),
    [("", "must be 1-32 letters"), ("has space", "must be 1-32 letters"), (2, "must be 1-32 letters")],
)
def test_a_bad_sync_token_names_the_entry_and_the_rule(tmp_path: Path, sync_token: object, why: str) -> None:
    message = error_for(tmp_path, [{**EXISTING, "syncToken": sync_token}])
    assert "targets[0].syncToken" in message and why in message and "\n" not in message


def test_a_tool_listed_twice_in_an_entry_is_refused_in_one_line(tmp_path: Path) -> None:
    message = error_for(tmp_path, [{**EXISTING, "tools": ["search", "fetch", "search"]}])
    assert message == (
        f"Invalid configuration targetsFile='{tmp_path / 'targets.yaml'}': targets[0].tools lists 'search' twice"
    )


def test_a_smoke_tool_must_be_one_of_the_entrys_tools(tmp_path: Path) -> None:
    entry = {**HOSTED, "tools": ["getOrder", "updateOrder"], "smokeTool": "getOrder"}
    assert config_with(tmp_path, [entry]).targets[0].smoke_tool == "getOrder"
    # A hosted entry declaring no tools offers its lock's (mcp_server/tools.lock.json).
    assert config_with(tmp_path, [{**HOSTED, "smokeTool": "getOrder"}]).targets[0].smoke_tool == "getOrder"
    no_agents = {"defaultRateLimit": {"requests": 1, "per": "minute"}, "agents": []}
    for bad, declared in (
        ({**entry, "smokeTool": "cancelOrder"}, "getOrder, updateOrder"),
        ({**HOSTED, "smokeTool": "x"}, "getOrder, updateOrder"),
        ({**EXISTING, "smokeTool": "x"}, "none declared"),
    ):
        with pytest.raises(ConfigError) as raised:
            load_config(load_context(**write_config(tmp_path, [bad], no_agents)))
        assert f"targets[0].smokeTool {bad['smokeTool']!r} is not one of its tools ({declared})" in str(raised.value)


@pytest.mark.parametrize(
    "path",
    [
        "config/targets.yaml",
        "config/agents.yaml",
        *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "config" / "examples").glob("*/*.yaml"))),
        *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "tests" / "fixtures").glob("*/*.yaml"))),
    ],
)
def test_every_config_file_declares_its_schema_for_editors(path: str) -> None:
    # yaml-language-server (VS Code's YAML extension and others) completes and checks a file by its first line.
    first = (ROOT / path).read_text().splitlines()[0]
    kind = "agents" if Path(path).stem.endswith("agents") else "targets"
    assert first.startswith("# yaml-language-server: $schema="), path
    schema = (ROOT / path).parent / first.split("$schema=", 1)[1]
    assert schema.resolve() == ROOT / "config" / f"{kind}.schema.json"
