"""AWS's deploy-time rules (aws_rules): they hold for every synthesized set, and each catches what it is named after."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import botocore.session
import pytest
from aws_cdk import Acknowledgment, ArnFormat

import aws_rules
from app_config import shard_of
from aws_rules import Violation
from aws_rules.iam import policy_size, role_policies
from aws_rules.model import ACCOUNT, REGION, Assembly
from aws_rules.observability import LOG_TYPE_SERVICES, LOG_TYPES
from tests.cdk_helpers import Assembly as Synthesized


def violations(assembly: Synthesized, templates: dict[str, Any] | None = None) -> list[Violation]:
    # Each stack's region and (where its environment names one) account, as the app's own check reads them.
    _, _, regions, accounts = aws_rules.read_assembly(assembly.outdir)
    return aws_rules.check(templates or assembly.templates, None, regions, accounts=accounts)


# Run on the app of early November 2026, these rules found what would have failed its first deploy: runtime
# log-group grants without :*, the catalog sync's caller without the token permissions, a weak reference
# inside Fn::Split, and the gateway role over its inline quota at nine entries.
@pytest.mark.parametrize(
    "set_name", ["dev", "prod", "example_three_targets", "example_every_kind", "example_every_kind_prod", "many"]
)
def test_every_rule_holds(set_name: str, request: pytest.FixtureRequest) -> None:
    assembly: Synthesized = request.getfixturevalue(set_name)
    assert not violations(assembly), "\n".join(map(str, violations(assembly)))


@pytest.mark.parametrize("larger", ["many", "example_every_kind"])
def test_no_role_policy_grows_with_the_number_of_entries(
    dev: Synthesized, larger: str, request: pytest.FixtureRequest
) -> None:
    # The IAM quotas are per role (10,240 characters of inline policy): a policy per entry on a shared role
    # fails the deploy at some entry count. With 1 entry and with 12, every shared role holds the same.
    def sizes(assembly: Synthesized) -> dict[str, int]:
        model = Assembly(assembly.templates, None, {n: "us-east-1" for n in assembly.templates})
        return {
            f"{role.stack}/{role.logical_id}": sum(
                policy_size(p.document) for p in role_policies(model, role) if p.kind == "inline"
            )
            for role in model.resources("AWS::IAM::Role")
        }

    # Nine entries of every kind (API keys, IAM grants, functions) grow only their shards' own policies.
    small, large = sizes(dev), sizes(request.getfixturevalue(larger))
    shared = set(small) & set(large)
    assert shared, "no role exists in both apps: the comparison checks nothing"
    for role in sorted(shared):
        assert large[role] == small[role], f"{role}: {small[role]} characters with 1 entry, {large[role]} in {larger}"


def only(found: list[Violation], rule_id: str) -> Violation:
    matching = [v for v in found if v.rule.id == rule_id]
    assert len(matching) == 1, [str(v) for v in found]
    return matching[0]


def role(
    name: str = "Role", policies: list[dict[str, Any]] | None = None, trust: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": name,
            "AssumeRolePolicyDocument": trust
            or {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            },
            **({"Policies": policies} if policies else {}),
        },
    }


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_inline_policies_over_10240_characters_together_are_named_with_their_sizes() -> None:
    # Each policy alone is far under the quota; together they are over it, as nine targets' grants were.
    big = document(
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [f"arn:aws:s3:::bucket-{i:04d}/*" for i in range(150)],
        }
    )
    policies = [{"PolicyName": f"p{i}", "PolicyDocument": big} for i in range(3)]
    found = aws_rules.check({"stack": {"Resources": {"Shared": role(policies=policies)}}})
    violation = only(found, "iam-inline-policy-size")
    assert violation.where == "stack/Shared (AWS::IAM::Role)"
    assert "3 inline policies" in violation.detail and "p0 " in violation.detail
    assert "reference_iam-quotas.html" in str(violation)


def test_policies_attached_from_other_stacks_count_toward_the_role() -> None:
    # An AWS::IAM::Policy in another stack, attached through an import of the role's name.
    templates = {
        "roles": {
            "Resources": {"Shared": role()},
            "Outputs": {"Name": {"Value": {"Ref": "Shared"}, "Export": {"Name": "roles:Shared"}}},
        },
        **{
            f"shard{i}": {
                "Resources": {
                    "Grant": {
                        "Type": "AWS::IAM::Policy",
                        "Properties": {
                            "PolicyName": f"grant{i}",
                            "Roles": [{"Fn::ImportValue": "roles:Shared"}],
                            "PolicyDocument": document(
                                {
                                    "Effect": "Allow",
                                    "Action": "s3:GetObject",
                                    "Resource": [f"arn:aws:s3:::shard-{i}-{j:03d}/*" for j in range(80)],
                                }
                            ),
                        },
                    }
                }
            }
            for i in range(5)
        },
    }
    assert "5 inline policies" in only(aws_rules.check(templates), "iam-inline-policy-size").detail


def test_a_long_trust_policy_and_too_many_managed_policies_are_refused() -> None:
    trust = document(
        *[
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/caller-{i:03d}"},
                "Action": "sts:AssumeRole",
            }
            for i in range(40)
        ]
    )
    overloaded = role(trust=trust)
    overloaded["Properties"]["ManagedPolicyArns"] = [f"arn:aws:iam::aws:policy/Policy{i}" for i in range(11)]
    found = aws_rules.check({"stack": {"Resources": {"Busy": overloaded}}})
    assert "11 managed policies" in only(found, "iam-managed-policies-per-role").detail
    assert "trust policy of" in only(found, "iam-trust-policy-size").detail


def test_a_stack_in_a_known_region_is_evaluated_in_that_region_s_partition() -> None:
    # CDK writes the partition literally where it knows the region (@aws-cdk/core:enablePartitionLiterals), so a
    # reference to AWS::Partition must agree with it (else a grant written literally would look missing); sizes
    # still count the longest partition.
    arn = {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:x:*"}
    model = Assembly(
        {"us": {"Resources": {}}, "cn": {"Resources": {}}}, regions={"us": "us-east-1", "cn": "cn-north-1"}
    )
    assert model.evaluate("us", arn) == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:x:*"
    assert model.evaluate("cn", arn) == f"arn:aws-cn:logs:cn-north-1:{ACCOUNT}:log-group:x:*"
    assert policy_size("arn:aws:logs:x") == len(json.dumps("arn:aws-cn:logs:x"))


def test_sizes_assume_the_longest_region_and_a_twelve_digit_account() -> None:
    arn = {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:x:*"}
    model = Assembly({"s": {"Resources": {}}})
    evaluated = model.evaluate("s", arn)
    assert evaluated == f"arn:aws-cn:logs:{REGION}:{ACCOUNT}:log-group:x:*"
    assert len(REGION) == 14 and len(ACCOUNT) == 12 and ACCOUNT.startswith("0")
    # A region written literally is sized as the longest region, so that the check holds in any region.
    assert policy_size("us-east-1", "us-east-1") == len(json.dumps(REGION))


@pytest.mark.parametrize(
    ("actions", "resource", "flagged"),
    [
        (["logs:CreateLogGroup"], "log-group:/aws/x", True),  # evaluated against log-group:/aws/x:*
        (["logs:PutRetentionPolicy", "logs:DeleteLogGroup"], "log-group:/aws/x:*", False),
        (["logs:TagResource"], "log-group:/aws/x:*", True),  # tagging takes the bare ARN
        (["logs:TagResource"], "log-group:/aws/x", False),
        (["logs:CreateLogGroup"], "log-group:/aws/runtimes/*", False),  # a trailing wildcard covers :*
        (["logs:PutLogEvents"], "log-group:/aws/x:log-stream:*", False),
    ],
)
def test_log_group_grants_use_the_arn_form_cloudwatch_logs_authorizes(
    actions: list[str], resource: str, flagged: bool
) -> None:
    statement = {"Effect": "Allow", "Action": actions, "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:{resource}"}
    found = aws_rules.check(
        {"s": {"Resources": {"R": role(policies=[{"PolicyName": "p", "PolicyDocument": document(statement)}])}}}
    )
    matching = [v for v in found if v.rule.id == "logs-log-group-arn-form"]
    assert bool(matching) == flagged, [str(v) for v in found]
    if flagged:
        assert matching[0].where == "s/R (AWS::IAM::Role)" and "API_LogGroup.html" in str(matching[0])


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ({"Fn::GetStackOutput": {"StackName": "a", "OutputName": "O", "RoleArn": "r"}}, False),
        ({"Fn::Join": ["", ["x", {"Fn::GetStackOutput": {"StackName": "a", "OutputName": "O"}}]]}, False),
        (
            {"Fn::Join": ["%3A", {"Fn::Split": [":", {"Fn::GetStackOutput": {"StackName": "a", "OutputName": "O"}}]}]},
            True,
        ),
        ({"Fn::Sub": ["${X}", {"X": {"Fn::GetStackOutput": {"StackName": "a", "OutputName": "O"}}}]}, True),
    ],
)
def test_get_stack_output_only_where_cloudformation_accepted_it(value: Any, flagged: bool) -> None:
    templates: dict[str, Any] = {
        "a": {
            "Resources": {"H": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": {"O": {"Value": "v:w"}},
        },
        "b": {"Resources": {"T": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": value}}}},
    }
    found = [v for v in aws_rules.check(templates) if v.rule.id == "get-stack-output-position"]
    assert bool(found) == flagged, [str(v) for v in found]
    if flagged:
        assert found[0].where == "b/T (AWS::SSM::Parameter)" and "37948" in str(found[0])


def test_a_gateway_role_without_a_targets_grant_is_named_with_what_it_lacks(dev: Synthesized) -> None:
    templates = copy.deepcopy(dev.templates)
    for template in templates.values():
        for resource in template["Resources"].values():
            if (
                resource["Type"] == "AWS::IAM::Role"
                and resource["Properties"].get("RoleName") == "mcpgw-dev-gateway-role"
            ):
                resource["Properties"].pop("Policies", None)
            if resource["Type"] == "AWS::IAM::Policy":
                resource["Properties"]["PolicyDocument"]["Statement"] = [
                    s
                    for s in resource["Properties"]["PolicyDocument"]["Statement"]
                    if "bedrock-agentcore:GetResourceOauth2Token" not in json.dumps(s)
                ]
    found = [v for v in violations(dev, templates) if v.rule.id == "gateway-outbound-oauth-permissions"]
    assert found and all("GatewayTarget" in v.where for v in found)
    assert "GetResourceOauth2Token on arn:aws:bedrock-agentcore:us-east-1:" in found[0].detail
    assert "oauth2credentialprovider/mcpgw-dev-" in found[0].detail


def test_a_derived_name_over_its_schema_length_or_with_a_reserved_word_is_refused() -> None:
    templates = {
        "s": {
            "Resources": {
                "Runtime": {
                    "Type": "AWS::BedrockAgentCore::Runtime",
                    "Properties": {
                        "AgentRuntimeName": {"Fn::Join": ["_", ["p" * 30, {"Ref": "AWS::AccountId"}, "orders"]]}
                    },
                },
                "Domain": {
                    "Type": "AWS::Cognito::UserPoolDomain",
                    "Properties": {
                        "UserPoolId": "us-east-1_AbCdEf123",
                        "Domain": {"Fn::Join": ["-", ["team-aws", {"Ref": "AWS::AccountId"}]]},
                    },
                },
            }
        }
    }
    found = aws_rules.check(templates)
    name = only(found, "name-schema-rule")
    assert name.where == "s/Runtime (AWS::BedrockAgentCore::Runtime)" and "AgentRuntimeName" in name.detail
    domain = only(found, "cognito-domain-prefix")
    assert domain.detail == f"Domain 'team-aws-{ACCOUNT}' contains 'aws', which Cognito rejects"


def test_a_handler_call_without_its_permission_or_declaration_is_named(
    dev: Synthesized, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aws_rules import handlers

    templates = copy.deepcopy(dev.templates)
    role = next(
        r
        for r in templates["mcpgw-dev-cognito"]["Resources"].values()
        if r["Type"] == "AWS::IAM::Role" and r["Properties"].get("Policies", [{}])[0].get("PolicyName") == "handler"
    )
    statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    statements[:] = [s for s in statements if s["Sid"] != "TagRuntimeLogGroups"]
    found = [v for v in violations(dev, templates) if v.rule.id == "custom-resource-caller-permissions"]
    assert [v.where for v in found] == ["mcpgw-dev-mcp-targets-3/OrdersRuntimeLogGroup (Custom::RuntimeLogGroup)"]
    assert "logs.TagResource needs logs:TagResource on arn:aws:logs:us-east-1:" in found[0].detail
    assert found[0].detail.split(" on ")[1].split(";")[0].endswith("-DEFAULT")  # the bare ARN, not :*

    # A call the handler makes but aws_rules does not know about fails too: the table cannot fall behind the code.
    declared = dict(handlers.HANDLER_CALLS)
    declared["Custom::RuntimeLogGroupCleanup"] = [
        c for c in declared["Custom::RuntimeLogGroupCleanup"] if c.operation != "DescribeLogGroups"
    ]
    monkeypatch.setattr(handlers, "HANDLER_CALLS", declared)
    undeclared = only(violations(dev), "custom-resource-declared-calls")
    # Found through client.get_paginator("describe_log_groups") in the handler's source.
    assert undeclared.detail == "custom_resources/runtime_log_cleanup.py calls logs.DescribeLogGroups"


def test_a_pool_without_the_deployment_tag_is_out_of_the_gates_reach(dev: Synthesized) -> None:
    # The handler reads app clients only of pools tagged with the deployment (an IAM condition): without the
    # tag, DescribeUserPoolClient would be denied mid-deploy.
    templates = copy.deepcopy(dev.templates)
    templates["mcpgw-dev-cognito"]["Resources"]["RuntimeUserPool"]["Properties"]["UserPoolTags"].pop(
        "gateway-deployment"
    )
    found = only(violations(dev, templates), "custom-resource-resource-tag-condition")
    assert found.where == "mcpgw-dev-credential-provider/RuntimePoolTokenGate (Custom::TokenEndpointGate)"
    assert "gateway-deployment=mcpgw-dev" in found.detail and "access_tags.html" in str(found)


def test_synth_refuses_an_assembly_that_breaks_a_rule_naming_it() -> None:
    # app.synthesize is what `cdk synth` runs: a broken rule stops it before anything reaches CloudFormation.
    from aws_cdk import Stack
    from aws_cdk import aws_iam as iam

    from app import create_app, synthesize
    from tests.cdk_helpers import load_context

    app = create_app(load_context())
    stack = next(c for c in app.node.children if isinstance(c, Stack) and c.stack_name == "mcpgw-dev-gateway-role")
    role = iam.Role(stack, "Extra", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["logs:PutRetentionPolicy"],
            resources=[
                stack.format_arn(
                    service="logs", resource="log-group", resource_name="x", arn_format=ArnFormat.COLON_RESOURCE_NAME
                )
            ],
        )
    )
    from aws_cdk import Validations

    Validations.of(role).acknowledge(Acknowledgment(id="AwsSolutions::AwsSolutions-IAM5", reason="test-only role"))
    with pytest.raises(aws_rules.RulesError) as raised:
        synthesize(app)
    (violation,) = raised.value.violations
    assert violation.rule.id == "logs-log-group-arn-form" and "ExtraDefaultPolicy" in violation.where
    assert "1 AWS deploy-time rule(s) broken" in str(raised.value)


@pytest.mark.parametrize(
    ("extra", "granted"),
    [
        ({}, True),
        ({"Condition": {"StringEquals": {"aws:ResourceTag/team": "a"}}}, True),  # verified against the resource
        ({"Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}, False),  # cannot be known offline
        ({"NotResource": "arn:aws:s3:::other"}, False),
    ],
)
def test_only_statements_the_rules_can_verify_count_as_a_grant(extra: dict[str, Any], granted: bool) -> None:
    from aws_rules.iam import allows

    statement = {"Effect": "Allow", "Action": "logs:PutRetentionPolicy", "Resource": "arn:aws:logs:*:*:log-group:x:*"}
    assert (
        allows([document({**statement, **extra})], "logs:PutRetentionPolicy", "arn:aws:logs:r:a:log-group:x:*")
        is granted
    )


def test_targets_of_a_stack_are_worked_on_one_at_a_time(many: Synthesized) -> None:
    # AgentCore allows 5 concurrent target operations on a gateway: each shard's targets form a chain, in name
    # order, so 4 stacks deployed in parallel stay under it.
    for stack, template in many.templates.items():
        targets = {
            k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::BedrockAgentCore::GatewayTarget"
        }
        ordered = sorted(targets, key=lambda k: targets[k]["Properties"]["Name"])
        for previous, target in zip(ordered, ordered[1:], strict=False):
            assert previous in targets[target]["DependsOn"], stack
        assert not (set(targets[ordered[0]].get("DependsOn", [])) & set(targets)) if ordered else True

    # Without the chain, six targets in one stack break the rule, which names the stack.
    unordered = {
        "s": {
            "Resources": {f"T{i}": {"Type": "AWS::BedrockAgentCore::GatewayTarget", "Properties": {}} for i in range(6)}
        }
    }
    found = only(aws_rules.check(unordered), "gateway-concurrent-target-operations")
    assert found.where == "s" and "6 targets can be worked on at once" in found.detail
    assert "bedrock-agentcore-limits.html" in str(found)


def test_the_longest_region_is_botocores() -> None:
    from aws_rules.model import PARTITIONS, longest_region

    assert len(REGION) == len(longest_region(PARTITIONS))


GATEWAY_STACK = "mcpgw-dev-gateway"


def test_log_types_are_the_ones_the_logs_api_documents() -> None:
    # PutDeliverySource's logType documentation lists each service's types; LOG_TYPES must say the same.
    model = botocore.session.get_session().get_service_model("logs")
    text = re.sub(
        r"<[^>]+>", "", model.operation_model("PutDeliverySource").input_shape.members["logType"].documentation
    )
    for resource_type, service in LOG_TYPE_SERVICES.items():
        found = re.search(rf"For {re.escape(service)}, the valid values? (?:is|are) ([A-Z_, and]+)\.", text)
        assert found, f"the logs model no longer documents {service}'s log types"
        documented = set(re.findall(r"[A-Z_]{3,}", found.group(1)))
        assert documented == set(LOG_TYPES[resource_type]), resource_type


def test_a_delivery_source_with_a_log_type_its_resource_lacks_is_refused(dev: Synthesized) -> None:
    templates = copy.deepcopy(dev.templates)
    templates[GATEWAY_STACK]["Resources"]["GatewayLogsSource"]["Properties"]["LogType"] = "USAGE_LOGS"
    violation = only(violations(dev, templates), "delivery-log-type")
    assert "GatewayLogsSource" in violation.where and "not USAGE_LOGS" in violation.detail


def test_an_xray_policy_per_deployment_is_refused_and_other_sources_need_one(dev: Synthesized) -> None:
    templates = copy.deepcopy(dev.templates)
    resources = templates[GATEWAY_STACK]["Resources"]
    # A deployment's own X-Ray policy, as the app declared one before AWS created its own per resource type.
    resources["TracesPolicy"] = {
        "Type": "AWS::XRay::ResourcePolicy",
        "Properties": {"PolicyName": "mcpgw-dev-traces", "PolicyDocument": "{}"},
    }
    violation = only(violations(dev, templates), "xray-no-resource-policy-per-deployment")
    assert violation.where == f"{GATEWAY_STACK}/TracesPolicy (AWS::XRay::ResourcePolicy)"
    assert "AWS-logs-infrastructure-V2-XRayTraces.html" in str(violation) and "5 resource policies" in str(violation)
    del resources["TracesPolicy"]

    # Traces of another service's resource: AWS's AgentCore policies do not cover it.
    resources["GatewayTracesSource"]["Properties"]["ResourceArn"] = (
        "arn:aws:bedrock:us-east-1:012345678912:knowledge-base/k"
    )
    found = [v for v in violations(dev, templates) if v.rule.id == "xray-delivery-resource-policy"]
    assert [v.where.split(" ")[0] for v in found] == [f"{GATEWAY_STACK}/GatewayTracesDelivery"]


def test_aws_created_xray_policies_are_counted_against_the_quota() -> None:
    # Six sources of other services: AWS creates one policy per resource, over X-Ray's 5.
    resources: dict[str, Any] = {
        "Destination": {
            "Type": "AWS::Logs::DeliveryDestination",
            "Properties": {"Name": "d", "DeliveryDestinationType": "XRAY"},
        }
    }
    for i in range(6):
        resources[f"Source{i}"] = {
            "Type": "AWS::Logs::DeliverySource",
            "Properties": {
                "Name": f"s{i}",
                "LogType": "TRACES",
                "ResourceArn": f"arn:aws:bedrock:us-east-1:1:knowledge-base/k{i}",
            },
        }
        resources[f"Delivery{i}"] = {
            "Type": "AWS::Logs::Delivery",
            "Properties": {
                "DeliverySourceName": {"Ref": f"Source{i}"},
                "DeliveryDestinationArn": {"Fn::GetAtt": ["Destination", "Arn"]},
            },
        }
    found = only(aws_rules.check({"s": {"Resources": resources}}), "xray-resource-policies-per-account")
    assert "6 X-Ray resource policies" in found.detail and "over 5" in found.detail


def test_a_log_group_destination_is_a_bare_arn_under_vendedlogs(dev: Synthesized) -> None:
    templates = copy.deepcopy(dev.templates)
    destination = templates[GATEWAY_STACK]["Resources"]["GatewayLogsDestination"]["Properties"]
    # The form GetAtt Arn of a LogGroup gives.
    destination["DestinationResourceArn"] = "arn:aws:logs:us-east-1:012345678912:log-group:/aws/vendedlogs/x:*"
    assert "ends in :*" in only(violations(dev, templates), "delivery-log-group-destination").detail
    destination["DestinationResourceArn"] = "arn:aws:logs:us-east-1:012345678912:log-group:/mcp/gateway"
    assert "not under /aws/vendedlogs/" in only(violations(dev, templates), "delivery-log-group-destination").detail


def test_a_log_group_destination_created_before_its_group_is_refused(dev: Synthesized) -> None:
    # The gateway's group is adopted by a custom resource, named by a literal ARN: only DependsOn orders them.
    templates = copy.deepcopy(dev.templates)
    destination = templates[GATEWAY_STACK]["Resources"]["GatewayLogsDestination"]
    del destination["DependsOn"]
    violation = only(violations(dev, templates), "delivery-destination-after-its-log-group")
    assert (
        "neither references nor depends on" in violation.detail
        and "GatewayLogs (Custom::AdoptedLogGroup)" in violation.detail
    )
    del templates[GATEWAY_STACK]["Resources"]["GatewayLogs"]
    violation = only(violations(dev, templates), "delivery-destination-after-its-log-group")
    assert "no log group of its stack is named /aws/vendedlogs/bedrock-agentcore/mcpgw-dev-gateway" in violation.detail


def test_a_delivery_unordered_after_its_source_is_refused(dev: Synthesized) -> None:
    templates = copy.deepcopy(dev.templates)
    delivery = templates[GATEWAY_STACK]["Resources"]["GatewayLogsDelivery"]
    delivery["DependsOn"] = [d for d in delivery["DependsOn"] if d != "GatewayLogsSource"]
    violation = only(violations(dev, templates), "delivery-after-source-and-destination")
    assert "GatewayLogsSource" in violation.detail


@pytest.mark.parametrize("service", ["logs", "cognito-idp"])
def test_the_cached_service_summary_is_botocores_model(service: str) -> None:
    # The rules read a summary of each model, cached on disk; it must say what botocore's own model says.
    from aws_rules.service_models import input_members, operation_names, signing_name

    model = botocore.session.get_session().get_service_model(service)
    assert operation_names(service) == list(model.operation_names)
    assert signing_name(service) == model.signing_name
    for operation in ("DescribeLogGroups", "DescribeUserPoolClient"):
        if operation in model.operation_names:
            shape = model.operation_model(operation).input_shape
            assert input_members(service, operation) == (set(shape.members), set(shape.required_members))


def test_a_gateway_whose_role_cannot_use_its_policy_engine_in_time_is_refused(dev: Synthesized) -> None:
    templates = copy.deepcopy(dev.templates)
    role = templates["mcpgw-dev-gateway-role"]["Resources"]["GatewayServiceRole"]["Properties"]
    (engine_policy,) = [p for p in role["Policies"] if p["PolicyName"] == "policy-engine"]
    (authorize,) = [s for s in engine_policy["PolicyDocument"]["Statement"] if s["Sid"] == "AuthorizeToolCalls"]
    # The engine only, not the gateway.
    authorize["Resource"] = [r for r in authorize["Resource"] if ":gateway/" not in json.dumps(r)]
    violation = only(violations(dev, templates), "gateway-policy-engine-permissions")
    assert "lacks: bedrock-agentcore:AuthorizeAction on arn:" in violation.detail
    assert ":gateway/mcpgw-dev-gateway-" in violation.detail and "GetPolicyEngine" not in violation.detail

    # The same grant attached from the gateway's own stack: created seconds before the gateway, not yet propagated.
    role["Policies"].remove(engine_policy)
    templates[GATEWAY_STACK]["Resources"]["PolicyEngineGrant"] = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "grant",
            "Roles": ["mcpgw-dev-gateway-role"],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "bedrock-agentcore:*", "Resource": "*"}],
            },
        },
    }
    late = only(violations(dev, templates), "gateway-policy-engine-permissions")
    assert "granted in the gateway's own stack, too late for IAM to propagate" in late.detail


def test_a_cedar_policy_over_the_size_limit_is_refused(dev: Synthesized) -> None:
    # Sized as deployed: the gateway ARN and the client id are evaluated, not counted as tokens.
    templates = copy.deepcopy(dev.templates)
    policy = templates["mcpgw-dev-agents"]["Resources"]["AgentOrderViewerPolicy"]["Properties"]
    parts = policy["Definition"]["Cedar"]["Statement"]["Fn::Join"][1]
    many_tools = ", ".join(f'AgentCore::Action::"orders___tool{i}"' for i in range(400))
    parts[0] = parts[0].replace('AgentCore::Action::"orders___getOrder"', many_tools)
    violation = only(violations(dev, templates), "agentcore-policy-size")
    assert "AgentOrderViewerPolicy" in violation.where and "characters" in violation.detail


def _runtime_role_policy(templates: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The first shard's execution-role policy (every shard with a hosted entry has one), to break."""
    for stack, template in sorted(templates.items()):
        if "RuntimeRolePolicy" in template.get("Resources", {}):
            return stack, template["Resources"]["RuntimeRolePolicy"]["Properties"]["PolicyDocument"]
    raise AssertionError("no RuntimeRolePolicy in the assembly")


def _statement(policy: dict[str, Any], action: str) -> dict[str, Any]:
    (found,) = [
        s for s in policy["Statement"] if action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    return found


def _runtime_role_violations(assembly: Synthesized, break_policy: Any) -> list[str]:
    templates = copy.deepcopy(assembly.templates)
    stack, policy = _runtime_role_policy(templates)
    break_policy(policy)
    found = [v for v in violations(assembly, templates) if v.rule.id == "runtime-execution-role"]
    assert found, "the broken role passed every rule"
    assert all(v.where.startswith(f"{stack}/") and "AWS::BedrockAgentCore::Runtime" in v.where for v in found)
    return [v.detail for v in found]


def test_a_runtime_role_without_the_image_pull_is_named(many: Synthesized) -> None:
    # AgentCore Runtime pulls the image with the execution role when it creates the runtime (runtime-permissions
    # doc, ECRImageAccess): without ecr:BatchGetImage on the repository the runtime fails to create.
    def drop_batch_get_image(policy: dict[str, Any]) -> None:
        _statement(policy, "ecr:BatchGetImage")["Action"].remove("ecr:BatchGetImage")

    for detail in _runtime_role_violations(many, drop_batch_get_image):
        # us-east-1 is in the aws partition: the rule reads each stack's partition from its region.
        assert "lacks ecr:BatchGetImage on arn:aws:ecr:us-east-1:" in detail
        assert ":repository/cdk-hnb659fds-container-assets-" in detail


def test_a_runtime_role_writing_logs_on_the_group_arn_is_named(many: Synthesized) -> None:
    # The doc grants CreateLogStream and PutLogEvents on log-group:/aws/bedrock-agentcore/runtimes/*:log-stream:*.
    def on_the_group(policy: dict[str, Any]) -> None:
        statement = _statement(policy, "logs:PutLogEvents")
        joined = statement["Resource"]["Fn::Join"][1]
        joined[-1] = joined[-1].removesuffix(":log-stream:*")

    details = _runtime_role_violations(many, on_the_group)
    assert all("grants logs:PutLogEvents on arn:" in d and "not the group" in d for d in details)
    assert all("grants logs:CreateLogStream on" in d for d in details)


def test_a_runtime_role_putting_metrics_in_any_namespace_is_named(many: Synthesized) -> None:
    def no_condition(policy: dict[str, Any]) -> None:
        del _statement(policy, "cloudwatch:PutMetricData")["Condition"]

    for detail in _runtime_role_violations(many, no_condition):
        assert "grants cloudwatch:PutMetricData without the condition StringEquals cloudwatch:namespace" in detail


def test_a_runtime_role_pulling_from_every_repository_is_named(many: Synthesized) -> None:
    def every_repository(policy: dict[str, Any]) -> None:
        _statement(policy, "ecr:BatchGetImage")["Resource"] = "*"

    for detail in _runtime_role_violations(many, every_repository):
        assert "may pull (ecr:BatchGetImage, ecr:GetDownloadUrlForLayer) from every repository" in detail


def test_a_runtime_role_without_workload_tokens_logs_or_traces_is_named(many: Synthesized) -> None:
    def strip(policy: dict[str, Any]) -> None:
        policy["Statement"] = [
            s
            for s in policy["Statement"]
            if not any(str(a).startswith(("bedrock-agentcore:", "xray:")) for a in _as_list(s["Action"]))
        ]

    for detail in _runtime_role_violations(many, strip):
        assert "lacks bedrock-agentcore:GetWorkloadAccessToken on arn:" in detail
        assert ":workload-identity-directory/default/workload-identity/mcpgw_dev_" in detail
        assert "lacks xray:PutTraceSegments on *" in detail


def test_a_runtime_created_before_its_roles_policy_is_named(many: Synthesized) -> None:
    templates = copy.deepcopy(many.templates)
    stack, _ = _runtime_role_policy(templates)
    runtimes = [r for r in templates[stack]["Resources"].values() if r["Type"] == "AWS::BedrockAgentCore::Runtime"]
    for runtime in runtimes:
        runtime["DependsOn"] = [d for d in runtime["DependsOn"] if d != "RuntimeRolePolicy"]
    found = [v for v in violations(many, templates) if v.rule.id == "runtime-execution-role"]
    assert len(found) == len(runtimes)
    assert all(f"does not wait for {stack}/RuntimeRolePolicy (AWS::IAM::Policy)" in v.detail for v in found)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize(
    "deny",
    [
        {"Effect": "Deny", "Action": "logs:PutRetentionPolicy", "Resource": "*"},
        {"Effect": "Deny", "Action": "logs:*", "Resource": "arn:aws:logs:r:a:log-group:x:*"},
        # A Deny wins whatever its conditions: the rules cannot know them false, so they take it as denying.
        {
            "Effect": "Deny",
            "Action": "logs:Put*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ],
)
def test_an_explicit_deny_overrides_every_allow_in_the_rules_iam_evaluation(deny: dict[str, Any]) -> None:
    from aws_rules.iam import allows

    allow = {"Effect": "Allow", "Action": "logs:PutRetentionPolicy", "Resource": "arn:aws:logs:*:*:log-group:x:*"}
    action, resource = "logs:PutRetentionPolicy", "arn:aws:logs:r:a:log-group:x:*"
    assert allows([document(allow)], action, resource)
    # In either order, in one document or in two (an inline and a managed policy of one role).
    assert not allows([document(allow, deny)], action, resource)
    assert not allows([document(deny, allow)], action, resource)
    assert not allows([document(allow), document(deny)], action, resource)
    assert not allows([document(deny), document(allow)], action, resource)
    # A Deny of another action or resource denies nothing here.
    assert allows([document(allow, {**deny, "Action": "s3:GetObject"})], action, resource)


# --- every kind of target (aws_rules/targets.py): each rule on a deliberate breakage of the every-kind example ---

EVERY_KIND_SHARDS = {name: f"mcpgw-dev-mcp-targets-{shard_of(name, 4)}" for name in ("inventory", "pricing", "pets")}
GRANTS_STACK = f"mcpgw-dev-mcp-targets-{shard_of('shipping', 4)}"  # the shard holding the grants policy


def _broken(assembly: Synthesized, breakage: Any) -> list[Violation]:
    templates = copy.deepcopy(assembly.templates)
    breakage(templates)
    return violations(assembly, templates)


def _only_rule(found: list[Violation], rule_id: str) -> list[Violation]:
    """The violations, all of `rule_id`: the breakage broke exactly that rule."""
    assert found, "the breakage passed every rule"
    assert {v.rule.id for v in found} == {rule_id}, "\n".join(map(str, found))
    return found


def _drop_gateway_role_statements(templates: dict[str, Any], *sids: str) -> None:
    """The gateway role's outbound statements named `sids` removed, in whichever of its policies they are."""
    role = templates["mcpgw-dev-gateway-role"]["Resources"]["GatewayServiceRole"]["Properties"]
    for policy in role["Policies"]:
        if policy["PolicyName"] in ("outbound-oauth", "outbound-api-keys"):
            statements = policy["PolicyDocument"]["Statement"]
            statements[:] = [s for s in statements if s["Sid"] not in sids]


def _shard_grants(templates: dict[str, Any]) -> list[dict[str, Any]]:
    grants: list[dict[str, Any]] = templates[GRANTS_STACK]["Resources"]["GatewayGrants"]["Properties"][
        "PolicyDocument"
    ]["Statement"]
    return grants


@pytest.mark.parametrize(
    ("sid", "lacking"),
    [
        ("ResourceApiKey", "GetResourceApiKey on arn:aws:bedrock-agentcore:us-east-1:{account}:token-vault/default"),
        (
            "ProviderApiKeys",
            "GetSecretValue on arn:aws:secretsmanager:us-east-1:{account}:secret:bedrock-agentcore-identity!default/"
            "apikey/mcpgw-dev-{entry}-apikey-",
        ),
        ("WorkloadAccessToken", "GetWorkloadAccessToken on arn:aws:bedrock-agentcore:us-east-1:{account}:workload-"),
    ],
)
def test_an_api_key_target_whose_role_cannot_fetch_its_key_is_named(
    example_every_kind: Synthesized, sid: str, lacking: str
) -> None:
    def drop(templates: dict[str, Any]) -> None:
        _drop_gateway_role_statements(templates, sid)

    found = [v for v in _broken(example_every_kind, drop) if v.rule.id == "gateway-outbound-api-key-permissions"]
    # Both API-key targets (an existing MCP server's and an OpenAPI API's); the OAuth target's own rule also fires
    # when the workload-token statement goes, so only this rule's are counted here.
    assert sorted(v.where.split("/")[1].split(" ")[0] for v in found) == ["CatalogTarget", "PetsTarget"]
    for violation, entry in zip(sorted(found, key=lambda v: v.where), ["catalog", "pets"], strict=True):
        assert lacking.format(account=ACCOUNT, entry=entry) in violation.detail


def test_api_key_grants_missing_break_only_the_api_key_rule(example_every_kind: Synthesized) -> None:
    def drop(templates: dict[str, Any]) -> None:
        _drop_gateway_role_statements(templates, "ResourceApiKey", "ProviderApiKeys")

    _only_rule(_broken(example_every_kind, drop), "gateway-outbound-api-key-permissions")


def test_a_built_function_without_its_resource_policy_is_named(example_every_kind: Synthesized) -> None:
    def drop(templates: dict[str, Any]) -> None:
        resources = templates[EVERY_KIND_SHARDS["inventory"]]["Resources"]
        del resources["InventoryGatewayInvoke"]
        resources["InventoryTarget"]["DependsOn"].remove("InventoryGatewayInvoke")

    (violation,) = _only_rule(_broken(example_every_kind, drop), "gateway-lambda-invoke")
    assert violation.where == f"{EVERY_KIND_SHARDS['inventory']}/InventoryTarget (AWS::BedrockAgentCore::GatewayTarget)"
    assert f"lambda:InvokeFunction on arn:aws:lambda:us-east-1:{ACCOUNT}:function:mcpgw-dev-fn-inventory" in (
        violation.detail
    )


@pytest.mark.parametrize(
    "breakage",
    [
        # The account's root: it delegates to the role's own policies, which do not allow it.
        lambda p: p.update(Principal={"Fn::Join": ["", ["arn:aws:iam::", {"Ref": "AWS::AccountId"}, ":root"]]}),
        lambda p: p.update(Principal="bedrock-agentcore.amazonaws.com"),  # the service, not the gateway's role
        lambda p: p.update(FunctionName="arn:aws:lambda:us-east-1:111122223333:function:another-function"),
        lambda p: p.update(SourceAccount={"Ref": "AWS::AccountId"}),  # a condition the gateway's call lacks
    ],
)
def test_a_resource_policy_allowing_something_else_does_not_count(
    example_every_kind: Synthesized, breakage: Any
) -> None:
    def change(templates: dict[str, Any]) -> None:
        breakage(templates[EVERY_KIND_SHARDS["pricing"]]["Resources"]["PricingGatewayInvoke"]["Properties"])

    (violation,) = _only_rule(_broken(example_every_kind, change), "gateway-lambda-invoke")
    assert "PricingTarget" in violation.where


def test_a_function_in_another_region_needs_the_roles_own_grant(example_every_kind: Synthesized) -> None:
    elsewhere = "arn:aws:lambda:eu-west-1:111122223333:function:pricing-tools"

    def move(templates: dict[str, Any]) -> None:
        resources = templates[EVERY_KIND_SHARDS["pricing"]]["Resources"]
        resources["PricingTarget"]["Properties"]["TargetConfiguration"]["Mcp"]["Lambda"]["LambdaArn"] = elsewhere
        resources["PricingGatewayInvoke"]["Properties"]["FunctionName"] = elsewhere

    (violation,) = _only_rule(_broken(example_every_kind, move), "gateway-lambda-invoke")
    assert f"the function {elsewhere} is in another account or region" in violation.detail

    def granted(templates: dict[str, Any]) -> None:
        move(templates)
        _shard_grants(templates).append(
            {"Sid": "PricingInvoke", "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": elsewhere}
        )

    assert not _broken(example_every_kind, granted)


@pytest.mark.parametrize(
    ("breakage", "lacking"),
    [
        # One operation's grant gone: the path parameter's operation.
        (
            lambda s: s["Resource"].pop(1),
            "execute-api:Invoke on arn:aws:execute-api:us-east-1:{account}:a1b2c3d4e5/prod/GET/shipments/a1b2c3",
        ),
        # A grant on another stage.
        (lambda s: s.update(Resource="arn:aws:execute-api:us-east-1:*:a1b2c3d4e5/test/*"), "a1b2c3d4e5/prod/GET/"),
    ],
)
def test_an_api_gateway_operation_the_role_may_not_invoke_is_named(
    example_every_kind: Synthesized, breakage: Any, lacking: str
) -> None:
    def change(templates: dict[str, Any]) -> None:
        (statement,) = [s for s in _shard_grants(templates) if s["Sid"] == "ShippingInvoke"]
        breakage(statement)

    (violation,) = _only_rule(_broken(example_every_kind, change), "gateway-api-gateway-invoke")
    assert "ShippingTarget" in violation.where and lacking.format(account=ACCOUNT) in violation.detail


def _add_post_filter(tools: dict[str, Any]) -> None:
    tools["ToolFilters"][1]["Methods"].append("POST")


def _add_post_override(tools: dict[str, Any]) -> None:
    tools["ToolOverrides"].append({"Name": "createShipment", "Method": "POST", "Path": "/shipments"})


@pytest.mark.parametrize("add_post", [_add_post_filter, _add_post_override])
def test_a_tool_filter_or_override_without_its_grant_is_named(example_every_kind: Synthesized, add_post: Any) -> None:
    def change(templates: dict[str, Any]) -> None:
        target = templates[GRANTS_STACK]["Resources"]["ShippingTarget"]["Properties"]
        add_post(target["TargetConfiguration"]["Mcp"]["ApiGateway"]["ApiGatewayToolConfiguration"])

    (violation,) = _only_rule(_broken(example_every_kind, change), "gateway-api-gateway-invoke")
    assert violation.detail.endswith(
        f"execute-api:Invoke on arn:aws:execute-api:us-east-1:{ACCOUNT}:a1b2c3d4e5/prod/POST/shipments"
    )


def test_a_schema_in_s3_the_role_may_not_read_is_named(example_every_kind: Synthesized) -> None:
    def to_s3(templates: dict[str, Any]) -> None:
        target = templates[EVERY_KIND_SHARDS["pets"]]["Resources"]["PetsTarget"]["Properties"]
        target["TargetConfiguration"]["Mcp"]["OpenApiSchema"] = {"S3": {"Uri": "s3://pets-specs/v1/openapi.json"}}

    (violation,) = _only_rule(_broken(example_every_kind, to_s3), "gateway-s3-schema-read")
    assert violation.detail.endswith("s3:GetObject on arn:aws:s3:::pets-specs/v1/openapi.json (OpenApiSchema)")

    def granted(templates: dict[str, Any]) -> None:
        to_s3(templates)
        _shard_grants(templates).append(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pets-specs/v1/openapi.json"}
        )

    assert not _broken(example_every_kind, granted)


@pytest.mark.parametrize(
    ("sid", "target", "details"),
    [
        ("LambdaApi", "LambdaApiTarget", ["holds no statement named after the entry (LambdaApi<n>)"]),
        (
            "Reports",
            "ReportsTarget",
            [
                "holds no statement named after the entry (Reports<n>)",
                "lacks execute-api:Invoke on arn:aws:execute-api:us-east-1:<account>:abcde12345/prod/POST/mcp",
            ],
        ),
    ],
)
def test_an_iam_signed_target_without_its_declared_grants_is_named(
    example_every_kind: Synthesized, sid: str, target: str, details: list[str]
) -> None:
    def drop(templates: dict[str, Any]) -> None:
        statements = _shard_grants(templates)
        # Every statement of the entry (<Label><n>).
        statements[:] = [s for s in statements if not s["Sid"].rstrip("0123456789") == sid]

    (violation,) = _only_rule(_broken(example_every_kind, drop), "gateway-iam-target-grants")
    assert target in violation.where and all(d in violation.detail for d in details), violation.detail


def test_an_iam_mcp_server_created_before_its_grant_is_named(example_every_kind: Synthesized) -> None:
    # Its create lists the server's tools with the gateway's role: the grant must exist by then.
    def unordered(templates: dict[str, Any]) -> None:
        templates[GRANTS_STACK]["Resources"]["ReportsTarget"]["DependsOn"].remove("GatewayGrants")

    (violation,) = _only_rule(_broken(example_every_kind, unordered), "gateway-iam-target-grants")
    assert "ReportsTarget" in violation.where
    assert f"does not wait for {GRANTS_STACK}/GatewayGrants (AWS::IAM::ManagedPolicy)" in violation.detail


def test_a_shard_policy_over_the_managed_policy_size_fails_naming_it(example_every_kind: Synthesized) -> None:
    def grow(templates: dict[str, Any]) -> None:
        statement = _shard_grants(templates)[0]
        statement["Resource"] = [statement["Resource"]] + [
            f"arn:aws:execute-api:us-east-1:111122223333:abcde12345/prod/POST/mcp/{i:04d}" for i in range(100)
        ]

    (violation,) = _only_rule(_broken(example_every_kind, grow), "iam-managed-policy-size")
    assert violation.where == f"{GRANTS_STACK}/GatewayGrants (AWS::IAM::ManagedPolicy)"


@pytest.mark.parametrize(("shards", "refused"), [(10, False), (11, True), (20, True)])
def test_a_grants_policy_per_shard_counts_toward_the_roles_managed_policies(
    example_every_kind: Synthesized, shards: int, refused: bool
) -> None:
    # One managed policy per shard that needs identity grants: IAM attaches at most 10 to a role (adjustable to 20),
    # so more than 10 such shards is refused at synth, naming the policies (the quota must be raised first).
    def spread(templates: dict[str, Any]) -> None:
        policy = templates[GRANTS_STACK]["Resources"]["GatewayGrants"]
        for shard in range(shards):
            copied = copy.deepcopy(policy)
            copied["Properties"]["ManagedPolicyName"] = f"mcpgw-dev-gateway-shard-{shard}"
            templates.setdefault(f"mcpgw-dev-mcp-targets-{shard}", {"Resources": {}})
            templates[f"mcpgw-dev-mcp-targets-{shard}"]["Resources"]["GatewayGrants"] = copied

    found = _broken(example_every_kind, spread)
    if not refused:
        assert not found, "\n".join(map(str, found))
        return
    (violation,) = _only_rule(found, "iam-managed-policies-per-role")
    assert violation.where == "mcpgw-dev-gateway-role/GatewayServiceRole (AWS::IAM::Role)"
    assert violation.detail.startswith(f"{shards} managed policies attached (mcpgw-dev-gateway-shard-")


def _inventory_function(templates: dict[str, Any]) -> dict[str, Any]:
    resources: dict[str, Any] = templates[EVERY_KIND_SHARDS["inventory"]]["Resources"]
    return resources


@pytest.mark.parametrize(
    ("breakage", "detail"),
    [
        (
            lambda r: r["InventoryFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
            ),
            "allows s3:GetObject on *: more than its own log streams",
        ),
        (
            lambda r: r["InventoryFunctionRole"]["Properties"].update(
                ManagedPolicyArns=["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
            ),
            "has managed policies attached: arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        ),
        (
            lambda r: r["InventoryFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0][
                "Action"
            ].remove("logs:PutLogEvents"),
            "lacks logs:PutLogEvents on arn:aws:logs:us-east-1:",
        ),
        (lambda r: r["InventoryFunction"]["Properties"].update(Architectures=["x86_64"]), "not ['arm64']"),
        (lambda r: r["InventoryFunction"]["Properties"].update(Runtime="python9.9"), "'python9.9' is not one of"),
        (lambda r: r["InventoryFunction"].update(DependsOn=["InventoryFunctionRole"]), "does not wait for its log"),
        (
            lambda r: r.update(
                InventoryFunctionLogGroup={
                    "Type": "AWS::Logs::LogGroup",
                    "Properties": {"LogGroupName": "/aws/lambda/mcpgw-dev-fn-inventory"},
                }
            ),
            "has no RetentionInDays",
        ),
        (
            lambda r: r["InventoryFunction"]["Properties"]["LoggingConfig"].update(LogGroup="/aws/lambda/elsewhere"),
            "not a log group the app declares",
        ),
    ],
)
def test_a_built_function_beyond_its_own_logs_is_named(
    example_every_kind: Synthesized, breakage: Any, detail: str
) -> None:
    (violation,) = _only_rule(
        _broken(example_every_kind, lambda t: breakage(_inventory_function(t))), "tool-function-least-privilege"
    )
    assert violation.where == f"{EVERY_KIND_SHARDS['inventory']}/InventoryFunction (AWS::Lambda::Function)"
    assert detail in violation.detail, violation.detail


def test_an_environment_naming_its_account_passes_every_rule() -> None:
    # CDK writes a named account literally into ARNs, beside the AWS::AccountId references the same templates hold:
    # the rules must evaluate both to that account (they once took AWS::AccountId for a stand-in, and failed every
    # environment that names its account). The every-kind example's function is in that account, so no note either.
    from app import create_app, synthesize
    from tests.cdk_helpers import shipped_context
    from tools.snapshots import SETS

    context = shipped_context(**SETS["example-every-kind"], account="111122223333")
    assembly = synthesize(create_app(context))  # aws_rules.enforce runs in it
    _, _, _, accounts = aws_rules.read_assembly(assembly.directory)
    assert set(accounts.values()) == {"111122223333"}
    gateway = next(s for s in assembly.stacks if s.stack_name == "mcpgw-dev-gateway-role").template
    assert "111122223333" in json.dumps(gateway)
