"""Vended logs and traces of AgentCore resources, through CloudWatch Logs delivery (source -> destination).

AgentCore Gateway and Runtime publish application logs and traces as delivery sources; a delivery sends a source to
a destination: a log group (logs) or X-Ray (traces). The Gateway L2 (aws-cdk-lib 2.275) has no logging props
(aws/aws-cdk#37561), and the Runtime L2's `tracing_enabled` makes an X-Ray destination and resource policy per
runtime (X-Ray allows few resource policies per account), so both are declared here with the L1s: one X-Ray
destination and one resource policy per deployment, a source and a delivery per resource.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_xray as xray

from constructs import Construct

LOG_DELIVERY_SERVICE = "delivery.logs.amazonaws.com"


def _source(
    scope: Construct, construct_id: str, *, name: str, log_type: str, resource_arn: str
) -> logs.CfnDeliverySource:
    if len(name) > 60:
        raise ValueError(
            f"{scope.node.path}/{construct_id}: a delivery source name has at most 60 characters: {name!r}"
        )
    return logs.CfnDeliverySource(scope, construct_id, name=name, log_type=log_type, resource_arn=resource_arn)


def deliver(
    scope: Construct,
    construct_id: str,
    *,
    source_name: str,
    log_type: str,
    resource_arn: str,
    destination_arn: str,
) -> logs.CfnDelivery:
    """A delivery source for `resource_arn`'s `log_type`, and its delivery to the destination `destination_arn`."""
    source = _source(scope, f"{construct_id}Source", name=source_name, log_type=log_type, resource_arn=resource_arn)
    delivery = logs.CfnDelivery(
        scope, f"{construct_id}Delivery", delivery_source_name=source.name, delivery_destination_arn=destination_arn
    )
    delivery.node.add_dependency(source)
    return delivery


def log_group_destination(
    scope: Construct, construct_id: str, *, name: str, log_group: logs.ILogGroup
) -> logs.CfnDeliveryDestination:
    """The log group as a delivery destination. Its name starts /aws/vendedlogs/: CloudWatch Logs' delivery keeps one
    account-level resource policy (AWSLogDeliveryWrite...) covering that prefix whole, instead of adding this group to
    a policy (an account holds 10, each at most 5,120 characters)."""
    # The bare log-group ARN, as the API reference's example gives it (GetAtt Arn ends in :*; aws_rules checks).
    arn = Stack.of(scope).format_arn(
        service="logs",
        resource="log-group",
        resource_name=log_group.log_group_name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    return logs.CfnDeliveryDestination(scope, construct_id, name=name, destination_resource_arn=arn)


class TraceDelivery(Construct):
    """X-Ray as a delivery destination for this deployment's gateway and runtimes, with the X-Ray resource policy
    that lets CloudWatch Logs' delivery write their segments (and nothing else's).

    AWS creates such a policy by itself only when the account has no X-Ray resource policy yet; declared, it holds
    whatever else the account has.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, name: str, gateway_name: str, runtime_prefix: str
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)

        def agentcore(resource: str) -> str:
            return f"arn:{stack.partition}:bedrock-agentcore:{stack.region}:{stack.account}:{resource}"

        document = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "CloudWatchLogsDelivery",
                    "Effect": "Allow",
                    "Principal": {"Service": LOG_DELIVERY_SERVICE},
                    "Action": "xray:PutTraceSegments",
                    # X-Ray resource policies take no resource ARNs; the conditions scope it.
                    "Resource": "*",
                    "Condition": {
                        "ForAllValues:ArnLike": {
                            "logs:LogGeneratingResourceArns": [
                                agentcore(f"gateway/{gateway_name}-*"),
                                agentcore(f"runtime/{runtime_prefix}*"),
                            ]
                        },
                        "StringEquals": {"aws:SourceAccount": stack.account},
                        "ArnLike": {
                            "aws:SourceArn": f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:delivery-source:*"
                        },
                    },
                }
            ],
        }
        self.policy = xray.CfnResourcePolicy(
            self,
            "Policy",
            policy_name=name,
            policy_document=stack.to_json_string(document),
            bypass_policy_lockout_check=False,
        )
        self.destination = logs.CfnDeliveryDestination(self, "Destination", name=name, delivery_destination_type="XRAY")
        self.destination.node.add_dependency(self.policy)
        self.destination_arn = self.destination.attr_arn
