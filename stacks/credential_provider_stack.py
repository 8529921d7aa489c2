"""The OAuth2 credential provider through which the gateway gets tokens for the MCP server's runtime."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from app_config import AppConfig
from gateway_constructs.client_secret import pool_credential_provider
from gateway_constructs.m2m_user_pool import M2MUserPool


class CredentialProviderStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: AppConfig, runtime_pool: M2MUserPool, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.provider = pool_credential_provider(
            self,
            "Runtime",
            pool=runtime_pool,
            provider_name=config.names.credential_provider,
            retention_days=config.log_retention_days,
            retain=config.retain_data,
        )
        CfnOutput(self, "CredentialProviderArn", value=self.provider.credential_provider_arn)
