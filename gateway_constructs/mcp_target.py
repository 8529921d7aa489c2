"""One MCP-server target of the gateway, with the outbound-OAuth grant it brings to the gateway's role."""

from __future__ import annotations

from aws_cdk import Annotations
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from gateway_constructs.credential_provider import provider_secret_arn
from gateway_constructs.nag import acknowledge, nag_arn
from gateway_constructs.outbound_oauth import GatewayOutboundOAuthPolicy


class GatewayMcpTarget(Construct):
    """An MCP-server target reached with client-credentials tokens from `provider_name`.

    The gateway must be passed with an immutable role (see GatewayStack): this construct attaches the only
    grant the target needs, named after gateway and target, and makes the target wait for it (creating a
    target synchronizes its tools at once, through that grant).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        gateway: agentcore.IGateway,
        gateway_name: str,
        gateway_role: iam.IRole,
        target_name: str,
        description: str,
        endpoint: str,
        provider_arn: str,
        provider_name: str,
        scopes: list[str],
        wait_for: list[IConstruct],
    ) -> None:
        super().__init__(scope, construct_id)
        secret_arn = provider_secret_arn(self, provider_name)
        self.oauth_policy = GatewayOutboundOAuthPolicy(
            self,
            "OutboundOAuth",
            role=gateway_role,
            # Named, because every target attaches its own policy to the one shared gateway role.
            policy_name=f"{gateway_name}-{target_name}-oauth",
            gateway_name=gateway_name,
            provider_arn=provider_arn,
            provider_secret_arn=secret_arn,
        )
        acknowledge(
            self.oauth_policy.policy,
            "AwsSolutions-IAM5[Resource::"
            + nag_arn(
                self, "bedrock-agentcore", f"workload-identity-directory/default/workload-identity/{gateway_name}-*"
            )
            + "]",
            "The gateway's workload identity is named by the service after the gateway id (<gateway name>-<suffix>); "
            "the wildcard covers only that suffix.",
        )
        self.target = agentcore.GatewayTarget.for_mcp_server(
            self,
            "Target",
            gateway=gateway,
            gateway_target_name=target_name,
            description=description,
            endpoint=endpoint,
            credential_provider_configurations=[
                agentcore.GatewayCredentialProvider.from_oauth_identity_arn(
                    provider_arn=provider_arn, secret_arn=secret_arn, scopes=scopes
                )
            ],
        )
        # The L2 emits this on the gateway when a target binds its credential provider.
        Annotations.of(gateway).acknowledge_warning(
            "aws-cdk-lib.aws-bedrockagentcore:wildcardSecretArnGrant",
            "The gateway role is passed immutable, so the L2's wildcard grant is dropped; "
            "each target's OutboundOAuth policy grants its provider's exact secret instead.",
        )
        self.target.node.add_dependency(self.oauth_policy, *wait_for)
