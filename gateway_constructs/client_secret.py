"""Reads a Cognito app client's secret inside the stack that needs it, so the secret never crosses a stack boundary."""

from __future__ import annotations

from aws_cdk import SecretValue, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from gateway_constructs import name_logical_id
from gateway_constructs.m2m_user_pool import M2MUserPool
from gateway_constructs.sdk_calls import sdk_call

_SECRET_PATH = "UserPoolClient.ClientSecret"


class UserPoolClientSecret(Construct):
    """DescribeUserPoolClient through an AWS SDK custom resource.

    `UserPoolClient.user_pool_client_secret` does the same, but in the pool's stack, from where the value
    could only reach another stack as a CloudFormation export (readable by anyone with ListExports).
    Here only the pool and client ids cross the boundary; the response is hidden from the handler's logs
    and only the secret's path is returned to CloudFormation.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        user_pool_id: str,
        user_pool_client_id: str,
        retention_days: int,
        retain: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        pool_arn = stack.format_arn(service="cognito-idp", resource="userpool", resource_name=user_pool_id)
        call = cr.AwsSdkCall(
            service="CognitoIdentityServiceProvider",
            action="describeUserPoolClient",
            parameters={"UserPoolId": user_pool_id, "ClientId": user_pool_client_id},
            physical_resource_id=cr.PhysicalResourceId.of(user_pool_client_id),
            output_paths=[_SECRET_PATH],
            logging=cr.Logging.with_data_hidden(),
        )
        self.resource = sdk_call(
            self,
            "Describe",
            resource_type="Custom::UserPoolClientSecret",
            statements=[iam.PolicyStatement(actions=["cognito-idp:DescribeUserPoolClient"], resources=[pool_arn])],
            on_create=call,
            on_update=call,
            retention_days=retention_days,
            retain=retain,
        )
        self.secret_value = SecretValue.resource_attribute(self.resource.get_response_field(_SECRET_PATH))


def pool_credential_provider(
    scope: Construct, label: str, *, pool: M2MUserPool, provider_name: str, retention_days: int, retain: bool
) -> agentcore.OAuth2CredentialProvider:
    """An OAuth2 credential provider for `pool`'s client-credentials client, its secret read in `scope`'s stack.

    Declares `<label>ClientSecret` and `<label>OAuthProvider` (also the provider's logical id) in `scope`.
    """
    secret = UserPoolClientSecret(
        scope,
        f"{label}ClientSecret",
        user_pool_id=pool.user_pool.user_pool_id,
        user_pool_client_id=pool.client.user_pool_client_id,
        retention_days=retention_days,
        retain=retain,
    )
    provider = agentcore.OAuth2CredentialProvider.using_custom(
        scope,
        f"{label}OAuthProvider",
        o_auth2_credential_provider_name=provider_name,
        discovery_url=pool.discovery_url,
        client_id=pool.client.user_pool_client_id,
        client_secret=secret.secret_value,
    )
    name_logical_id(provider, f"{label}OAuthProvider")
    return provider
