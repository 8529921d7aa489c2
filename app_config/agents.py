"""config/agents.yaml: the agents that call the gateway, validated by the model, then against the targets: every tool an
agent may call must be one its target declares, because the gateway's policy engine refuses (mid-deploy) a policy
that names a tool its catalog lacks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from app_config.errors import TargetsError
from app_config.model import ROOT, AgentEntry, AgentsFile, Entry, RateLimit
from app_config.rules import TOOL_SEPARATOR
from app_config.targets import UniqueNames, read_entries

SCHEMA_FILE = ROOT / "config" / "agents.schema.json"
# The tightest of the limits an agent counts against: its client id is an output of the cognito stack (CloudFormation:
# 200 outputs per stack, a dozen taken by the pools' and the stack's own). Looser: Cognito's 1,000 app clients per
# user pool; AgentCore's 1,000 policies per policy engine and 1,000 entries per gateway rate limit.
MAX_AGENTS = 150


@dataclass(frozen=True)
class Agents:
    """The agents, each with the tools it may call resolved to gateway tool names (<target>___<tool>), sorted."""

    entries: tuple[AgentEntry, ...]
    default_rate_limit: RateLimit
    tools: dict[str, tuple[str, ...]]

    def allowed(self, agent: str) -> tuple[str, ...]:
        return self.tools[agent]

    @property
    def active(self) -> tuple[AgentEntry, ...]:
        """The agents the gateway accepts and the policies name: every agent but the retired ones."""
        return tuple(agent for agent in self.entries if not agent.retired)


def load_agents(path: Path, targets: tuple[Entry, ...], locks: Mapping[str, str] | None = None) -> Agents:
    """`locks`: the tool lock file (as shown) each locked target's tools come from, named in errors."""
    locks = locks or {}
    parsed = read_entries(path, AgentsFile, "agentsFile")
    if len(parsed.agents) > MAX_AGENTS:
        raise TargetsError(
            f"{len(parsed.agents)} agents exceed {MAX_AGENTS}: each agent's client id is an output of the cognito "
            "stack, and CloudFormation allows 200 outputs per stack"
        )
    declared = {t.name: t.tools for t in targets}
    # The client's, policy's and output's logical ids are Agent<Pascal name>...
    names = UniqueNames("agents", "agent names name their app clients and policies and must be unique", "Agent")
    tools: dict[str, tuple[str, ...]] = {}
    for index, agent in enumerate(parsed.agents):
        where = f"agents[{index}]"
        names.add(index, agent.name)
        if agent.retired:
            # Its client stays until the entry goes; it may call nothing, whatever the entry still lists.
            tools[agent.name] = ()
            continue
        if not agent.targets and not agent.tools:
            raise TargetsError(
                f"{where}: grants nothing: list the targets or tools ({'<target>___<tool>'}) it may call"
            )
        allowed: set[str] = set()
        for position, target in enumerate(agent.targets):
            allowed.update(
                f"{target}{TOOL_SEPARATOR}{tool}"
                for tool in _declared(declared, target, f"{where}.targets[{position}]")
            )
        for position, tool in enumerate(agent.tools):
            target, _, name = tool.partition(TOOL_SEPARATOR)
            listed = _declared(declared, target, f"{where}.tools[{position}] {tool!r}")
            if name not in listed:
                source = f"{target}'s lock {locks[target]} has" if target in locks else f"{target} declares"
                raise TargetsError(
                    f"{where}.tools[{position}] {tool!r}: {source} no tool {name!r} (its tools: "
                    f"{', '.join(listed)}); the policy engine would refuse the agent's policy mid-deploy"
                )
            allowed.add(tool)
        tools[agent.name] = tuple(sorted(allowed))
    return Agents(tuple(parsed.agents), parsed.default_rate_limit, tools)


def _declared(declared: dict[str, list[str] | None], target: str, where: str) -> list[str]:
    if target not in declared:
        raise TargetsError(f"{where}: no target {target!r} in the targets file (targets: {', '.join(declared)})")
    listed = declared[target]
    if not listed:
        raise TargetsError(
            f"{where}: target {target!r} declares no tools: list them in its entry (tools: [...], as its server's "
            "tools/list names them) before granting them; the policy engine checks policies against the catalog"
        )
    return listed


def json_schema() -> dict[str, Any]:
    """config/agents.schema.json, generated from the model (`make schema` writes it; a test fails on drift)."""
    schema = AgentsFile.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/agentcore-mcp-gateway/config/agents.schema.json",
        **schema,
    }
