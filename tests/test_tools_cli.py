"""The `tools/` entry points: a configuration they refuse is one line, as `app.py` says it, never a traceback; `make
snapshots` writes all sets or none; `make access` and `make deploy STACKS=...` read the configuration alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from app_config import ConfigError, load_config
from tests.cdk_helpers import Assembly, load_context
from tests.conftest import write_config
from tools import access, cli, snapshots, stacks


def test_a_refused_configuration_is_one_line_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    def main() -> int:
        raise ConfigError("agentsFile", "config/agents.yaml", "agents[0].name: must be lowercase")

    assert cli.run(main) == 1
    err = capsys.readouterr().err
    assert err == "error: Invalid configuration agentsFile='config/agents.yaml': agents[0].name: must be lowercase\n"


def test_make_access_reports_a_missing_file_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(lambda: access.main(["-c", "agentsFile=nope.yaml"])) == 1
    err = capsys.readouterr().err  # (after the jsii runtime's own notice about Node.js, when it starts here)
    assert err.splitlines()[-1].startswith("error: Invalid configuration agentsFile='nope.yaml': file not found")
    assert "Traceback" not in err


def test_snapshots_write_every_set_or_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(snapshots, "SNAPSHOT_DIR", tmp_path)
    monkeypatch.setattr(snapshots, "SETS", {"good": {}, "bad": {}})
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "s.json").write_text("committed\n")

    def synthesize(set_name: str) -> dict[str, Any]:
        if set_name == "bad":
            raise ConfigError("agentsFile", "agents.yaml", "agents[2].tools[0]: no target 'inventory'")
        return {"s": {"Resources": {}}}

    monkeypatch.setattr(snapshots, "synthesize", synthesize)
    assert cli.run(lambda: snapshots.main(["--update"])) == 1
    assert (tmp_path / "good" / "s.json").read_text() == "committed\n"  # the good set was not written either
    assert not (tmp_path / "bad").exists()
    assert capsys.readouterr().err.startswith("error: Invalid configuration agentsFile='agents.yaml'")


def test_snapshot_sets_read_one_configuration_each() -> None:
    # The example brings its own agents: an agent of config/agents.yaml granted a new entry cannot break its set.
    for name, context in snapshots.SETS.items():
        targets, agents = context.get("targetsFile"), context.get("agentsFile")
        if targets is None or agents is None:
            assert targets is agents is None, f"{name} mixes cdk.json's file with its own"
        else:
            assert Path(targets).parent == Path(agents).parent, name


def test_make_access_lists_each_agents_tools_and_each_tools_agents(tmp_path: Path) -> None:
    entries: list[dict[str, Any]] = [
        {"name": "orders", "kind": "hosted", "path": "mcp_server", "tools": ["getOrder", "updateOrder"]},
        # Unpinned (no tool lock beside the targets file) and declaring no tools: nothing to grant. (A hosted entry
        # declaring none takes its folder's lock's.)
        {
            "name": "tickets",
            "kind": "existing",
            "endpoint": "https://support.example.com/mcp",
            "oauth": {
                "discoveryUrl": "https://support.example.com/.well-known/openid-configuration",
                "clientId": "gateway",
                "scopes": ["tickets.read"],
                "clientSecretName": "mcp-gateway/tickets",
            },
        },
    ]
    agents = {
        "defaultRateLimit": {"requests": 600, "per": "minute"},
        "agents": [
            {"name": "bot", "targets": ["orders"]},
            {"name": "viewer", "tools": ["orders___getOrder"], "rateLimit": {"requests": 5, "per": "second"}},
        ],
    }
    text = access.report(load_config(load_context(**write_config(tmp_path, entries, agents))))
    lines = text.splitlines()
    assert lines[1:6] == [
        "  bot: rate limit 600 requests per minute, the default",
        "    orders___getOrder",
        "    orders___updateOrder",
        "  viewer: rate limit 5 requests per second",
        "    orders___getOrder",
    ]
    assert "    orders___getOrder: bot, viewer" in lines and "    orders___updateOrder: bot" in lines
    assert "  tickets: kind existing, outbound oauth (OAuth client credentials)" in lines
    assert "    tickets___*: no tools declared, so no agent may be granted them" in lines
    assert yaml.safe_load((tmp_path / "agents.yaml").read_text())["agents"][0]["name"] == "bot"


def test_make_access_shows_every_kind_its_outbound_auth_and_callers() -> None:
    from tests.cdk_helpers import shipped_context

    config = load_config(shipped_context(**snapshots.SETS["example-every-kind"]))
    lines = access.report(config).splitlines()
    at = lines.index("targets and their tools (config/examples/every-kind/targets.yaml):")
    by_entry: dict[str, list[str]] = {}
    for line in lines[at + 1 :]:
        if line.startswith("  ") and not line.startswith("    "):
            by_entry[line.split(":")[0].strip()] = [line]
        elif line.startswith("    "):
            by_entry[list(by_entry)[-1]].append(line)
    heads = {name: rows[0].split(": ", 1)[1] for name, rows in by_entry.items()}
    assert heads == {
        "orders": "kind hosted, outbound oauth (OAuth client credentials)",
        "billing": "kind existing, outbound oauth (OAuth client credentials)",
        "catalog": "kind existing, outbound apiKey (an API-key credential provider; the key stays in Secrets Manager)",
        "reports": "kind existing, outbound iam (the gateway's own role, SigV4)",
        "inventory": "kind lambda, outbound iam (the gateway's own role invokes the function)",
        "pricing": "kind lambda, outbound iam (the gateway's own role invokes the function)",
        "pets": "kind openapi, outbound apiKey (an API-key credential provider; the key stays in Secrets Manager)",
        "lambda-api": "kind smithy, outbound iam (the gateway's own role, SigV4)",
        "shipping": "kind apiGateway, outbound iam (the gateway's own role, SigV4)",
    }
    # Where the tools come from, and the lock that pins them (an existing entry may still be unpinned).
    assert by_entry["inventory"][1] == (
        "    function built from functions/inventory, tool schema in config/examples/every-kind/tools/"
        "inventory.tools.json; tool lock config/examples/every-kind/tool-locks/inventory.json"
    )
    assert by_entry["pets"][1].startswith("    OpenAPI description config/examples/every-kind/specs/petstore")
    assert by_entry["shipping"][1] == (
        "    REST API a1b2c3d4e5, stage prod; tool lock config/examples/every-kind/tool-locks/shipping.json"
    )
    assert by_entry["catalog"][1].endswith("unpinned (no tool lock config/examples/every-kind/tool-locks/catalog.json)")
    # Each declared tool (a Lambda tool schema's, a description's operations, the operations listed) and its callers.
    assert by_entry["inventory"][2:] == [
        "    inventory___getStock: concierge, warehouse",
        "    inventory___reserveItem: warehouse",
    ]
    assert by_entry["pets"][2:] == [
        "    pets___createPet: no agent",
        "    pets___getPet: concierge",
        "    pets___listPets: no agent",
    ]
    assert by_entry["lambda-api"][2:] == [
        "    lambda-api___GetFunctionConfiguration: concierge",
        "    lambda-api___ListFunctions: no agent",
    ]
    assert by_entry["shipping"][2:] == [
        "    shipping___getShipment: concierge, warehouse",
        "    shipping___listShipments: warehouse",
    ]
    # Names, never secrets: an API key's secret is named by the entry, and not even its name is shown.
    assert "mcp-gateway/pets/api-key" not in "\n".join(lines)


def test_stacks_are_selected_by_the_names_the_docs_give_them(dev: Assembly) -> None:
    by_name = {
        artifact["properties"]["stackName"]: artifact_id
        for artifact_id, artifact in dev.manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    assert stacks.resolve(["gateway", "mcpgw-dev-agents", "mcp-targets-0", "Cognito"], by_name, "mcpgw-dev-") == [
        "Gateway",
        "Agents",
        "McpTargets0",
        "Cognito",
    ]
    with pytest.raises(SystemExit) as exited:
        stacks.resolve(["gatway"], by_name, "mcpgw-dev-")
    assert "STACKS names no stack 'gatway' (stacks: agents, cognito, credential-provider, gateway," in str(exited.value)
