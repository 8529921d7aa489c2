"""Names unique in an account or region: every deployment's carry its prefix and environment, so dev, prod and an e2e
run can share one account (the first deploy-readiness review found dev's and prod's Cedar policies colliding)."""

from __future__ import annotations

import copy
from collections import defaultdict

import pytest

import aws_rules
from app_config import Names
from aws_rules.model import Assembly as Model
from aws_rules.names import DEPLOYMENT_TAG, POLICY_NAME_RULE, UNIQUE_NAMES, unique_names
from tests.cdk_helpers import Assembly
from tests.conftest import synthesize

# As .github/workflows/e2e.yml names its throwaway environment: env dev, prefix e2e<run id> (at most 16 digits).
E2E_PREFIX = "e2e" + "9" * 16


@pytest.fixture(scope="module")
def e2e() -> Assembly:
    return synthesize(env="dev", namePrefix=E2E_PREFIX)


def physical_names(assembly: Assembly) -> dict[str, str]:
    """Every name the deployment claims in its account and region (IAM's without case), with where it is set."""
    model = Model(assembly.templates, None, {n: "us-east-1" for n in assembly.templates})
    found = {f"stack {name}": f"stack {name}" for name in assembly.templates}
    for resource, prop, name in unique_names(model):
        key = name.lower() if resource.type.startswith("AWS::IAM::") else name
        found[f"{resource.type} {key}"] = f"{resource} {prop}"
    # Stricter than Cognito (pool names need not be unique), so a console list never mixes deployments up.
    for pool in model.resources("AWS::Cognito::UserPool"):
        found[f"{pool.type} {pool.properties['UserPoolName']}"] = f"{pool} UserPoolName"
    return found


def test_dev_prod_and_an_e2e_run_in_one_account_claim_no_name_in_common(
    dev: Assembly, prod: Assembly, e2e: Assembly
) -> None:
    claimed: dict[str, list[str]] = defaultdict(list)
    for deployment, assembly in (("dev", dev), ("prod", prod), ("e2e", e2e)):
        names = physical_names(assembly)
        # What the rule covers, at least: a type dropping out of it would make this test pass by checking less.
        types = {key.split(" ")[0] for key in names}
        assert {"AWS::BedrockAgentCore::Policy", "AWS::BedrockAgentCore::Gateway", "AWS::IAM::Role"} <= types
        for key, where in names.items():
            claimed[key].append(f"{deployment}: {where}")
    shared = {key: where for key, where in claimed.items() if len(where) > 1}
    assert not shared, "\n".join(f"{key} claimed by {', '.join(where)}" for key, where in sorted(shared.items()))


def test_a_policy_named_after_its_agent_alone_is_refused(dev: Assembly) -> None:
    templates = copy.deepcopy(dev.templates)
    policy = templates["mcpgw-dev-agents"]["Resources"]["AgentOrderViewerPolicy"]["Properties"]
    policy["Name"] = "order_viewer"
    found = [v for v in aws_rules.check(templates) if v.rule.id == "unique-name-carries-deployment"]
    assert [v.where for v in found] == ["mcpgw-dev-agents/AgentOrderViewerPolicy (AWS::BedrockAgentCore::Policy)"]
    assert "Name 'order_viewer' does not carry the deployment 'mcpgw-dev'" in found[0].detail
    assert "CreatePolicy.name" in UNIQUE_NAMES["AWS::BedrockAgentCore::Policy"][1]


@pytest.mark.parametrize(
    ("name", "carries"),
    [
        ("mcpgw-dev-gateway", True),
        ("/aws/vendedlogs/bedrock-agentcore/mcpgw-dev-gateway", True),
        ("mcpgw_dev_orders-traces", True),
        ("MCPGW-DEV-gateway-role", True),  # IAM and the gateway do not tell case apart
        ("mcpgw-devx-gateway", False),  # another environment starting alike
        ("xmcpgw-dev-gateway", False),
        ("gateway-mcpgw", False),
    ],
)
def test_the_deployment_is_matched_as_a_whole_word(name: str, carries: bool) -> None:
    resource = {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": name, "Tags": [{"Key": DEPLOYMENT_TAG, "Value": "mcpgw-dev"}]},
    }
    found = aws_rules.check({"s": {"Resources": {"Topic": resource}}})
    assert bool([v for v in found if v.rule.id == "unique-name-carries-deployment"]) is not carries


def test_names_from_the_registry_schemas_primary_identifier_are_covered_too() -> None:
    # A dashboard is unique by its name (its registry schema's primary identifier), though UNIQUE_NAMES omits it.
    assert "AWS::CloudWatch::Dashboard" not in UNIQUE_NAMES
    resource = {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {"DashboardName": "gateway", "DashboardBody": "{}"},
    }
    tagged = {"Type": "AWS::SNS::Topic", "Properties": {"Tags": [{"Key": DEPLOYMENT_TAG, "Value": "mcpgw-dev"}]}}
    found = aws_rules.check({"s": {"Resources": {"Dashboard": resource, "Topic": tagged}}})
    assert [v.where for v in found if v.rule.id == "unique-name-carries-deployment"] == [
        "s/Dashboard (AWS::CloudWatch::Dashboard)"
    ]


def test_a_long_policy_name_keeps_the_deployment_and_ends_in_a_stable_hash() -> None:
    names = Names("p" * 20, "e" * 8)
    long_agents = ["a" * 24, "a" * 23 + "b"]
    policies = [names.agent_policy(agent) for agent in long_agents]
    pattern, _ = POLICY_NAME_RULE
    for policy in policies:
        assert len(policy) == 48 and pattern.match(policy)
        assert policy.startswith(f"{'p' * 20}_{'e' * 8}_")
    assert policies[0] != policies[1], "two agents sharing a long start must not share a policy name"
    assert policies == [Names("p" * 20, "e" * 8).agent_policy(agent) for agent in long_agents]
    # Short enough: the plain name, no hash.
    assert Names("mcpgw", "dev").agent_policy("order-viewer") == "mcpgw_dev_order_viewer"
