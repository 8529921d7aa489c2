"""The gateway's service role, kept apart so its trust policy is reviewed on its own and outlives gateway rebuilds."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack

from app_config import AppConfig
from constructs import Construct
from constructs.gateway_role import GatewayServiceRole
from constructs.naming import name_logical_id


class GatewayRoleStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: AppConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        names = config.names
        self.service_role = GatewayServiceRole(
            self,
            "GatewayServiceRole",
            role_name=names.gateway_role,
            gateway_name=names.gateway,
            provider_prefix=names.provider_prefix,
            provider_suffix=names.provider_suffix,
            api_key_suffix=names.api_key_suffix,
            policy_engine_name=names.policy_engine,
        )
        self.role = self.service_role.role
        name_logical_id(self.role, "GatewayServiceRole")
