"""Environments: what `cdk destroy` removes, what prod keeps, tags everywhere, and no accidental replacement."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from app_config import shard_of
from tests.cdk_helpers import ROOT, Assembly, evaluate
from tools import replacement_guard

# Every resource type the app declares, with its lifecycle decision. A new type fails
# test_every_resource_type_has_a_lifecycle_decision until someone decides.
#
# What prod keeps, it keeps with RetainExceptOnCreate wherever it can: retained through every update and delete, but
# deleted when the operation that created it rolls back, so that a failed first deploy (or a failed update that added
# it) leaves nothing behind to block or clutter the retry (CloudFormation DeletionPolicy attribute,
# RetainExceptOnCreate). None of these has a name unique in the account; the one retained resource that had (the
# gateway's log group) is adopted by a custom resource instead (Custom::AdoptedLogGroup below).
RETAINED_EXCEPT_ON_CREATE_IN_PROD = {
    "AWS::Cognito::UserPoolClient": "the client id and secret agents are configured with",
    "AWS::Cognito::UserPoolResourceServer": "the scopes clients were granted",
    "AWS::Logs::LogGroup": "audit trail (the handler's own, named by CloudFormation)",
}
# Retain outright: a rollback's delete of a pool under deletion protection is refused by Cognito
# (InvalidParameterException), which would leave the failed stack in ROLLBACK_FAILED. A retained pool blocks no retry:
# pool names are not unique, and its domain (whose prefix is) is always deleted.
RETAINED_IN_PROD = {
    "AWS::Cognito::UserPool": "every client's credentials and scopes",
    **RETAINED_EXCEPT_ON_CREATE_IN_PROD,
}
ALWAYS_DELETED = {
    # A copy of the runtime client's secret; re-created from the pool on the next deploy. Retained, its
    # fixed name would block that re-creation.
    "AWS::BedrockAgentCore::OAuth2CredentialProvider",
    # Recreatable; a retained domain prefix would block the next deploy from claiming it.
    "AWS::Cognito::UserPoolDomain",
    "AWS::BedrockAgentCore::Gateway",
    "AWS::BedrockAgentCore::GatewayTarget",
    "AWS::BedrockAgentCore::Runtime",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::Lambda::Function",
    "Custom::TokenEndpointGate",
    "AWS::CloudFormation::WaitConditionHandle",  # keeps an empty shard's stack deployable
    # The runtime's own log group is adopted by a custom resource; whether the group outlives the stack is decided
    # by declaring its cleanup or not (test_the_runtime_log_group_is_adopted_and_deleted_only_in_dev).
    "Custom::RuntimeLogGroup",
    "Custom::RuntimeLogGroupCleanup",
    # The gateway's log group: its handler deletes the group on Delete in dev only, and adopts a group left behind
    # on Create (test_the_gateway_log_group_is_adopted_and_deleted_only_in_dev).
    "Custom::AdoptedLogGroup",
    # Observability is configuration: deleted with the stack, re-created as it was by the next deploy (the log
    # group it writes to is what prod keeps). Retained, their fixed names would block that re-creation.
    "AWS::Logs::DeliverySource",
    "AWS::Logs::DeliveryDestination",
    "AWS::Logs::Delivery",
    "AWS::CloudWatch::Dashboard",
    "AWS::CloudWatch::Alarm",
    # A re-created topic asks its email subscribers to confirm again: the price of a destroy that leaves nothing.
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription",
    # The agents' access is configuration too: the engine and its policies, the rate limit. (Their clients are
    # user pool clients, retained above.)
    "AWS::BedrockAgentCore::PolicyEngine",
    "AWS::BedrockAgentCore::Policy",
    "AWS::BedrockAgentCore::GatewayRateLimit",
    # The entries of the declared kinds (config/examples/every-kind/). An API-key provider is a copy of the key in
    # Secrets Manager (the team's secret stays), re-made by the next deploy; retained, its fixed name would block
    # that. A function's permission and a shard's grants are configuration. (A built function's log group is adopted:
    # Custom::AdoptedLogGroup above.)
    "AWS::BedrockAgentCore::ApiKeyCredentialProvider",
    "AWS::Lambda::Permission",
    "AWS::IAM::ManagedPolicy",
    # Opt-in account settings (-c transactionSearch=true): destroying the stack turns Transaction Search off.
    "AWS::XRay::TransactionSearchConfig",
    "AWS::Logs::ResourcePolicy",
}


# The tests' own configuration in both environments, and the example of every kind of entry in both.
SETS = [("dev", "dev"), ("prod", "prod"), ("dev", "example_every_kind"), ("prod", "example_every_kind_prod")]


def test_every_resource_type_has_a_lifecycle_decision(request: pytest.FixtureRequest) -> None:
    decided = set(RETAINED_IN_PROD) | ALWAYS_DELETED
    for _, fixture in SETS:
        assembly: Assembly = request.getfixturevalue(fixture)
        undecided = {
            f"{stack}/{logical_id}: {resource['Type']}"
            for stack, logical_id, resource in assembly.all_resources()
            if resource["Type"] not in decided
        }
        assert not undecided, "decide whether prod retains these, then list them here:\n" + "\n".join(sorted(undecided))


@pytest.mark.parametrize(("env_name", "fixture"), SETS)
def test_removal_policy_of_every_resource(env_name: str, fixture: str, request: pytest.FixtureRequest) -> None:
    assembly: Assembly = request.getfixturevalue(fixture)
    for stack, logical_id, resource in assembly.all_resources():
        retained = env_name == "prod" and resource["Type"] in RETAINED_IN_PROD
        except_on_create = retained and resource["Type"] in RETAINED_EXCEPT_ON_CREATE_IN_PROD
        # CloudFormation's default for a missing policy is Delete; RetainExceptOnCreate is a DeletionPolicy only (a
        # replaced resource is kept with UpdateReplacePolicy Retain).
        expected = {
            "DeletionPolicy": "RetainExceptOnCreate" if except_on_create else "Retain" if retained else "Delete",
            "UpdateReplacePolicy": "Retain" if retained else "Delete",
        }
        for policy, value in expected.items():
            assert resource.get(policy, "Delete") == value, f"{env_name} {stack}/{logical_id} {policy}"


@pytest.mark.parametrize(("env_name", "protected"), [("dev", "INACTIVE"), ("prod", "ACTIVE")])
def test_user_pool_deletion_protection(env_name: str, protected: str, request: pytest.FixtureRequest) -> None:
    assembly: Assembly = request.getfixturevalue(env_name)
    pools = assembly.resources(f"mcpgw-{env_name}-cognito", "AWS::Cognito::UserPool")
    assert len(pools) == 2
    assert {p["Properties"]["DeletionProtection"] for p in pools.values()} == {protected}


@pytest.mark.parametrize(("env_name", "protected"), [("dev", False), ("prod", True)])
def test_stack_termination_protection(env_name: str, protected: bool, request: pytest.FixtureRequest) -> None:
    assembly: Assembly = request.getfixturevalue(env_name)
    stacks = [a for a in assembly.manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack"]
    assert len(stacks) == 10
    for artifact in stacks:
        assert artifact["properties"].get("terminationProtection", False) is protected, artifact["displayName"]


@pytest.mark.parametrize(("env_name", "fixture"), SETS)
def test_every_log_group_has_the_environment_retention(
    env_name: str, fixture: str, request: pytest.FixtureRequest
) -> None:
    days = {"dev": 14, "prod": 365}[env_name]
    assembly: Assembly = request.getfixturevalue(fixture)
    groups = [
        r for _, _, r in assembly.all_resources() if r["Type"] in ("AWS::Logs::LogGroup", "Custom::AdoptedLogGroup")
    ]
    assert len(groups) >= 2  # the custom-resource handler's, and the gateway's (adopted)
    assert {g["Properties"]["RetentionInDays"] for g in groups} == {days}


@pytest.mark.parametrize(("env_name", "remove"), [("dev", "true"), ("prod", "false")])
def test_the_gateway_log_group_is_adopted_and_deleted_only_in_dev(
    env_name: str, remove: str, request: pytest.FixtureRequest
) -> None:
    # Its name is fixed (/aws/vendedlogs/...): a retained LogGroup of that name would make the next create fail with
    # "already exists" after a destroy or a failed first deploy. Adopted, the next deploy takes the group over.
    assembly: Assembly = request.getfixturevalue(env_name)
    stack = f"mcpgw-{env_name}-gateway"
    assert assembly.resources(stack, "AWS::Logs::LogGroup") == {}
    (logical_id, adopted) = assembly.single(stack, "Custom::AdoptedLogGroup")
    props = adopted["Properties"]
    assert props["LogGroupName"] == f"/aws/vendedlogs/bedrock-agentcore/mcpgw-{env_name}-gateway"
    assert props["RemoveOnDelete"] == remove
    assert props["Tags"]["environment"] == env_name
    # The handler may act on exactly that group (aws_rules checks every call against its role on every synth).
    producer, token = assembly.resolve_import(props["ServiceToken"])
    assert producer == f"mcpgw-{env_name}-cognito" and token["Fn::GetAtt"][1] == "Arn"


@pytest.mark.parametrize(("env_name", "fixture", "remove"), [SETS[2] + ("true",), SETS[3] + ("false",)])
def test_a_built_functions_log_group_is_adopted_and_deleted_only_in_dev(
    env_name: str, fixture: str, remove: str, request: pytest.FixtureRequest
) -> None:
    # Lambda would create /aws/lambda/<function> itself on the first call (without retention, never deleted), and a
    # LogGroup of that name would fail "already exists" after a destroy: adopted, as the gateway's, prod keeps it.
    assembly: Assembly = request.getfixturevalue(fixture)
    stack = f"mcpgw-{env_name}-mcp-targets-{shard_of('inventory', 4)}"
    resources = assembly.template(stack)["Resources"]
    function = resources["InventoryFunction"]
    name = f"/aws/lambda/mcpgw-{env_name}-fn-inventory"
    assert function["Properties"]["LoggingConfig"]["LogGroup"] == name
    adopted = resources["InventoryFunctionLogGroup"]
    assert adopted["Type"] == "Custom::AdoptedLogGroup" and "InventoryFunctionLogGroup" in function["DependsOn"]
    props = adopted["Properties"]
    assert props["LogGroupName"] == name and props["RemoveOnDelete"] == remove
    assert props["RetentionInDays"] == {"dev": 14, "prod": 365}[env_name]
    # The group's own deletion policy is always Delete: what prod keeps, the handler keeps (it leaves the group).
    assert adopted["DeletionPolicy"] == "Delete"
    # Nothing else of the function survives a dev destroy, and in prod nothing of it but the group.
    for logical_id in ("InventoryFunction", "InventoryFunctionRole", "InventoryGatewayInvoke", "InventoryTarget"):
        assert resources[logical_id].get("DeletionPolicy", "Delete") == "Delete", logical_id


@pytest.mark.parametrize(("env_name", "days"), [("dev", 14), ("prod", 365)])
def test_the_runtime_log_group_is_adopted_and_deleted_only_in_dev(
    env_name: str, days: int, request: pytest.FixtureRequest
) -> None:
    # AgentCore creates it with the runtime (a LogGroup of that name would fail "already exists"), without
    # retention, and never deletes it: the app adopts it, and its handler deletes it on Delete in dev only.
    assembly: Assembly = request.getfixturevalue(env_name)
    stack = f"mcpgw-{env_name}-mcp-targets-{shard_of('orders', 4)}"
    (_, adopted) = assembly.single(stack, "Custom::RuntimeLogGroup")
    props = adopted["Properties"]

    def names(kind: str, arg: object) -> str:
        return f"<{arg[0] if isinstance(arg, list) else arg}>"

    name = "/aws/bedrock-agentcore/runtimes/<OrdersRuntime>-DEFAULT"
    assert evaluate(props["LogGroupName"], names) == name
    # Tagging is authorized on the bare log-group ARN: the handler tags with this one.
    assert evaluate(props["LogGroupArn"], names) == f"arn:aws:logs:us-east-1:<AWS::AccountId>:log-group:{name}"
    assert props["RetentionInDays"] == days
    assert props["Tags"]["environment"] == env_name and props["Tags"]["cost-centre"] == f"platform-{env_name}"
    # In dev a cleanup deletes the runtime's log groups; the runtime depends on it, so CloudFormation deletes it
    # after the runtime, when no session is left to recreate the group. Prod keeps them: no cleanup.
    cleanups = assembly.resources(stack, "Custom::RuntimeLogGroupCleanup")
    runtime = assembly.template(stack)["Resources"]["OrdersRuntime"]
    if env_name == "prod":
        assert cleanups == {}
    else:
        assert list(cleanups) == ["OrdersRuntimeLogCleanup"]
        assert cleanups["OrdersRuntimeLogCleanup"]["Properties"]["RuntimeName"] == "mcpgw_dev_orders"
        assert "OrdersRuntimeLogCleanup" in runtime["DependsOn"]
    # The one shared handler, in the cognito stack, invoked by CloudFormation directly.
    producer, token = assembly.resolve_import(props["ServiceToken"])
    function = assembly.template(producer)["Resources"][token["Fn::GetAtt"][0]]
    assert producer == f"mcpgw-{env_name}-cognito" and token["Fn::GetAtt"][1] == "Arn"
    assert function["Properties"]["Handler"] == "custom_resources.handler.lambda_handler"


@pytest.mark.parametrize("env_name", ["dev", "prod"])
def test_every_taggable_resource_carries_the_tags(env_name: str, request: pytest.FixtureRequest) -> None:
    assembly: Assembly = request.getfixturevalue(env_name)
    expected = {
        "project": "agentcore-mcp-gateway",
        "environment": env_name,
        "owner": "platform-team",
        "cost-centre": f"platform-{env_name}",
    }
    checked = 0
    for stack, logical_id, resource in assembly.all_resources():
        if resource["Type"].startswith("Custom::"):
            continue
        tagging = replacement_guard.resource_schema(resource["Type"]).get("tagging", {})
        if not tagging.get("taggable"):
            continue
        raw = resource["Properties"].get(tagging["tagProperty"].removeprefix("/properties/"))
        tags = {t["Key"]: t["Value"] for t in raw} if isinstance(raw, list) else (raw or {})
        assert expected.items() <= tags.items(), f"{stack}/{logical_id} ({resource['Type']}) tags: {tags}"
        checked += 1
    assert checked >= 10
    # And every stack itself (CloudFormation gives them to what the templates cannot tag): with
    # @aws-cdk/core:explicitStackTags, only tags set on a stack reach it.
    stacks = [a for a in assembly.manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack"]
    assert stacks and all(expected.items() <= a["properties"].get("tags", {}).items() for a in stacks)


def test_prod_has_no_unreviewed_replacement(shipped_prod: Assembly) -> None:
    # The shipped config/ as prod deploys it, against the identities recorded for it.
    recorded = json.loads((ROOT / "tests" / "stable_identities.json").read_text())
    problems = replacement_guard.replacements(recorded, replacement_guard.identities(shipped_prod.templates))
    assert not problems, (
        "This change replaces resources prod cannot afford to lose:\n"
        + "\n".join(problems)
        + "\nIf deliberate: python -m tools.replacement_guard --update, and say why in the pull request."
    )


def test_replacement_guard_names_the_replacing_property(prod: Assembly) -> None:
    recorded = replacement_guard.identities(prod.templates)
    templates = copy.deepcopy(prod.templates)
    servers = f"mcpgw-prod-mcp-targets-{shard_of('orders', 4)}"
    templates[servers]["Resources"]["OrdersRuntime"]["Properties"]["AgentRuntimeName"] = "renamed"
    provider = templates["mcpgw-prod-credential-provider"]["Resources"].pop("RuntimeOAuthProvider")
    templates["mcpgw-prod-credential-provider"]["Resources"]["RenamedProvider"] = provider

    problems = replacement_guard.replacements(recorded, replacement_guard.identities(templates))

    assert problems == [
        "mcpgw-prod-credential-provider/RuntimeOAuthProvider (AWS::BedrockAgentCore::OAuth2CredentialProvider) is gone:"
        " a rename of its logical id or stack replaces it",
        f"{servers}/OrdersRuntime (AWS::BedrockAgentCore::Runtime) would be replaced:"
        ' AgentRuntimeName "mcpgw_prod_orders" -> "renamed"',
    ]


def test_guard_covers_pools_every_client_gateway_runtime_and_provider(prod: Assembly) -> None:
    recorded = replacement_guard.identities(prod.templates)
    types = sorted(v["type"] for v in recorded.values())
    assert types.count("AWS::Cognito::UserPool") == 2
    # Every agent's client (its credentials are what the agent is configured with) and the runtime pool's.
    clients = {
        f"{stack}/{logical_id}"
        for stack in ("mcpgw-prod-cognito", "mcpgw-prod-credential-provider")
        for logical_id, r in prod.template(stack)["Resources"].items()
        if r["Type"] == "AWS::Cognito::UserPoolClient"
    }
    assert clients == {
        "mcpgw-prod-cognito/AgentPlatformSmokeClient",
        "mcpgw-prod-cognito/AgentOrderViewerClient",
        "mcpgw-prod-credential-provider/RuntimeUserPoolClient",
    }
    assert clients <= set(recorded)
    for resource_type in (
        "AWS::BedrockAgentCore::Gateway",
        "AWS::BedrockAgentCore::Runtime",
        "AWS::BedrockAgentCore::OAuth2CredentialProvider",
    ):
        assert resource_type in types


def test_deploy_order_is_four_waves(dev: Assembly) -> None:
    # README documents this order; `cdk deploy --all --concurrency N` deploys each wave in parallel.
    remaining = {name: dev.stack_dependencies(name) for name in dev.templates}
    waves = []
    while remaining:
        ready = sorted(name for name, deps in remaining.items() if not deps & set(remaining))
        assert ready, f"cyclic stack dependencies: {remaining}"
        waves.append([name.removeprefix("mcpgw-dev-") for name in ready])
        for name in ready:
            del remaining[name]
    shard = shard_of("orders", 4)
    empty = sorted(f"mcp-targets-{i}" for i in range(4) if i != shard)
    # The agents' policies last: the policy engine checks each against the targets' tools.
    # Every shard, empty or not, after the credential provider's token gate.
    assert waves == [
        ["cognito", "gateway-role"],
        ["credential-provider", "gateway"],
        sorted([f"mcp-targets-{shard}", *empty, "monitoring"]),
        ["agents"],
    ]


def test_the_guard_refuses_to_record_the_removal_of_an_output_still_read(
    prod: Assembly, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Removing an agent whose client id the deployed gateway and agents stacks still read cannot be accepted with
    # --update: it takes a deploy with the agent retired first (README, "Onboarding an agent").
    import tools.snapshots

    recorded = tmp_path / "stable_identities.json"
    recorded.write_text(json.dumps(replacement_guard.identities(prod.templates)))
    templates = copy.deepcopy(prod.templates)
    del templates["mcpgw-prod-cognito"]["Resources"]["AgentOrderViewerClient"]
    del templates["mcpgw-prod-cognito"]["Outputs"]["AgentOrderViewerClientId"]
    monkeypatch.setattr(replacement_guard, "IDENTITIES", recorded)
    monkeypatch.setattr(tools.snapshots, "synthesize", lambda env, recorded=None: templates)

    assert replacement_guard.main(["--update"]) == 1
    assert "mcpgw-prod-cognito/AgentOrderViewerClient" in json.loads(recorded.read_text())  # not recorded
    err = capsys.readouterr().err
    assert "still read its output" in err and "retired: true" in err and "not recorded" in err


@pytest.mark.parametrize(("env_name", "fixture"), SETS)
def test_dev_destroy_removes_every_adopted_log_group_and_prod_keeps_them(
    env_name: str, fixture: str, request: pytest.FixtureRequest
) -> None:
    # Adopted groups outlive their resource unless the handler deletes them: in dev it must (a destroy leaves
    # nothing), in prod it must not (prod keeps data).
    assembly: Assembly = request.getfixturevalue(fixture)
    adopted = {
        f"{stack}/{logical_id}": resource["Properties"]["RemoveOnDelete"]
        for stack, logical_id, resource in assembly.all_resources()
        if resource["Type"] == "Custom::AdoptedLogGroup"
    }
    assert adopted, "no adopted log group: the test checks nothing"
    assert set(adopted.values()) == {"true" if env_name == "dev" else "false"}, adopted
