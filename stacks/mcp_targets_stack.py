"""The MCP servers of one shard: what each of its config entries deploys (McpEntry), and the entries' outputs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aws_cdk import CfnOutput, CfnWaitConditionHandle, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam

from app_config import AppConfig
from constructs import Construct
from constructs.mcp_entry import McpEntry, SharedResources
from constructs.nag import acknowledge_grants
from constructs.naming import name_logical_id


class McpTargetsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        shard: int,
        shared: SharedResources,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        names = config.names
        # The gateway as this stack sees it: its role imported by name (immutable), so that what refers to the role
        # (a function's resource policy, the shard's grants) needs no export of the role's stack, whose removal
        # with the last such entry could not deploy.
        role = iam.Role.from_role_name(self, "GatewayRole", names.gateway_role, mutable=False)
        gateway = agentcore.Gateway.from_gateway_attributes(
            self,
            "Gateway",
            gateway_arn=shared.gateway.gateway_arn,
            gateway_id=shared.gateway.gateway_id,
            gateway_name=names.gateway,
            role=role,
        )
        local = replace(shared, gateway=gateway)
        self.entries = {entry.name: McpEntry.of(self, entry, local) for entry in config.shard(shard)}
        grants = [statement for entry in self.entries.values() for statement in entry.grants]
        self.grants: iam.ManagedPolicy | None = None
        if grants:
            # What the gateway's role needs for this shard's entries that only an identity policy can grant (an API
            # Gateway stage's operations, a Smithy service's actions, a function elsewhere): one managed policy per
            # shard, so an entry's grant lives, and changes, with its own stack, and the role's inline policies keep
            # their fixed size (IAM quotas: 10 managed policies per role; aws_rules checks both).
            self.grants = iam.ManagedPolicy(
                self,
                "GatewayGrants",
                managed_policy_name=names.shard_grants(shard),
                description=f"What the gateway's role may call for the entries of shard {shard}",
                statements=grants,
                roles=[role],
            )
            name_logical_id(self.grants, "GatewayGrants")
            acknowledge_grants(self.grants, grants)
            # A target is created after what its calls are granted: an MCP server's create lists its tools with the
            # role (implicit synchronization; aws_rules gateway-iam-target-grants), and the others' first call
            # comes right after the deploy.
            for deployed in self.entries.values():
                if deployed.grants:
                    deployed.target.target.node.add_dependency(self.grants)
        for deployed in self.entries.values():
            for name, value in deployed.outputs.items():
                CfnOutput(self, name, value=value)
        # AgentCore allows 5 concurrent target operations (create, update, delete) on one gateway: one at a time per
        # stack, in name order (stable when entries are added), so that even 4 stacks deployed in parallel stay under.
        ordered = [self.entries[name].target.target for name in sorted(self.entries)]
        for previous, target in zip(ordered, ordered[1:], strict=False):
            target.node.add_dependency(previous)
        if not self.entries:
            # A shard without entries stays deployed (empty), so removing its last entry deletes what it held.
            CfnWaitConditionHandle(self, "EmptyShard")
