"""The MCP servers of one shard: what each of its config entries deploys (McpEntry), and the entries' outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, CfnWaitConditionHandle, Stack

from app_config import AppConfig
from constructs import Construct
from constructs.mcp_entry import McpEntry, SharedResources


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
        self.entries = {entry.name: McpEntry.of(self, entry, shared) for entry in config.shard(shard)}
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
