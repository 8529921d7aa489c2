"""Re-synchronizes a gateway target's tool catalog whenever the MCP server's image changes (CloudFormation cannot)."""

from __future__ import annotations

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_iam as iam
from constructs import Construct

from gateway_constructs.python_handlers import PythonHandlerProvider

SERVICE = "bedrock-agentcore"
DEFAULT_SYNC_TIMEOUT = Duration.minutes(15)
SYNC_QUERY_INTERVAL = Duration.seconds(10)
# The sync's on_event retries a running sync's ConflictException in-process, so it may run long; but CDK's own
# onEvent function (15 min, Lambda's maximum) waits for it and must still have time to answer CloudFormation.
MAX_ON_EVENT_TIMEOUT = Duration.minutes(14)


class GatewayTargetSync(Construct):
    """A custom resource that calls SynchronizeGatewayTargets on create and whenever `trigger` changes.

    CloudFormation updates a runtime in place on an image-only change and leaves the target alone, so the
    gateway's cached tool catalog would go stale; pass the image asset's hash as `trigger`. The resource then
    waits until the target is READY again and fails the deployment, with the service's statusReasons, on
    SYNCHRONIZE_UNSUCCESSFUL, FAILED, UPDATE_UNSUCCESSFUL or a *_PENDING_AUTH status. Deleting it does nothing.
    Make it depend on the target (it does when `target_id` is the target's token).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        gateway_id: str,
        gateway_arn: str,
        target_id: str,
        trigger: str,
        log_retention_days: int,
        retain: bool,
        timeout: Duration = DEFAULT_SYNC_TIMEOUT,
    ) -> None:
        super().__init__(scope, construct_id)
        wait_seconds = int(timeout.to_seconds())
        self.handlers = PythonHandlerProvider.shared(
            self,
            "GatewayTargetSyncHandlers",
            handler_module="target_sync.handler",
            purpose="SynchronizeGatewayTargets after an MCP server image change",
            wait=timeout,
            on_event_timeout=Duration.seconds(min(wait_seconds, int(MAX_ON_EVENT_TIMEOUT.to_seconds()))),
            is_complete_timeout=Duration.minutes(1),
            query_interval=SYNC_QUERY_INTERVAL,
            log_retention_days=log_retention_days,
            retain=retain,
        )
        # Target actions are authorized on the gateway resource (there is no target resource type in IAM).
        self.handlers.grant(
            self.handlers.on_event_role,
            gateway_arn,
            iam.PolicyStatement(
                actions=[f"{SERVICE}:SynchronizeGatewayTargets", f"{SERVICE}:GetGatewayTarget"],
                resources=[gateway_arn],
            ),
        )
        self.handlers.grant(
            self.handlers.is_complete_role,
            gateway_arn,
            iam.PolicyStatement(actions=[f"{SERVICE}:GetGatewayTarget"], resources=[gateway_arn]),
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.handlers.service_token,
            resource_type="Custom::GatewayTargetSync",
            # Only these three properties: a change of any of them (a new image, another target) is an Update,
            # and an Update is a sync. The physical id is <gateway id>/<target id>, stable across updates.
            properties={"GatewayIdentifier": gateway_id, "TargetId": target_id, "Trigger": trigger},
            # An Update that changes only this (or the ServiceToken) is answered without a sync by the handler.
            service_timeout=self.handlers.service_timeout,
        )
        self.physical_id = self.resource.ref
