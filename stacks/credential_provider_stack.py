"""The gateway's way to the hosted MCP servers: its client of the runtime pool, the OAuth2 credential provider that
holds that client, and the gate that waits until the runtime pool's domain issues the client tokens.

The client is made here rather than beside its pool: the provider takes the client secret by `Fn::GetAtt`, and a
secret must never cross a stack boundary (an export's value is readable by whoever may list exports). Made in the
stack that uses it, the secret stays in the stack that creates it, and the provider still has a stack of its own."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack

from app_config import AppConfig
from constructs import Construct
from constructs.custom_resource_handlers import HandlerEndpoint
from constructs.m2m_user_pool import M2MUserPool
from constructs.pool_credential_provider import PoolCredentialProvider


class CredentialProviderStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        runtime_pool: M2MUserPool,
        handlers: HandlerEndpoint,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        names = config.names
        self.runtime_access = PoolCredentialProvider(
            self,
            "RuntimeAccess",
            pool=runtime_pool,
            client_name=names.app_client("runtime"),
            provider_name=names.credential_provider,
            handlers=handlers,
            label="Runtime",
            gate_id="RuntimePoolTokenGate",
        )
        CfnOutput(self, "CredentialProviderArn", value=self.runtime_access.provider.credential_provider_arn)
