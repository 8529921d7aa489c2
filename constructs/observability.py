"""Vended logs and traces of AgentCore resources, through CloudWatch Logs delivery (source -> destination).

AgentCore Gateway and Runtime publish application logs and traces as delivery sources; a delivery sends a source to
a destination: a log group (logs) or X-Ray (traces). The Gateway L2 (aws-cdk-lib 2.275) has no logging props
(aws/aws-cdk#37561), and the Runtime L2's `tracing_enabled` makes an X-Ray destination and resource policy per
runtime (X-Ray allows 5 resource policies per account), so both are declared here with the L1s: one X-Ray
destination per deployment, a source and a delivery per resource, and no X-Ray resource policy (AWS's own per-type
ones cover AgentCore traces: TraceDelivery).
"""

from __future__ import annotations

from aws_cdk import aws_logs as logs

from constructs import Construct


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
    scope: Construct, construct_id: str, *, name: str, log_group_arn: str
) -> logs.CfnDeliveryDestination:
    """The log group (its bare ARN, as the API reference's example gives it; GetAtt Arn ends in :*, aws_rules checks)
    as a delivery destination. Its name starts /aws/vendedlogs/: CloudWatch Logs' delivery keeps one account-level
    resource policy (AWSLogDeliveryWrite...) covering that prefix whole, instead of adding this group to a policy (an
    account holds 10, each at most 5,120 characters). The group must exist before the destination is created."""
    return logs.CfnDeliveryDestination(scope, construct_id, name=name, destination_resource_arn=log_group_arn)


class TraceDelivery(Construct):
    """X-Ray as a delivery destination for this deployment's gateway and runtimes.

    No X-Ray resource policy of ours: AWS creates its own when a delivery of AgentCore traces starts, one per resource
    type, covering every resource of that type in the account (CloudWatch Logs user guide, "Traces sent to X-Ray"),
    provided whoever deploys may call xray:PutResourcePolicy and xray:ListResourcePolicies (CDK's bootstrap execution
    role may). X-Ray holds 5 resource policies per account: AWS's two for gateways and runtimes are shared by every
    deployment, where one of ours per deployment would add to them until a few deployments fill the account
    (aws_rules refuses one).
    """

    def __init__(self, scope: Construct, construct_id: str, *, name: str) -> None:
        super().__init__(scope, construct_id)
        self.destination = logs.CfnDeliveryDestination(self, "Destination", name=name, delivery_destination_type="XRAY")
        self.destination_arn = self.destination.attr_arn
