"""The service names CDK's AwsCustomResource accepts (SDK for JavaScript v2 and v3), as botocore names them."""

from __future__ import annotations

# SDK v2 class names that differ from botocore's service name after lowercasing.
_V2 = {
    "cloudwatchlogs": "logs",
    "cognitoidentityserviceprovider": "cognito-idp",
    "bedrockagentcorecontrol": "bedrock-agentcore-control",
    "secretsmanager": "secretsmanager",
    "ssm": "ssm",
    "sts": "sts",
    "iam": "iam",
    "lambda": "lambda",
    "s3": "s3",
}


def botocore_service(name: str) -> str:
    """`CloudWatchLogs` or `@aws-sdk/client-cloudwatch-logs` -> `logs`."""
    key = name.removeprefix("@aws-sdk/client-").lower()
    if key in _V2:
        return _V2[key]
    return {"cloudwatch-logs": "logs", "cognito-identity-provider": "cognito-idp"}.get(key, key)
