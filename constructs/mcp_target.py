"""One MCP-server target of the gateway, reached with client-credentials tokens from a credential provider."""

from __future__ import annotations

from aws_cdk import Annotations, CfnResource, Token
from aws_cdk import aws_bedrockagentcore as agentcore

from aws_rules.names import SERVICE_NAME_RULES
from constructs import Construct, IConstruct
from constructs.credential_provider import provider_secret_arn

# The service's limit on a target's description.
MAX_DESCRIPTION = 200


def check_target(scope: Construct, name: str, description: str) -> None:
    """A target's name and description as the service takes them (every kind of target)."""
    pattern, rule = SERVICE_NAME_RULES["target"]
    if not pattern.match(name):
        raise ValueError(f"{scope.node.path}: target name {name!r} must be {rule}")
    if not Token.is_unresolved(description) and not 1 <= len(description) <= MAX_DESCRIPTION:
        raise ValueError(
            f"{scope.node.path}: a target description has 1-{MAX_DESCRIPTION} characters, got {len(description)}"
        )


def acknowledge_secret_wildcard(gateway: agentcore.IGateway) -> None:
    # The L2 warns on the gateway when a target binds a credential provider whose secret ARN is a token (ours is a
    # pattern of the provider's name, with the stack's partition and account).
    Annotations.of(gateway).acknowledge_warning(
        "aws-cdk-lib.aws-bedrockagentcore:wildcardSecretArnGrant",
        "The gateway role is passed immutable, so the L2's wildcard grant is dropped; the role's own "
        "outbound policy grants this deployment's provider secrets (GatewayServiceRole).",
    )


def oauth_credentials(
    scope: Construct, *, provider_arn: str, provider_name: str, scopes: list[str]
) -> agentcore.ICredentialProviderConfig:
    """Client-credentials tokens from the OAuth2 credential provider `provider_name`."""
    if not scopes:
        raise ValueError(f"{scope.node.path}: an OAuth target needs at least one scope")
    # The secret's ARN is passed literal (a pattern of the provider's name): with the provider's own attribute, an
    # object IAM cannot use, the L2 would warn of a wildcard grant. Its grants go nowhere anyway: the gateway's role
    # is passed immutable, and its own outbound policy grants this deployment's provider secrets (GatewayServiceRole).
    return agentcore.GatewayCredentialProvider.from_oauth_identity_arn(
        provider_arn=provider_arn, secret_arn=provider_secret_arn(scope, provider_name), scopes=scopes
    )


class GatewayMcpTarget(Construct):
    """An MCP-server target reached with `credentials` (OAuth client credentials, an API key, or the gateway's role).

    The gateway's role already holds the grant every target needs (GatewayServiceRole, scoped by the app's
    provider naming), so a target adds no IAM of its own. Creating a target synchronizes its tools at once;
    `wait_for` holds what that first synchronization needs (the token gate of a new Cognito domain).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        gateway: agentcore.IGateway,
        target_name: str,
        description: str,
        endpoint: str,
        credentials: agentcore.ICredentialProviderConfig,
        wait_for: list[IConstruct],
        static_tools: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        check_target(self, target_name, description)
        self.target = agentcore.GatewayTarget.for_mcp_server(
            self,
            "Target",
            gateway=gateway,
            gateway_target_name=target_name,
            description=description,
            endpoint=endpoint,
            credential_provider_configurations=[credentials],
        )
        acknowledge_secret_wildcard(gateway)
        if wait_for:
            self.target.node.add_dependency(*wait_for)
        if static_tools is not None:
            # The target serves exactly these tool definitions and is never synchronized (botocore
            # McpServerTargetConfiguration.mcpToolSchema: "Dynamic tool discovery/synchronization will be disabled");
            # the L2 has no prop for it. Registry schema: McpToolSchema is InlinePayload (a string) or S3.
            cfn = self.target.node.default_child
            assert isinstance(cfn, CfnResource)
            cfn.add_property_override("TargetConfiguration.Mcp.McpServer.McpToolSchema.InlinePayload", static_tools)
