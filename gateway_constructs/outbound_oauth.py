"""The permissions a gateway needs to fetch OAuth tokens for one target, and nothing more."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct


class GatewayOutboundOAuthPolicy(Construct):
    """Lets the gateway's workload identity get a client-credentials token from one credential provider.

    Attached from the target's stack so a target brings its own grant. Unlike the L2's grant, the secret is
    the provider's exact secret, not `bedrock-agentcore-identity!*`, and CompleteResourceTokenAuth (a
    user-delegated, three-legged flow) is left out: client credentials never need it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role: iam.IRole,
        policy_name: str,
        gateway_name: str,
        provider_arn: str,
        provider_secret_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)

        def agentcore_arn(resource: str, name: str) -> str:
            return stack.format_arn(
                service="bedrock-agentcore",
                resource=resource,
                resource_name=name,
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            )

        directory = agentcore_arn("workload-identity-directory", "default")
        # The service names the gateway's workload identity after the gateway id, i.e. <name>-<suffix>.
        workload_identity = agentcore_arn("workload-identity-directory", f"default/workload-identity/{gateway_name}-*")
        token_vault = agentcore_arn("token-vault", "default")
        self.policy = iam.Policy(
            self,
            "Policy",
            # Named, because every target attaches its own policy to the one shared gateway role.
            policy_name=policy_name,
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    sid="WorkloadAccessToken",
                    # With a JWT-authorized gateway the service asks for the token bound to the caller's JWT.
                    actions=[
                        "bedrock-agentcore:GetWorkloadAccessToken",
                        "bedrock-agentcore:GetWorkloadAccessTokenForJWT",
                        "bedrock-agentcore:GetWorkloadAccessTokenForUserId",
                    ],
                    resources=[directory, workload_identity],
                ),
                iam.PolicyStatement(
                    sid="ResourceOAuth2Token",
                    actions=["bedrock-agentcore:GetResourceOauth2Token"],
                    resources=[token_vault, provider_arn, directory, workload_identity],
                ),
                iam.PolicyStatement(
                    sid="ProviderClientSecret",
                    actions=["secretsmanager:GetSecretValue"],
                    resources=[provider_secret_arn],
                ),
            ],
        )
