"""The invocation URL of an AgentCore Runtime, the endpoint a gateway's MCP-server target calls."""

from __future__ import annotations

from aws_cdk import Aws, Fn


def url_encode_arn(arn: str) -> str:
    """URL-encode an ARN token in CloudFormation: ':' -> %3A, '/' -> %2F (the only reserved characters an ARN has)."""
    colons_encoded = Fn.join("%3A", Fn.split(":", arn))
    return Fn.join("%2F", Fn.split("/", colons_encoded))


def runtime_invocation_url(runtime_arn: str, qualifier: str = "DEFAULT") -> str:
    return (
        f"https://bedrock-agentcore.{Aws.REGION}.{Aws.URL_SUFFIX}/runtimes/"
        f"{url_encode_arn(runtime_arn)}/invocations?qualifier={qualifier}"
    )
