"""The gateway's service role: trusted by AgentCore only on behalf of our account's gateway (confused-deputy guard)."""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

AGENTCORE_SERVICE = "bedrock-agentcore.amazonaws.com"


def gateway_source_arn(gateway_name: str) -> str:
    # The service appends a random suffix to the name to form the gateway id: arn:...:gateway/<name>-<suffix>.
    return f"arn:{Aws.PARTITION}:bedrock-agentcore:{Aws.REGION}:{Aws.ACCOUNT_ID}:gateway/{gateway_name}-*"


class GatewayServiceRole(Construct):
    """An IAM role with a single, conditioned trust statement and no permissions of its own.

    Permissions are attached by whoever adds a target (see GatewayOutboundOAuthPolicy), so each target brings
    exactly what its outbound auth needs. The L2 Gateway's own role adds an unconditioned trust statement
    (aws/aws-cdk#38780), which is why we pass this one instead.
    """

    def __init__(self, scope: Construct, construct_id: str, *, role_name: str, gateway_name: str) -> None:
        super().__init__(scope, construct_id)
        self.gateway_name = gateway_name
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            description=f"Service role of AgentCore Gateway {gateway_name}",
            assumed_by=iam.ServicePrincipal(AGENTCORE_SERVICE).with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": gateway_source_arn(gateway_name)},
                }
            ),
        )
