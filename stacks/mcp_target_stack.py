"""The gateway's MCP-server target: the runtime's invocation URL, reached with tokens from the credential provider."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, CfnOutput, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam
from constructs import Construct

from app_config import AppConfig
from gateway_constructs import name_logical_id
from gateway_constructs.credential_provider import provider_secret_arn
from gateway_constructs.m2m_user_pool import M2MUserPool
from gateway_constructs.nag import acknowledge, nag_arn
from gateway_constructs.outbound_oauth import GatewayOutboundOAuthPolicy
from gateway_constructs.runtime_url import runtime_invocation_url
from gateway_constructs.target_sync import GatewayTargetSync
from gateway_constructs.token_gate import TokenEndpointGate


class McpTargetStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        gateway: agentcore.Gateway,
        gateway_role: iam.IRole,
        runtime: agentcore.Runtime,
        image_hash: str,
        runtime_pool: M2MUserPool,
        provider: agentcore.OAuth2CredentialProvider,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        secret_arn = provider_secret_arn(self, config.names.credential_provider)
        self.oauth_policy = GatewayOutboundOAuthPolicy(
            self,
            "GatewayOutboundOAuth",
            role=gateway_role,
            policy_name=f"{config.names.gateway}-{config.target_name}-oauth",
            gateway_name=config.names.gateway,
            provider_arn=provider.credential_provider_arn,
            provider_secret_arn=secret_arn,
        )
        acknowledge(
            self.oauth_policy.policy,
            "AwsSolutions-IAM5[Resource::"
            + nag_arn(self, "bedrock-agentcore", f"workload-identity-directory/default/workload-identity/{config.names.gateway}-*")
            + "]",
            "The gateway's workload identity is named by the service after the gateway id (<gateway name>-<suffix>); "
            "the wildcard covers only that suffix.",
        )
        self.endpoint = runtime_invocation_url(runtime.agent_runtime_arn)
        self.target = agentcore.GatewayTarget.for_mcp_server(
            self,
            "McpServerTarget",
            gateway=gateway,
            gateway_target_name=config.target_name,
            description="Example MCP server hosted in AgentCore Runtime",
            endpoint=self.endpoint,
            credential_provider_configurations=[
                agentcore.GatewayCredentialProvider.from_oauth_identity_arn(
                    provider_arn=provider.credential_provider_arn,
                    secret_arn=secret_arn,
                    scopes=[runtime_pool.scope_string],
                )
            ],
        )
        # The L2 emits this on the gateway when the target binds its credential provider.
        Annotations.of(gateway).acknowledge_warning(
            "aws-cdk-lib.aws-bedrockagentcore:wildcardSecretArnGrant",
            "The gateway role is passed immutable, so the L2's wildcard grant is dropped; "
            "GatewayOutboundOAuth grants the provider's exact secret instead.",
        )
        # Creating the target synchronizes its tools at once, which needs the role's grants and a token from
        # the runtime pool; a new Cognito domain takes a while to issue one, so the gate waits for it.
        self.token_gate = TokenEndpointGate(
            self,
            "RuntimeTokenGate",
            user_pool=runtime_pool.user_pool,
            client=runtime_pool.client,
            token_endpoint=runtime_pool.token_endpoint,
            scope_string=runtime_pool.scope_string,
            log_retention_days=config.log_retention_days,
            retain=config.retain_data,
        )
        self.target.node.add_dependency(self.oauth_policy, self.token_gate)
        # An image-only change updates the runtime in place and leaves the target (and the gateway's cached
        # catalog) untouched; the image hash as trigger makes every new image re-synchronize the target.
        self.sync = GatewayTargetSync(
            self,
            "McpServerTargetSync",
            gateway_id=gateway.gateway_id,
            gateway_arn=gateway.gateway_arn,
            target_id=self.target.target_id,
            trigger=image_hash,
            log_retention_days=config.log_retention_days,
            retain=config.retain_data,
        )
        name_logical_id(self.target, "McpServerTarget")
        name_logical_id(self.oauth_policy.policy, "GatewayOutboundOAuthPolicy")
        CfnOutput(self, "TargetId", value=self.target.target_id)
        # Gateways expose a target's tools as <target name>___<tool name>.
        CfnOutput(self, "TargetName", value=config.target_name)
