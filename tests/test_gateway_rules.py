"""The gateway's authorizer and MCP versions: what AgentCore's API refuses, or cannot change after create, although
the registry schema lets it through (aws_rules/gateway.py), and the replacement guard's record of the versions."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import aws_rules
from aws_rules.gateway import GATEWAY_MCP_VERSIONS
from aws_rules.model import Assembly as Model
from tests.cdk_helpers import Assembly, load_context
from tests.conftest import write_config
from tools import replacement_guard

GATEWAY = "AWS::BedrockAgentCore::Gateway"


def gateway(assembly: Assembly, env_name: str = "dev") -> dict[str, Any]:
    properties: dict[str, Any] = assembly.template(f"mcpgw-{env_name}-gateway")["Resources"]["Gateway"]["Properties"]
    return properties


def rule_ids(templates: dict[str, Any], recorded: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    return [(v.rule.id, v.detail) for v in aws_rules.check(templates, recorded=recorded)]


@pytest.mark.parametrize("env_name", ["dev", "prod"])
def test_the_gateway_allows_the_scope_its_agents_tokens_carry(env_name: str, request: pytest.FixtureRequest) -> None:
    assembly: Assembly = request.getfixturevalue(env_name)
    jwt = gateway(assembly, env_name)["AuthorizerConfiguration"]["CustomJWTAuthorizer"]
    assert jwt["AllowedScopes"] == [f"mcpgw-{env_name}-gateway/invoke"]
    # The scope is the gateway pool's resource server's, and every agent's client may ask for it.
    cognito = Model(assembly.templates)
    servers = [r for r in cognito.resources("AWS::Cognito::UserPoolResourceServer") if "Gateway" in r.logical_id]
    (server,) = servers
    identifier, scopes = server.properties["Identifier"], [s["ScopeName"] for s in server.properties["Scopes"]]
    assert jwt["AllowedScopes"] == [f"{identifier}/{scope}" for scope in scopes]
    agents = [r for r in cognito.resources("AWS::Cognito::UserPoolClient") if r.logical_id.startswith("Agent")]
    assert agents
    for client in agents:
        allowed = cognito.evaluate(client.stack, client.properties["AllowedOAuthScopes"])
        assert allowed == jwt["AllowedScopes"], client


def test_a_jwt_authorizer_without_scopes_is_refused(dev: Assembly) -> None:
    templates = copy.deepcopy(dev.templates)
    jwt = templates["mcpgw-dev-gateway"]["Resources"]["Gateway"]["Properties"]["AuthorizerConfiguration"]
    del jwt["CustomJWTAuthorizer"]["AllowedScopes"]
    found = [v for v in aws_rules.check(templates) if v.rule.id == "gateway-jwt-allowed-scopes"]
    assert [v.where for v in found] == ["mcpgw-dev-gateway/Gateway (AWS::BedrockAgentCore::Gateway)"]
    assert "coverage-roadmap#2528" in str(found[0])


def test_the_gateway_is_created_with_every_mcp_version_agentcore_serves(dev: Assembly, prod: Assembly) -> None:
    assert GATEWAY_MCP_VERSIONS == ("2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28")
    for assembly, env_name in ((dev, "dev"), (prod, "prod")):
        assert gateway(assembly, env_name)["ProtocolConfiguration"]["Mcp"]["SupportedVersions"] == list(
            GATEWAY_MCP_VERSIONS
        )


@pytest.mark.parametrize(("versions", "flagged"), [(["2024-11-05"], True), ([], True), (["2026-07-28"], False)])
def test_versions_the_gateway_does_not_serve_are_refused(dev: Assembly, versions: list[str], flagged: bool) -> None:
    templates = copy.deepcopy(dev.templates)
    gateway_of(templates)["ProtocolConfiguration"]["Mcp"]["SupportedVersions"] = versions
    assert any(rule == "gateway-mcp-versions" for rule, _ in rule_ids(templates)) is flagged


def gateway_of(templates: dict[str, Any], env_name: str = "dev") -> dict[str, Any]:
    properties: dict[str, Any] = templates[f"mcpgw-{env_name}-gateway"]["Resources"]["Gateway"]["Properties"]
    return properties


def test_a_version_added_to_a_recorded_gateway_is_refused_and_a_removed_one_is_not(prod: Assembly) -> None:
    recorded = replacement_guard.identities(prod.templates)
    key = "mcpgw-prod-gateway/Gateway"
    assert recorded[key]["supportedVersions"] == list(GATEWAY_MCP_VERSIONS)
    created_with_two = copy.deepcopy(recorded)
    created_with_two[key]["supportedVersions"] = ["2025-03-26", "2025-06-18"]
    found = [
        (r, d) for r, d in rule_ids(prod.templates, created_with_two) if r == "gateway-mcp-versions-fixed-at-create"
    ]
    assert found == [
        (
            "gateway-mcp-versions-fixed-at-create",
            "adds MCP version 2025-11-25, 2026-07-28 to the versions it was created with (2025-03-26, 2025-06-18)",
        )
    ]
    # The guard says the same, naming the reason.
    (problem,) = replacement_guard.replacements(created_with_two, recorded)
    assert problem.startswith(f"{key} (AWS::BedrockAgentCore::Gateway) cannot take MCP version 2025-11-25, 2026-07-28")
    assert "never extended" in problem and "aws/aws-cli#10346" in problem and "--update" in problem

    # Narrowing is allowed by both, and the guard asks for it to be recorded so that adding it back is refused.
    templates = copy.deepcopy(prod.templates)
    gateway_of(templates, "prod")["ProtocolConfiguration"]["Mcp"]["SupportedVersions"] = ["2025-06-18"]
    current = replacement_guard.identities(templates)
    assert not [r for r, _ in rule_ids(templates, recorded) if r == "gateway-mcp-versions-fixed-at-create"]
    assert replacement_guard.replacements(recorded, current) == []
    assert replacement_guard.narrowed(recorded, current) == [
        f"{key}: supportedVersions {list(GATEWAY_MCP_VERSIONS)} -> ['2025-06-18']"
    ]


def test_the_record_follows_every_narrowing(prod: Assembly) -> None:
    problems = replacement_guard.narrowed(replacement_guard.recorded(), replacement_guard.identities(prod.templates))
    assert not problems, (
        "A gateway's MCP versions were narrowed (allowed): record it with python -m tools.replacement_guard --update,"
        " or adding a version back would pass synth and fail the deploy:\n" + "\n".join(problems)
    )


def test_synth_refuses_a_version_added_to_a_gateway_that_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What `cdk synth` runs: app.synthesize feeds aws_rules the committed record.
    from app import create_app, synthesize

    record = tmp_path / "stable_identities.json"
    record.write_text(
        json.dumps(
            {"mcpgw-dev-gateway/Gateway": {"type": GATEWAY, "createOnly": {}, "supportedVersions": ["2025-03-26"]}}
        )
    )
    monkeypatch.setattr(replacement_guard, "IDENTITIES", record)
    existing = {
        "name": "remote",
        "kind": "existing",
        "endpoint": "https://remote.example.com/mcp",
        "oauth": {
            "discoveryUrl": "https://login.example.com/.well-known/openid-configuration",
            "clientId": "gateway-remote",
            "scopes": ["remote/invoke"],
            "clientSecretName": "mcp-gateway/remote",
        },
    }
    context = load_context(
        env="dev", mcpProtocolVersions=["2025-03-26", "2025-06-18"], **write_config(tmp_path, [existing])
    )
    with pytest.raises(aws_rules.RulesError) as raised:
        synthesize(create_app(context))
    (violation,) = raised.value.violations
    assert violation.rule.id == "gateway-mcp-versions-fixed-at-create"
    assert violation.where == "mcpgw-dev-gateway/Gateway (AWS::BedrockAgentCore::Gateway)"
    assert "adds MCP version 2025-06-18" in str(violation) and "never extended" in str(violation)
    # Accepting it deliberately is what `python -m tools.replacement_guard --update` is for: held to no record.
    assert synthesize(create_app(context), recorded={}).get_stack_by_name("mcpgw-dev-gateway")
