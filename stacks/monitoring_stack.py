"""Watching the gateway: the environment's dashboard and alarms, and the topic the alarms notify."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_bedrockagentcore as agentcore

from app_config import AppConfig, HostedEntry
from constructs import Construct
from constructs.monitoring import GatewayAlarms, GatewayDashboard
from constructs.naming import name_logical_id


class MonitoringStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        gateway: agentcore.IGateway,
        gateway_log_group: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        names, environment = config.names, config.environment
        self.alarms = GatewayAlarms(
            self,
            "Alarms",
            gateway_arn=gateway.gateway_arn,
            topic_name=names.alarm_topic,
            alarm_names=(names.alarm("system-errors"), names.alarm("latency-p99")),
            system_errors=environment.alarm_system_errors,
            latency_p99_ms=environment.alarm_latency_p99_ms,
            emails=environment.alarm_emails,
            dashboard_name=names.dashboard,
            log_group_name=gateway_log_group,
            function_prefix=names.tool_function_prefix,
        )
        name_logical_id(self.alarms.topic, "AlarmTopic")
        name_logical_id(self.alarms.node.find_child("TopicPolicy"), "AlarmTopicPolicy")
        name_logical_id(self.alarms.system_errors, "SystemErrorsAlarm")
        name_logical_id(self.alarms.latency, "LatencyP99Alarm")
        # The runtimes by name (from the config, not from the targets stacks: a reference would tie their removal
        # to this stack's update).
        runtimes = [names.runtime(e.name) for e in config.targets if isinstance(e, HostedEntry)]
        self.dashboard = GatewayDashboard(
            self,
            "Dashboard",
            dashboard_name=names.dashboard,
            gateway_arn=gateway.gateway_arn,
            runtime_names=sorted(runtimes),
            alarm_arns=self.alarms.alarm_arns,
            log_group_name=gateway_log_group,
            function_prefix=names.tool_function_prefix,
        )
        name_logical_id(self.dashboard.dashboard, "Dashboard")
        CfnOutput(self, "DashboardName", value=names.dashboard)
        CfnOutput(self, "DashboardUrl", value=self.dashboard.url)
        CfnOutput(self, "AlarmTopicArn", value=self.alarms.topic.ref)
