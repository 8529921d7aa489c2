"""The Secrets Manager secret in which AgentCore Identity keeps an OAuth2 credential provider's client secret."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack

from constructs import IConstruct


def provider_secret_arn(scope: IConstruct, provider_name: str) -> str:
    """ARN pattern of the provider's token-vault secret, `bedrock-agentcore-identity!default/oauth2/<name>-...`.

    Built from the provider's name rather than read from the resource: the L2's `client_secret_arn` is
    GetAtt ClientSecretArn, an object ({SecretArn}) that IAM cannot use, and the CloudFormation schema
    exposes no string attribute for the nested ARN. `-*`, not Secrets Manager's `-??????` alone: a deployed API-key
    provider's secret was seen named `<name>-<8 hex>-<6 random>` (a public write-up; docs/assumptions.md), and
    public grants for OAuth2 ones end in `-*` too.
    """
    return Stack.of(scope).format_arn(
        service="secretsmanager",
        resource="secret",
        resource_name=f"bedrock-agentcore-identity!default/oauth2/{provider_name}-*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
