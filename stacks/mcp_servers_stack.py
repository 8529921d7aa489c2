"""The hosted MCP servers of one shard: each a linux/arm64 image in its own AgentCore Runtime, behind JWTs."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, CfnWaitConditionHandle, CrossStackReferences, ReferenceStrength, Stack
from constructs import Construct

from app_config import AppConfig, HostedTarget, pascal
from gateway_constructs import name_logical_id
from gateway_constructs.hosted_server import HostedMcpServer
from gateway_constructs.m2m_user_pool import M2MUserPool


class McpServersStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        shard: int,
        runtime_pool: M2MUserPool,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        names = config.names
        self.servers: dict[str, HostedMcpServer] = {}
        for entry in config.shard(shard):
            if not isinstance(entry, HostedTarget):
                continue
            label = pascal(entry.name)
            pool = runtime_pool
            if entry.own_pool:
                pool = M2MUserPool(
                    self,
                    f"{label}Pool",
                    user_pool_name=names.user_pool(entry.name),
                    resource_server_id=names.resource_server(entry.name),
                    client_name=names.app_client(entry.name),
                    domain_prefix=names.domain_prefix(entry.name, config.account or Aws.ACCOUNT_ID),
                    purpose=f"MCP server {entry.name}",
                    retain=config.retain_data,
                )
                pool.name_logical_ids(label)
                for referenced in (pool.user_pool, pool.client, pool.domain):
                    CrossStackReferences.of(referenced).produce(ReferenceStrength.WEAK)
            server = HostedMcpServer(
                self,
                label,
                source_dir=entry.path,
                runtime_name=names.runtime(entry.name),
                description=entry.description,
                inbound_pool=pool,
                log_retention_days=config.log_retention_days,
                retain=config.retain_data,
                tags=config.tags,
            )
            name_logical_id(server.runtime, f"{label}Runtime")
            # Weak (Fn::GetStackOutput, no export): removing an entry deletes its runtime from this stack,
            # which deploys before the targets stack that still refers to it; a strong export would block that.
            CrossStackReferences.of(server.runtime).produce(ReferenceStrength.WEAK)
            CfnOutput(self, f"{label}RuntimeArn", value=server.runtime.agent_runtime_arn)
            self.servers[entry.name] = server
        if not self.servers:
            # A shard without servers stays deployed (empty), so removing its last entry deletes what it held.
            CfnWaitConditionHandle(self, "EmptyShard")
