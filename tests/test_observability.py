"""Observability: where the gateway's and the runtimes' logs and traces go, the alarms and what they notify, the
dashboard, and the opt-in Transaction Search."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app_config import shard_of
from tests.cdk_helpers import Assembly
from tests.conftest import synthesize
from tests.test_config import env_override

GATEWAY = "mcpgw-dev-gateway"
MONITORING = "mcpgw-dev-monitoring"


def by_type(assembly: Assembly, resource_type: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [(s, k, r) for s, k, r in assembly.all_resources() if r["Type"] == resource_type]


def test_gateway_application_logs_reach_its_log_group(dev: Assembly) -> None:
    resources = dev.template(GATEWAY)["Resources"]
    group = resources["GatewayLogs"]
    # Adopted, not a LogGroup: the name is fixed and prod keeps the group (see test_lifecycle).
    assert group["Type"] == "Custom::AdoptedLogGroup"
    assert group["Properties"]["LogGroupName"] == "/aws/vendedlogs/bedrock-agentcore/mcpgw-dev-gateway"
    assert group["Properties"]["RetentionInDays"] == 14
    source = resources["GatewayLogsSource"]["Properties"]
    assert (source["LogType"], source["ResourceArn"]) == ("APPLICATION_LOGS", {"Fn::GetAtt": ["Gateway", "GatewayArn"]})
    destination = resources["GatewayLogsDestination"]
    assert destination["Properties"]["DestinationResourceArn"]["Fn::Join"][1][-1] == (
        ":log-group:/aws/vendedlogs/bedrock-agentcore/mcpgw-dev-gateway"
    )
    # CloudWatch Logs checks the group when the destination is created: the adoption runs first.
    assert "GatewayLogs" in destination["DependsOn"]
    delivery = resources["GatewayLogsDelivery"]
    assert delivery["Properties"]["DeliveryDestinationArn"] == {"Fn::GetAtt": ["GatewayLogsDestination", "Arn"]}
    assert delivery["Properties"]["DeliverySourceName"] == source["Name"]


def test_prod_keeps_gateway_logs_a_year(prod: Assembly) -> None:
    group = prod.template("mcpgw-prod-gateway")["Resources"]["GatewayLogs"]["Properties"]
    assert group["RetentionInDays"] == 365 and group["RemoveOnDelete"] == "false"


def test_every_trace_goes_to_one_xray_destination_per_deployment(many: Assembly) -> None:
    # The gateway's traces and every hosted runtime's; one destination for all, and no X-Ray resource policy of the
    # deployment's own: AWS's per-type ones cover AgentCore traces (X-Ray allows 5 resource policies per account).
    destinations = by_type(many, "AWS::Logs::DeliveryDestination")
    xray = [(s, k) for s, k, r in destinations if r["Properties"].get("DeliveryDestinationType") == "XRAY"]
    assert xray == [(GATEWAY, "TracesDestination")]
    assert by_type(many, "AWS::XRay::ResourcePolicy") == []
    traced = sorted(
        (s, r["Properties"]["ResourceArn"]["Fn::GetAtt"][0])
        for s, _, r in by_type(many, "AWS::Logs::DeliverySource")
        if r["Properties"]["LogType"] == "TRACES"
    )
    hosted = sorted((s, k) for s, k, r in many.all_resources() if r["Type"] == "AWS::BedrockAgentCore::Runtime")
    assert traced == sorted([(GATEWAY, "Gateway"), *hosted])
    assert len(hosted) == 5


def test_runtime_traces_reach_the_gateway_stacks_destination(dev: Assembly) -> None:
    stack = f"mcpgw-dev-mcp-targets-{shard_of('orders', 4)}"
    delivery = dev.template(stack)["Resources"]["OrdersRuntimeTracesDelivery"]["Properties"]
    producer, value = dev.resolve_import(delivery["DeliveryDestinationArn"])
    assert (producer, value) == (GATEWAY, {"Fn::GetAtt": ["TracesDestination", "Arn"]})
    source = dev.template(stack)["Resources"]["OrdersRuntimeTracesSource"]["Properties"]
    assert source["Name"] == "mcpgw_dev_orders-traces" and source["LogType"] == "TRACES"


def test_the_traces_make_aws_create_two_xray_policies_for_every_deployment_together(
    dev: Assembly, many: Assembly
) -> None:
    # AWS creates one X-Ray resource policy per AgentCore resource type that delivers traces, shared by the whole
    # account: the gateway's and the runtimes', whatever the number of runtimes or deployments.
    from aws_rules.model import Assembly as Model
    from aws_rules.observability import aws_created_xray_policies

    for assembly in (dev, many):
        created = aws_created_xray_policies(Model(assembly.templates))
        assert created == {"bedrock-agentcore gateway", "bedrock-agentcore runtime"}


def alarms(assembly: Assembly, stack: str = MONITORING) -> dict[str, dict[str, Any]]:
    return {
        k: r["Properties"]
        for k, r in assembly.template(stack)["Resources"].items()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }


def test_alarms_watch_the_gateway_and_notify_the_topic_both_ways(dev: Assembly) -> None:
    found = alarms(dev)
    assert set(found) == {"SystemErrorsAlarm", "LatencyP99Alarm"}
    errors, latency = found["SystemErrorsAlarm"], found["LatencyP99Alarm"]
    assert (errors["MetricName"], errors["Statistic"], errors["Threshold"]) == ("SystemErrors", "Sum", 5)
    assert (latency["MetricName"], latency["ExtendedStatistic"], latency["Threshold"]) == ("Latency", "p99", 5000)
    for alarm in (errors, latency):
        assert alarm["Namespace"] == "AWS/Bedrock-AgentCore"
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert dimensions["Operation"] == "InvokeGateway" and dimensions["Protocol"] == "MCP"
        assert dev.resolve_import(dimensions["Resource"]) == (GATEWAY, {"Fn::GetAtt": ["Gateway", "GatewayArn"]})
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}]
        assert alarm["TreatMissingData"] == "notBreaching"
        # What to look at first, where: the description is what an on-call engineer reads in the notification.
        assert "Look first at" in alarm["AlarmDescription"] and "mcpgw-dev-gateway" in alarm["AlarmDescription"]
    assert "5 or more server errors" in errors["AlarmDescription"]
    assert "above 5000 ms" in latency["AlarmDescription"]


def test_alarms_fire_on_what_their_descriptions_promise(dev: Assembly) -> None:
    # "N or more server errors in 5 minutes": at the threshold, in one 5-minute period. "Stayed above N ms for 10
    # minutes": strictly above it, in both of two 5-minute periods (one slow period is not an alarm).
    found = alarms(dev)
    errors, latency = found["SystemErrorsAlarm"], found["LatencyP99Alarm"]
    assert errors["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert (errors["Period"], errors["EvaluationPeriods"], errors.get("DatapointsToAlarm", 1)) == (300, 1, 1)
    assert latency["ComparisonOperator"] == "GreaterThanThreshold"
    assert (latency["Period"], latency["EvaluationPeriods"], latency["DatapointsToAlarm"]) == (300, 2, 2)
    # What the descriptions say, in the same figures.
    assert "in 5 minutes" in errors["AlarmDescription"] and "for 10 minutes" in latency["AlarmDescription"]
    assert latency["Period"] * latency["EvaluationPeriods"] == 600 and errors["Period"] == 300


def test_the_gateways_traces_go_to_xray_and_its_logs_to_its_log_group(many: Assembly) -> None:
    # Each delivery, followed from its source to its destination: traces reach only the X-Ray destination (X-Ray is
    # the only place CloudWatch Logs delivers traces to), application logs only the gateway's log group.
    resources = many.template(GATEWAY)["Resources"]
    sources = {
        r["Properties"]["Name"]: r["Properties"] for r in resources.values() if r["Type"] == "AWS::Logs::DeliverySource"
    }
    routes = {}
    for delivery in [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Logs::Delivery"]:
        source = sources[delivery["DeliverySourceName"]]
        destination_id, attribute = delivery["DeliveryDestinationArn"]["Fn::GetAtt"]
        assert attribute == "Arn"
        routes[(source["ResourceArn"]["Fn::GetAtt"][0], source["LogType"])] = resources[destination_id]["Properties"]
    assert set(routes) == {("Gateway", "TRACES"), ("Gateway", "APPLICATION_LOGS")}
    traces = routes[("Gateway", "TRACES")]
    assert (traces["Name"], traces["DeliveryDestinationType"]) == ("mcpgw-dev-traces", "XRAY")
    assert "DestinationResourceArn" not in traces
    logs = routes[("Gateway", "APPLICATION_LOGS")]
    assert "DeliveryDestinationType" not in logs
    assert (
        json.dumps(logs["DestinationResourceArn"]).endswith(
            ':log-group:/aws/vendedlogs/bedrock-agentcore/mcpgw-dev-gateway"]]}'
        )
        or {"Ref": "GatewayLogs"} in logs["DestinationResourceArn"]["Fn::Join"][1]
    )


def test_prod_alarms_on_a_tighter_latency(prod: Assembly) -> None:
    assert alarms(prod, "mcpgw-prod-monitoring")["LatencyP99Alarm"]["Threshold"] == 3000


def test_thresholds_and_emails_come_from_the_environment() -> None:
    context = env_override(alarmEmails=["oncall@example.com", "lead@example.com"], alarmSystemErrors=20)
    from app import create_app
    from app import synthesize as synth

    assembly = Assembly.from_cdk_assembly(synth(create_app(context)))
    resources = assembly.template(MONITORING)["Resources"]
    subscriptions = sorted(
        (r["Properties"]["Protocol"], r["Properties"]["Endpoint"])
        for r in resources.values()
        if r["Type"] == "AWS::SNS::Subscription"
    )
    assert subscriptions == [("email", "lead@example.com"), ("email", "oncall@example.com")]
    assert alarms(assembly)["SystemErrorsAlarm"]["Threshold"] == 20


def test_the_alarm_topic_refuses_unencrypted_publishing(dev: Assembly) -> None:
    policy = dev.template(MONITORING)["Resources"]["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]
    (statement,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert statement["Principal"] == {"AWS": "*"} and statement["Action"] == "sns:Publish"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert not [r for _, _, r in by_type(dev, "AWS::SNS::Subscription")], "no email configured, none subscribed"


def dashboard_body(assembly: Assembly) -> str:
    body = assembly.template(MONITORING)["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
    return "".join(part if isinstance(part, str) else "<token>" for part in body["Fn::Join"][1])


def test_the_dashboard_shows_gateway_tools_and_each_hosted_runtime(example_three_targets: Assembly) -> None:
    body = json.loads(dashboard_body(example_three_targets))
    titles = [w["properties"].get("title") for w in body["widgets"] if w["type"] == "metric"]
    assert titles[:5] == [
        "Calls, errors and throttles",
        "Latency (ms)",
        "Calls per tool",
        "Errors per tool",
        "Latency p99 per tool (ms)",
    ]
    # The deployment's built Lambda functions, always (none here); then one row per hosted runtime (orders); the
    # existing servers run elsewhere and have no runtime metrics here.
    assert titles[5:7] == [
        "Lambda tool functions: calls, errors, throttles",
        "Lambda tool functions: duration p99 (ms)",
    ]
    assert titles[7:] == ["Runtime mcpgw_dev_orders: calls, errors, sessions", "Runtime mcpgw_dev_orders: latency (ms)"]
    expressions = [
        m[0]["expression"]
        for w in body["widgets"]
        if w["type"] == "metric"
        for m in w["properties"]["metrics"]
        if isinstance(m[0], dict) and "expression" in m[0]
    ]
    assert all(e.startswith("SEARCH(") and e.endswith(", 300)") for e in expressions)
    assert any('Method="tools/call"' in e and 'Resource="<token>"' in e for e in expressions)
    assert any('Name="mcpgw_dev_orders::DEFAULT"' in e for e in expressions)
    assert [w["type"] for w in body["widgets"]].count("alarm") == 1


def test_the_lambda_row_finds_the_deployments_functions_by_prefix(example_every_kind: Assembly) -> None:
    body = json.loads(dashboard_body(example_every_kind))
    row = [w for w in body["widgets"] if w["type"] == "metric" and w["properties"]["title"].startswith("Lambda ")]
    searched = {
        (m[0]["expression"], m[0]["label"]) for w in row for m in w["properties"]["metrics"] if "expression" in m[0]
    }
    terms = "{AWS/Lambda,FunctionName} FunctionName=mcpgw-dev-fn"
    assert searched == {
        (f"SEARCH('{terms} MetricName=\"Invocations\"', 'Sum', 300)", "calls "),
        (f"SEARCH('{terms} MetricName=\"Errors\"', 'Sum', 300)", "errors "),
        (f"SEARCH('{terms} MetricName=\"Throttles\"', 'Sum', 300)", "throttles "),
        (f"SEARCH('{terms} MetricName=\"Duration\"', 'p99', 300)", "p99 "),
    }
    # The built function's name has the prefix the SEARCH looks for (its shard names it).
    functions = [
        r["Properties"].get("FunctionName") for _, _, r in by_type(example_every_kind, "AWS::Lambda::Function")
    ]
    assert "mcpgw-dev-fn-inventory" in functions


def test_entries_of_every_kind_leave_the_monitoring_stack_as_it_is(dev: Assembly, example_every_kind: Assembly) -> None:
    # dev has one hosted entry (orders); the example has the same one plus an entry of every other kind: the
    # monitoring stack is the same, so adding a lambda, openapi, smithy, apiGateway or existing entry changes its
    # shard only (the Lambda row finds functions by prefix; the per-tool graphs by the gateway's tool metrics).
    assert example_every_kind.template(MONITORING) == dev.template(MONITORING)


def test_the_alarms_say_where_each_kind_of_target_keeps_its_errors(dev: Assembly) -> None:
    errors = alarms(dev)["SystemErrorsAlarm"]["AlarmDescription"]
    assert "/aws/lambda/mcpgw-dev-fn-<entry>" in errors and "'Lambda tool functions' row" in errors
    assert "openapi, smithy, apiGateway: the gateway logs hold the API's answer" in errors
    assert "AWS/ApiGateway by ApiName and Stage" in errors and "its runtime's row" in errors
    latency = alarms(dev)["LatencyP99Alarm"]["AlarmDescription"]
    assert "a function's duration p99" in latency
    # CloudFormation's AWS::CloudWatch::Alarm AlarmDescription: at most 1024 characters (cfn-lint's schema).
    assert max(len(errors), len(latency)) <= 1024


def test_the_dashboard_url_names_the_dashboard(dev: Assembly) -> None:
    outputs = dev.template(MONITORING)["Outputs"]
    assert outputs["DashboardName"]["Value"] == "mcpgw-dev-gateway"
    assert outputs["DashboardUrl"]["Value"].endswith("?region=us-east-1#dashboards/dashboard/mcpgw-dev-gateway")


@pytest.fixture(scope="module")
def with_transaction_search() -> Assembly:
    return synthesize(transactionSearch=True, transactionSearchIndexingPercentage=10)


def test_transaction_search_is_opt_in(dev: Assembly, with_transaction_search: Assembly) -> None:
    assert not by_type(dev, "AWS::XRay::TransactionSearchConfig")
    stack = with_transaction_search.template("mcpgw-transaction-search")["Resources"]
    config = stack["TransactionSearch"]
    assert config["Properties"]["IndexingPercentage"] == 10
    # The spans' log group must be writable by X-Ray before Transaction Search is turned on.
    assert config["DependsOn"] == ["XRayWritesSpans"]
    policy = json.dumps(stack["XRayWritesSpans"]["Properties"]["PolicyDocument"])
    assert "xray.amazonaws.com" in policy and "aws/spans" in policy and "aws:SourceAccount" in policy
    # One account setting, not a deployment's: named after the prefix, not the environment.
    assert set(with_transaction_search.templates) - set(dev.templates) == {"mcpgw-transaction-search"}


def test_removing_an_alarm_email_leaves_the_other_subscriptions_alone() -> None:
    from app import create_app
    from app import synthesize as synth

    def subscriptions(emails: list[str]) -> dict[str, str]:
        assembly = Assembly.from_cdk_assembly(synth(create_app(env_override(alarmEmails=emails))))
        resources = assembly.template(MONITORING)["Resources"]
        return {k: r["Properties"]["Endpoint"] for k, r in resources.items() if r["Type"] == "AWS::SNS::Subscription"}

    both = subscriptions(["first@example.com", "second@example.com"])
    second = subscriptions(["second@example.com"])
    assert set(second.items()) < set(both.items())


def test_cloudwatch_may_publish_this_deployments_alarms_to_the_topic(dev: Assembly) -> None:
    # A topic policy replaces the default one: without an Allow for CloudWatch, alarm actions fail with "not
    # authorized to perform: SNS:Publish" and nobody hears of the alarm (SNS developer guide, "Amazon SNS access
    # policy": CloudWatch alarms publishing to a topic with a policy of its own).
    policy = dev.template(MONITORING)["Resources"]["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]
    (allow,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and allow["Action"] == "sns:Publish"
    assert allow["Resource"] == {"Ref": "AlarmTopic"}
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    sources = json.dumps(allow["Condition"]["ArnEquals"]["aws:SourceArn"])
    for alarm in alarms(dev).values():
        assert f":alarm:{alarm['AlarmName']}" in sources
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_the_account_wide_transaction_search_stack_is_always_termination_protected(
    with_transaction_search: Assembly,
) -> None:
    # Named after the prefix, not the environment: dev's `cdk destroy --all` must not turn it off for prod.
    (artifact,) = [
        a
        for a in with_transaction_search.manifest["artifacts"].values()
        if a["type"] == "aws:cloudformation:stack" and a["properties"]["stackName"] == "mcpgw-transaction-search"
    ]
    assert artifact["properties"]["terminationProtection"] is True
