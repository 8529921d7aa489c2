"""The gateway at work: one dashboard (calls, errors, throttles, latency; per tool; the deployment's built Lambda
functions; per hosted runtime) and alarms on system errors and p99 latency, notifying a topic.

Declared with the L1s and the dashboard body written as data: the L2 metric, widget and alarm-action objects cost a
jsii round trip each at every synth for what is a fixed JSON document, and the data reads as what CloudWatch gets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns

from constructs import Construct
from constructs.nag import acknowledge

NAMESPACE = "AWS/Bedrock-AgentCore"
# Gateway metrics arrive batched per minute; five-minute figures keep a dashboard readable and alarms calm.
PERIOD = 300


def gateway_dimensions(gateway_arn: str) -> dict[str, str]:
    """The dimensions of the gateway's own metrics, as the Gateway L2's metric helpers set them (aws-cdk-lib 2.275,
    GatewayBase.metric: Operation, Protocol, Resource)."""
    return {"Operation": "InvokeGateway", "Protocol": "MCP", "Resource": gateway_arn}


# The gateway's per-tool metrics carry the MCP method and the tool's name (<target>___<tool>), but AWS does not
# document their full dimension set: the dashboard finds them with a SEARCH that names no schema (any dimension set
# holding these values matches). README, "Observability": check with `aws cloudwatch list-metrics`.
TOOL_TERMS = f'Namespace="{NAMESPACE}" Method="tools/call"'
# A runtime's metrics: the Runtime L2's own dimension set (Operation, Name = <runtime name>::<endpoint>, Resource).
RUNTIME_SCHEMA = "{AWS/Bedrock-AgentCore,Name,Operation,Resource}"
# The Lambda functions built for `lambda` entries, all in one fixed row (adding an entry changes its shard only, not
# this dashboard): a SEARCH over Lambda's per-function metrics whose FunctionName holds the deployment's function
# prefix. CloudWatch's search-expression syntax (AmazonCloudWatch/latest/monitoring/search-expression-syntax.html):
# an unquoted term is a partial match, and a term with non-alphanumeric characters matches the consecutive tokens
# of a name ("mcpgw-dev-fn" finds mcpgw-dev-fn-inventory, not mcpgw-prod-fn-inventory); a quoted term matches the
# whole value only, so a prefix cannot be quoted. The terms are ANDed; names are tokenized at "-", so a function
# named McpgwDevFn... would match too (none of this deployment's is).
FUNCTION_SCHEMA = "{AWS/Lambda,FunctionName}"


class GatewayAlarms(Construct):
    """Alarms on the gateway's system errors and p99 latency, each naming what to look at first, notifying `topic`
    (the environment's alarm emails subscribe to it) when they fire and when they recover."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        gateway_arn: str,
        topic_name: str,
        alarm_names: tuple[str, str],
        system_errors: int,
        latency_p99_ms: int,
        emails: Sequence[str],
        dashboard_name: str,
        log_group_name: str,
        function_prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        if system_errors < 1 or latency_p99_ms < 1:
            raise ValueError(f"{self.node.path}: alarm thresholds must be positive")
        self.topic = sns.CfnTopic(self, "Topic", topic_name=topic_name, display_name="MCP gateway alarms")
        stack = Stack.of(self)
        # A topic policy replaces the topic's default one: CloudWatch may publish this deployment's alarms (and only
        # those), and nobody may publish over plain HTTP (cdk-nag AwsSolutions-SNS3).
        alarms = [
            f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:{name}" for name in alarm_names
        ]
        sns.CfnTopicPolicy(
            self,
            "TopicPolicy",
            topics=[self.topic.ref],
            policy_document=iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        sid="CloudWatchAlarmsPublish",
                        principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                        actions=["sns:Publish"],
                        resources=[self.topic.ref],
                        conditions={
                            "StringEquals": {"aws:SourceAccount": stack.account},
                            "ArnEquals": {"aws:SourceArn": alarms},
                        },
                    ),
                    iam.PolicyStatement(
                        sid="AllowPublishThroughSSLOnly",
                        effect=iam.Effect.DENY,
                        principals=[iam.AnyPrincipal()],
                        actions=["sns:Publish"],
                        resources=[self.topic.ref],
                        conditions={"Bool": {"aws:SecureTransport": "false"}},
                    ),
                ]
            ),
        )
        for email in emails:
            # Named after the address, not its place in the list: removing one leaves the others' subscriptions
            # (and their confirmations) alone.
            key = hashlib.sha256(email.lower().encode()).hexdigest()[:8]
            sns.CfnSubscription(self, f"Email{key}", topic_arn=self.topic.ref, protocol="email", endpoint=email)
        acknowledge(
            self.topic,
            "AwsSolutions-SNS2",
            "Alarm notifications carry an alarm's name and state, nothing sensitive; CloudWatch cannot publish to a "
            "topic encrypted with the AWS managed SNS key, and a customer managed key would cost more than it protects.",
        )
        where = f"Dashboard {dashboard_name}; gateway logs in {log_group_name}; traces in CloudWatch (X-Ray)."
        # Where a target's own errors are, by kind of entry: the tool name's prefix is the entry (targets file).
        by_kind = (
            "By kind of target: hosted, its runtime's row and logs; existing MCP server, its team's server (or its "
            "OAuth/API-key provider); lambda, the 'Lambda tool functions' row and /aws/lambda/"
            f"{function_prefix}<entry> (an existing function: its own log group); openapi, smithy, apiGateway: the "
            "gateway logs hold the API's answer, then the API's own metrics and logs (API Gateway: AWS/ApiGateway "
            "by ApiName and Stage)."
        )
        errors_name, latency_name = alarm_names
        dimensions = [
            cw.CfnAlarm.DimensionProperty(name=k, value=v) for k, v in gateway_dimensions(gateway_arn).items()
        ]
        common: dict[str, Any] = {
            "namespace": NAMESPACE,
            "dimensions": dimensions,
            "period": PERIOD,
            "treat_missing_data": "notBreaching",
            "alarm_actions": [self.topic.ref],
            "ok_actions": [self.topic.ref],
        }
        self.system_errors = cw.CfnAlarm(
            self,
            "SystemErrors",
            alarm_name=errors_name,
            alarm_description=(
                f"The gateway answered with {system_errors} or more server errors (5xx) in 5 minutes. Look first at "
                f"the 'Errors per tool' graph to find the target, then at that target's runtime (its log group, "
                f"its errors) or its OAuth provider (a token it cannot get). {by_kind} {where}"
            ),
            metric_name="SystemErrors",
            statistic="Sum",
            threshold=system_errors,
            evaluation_periods=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            **common,
        )
        self.latency = cw.CfnAlarm(
            self,
            "LatencyP99",
            alarm_name=latency_name,
            alarm_description=(
                f"The gateway's p99 latency stayed above {latency_p99_ms} ms for 10 minutes. Look first at 'Target "
                f"execution time' (slow servers) against 'Latency' (the gateway itself), then at the slowest tool "
                f"and its target (a runtime's sessions, a function's duration p99: cold starts). {where}"
            ),
            metric_name="Latency",
            extended_statistic="p99",
            threshold=latency_p99_ms,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            comparison_operator="GreaterThanThreshold",
            **common,
        )

    @property
    def alarm_arns(self) -> list[str]:
        return [self.system_errors.attr_arn, self.latency.attr_arn]


def _gateway_metric(gateway_arn: str, name: str, stat: str, label: str) -> list[Any]:
    dims = [part for pair in gateway_dimensions(gateway_arn).items() for part in pair]
    return [NAMESPACE, name, *dims, {"stat": stat, "label": label}]


def _search(expression: str, statistic: str, label: str, ident: str) -> list[Any]:
    return [{"expression": f"SEARCH('{expression}', '{statistic}', {PERIOD})", "label": label, "id": ident}]


def _graph(title: str, metrics: list[list[Any]], width: int, region: str) -> dict[str, Any]:
    return {
        "type": "metric",
        "width": width,
        "height": 6,
        "properties": {"view": "timeSeries", "title": title, "region": region, "period": PERIOD, "metrics": metrics},
    }


def _searches(terms: str, series: Sequence[tuple[str, str, str]]) -> list[list[Any]]:
    """One SEARCH per (metric name, statistic, label), with ids unique within the widget."""
    return [
        _search(f'{terms} MetricName="{name}"', statistic, label, f"s{index}")
        for index, (name, statistic, label) in enumerate(series)
    ]


def _laid_out(rows: Sequence[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Widgets with their positions: each row starts below the tallest widget of the previous one."""
    widgets, y = [], 0
    for row in rows:
        x = 0
        for widget in row:
            widgets.append({**widget, "x": x, "y": y})
            x += widget["width"]
        y += max(widget["height"] for widget in row)
    return widgets


class GatewayDashboard(Construct):
    """One dashboard per environment: the gateway's calls, errors, throttles and latency; per tool; per hosted runtime
    (`runtime_names`, as AgentCore names them in its metrics: <runtime name>::DEFAULT)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        gateway_arn: str,
        runtime_names: Sequence[str],
        alarm_arns: Sequence[str],
        log_group_name: str,
        function_prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        region = stack.region
        tools = f'{TOOL_TERMS} Resource="{gateway_arn}"'
        text = (
            f"## MCP gateway `{dashboard_name}`\n"
            f"Calls that fail: find the tool in *Errors per tool* (its prefix is the entry), then its target: a Lambda "
            f"entry's function in *Lambda tool functions* (`/aws/lambda/{function_prefix}<entry>`), a hosted entry's "
            f"runtime below; an API's answer (openapi, smithy, apiGateway) is in the gateway's logs "
            f"(`{log_group_name}`), with traces in CloudWatch (X-Ray). Slow calls: compare *Target execution time* "
            "with *Latency*."
        )
        rows: list[list[dict[str, Any]]] = [
            [{"type": "text", "width": 24, "height": 2, "properties": {"markdown": text}}],
            [
                _graph(
                    "Calls, errors and throttles",
                    [
                        _gateway_metric(gateway_arn, "Invocations", "Sum", "calls"),
                        _gateway_metric(gateway_arn, "SystemErrors", "Sum", "system errors (5xx)"),
                        _gateway_metric(gateway_arn, "UserErrors", "Sum", "user errors (4xx)"),
                        _gateway_metric(gateway_arn, "Throttles", "Sum", "throttles (429)"),
                    ],
                    12,
                    region,
                ),
                _graph(
                    "Latency (ms)",
                    [
                        _gateway_metric(gateway_arn, "Latency", "p50", "latency p50"),
                        _gateway_metric(gateway_arn, "Latency", "p99", "latency p99"),
                        _gateway_metric(gateway_arn, "Duration", "p99", "duration p99"),
                        _gateway_metric(gateway_arn, "TargetExecutionTime", "p99", "target execution time p99"),
                    ],
                    12,
                    region,
                ),
            ],
            [
                _graph("Calls per tool", _searches(tools, [("Invocations", "Sum", "")]), 8, region),
                _graph(
                    "Errors per tool",
                    _searches(tools, [("SystemErrors", "Sum", "5xx "), ("UserErrors", "Sum", "4xx ")]),
                    8,
                    region,
                ),
                _graph("Latency p99 per tool (ms)", _searches(tools, [("Latency", "p99", "")]), 8, region),
            ],
            [
                {
                    "type": "alarm",
                    "width": 24,
                    "height": 2,
                    "properties": {"title": "Alarms", "alarms": list(alarm_arns)},
                }
            ],
            self._function_row(function_prefix, region),
            *[self._runtime_row(name, region) for name in runtime_names],
        ]
        self.dashboard = cw.CfnDashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            dashboard_body=stack.to_json_string({"start": "-PT3H", "widgets": _laid_out(rows)}),
        )
        self.url = (
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#dashboards/dashboard/{dashboard_name}"
        )

    @staticmethod
    def _function_row(function_prefix: str, region: str) -> list[dict[str, Any]]:
        """Every Lambda function built for an entry, found by the deployment's prefix (FUNCTION_SCHEMA): the same row
        however many there are, none included."""
        functions = f"{FUNCTION_SCHEMA} FunctionName={function_prefix.rstrip('-')}"
        calls = [("Invocations", "Sum", "calls "), ("Errors", "Sum", "errors "), ("Throttles", "Sum", "throttles ")]
        return [
            _graph("Lambda tool functions: calls, errors, throttles", _searches(functions, calls), 12, region),
            _graph(
                "Lambda tool functions: duration p99 (ms)",
                _searches(functions, [("Duration", "p99", "p99 ")]),
                12,
                region,
            ),
        ]

    @staticmethod
    def _runtime_row(runtime_name: str, region: str) -> list[dict[str, Any]]:
        runtime = f'{RUNTIME_SCHEMA} Operation="InvokeAgentRuntime" Name="{runtime_name}::DEFAULT"'
        calls = [
            ("Invocations", "Sum", "calls "),
            ("SystemErrors", "Sum", "system errors "),
            ("UserErrors", "Sum", "user errors "),
            ("Throttles", "Sum", "throttles "),
            ("SessionCount", "Sum", "sessions "),
        ]
        latency = [("Latency", "p50", "p50 "), ("Latency", "p99", "p99 ")]
        return [
            _graph(f"Runtime {runtime_name}: calls, errors, sessions", _searches(runtime, calls), 12, region),
            _graph(f"Runtime {runtime_name}: latency (ms)", _searches(runtime, latency), 12, region),
        ]
