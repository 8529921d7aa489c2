"""The gateway's service role: trusted by AgentCore only on behalf of our account's gateway (confused-deputy guard),
allowed to fetch outbound OAuth tokens and API keys from this deployment's credential providers and nothing else."""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, Stack
from aws_cdk import aws_iam as iam

from constructs import Construct
from constructs.nag import acknowledge, nag_arn

AGENTCORE_SERVICE = "bedrock-agentcore.amazonaws.com"


def gateway_source_arn(gateway_name: str) -> str:
    # The service appends a random suffix to the name to form the gateway id: arn:...:gateway/<name>-<suffix>.
    return f"arn:{Aws.PARTITION}:bedrock-agentcore:{Aws.REGION}:{Aws.ACCOUNT_ID}:gateway/{gateway_name}-*"


class GatewayServiceRole(Construct):
    """An IAM role with a single, conditioned trust statement and two policies whose size does not depend on the
    number of targets: outbound credentials (OAuth tokens, API keys), and the use of this deployment's policy engine.

    IAM caps a role's inline policies at 10,240 characters together (IAM quotas), so a grant per target on this
    one role fails the deploy at about the ninth target. Instead the grant is scoped by the app's naming: every
    credential provider the app creates is named `<provider_prefix>...<provider_suffix>` (see app_config.Names), and AgentCore
    keeps each provider's client secret in `bedrock-agentcore-identity!default/oauth2/<provider name>`.

    The L2 Gateway's own role adds an unconditioned trust statement (aws/aws-cdk#38780), which is why the gateway
    is given this one instead.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        gateway_name: str,
        provider_prefix: str,
        provider_suffix: str,
        api_key_suffix: str,
        policy_engine_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.gateway_name = gateway_name
        stack = Stack.of(self)

        def agentcore(resource: str) -> str:
            return stack.format_arn(
                service="bedrock-agentcore", resource=resource, arn_format=ArnFormat.NO_RESOURCE_NAME
            )

        directory = agentcore("workload-identity-directory/default")
        # The service names the gateway's workload identity after the gateway id, i.e. <name>-<suffix>.
        workload_identity = agentcore(f"workload-identity-directory/default/workload-identity/{gateway_name}-*")
        providers = agentcore(f"token-vault/default/oauth2credentialprovider/{provider_prefix}*{provider_suffix}")
        # Secrets Manager appends "-" and six random characters to a secret's name, and AgentCore Identity may put a
        # segment of its own before them (<name>-<8 hex>-<6 random>, seen for an API-key provider): "-*".
        secrets = stack.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"bedrock-agentcore-identity!default/oauth2/{provider_prefix}*{provider_suffix}-*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        api_key_providers = agentcore(
            f"token-vault/default/apikeycredentialprovider/{provider_prefix}*{api_key_suffix}"
        )
        api_key_secrets = stack.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"bedrock-agentcore-identity!default/apikey/{provider_prefix}*{api_key_suffix}-*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        outbound_oauth = iam.PolicyDocument(
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
                    # Client credentials only: CompleteResourceTokenAuth (a user-delegated, three-legged flow)
                    # is left out.
                    actions=["bedrock-agentcore:GetResourceOauth2Token"],
                    resources=[agentcore("token-vault/default"), providers, directory, workload_identity],
                ),
                iam.PolicyStatement(
                    sid="ProviderClientSecrets",
                    actions=["secretsmanager:GetSecretValue"],
                    resources=[secrets],
                ),
            ]
        )
        api_keys = iam.PolicyDocument(
            statements=[
                # API keys (OpenAPI, API Gateway and MCP entries with an apiKey): GetResourceApiKey on the token vault
                # and the providers (aws-cdk-lib's GATEWAY_API_KEY_PERMS; AgentCore guide, OpenAPI targets "Required
                # permissions"), and the key AgentCore Identity keeps in bedrock-agentcore-identity!default/apikey/
                # <provider name>: by the deployment's naming, as for OAuth, so the grant's size is fixed.
                iam.PolicyStatement(
                    sid="ResourceApiKey",
                    actions=["bedrock-agentcore:GetResourceApiKey"],
                    resources=[agentcore("token-vault/default"), api_key_providers, directory, workload_identity],
                ),
                iam.PolicyStatement(
                    sid="ProviderApiKeys",
                    actions=["secretsmanager:GetSecretValue"],
                    resources=[api_key_secrets],
                ),
            ]
        )
        # The policy engine's permissions (AgentCore policy guide: GetPolicyEngine on the engine; AuthorizeAction and
        # PartiallyAuthorizeActions on the engine and the gateway). Granted here, a stack before the gateway that
        # checks them when it attaches the engine: IAM is eventually consistent, and a grant created seconds before
        # the gateway surfaces as an InternalServerException. The engine is created in the gateway stack, so its ARN
        # is matched by its name: engine ids are <name>-<suffix> (API reference, Policy.policyArn), and an engine name
        # holds no hyphen ([A-Za-z][A-Za-z0-9_]*), so <name>-* matches this deployment's engine and no other; the
        # suffix's length is left to the service.
        engine = agentcore(f"policy-engine/{policy_engine_name}-*")
        gateways = agentcore(f"gateway/{gateway_name}-*")
        policy_engine = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="ReadPolicyEngine", actions=["bedrock-agentcore:GetPolicyEngine"], resources=[engine]
                ),
                iam.PolicyStatement(
                    sid="AuthorizeToolCalls",
                    actions=["bedrock-agentcore:AuthorizeAction", "bedrock-agentcore:PartiallyAuthorizeActions"],
                    resources=[engine, gateways],
                ),
            ]
        )
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
            # The API-key grants in a policy of their own: the deployed outbound-oauth policy keeps its name (renaming
            # an inline policy of a role in use deletes one and puts the other, in an order CloudFormation does not
            # document), and the workload-token statement it holds serves both.
            inline_policies={
                "outbound-oauth": outbound_oauth,
                "outbound-api-keys": api_keys,
                "policy-engine": policy_engine,
            },
        )
        reasons = {
            f"workload-identity-directory/default/workload-identity/{gateway_name}-*": "The gateway's workload "
            "identity is named by the service after the gateway id (<gateway name>-<suffix>); the wildcard covers "
            "only that suffix.",
            f"token-vault/default/oauth2credentialprovider/{provider_prefix}*{provider_suffix}": "Every credential provider of this "
            "deployment, and only those: one grant whatever the number of targets (IAM caps a role's inline "
            "policies at 10,240 characters).",
            f"token-vault/default/apikeycredentialprovider/{provider_prefix}*{api_key_suffix}": "Every API-key "
            "credential provider of this deployment, and only those: one grant whatever the number of targets.",
            f"policy-engine/{policy_engine_name}-*": "This deployment's policy engine, created later in the gateway "
            "stack: its id is its name and a suffix the service generates, and an engine name has no hyphen, so the "
            "pattern matches that engine only.",
            f"gateway/{gateway_name}-*": "The gateway's id is its name and a suffix the service generates; granted "
            "a stack before the gateway (which checks it when the engine is attached), for this deployment's gateway "
            "only.",
        }
        for resource, reason in reasons.items():
            acknowledge(
                self.role, f"AwsSolutions-IAM5[Resource::{nag_arn(self, 'bedrock-agentcore', resource)}]", reason
            )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::"
            + nag_arn(
                self,
                "secretsmanager",
                f"secret:bedrock-agentcore-identity!default/oauth2/{provider_prefix}*{provider_suffix}-*",
            )
            + "]",
            "The client secrets AgentCore Identity keeps for this deployment's credential providers "
            "(bedrock-agentcore-identity!default/oauth2/<provider name>-<random>), and no other secret.",
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::"
            + nag_arn(
                self,
                "secretsmanager",
                f"secret:bedrock-agentcore-identity!default/apikey/{provider_prefix}*{api_key_suffix}-*",
            )
            + "]",
            "The API keys AgentCore Identity keeps for this deployment's API-key credential providers "
            "(bedrock-agentcore-identity!default/apikey/<provider name>-<random>), and no other secret.",
        )
