"""The OAuth2 credential provider through which the gateway gets tokens for the MCP server's runtime."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from constructs import Construct

from app_config import AppConfig
from gateway_constructs import name_logical_id
from gateway_constructs.client_secret import UserPoolClientSecret
from gateway_constructs.log_groups import managed_log_group
from gateway_constructs.m2m_user_pool import M2MUserPool


class CredentialProviderStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: AppConfig, runtime_pool: M2MUserPool, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        client_secret = UserPoolClientSecret(
            self,
            "RuntimeClientSecret",
            user_pool_id=runtime_pool.user_pool.user_pool_id,
            user_pool_client_id=runtime_pool.client.user_pool_client_id,
            log_group=managed_log_group(
                self, "SdkCallLogs", retention_days=config.log_retention_days, retain=config.retain_data
            ),
        )
        self.provider = agentcore.OAuth2CredentialProvider.using_custom(
            self,
            "RuntimeOAuthProvider",
            o_auth2_credential_provider_name=config.names.credential_provider,
            discovery_url=runtime_pool.discovery_url,
            client_id=runtime_pool.client.user_pool_client_id,
            client_secret=client_secret.secret_value,
        )
        name_logical_id(self.provider, "RuntimeOAuthProvider")
        CfnOutput(self, "CredentialProviderArn", value=self.provider.credential_provider_arn)
