"""Agents (config/agents.yaml): the file's rules, how grants resolve to tools, the Cedar each agent's policy holds (checked
offline against AgentCore's Cedar schema with cedarpy), the policies, rate limit and app clients in the templates, and
what adding or removing an agent changes."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cedarpy
import pytest
import yaml

from app_config import AppConfig, ConfigError, load_config, pascal
from app_config.agents import MAX_AGENTS
from aws_rules.schemas import create_only_properties, resource_schema
from constructs.agent_access import RATE_LIMIT_KEY, cedar_permit, rate_limit_id
from tests.cdk_helpers import DEFAULT_FIXTURE, ROOT, Assembly, evaluate, load_context, schema_and_model_agree
from tests.conftest import many_agents, many_entries, synthesize, write_config
from tests.test_config import env_override
from tools.replacement_guard import identities, replacements, unsafe_removals

COGNITO, GATEWAY, AGENTS = "mcpgw-dev-cognito", "mcpgw-dev-gateway", "mcpgw-dev-agents"
POLICY = "AWS::BedrockAgentCore::Policy"
RATE_LIMIT = "AWS::BedrockAgentCore::GatewayRateLimit"
CLIENT = "AWS::Cognito::UserPoolClient"

# What the tokens of a deployed policy resolve to: a gateway ARN of the form AgentCore gives it (<name>-<10 characters>),
# and, per agent, a client id of Cognito's form (26 lowercase letters and digits).
GATEWAY_ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/mcpgw-dev-gateway-abcdefghij"
OTHER_GATEWAY_ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/mcpgw-prod-gateway-klmnopqrst"


def client_id_of(agent: str) -> str:
    return hashlib.sha256(agent.encode()).hexdigest()[:26]


def dev_config() -> AppConfig:
    return load_config(load_context(env="dev"))


# --- the agents file's rules ----------------------------------------------------------------------------------------

ORDERS: dict[str, Any] = {
    "name": "orders",
    "kind": "hosted",
    "path": "mcp_server",
    "tools": ["getOrder", "updateOrder"],
}
# An existing server whose entry declares no tools: nothing of it can be granted yet.
BILLING: dict[str, Any] = {
    "name": "billing",
    "kind": "existing",
    "endpoint": "https://billing.example.com/mcp",
    "oauth": {
        "discoveryUrl": "https://login.example.com/.well-known/openid-configuration",
        "clientId": "gateway",
        "scopes": ["billing/invoke"],
        "clientSecretName": "teams/billing/mcp",
    },
}
DEFAULT_RATE = {"requests": 600, "per": "minute"}


def agents_file(*agents: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"defaultRateLimit": DEFAULT_RATE, "agents": list(agents), **top}


def viewer(**fields: Any) -> dict[str, Any]:
    return {"name": "viewer", "tools": ["orders___getOrder"], **fields}


@pytest.mark.parametrize(
    ("agents", "expected"),
    [
        pytest.param(
            agents_file({"name": "shipper", "targets": ["shipping"]}),
            "agents[0].targets[0]: no target 'shipping' in the targets file (targets: orders, billing)",
            id="unknown-target",
        ),
        pytest.param(
            agents_file({"name": "shipper", "tools": ["shipping___ship"]}),
            "agents[0].tools[0] 'shipping___ship': no target 'shipping' in the targets file",
            id="unknown-target-of-a-tool",
        ),
        # The policy engine refuses a policy naming a tool the gateway's catalog lacks (mid-deploy): the config
        # refuses it first, against the tools the target's entry declares.
        pytest.param(
            agents_file(viewer(), {"name": "deleter", "tools": ["orders___deleteOrder"]}),
            "agents[1].tools[0] 'orders___deleteOrder': orders's lock mcp_server/tools.lock.json has no tool "
            "'deleteOrder' (its tools: getOrder, updateOrder)",
            id="undeclared-tool",
        ),
        pytest.param(
            agents_file({"name": "payer", "targets": ["billing"]}),
            "agents[0].targets[0]: target 'billing' declares no tools",
            id="target-without-tools",
        ),
        pytest.param(
            agents_file({"name": "payer", "tools": ["billing___pay"]}),
            "agents[0].tools[0] 'billing___pay': target 'billing' declares no tools",
            id="tool-of-a-target-without-tools",
        ),
        pytest.param(
            agents_file(viewer(), {"name": "other", "targets": ["orders"]}, viewer()),
            "agents[2].name 'viewer' duplicates agents[0]",
            id="duplicate-name",
        ),
        # Both would be named AgentOrderV2... (client, policy, output): refused here, not a crash at synth.
        pytest.param(
            agents_file({"name": "order-v2", "targets": ["orders"]}, {"name": "order-v-2", "targets": ["orders"]}),
            "agents[1].name 'order-v-2' and agents[0] both give the resource names AgentOrderV2",
            id="same-resource-names",
        ),
        pytest.param(agents_file({"name": "idle"}), "agents[0]: grants nothing", id="grants-nothing"),
        pytest.param(
            agents_file({"name": "idle", "targets": [], "tools": []}), "agents[0]: grants nothing", id="empty-lists"
        ),
        pytest.param(
            agents_file(viewer(rateLimit={"requests": 5, "per": "hour"})),
            "agents[0].rateLimit.per: 'hour' is invalid: must be one of second, minute",
            id="bad-period",
        ),
        pytest.param(
            agents_file(viewer(), defaultRateLimit={"requests": 5, "per": "day"}),
            "defaultRateLimit.per: 'day' is invalid: must be one of second, minute",
            id="bad-default-period",
        ),
        # AWS::BedrockAgentCore::GatewayRateLimit's registry schema: RateConfig.Rate from 0 to 10,000,000.
        pytest.param(
            agents_file(viewer(rateLimit={"requests": -1, "per": "minute"})),
            "agents[0].rateLimit.requests: -1 is invalid: must be a whole number of requests from 0 to 10000000",
            id="negative-requests",
        ),
        pytest.param(
            agents_file(viewer(rateLimit={"requests": 10_000_001, "per": "minute"})),
            "agents[0].rateLimit.requests: 10000001 is invalid: must be a whole number of requests from 0 to 10000000",
            id="too-many-requests",
        ),
        pytest.param(
            agents_file(viewer(rateLimit={"requests": "60", "per": "minute"})),
            "agents[0].rateLimit.requests: '60' is invalid",
            id="requests-as-text",
        ),
        pytest.param(
            agents_file(viewer(name="Order_Viewer")),
            "agents[0].name: 'Order_Viewer' is invalid: must be 1-24 lowercase letters and digits, starting with a "
            "letter, in words joined by single hyphens",
            id="bad-name",
        ),
        pytest.param(
            agents_file(viewer(name="a" * 25)),
            f"agents[0].name: {'a' * 25!r} is invalid: must be 1-24 lowercase letters",
            id="long-name",
        ),
        pytest.param(
            agents_file(viewer(tools=["orders__getOrder"])),
            "agents[0].tools[0]: 'orders__getOrder' is invalid: must name one tool as the gateway does: "
            "<target>___<tool> (three underscores)",
            id="tool-without-its-target",
        ),
        pytest.param(
            agents_file(viewer(rateLimits={"requests": 5, "per": "second"})),
            "agents[0]: Additional properties are not allowed ('rateLimits' was unexpected)",
            id="unknown-key",
        ),
        pytest.param(
            agents_file(viewer(), defaultRatelimit=DEFAULT_RATE),
            "file: Additional properties are not allowed ('defaultRatelimit' was unexpected)",
            id="unknown-top-level-key",
        ),
        pytest.param(
            {"agents": [viewer()]}, "file: 'defaultRateLimit' is a required property", id="no-default-rate-limit"
        ),
        pytest.param(agents_file(), "agents: [] is invalid: must list at least 1", id="no-agents"),
        # Each agent's client id is an output of the cognito stack: CloudFormation allows 200 outputs per stack.
        pytest.param(
            agents_file(*(viewer(name=f"agent{i}") for i in range(MAX_AGENTS + 1))),
            f"{MAX_AGENTS + 1} agents exceed {MAX_AGENTS}",
            id="too-many-agents",
        ),
    ],
)
def test_each_rule_names_the_entry_and_field(tmp_path: Path, agents: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(load_context(**write_config(tmp_path, [ORDERS, BILLING], agents)))
    error = raised.value
    assert (error.key, error.value) == ("agentsFile", str(tmp_path / "agents.yaml"))
    assert str(error).startswith(f"Invalid configuration agentsFile='{tmp_path / 'agents.yaml'}': ")
    assert expected in error.rule, error.rule


def test_as_many_agents_as_allowed_load(tmp_path: Path) -> None:
    agents = agents_file(*(viewer(name=f"agent{i}") for i in range(MAX_AGENTS)))
    config = load_config(load_context(**write_config(tmp_path, [ORDERS], agents)))
    assert len(config.agents.entries) == MAX_AGENTS


def test_a_missing_or_broken_agents_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "none.yaml")
    error = pytest.raises(ConfigError, load_config, load_context(agentsFile=missing)).value
    assert (error.key, error.value) == ("agentsFile", missing) and "file not found" in error.rule
    broken = tmp_path / "broken.yaml"
    broken.write_text("agents: [\n")
    error = pytest.raises(ConfigError, load_config, load_context(agentsFile=str(broken))).value
    assert error.key == "agentsFile" and "not valid YAML" in error.rule


def test_a_key_written_twice_in_the_agents_file_is_refused_with_its_line(tmp_path: Path) -> None:
    # The second `targets:` of one agent silently replaced the first: a grant nobody reviewed.
    written = write_config(tmp_path, [ORDERS, BILLING], agents_file(viewer()))
    Path(written["agentsFile"]).write_text(
        "defaultRateLimit: {requests: 60, per: minute}\n"
        "agents:\n"
        "  - name: order-viewer\n"
        "    targets: [orders]\n"
        "    targets: [billing]\n"
    )
    error = pytest.raises(ConfigError, load_config, load_context(**written)).value
    assert error.key == "agentsFile" and error.rule == (
        "line 5: the key 'targets' is written twice in one mapping (first at line 4); YAML would keep the last "
        "value silently"
    )


def test_the_policy_mode_is_one_of_the_engines_modes() -> None:
    # AgentCore's policy engine modes on a gateway: LOG_ONLY (decide and log, let everything through) or ENFORCE.
    error = pytest.raises(ConfigError, load_config, env_override(policyMode="AUDIT")).value
    assert (error.key, error.value) == ("environments.dev.policyMode", "AUDIT")
    assert error.rule == "must be one of LOG_ONLY, ENFORCE"
    assert load_config(env_override(policyMode="ENFORCE")).environment.policy_mode == "ENFORCE"
    # Unset, an environment enforces: forgetting the setting must not leave every tool open.
    assert load_config(env_override(policyMode=None)).environment.policy_mode == "ENFORCE"


# --- what an agent may call -------------------------------------------------------------------------------------------


def test_grants_resolve_to_the_declared_tools_sorted_and_deduplicated(tmp_path: Path) -> None:
    billing = {**BILLING, "tools": ["refund", "pay"]}
    agents = agents_file(
        # A whole target and one of its own tools again, plus a single tool of another target.
        {"name": "mixed", "targets": ["orders"], "tools": ["orders___getOrder", "billing___pay"]},
        {"name": "payer", "targets": ["billing", "billing"]},
        {"name": "reader", "tools": ["orders___getOrder"]},
    )
    agents_of = load_config(load_context(**write_config(tmp_path, [ORDERS, billing], agents))).agents
    assert agents_of.allowed("mixed") == ("billing___pay", "orders___getOrder", "orders___updateOrder")
    assert agents_of.allowed("payer") == ("billing___pay", "billing___refund")
    assert agents_of.allowed("reader") == ("orders___getOrder",)
    # A whole target follows its entry: a tool declared later is granted with no change to the agents file.
    (tmp_path / "more").mkdir()
    more = write_config(tmp_path / "more", [ORDERS, {**billing, "tools": [*billing["tools"], "void"]}], agents)
    assert load_config(load_context(**more)).agents.allowed("payer") == (
        "billing___pay",
        "billing___refund",
        "billing___void",
    )


def test_the_default_fixtures_agents() -> None:
    agents = dev_config().agents
    assert [a.name for a in agents.entries] == ["platform-smoke", "order-viewer"]
    assert agents.allowed("platform-smoke") == ("orders___getOrder", "orders___updateOrder")
    # make smoke's denial check calls updateOrder as order-viewer: it must stay outside its grant.
    assert agents.allowed("order-viewer") == ("orders___getOrder",)


# --- config/agents.schema.json --------------------------------------------------------------------------------------


def test_the_committed_schema_is_the_one_the_model_generates() -> None:
    from app_config.agents import SCHEMA_FILE, json_schema

    assert json.loads(SCHEMA_FILE.read_text()) == json_schema(), "config/agents.schema.json is stale: run `make schema`"


def shipped_agents_files() -> list[Path]:
    return sorted({*ROOT.glob("config/**/*agents*.yaml"), ROOT / "config" / "agents.yaml"})


@pytest.mark.parametrize("path", shipped_agents_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_agents_file_validates_against_the_schema(path: Path) -> None:
    import jsonschema

    from app_config.agents import json_schema

    jsonschema.validate(yaml.safe_load(path.read_text()), json_schema())


@pytest.mark.parametrize(
    "document",
    [
        agents_file(viewer()),
        agents_file(viewer(rateLimit={"requests": 0, "per": "second"})),
        agents_file(viewer(rateLimit={"requests": -1, "per": "second"})),
        agents_file(viewer(rateLimit={"requests": 1, "per": "hour"})),
        agents_file(viewer(name="Viewer")),
        agents_file(viewer(tools=["orders__getOrder"])),
        agents_file(viewer(extra=True)),
        agents_file(),
        {"agents": [viewer()]},
    ],
)
def test_the_schema_and_the_model_agree(document: dict[str, Any]) -> None:
    # On what the schema can say (the targets file is another file: the model checks grants against it after).
    from app_config.agents import json_schema
    from app_config.model import AgentsFile

    assert schema_and_model_agree(json_schema(), AgentsFile, document), document


# --- the Cedar, offline -----------------------------------------------------------------------------------------------
#
# AgentCore's Cedar (AgentCore developer guide, policy-schema-constraints / example-policies-principal): the principal
# is an `AgentCore::OAuthUser` whose JWT claims are string tags (principal.hasTag / getTag; reading a missing tag is
# an error, which denies); the resource is `AgentCore::Gateway::"<gateway ARN>"`; each tool is the action
# `AgentCore::Action::"<target>___<tool>"`; the only context is `context.input` (the tool's arguments). Default deny,
# forbid wins. The engine validates each policy against the schema it derives from the gateway's tool catalog.
#
# The schema below is ours, written after those docs (AgentCore does not publish its own): it checks the policies'
# Cedar grammar, their entity and action names against the declared tools, and their conditions' types, and lets
# Cedar evaluate them. It cannot show that AgentCore's own schema (its action hierarchy, the real context.input)
# accepts them: the README lists that as checked only by a deploy.


def cedar_schema(config: AppConfig) -> str:
    """AgentCore's Cedar schema for a gateway whose catalog holds the tools the config's targets declare.

    `input` is an empty record: the real one holds each tool's arguments (an open record, which cedarpy's schema
    parser refuses as an unsupported feature); these policies never read it."""
    tools = [f"{t.name}___{tool}" for t in config.targets for tool in t.tools or []]
    actions = ", ".join(json.dumps(tool) for tool in tools)
    return (
        "namespace AgentCore {\n"
        "  entity OAuthUser tags String;\n"
        "  entity Gateway;\n"
        f"  action {actions} appliesTo {{ principal: [OAuthUser], resource: [Gateway], context: {{ input: {{}} }} }};\n"
        "}\n"
    )


@dataclass(frozen=True)
class Deployment:
    assembly: Assembly
    config: AppConfig
    schema: str
    statements: dict[str, str]  # agent name -> its policy's statement, tokens substituted, in name order

    @property
    def tools(self) -> list[str]:
        return [f"{t.name}___{tool}" for t in self.config.targets for tool in t.tools or []]


def deployed_statement(assembly: Assembly, config: AppConfig, statement: Any) -> str:
    """A policy's statement as CloudFormation would deploy it: the gateway's ARN (imported from the gateway stack) and
    the agent's client id (a weak reference to the cognito stack's output) substituted."""
    by_client = {f"Agent{pascal(a.name)}Client": client_id_of(a.name) for a in config.agents.entries}

    def lookup(kind: str, arg: Any) -> str:
        if kind == "ImportValue":
            producer, value = assembly.exports()[arg]
            assert (producer, value) == (GATEWAY, {"Fn::GetAtt": ["Gateway", "GatewayArn"]})
            return GATEWAY_ARN
        if kind == "GetStackOutput":
            producer, value = assembly.resolve_stack_output({"Fn::GetStackOutput": arg})
            assert producer == COGNITO and set(value) == {"Ref"}, value
            return by_client[value["Ref"]]
        raise AssertionError(f"unexpected {kind} {arg!r} in a policy statement")

    text = evaluate(statement, lookup)
    assert isinstance(text, str)
    return text


@pytest.fixture(scope="module", params=["dev", "many"])
def deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    assembly: Assembly = request.getfixturevalue(request.param)
    if request.param == "dev":
        config = dev_config()
    else:  # the config the `many` assembly was synthesized from
        config = load_config(
            load_context(
                env="dev", **write_config(tmp_path_factory.mktemp("many-config"), many_entries(), many_agents())
            )
        )
    by_policy = {config.names.agent_policy(a.name): a.name for a in config.agents.entries}
    statements = {
        by_policy[p["Properties"]["Name"]]: deployed_statement(
            assembly, config, p["Properties"]["Definition"]["Cedar"]["Statement"]
        )
        for p in assembly.resources(AGENTS, POLICY).values()
    }
    return Deployment(assembly, config, cedar_schema(config), dict(sorted(statements.items())))


def test_each_statement_is_the_permit_of_the_agents_client_and_tools(deployment: Deployment) -> None:
    agents = deployment.config.agents
    assert set(deployment.statements) == {a.name for a in agents.entries}
    for agent, statement in deployment.statements.items():
        assert statement == cedar_permit(
            client_id=client_id_of(agent), gateway_arn=GATEWAY_ARN, tools=agents.allowed(agent)
        )


def test_every_policy_validates_against_agentcores_schema(deployment: Deployment) -> None:
    for agent, statement in deployment.statements.items():
        result = cedarpy.validate_policies(statement, deployment.schema)
        assert result.validation_passed, (agent, result.errors)
    result = cedarpy.validate_policies("\n".join(deployment.statements.values()), deployment.schema)
    assert result.validation_passed, result.errors


def test_the_schema_check_refuses_what_the_policy_engine_would() -> None:
    config = dev_config()
    schema = cedar_schema(config)
    # A tool the gateway's catalog lacks: the engine refuses the policy (mid-deploy), and so does the offline check.
    absent = cedar_permit(client_id=client_id_of("x"), gateway_arn=GATEWAY_ARN, tools=["orders___deleteOrder"])
    result = cedarpy.validate_policies(absent, schema)
    assert not result.validation_passed
    assert any('unrecognized action `AgentCore::Action::"orders___deleteOrder"`' in e.error for e in result.errors)
    # Reading the claim without hasTag: Cedar cannot prove the tag is there, so the policy is refused (and at
    # evaluation, a token without it would be an error rather than a plain no).
    unguarded = cedar_permit(client_id="x", gateway_arn=GATEWAY_ARN, tools=["orders___getOrder"]).replace(
        'principal.hasTag("client_id") && ', ""
    )
    result = cedarpy.validate_policies(unguarded, schema)
    assert not result.validation_passed and any("client_id" in e.error for e in result.errors)


def authorize(
    deployment: Deployment,
    policies: cedarpy.PolicySet,
    tool: str,
    client_id: str | None,
    gateway_arn: str = GATEWAY_ARN,
) -> cedarpy.AuthzResult:
    tags = {} if client_id is None else {"client_id": client_id}
    entities = [
        {"uid": {"type": "AgentCore::OAuthUser", "id": "token-sub"}, "attrs": {}, "parents": [], "tags": tags},
        {"uid": {"type": "AgentCore::Gateway", "id": gateway_arn}, "attrs": {}, "parents": []},
    ]
    request = {
        "principal": {"type": "AgentCore::OAuthUser", "id": "token-sub"},
        "action": {"type": "AgentCore::Action", "id": tool},
        "resource": {"type": "AgentCore::Gateway", "id": gateway_arn},
        "context": {"input": {}},
    }
    return cedarpy.is_authorized(request, policies, entities, schema=deployment.schema)


def test_each_agent_may_call_exactly_its_tools(deployment: Deployment) -> None:
    # All of the engine's policies together, as the gateway evaluates a tool call.
    policies = cedarpy.PolicySet.from_str("\n".join(deployment.statements.values()))
    policy_ids = {agent: f"policy{index}" for index, agent in enumerate(deployment.statements)}
    decisions = {}
    for agent in deployment.statements:
        allowed = deployment.config.agents.allowed(agent)
        for tool in deployment.tools:
            result = authorize(deployment, policies, tool, client_id_of(agent))
            assert result.diagnostics.errors == [], (agent, tool, result.diagnostics.errors)
            decisions[agent, tool] = result.allowed
            if result.allowed:
                # Permitted by the agent's own policy, and by no other.
                assert result.diagnostics.reasons == [policy_ids[agent]], (agent, tool)
        assert {t for t in deployment.tools if decisions[agent, t]} == set(allowed), agent
    # Each agent is refused something another may call (the grants differ), so the matrix is not all-allow.
    assert not all(decisions.values())


def test_other_tokens_and_other_gateways_are_denied(deployment: Deployment) -> None:
    policies = cedarpy.PolicySet.from_str("\n".join(deployment.statements.values()))
    for tool in deployment.tools:
        # A client of the pool that is no agent of this file (say, a removed agent's, or the runtime pool's).
        assert not authorize(deployment, policies, tool, client_id_of("not-an-agent")).allowed, tool
        # No client_id claim: the hasTag guard makes it a plain deny, not an evaluation error.
        result = authorize(deployment, policies, tool, None)
        assert not result.allowed and result.diagnostics.errors == [], tool
    for agent in deployment.statements:
        for tool in deployment.config.agents.allowed(agent):
            # The same token against another gateway (another deployment's, sharing nothing but the account).
            assert not authorize(deployment, policies, tool, client_id_of(agent), OTHER_GATEWAY_ARN).allowed
            # Another agent's client id gets only what that agent is granted.
            for other in deployment.statements:
                decision = authorize(deployment, policies, tool, client_id_of(other)).allowed
                assert decision == (tool in deployment.config.agents.allowed(other)), (agent, other, tool)


# --- the templates ----------------------------------------------------------------------------------------------------


def test_one_policy_per_agent_chained_in_name_order(deployment: Deployment) -> None:
    assembly, config = deployment.assembly, deployment.config
    policies = assembly.resources(AGENTS, POLICY)
    agents = sorted(a.name for a in config.agents.entries)
    assert sorted(policies) == sorted(f"Agent{pascal(a)}Policy" for a in agents)
    texts = {a.name: a.text for a in config.agents.entries}
    statement_schema = resource_schema(POLICY)["definitions"]["CedarPolicy"]["properties"]["Statement"]
    assert (statement_schema["minLength"], statement_schema["maxLength"]) == (35, 10_000)
    previous = None
    for agent in agents:
        policy = policies[f"Agent{pascal(agent)}Policy"]
        properties = policy["Properties"]
        assert properties["Name"] == config.names.agent_policy(agent)
        assert properties["Description"] == texts[agent]
        assert assembly.resolve_import(properties["PolicyEngineId"]) == (
            GATEWAY,
            {"Fn::GetAtt": ["PolicyEngine", "PolicyEngineId"]},
        )
        # The schema check runs whatever the mode; the semantic findings would refuse a narrow permit.
        assert properties["ValidationMode"] == "IGNORE_ALL_FINDINGS"
        # The engine's mode (LOG_ONLY / ENFORCE) is the one switch: no policy is log-only on its own.
        assert "EnforcementMode" not in properties
        # AgentCore creates an engine's policies a few per second: one after another.
        assert policy.get("DependsOn") == ([f"Agent{pascal(previous)}Policy"] if previous else None), agent
        previous = agent
        length = len(deployment.statements[agent])
        assert statement_schema["minLength"] <= length <= statement_schema["maxLength"], (agent, length)


def expected_entries(assembly: Assembly, rows: list[tuple[str, int, str]]) -> list[dict[str, Any]]:
    entries = []
    for agent, rate, period in rows:
        value: Any = "*"
        if agent != "*":
            value = {"Fn::GetStackOutput": {"OutputName": f"Agent{pascal(agent)}ClientId", "StackName": COGNITO}}
            assert assembly.resolve_stack_output(value) == (COGNITO, {"Ref": f"Agent{pascal(agent)}Client"})
        entries.append({"Dimensions": {RATE_LIMIT_KEY: value}, "Requests": [{"Period": period, "Rate": rate}]})
    return entries


@pytest.mark.parametrize(
    ("fixture", "rows"),
    [
        ("dev", [("order-viewer", 60, "minute"), ("*", 600, "minute")]),
        # blocked's 0 blocks it; search-bot's is per second; ops and mixed share the default's rate, each its own.
        ("many", [("blocked", 0, "minute"), ("search-bot", 5, "second"), ("*", 600, "minute")]),
    ],
)
def test_the_rate_limit_has_an_entry_per_agent_with_its_own_limit_then_the_default(
    request: pytest.FixtureRequest, fixture: str, rows: list[tuple[str, int, str]]
) -> None:
    assembly: Assembly = request.getfixturevalue(fixture)
    logical_id, resource = assembly.single(AGENTS, RATE_LIMIT)
    properties = resource["Properties"]
    assert logical_id == "AgentRateLimit"
    assert assembly.resolve_import(properties["GatewayIdentifier"]) == (
        GATEWAY,
        {"Fn::GetAtt": ["Gateway", "GatewayIdentifier"]},
    )
    # The claim Cognito puts the app client's id in: one counter per agent.
    assert properties["DimensionKeys"] == ["$.context.jwt.client_id"] == [RATE_LIMIT_KEY]
    assert properties["RateLimitId"] == rate_limit_id("agents", properties["DimensionKeys"])
    assert properties["Entries"] == expected_entries(assembly, rows)


def test_the_rate_limits_id_changes_with_its_dimension_keys() -> None:
    # DimensionKeys is create-only: a change replaces the limit, and CloudFormation creates the new one before it
    # deletes the old. Ids are unique per gateway, so the new one needs an id of its own: derived from the keys.
    by_client = rate_limit_id("agents", [RATE_LIMIT_KEY])
    assert by_client == rate_limit_id("agents", [RATE_LIMIT_KEY]), "the same keys must keep the same id"
    assert re.fullmatch(r"agents-[0-9a-f]{8}", by_client)
    others = {rate_limit_id("agents", keys) for keys in (["toolName"], [RATE_LIMIT_KEY, "toolName"], ["targetName"])}
    assert by_client not in others and len(others) == 3
    pattern = resource_schema(RATE_LIMIT)["properties"]["RateLimitId"]["pattern"]
    assert all(re.fullmatch(pattern, i) for i in (by_client, *others))


def test_the_gateway_admits_exactly_the_agents_and_attaches_the_engine(dev: Assembly, prod: Assembly) -> None:
    for assembly, env_name, mode in ((dev, "dev", "LOG_ONLY"), (prod, "prod", "ENFORCE")):
        config = load_config(load_context(env=env_name))
        resources = assembly.template(f"mcpgw-{env_name}-gateway")["Resources"]
        gateway = resources["Gateway"]
        allowed = gateway["Properties"]["AuthorizerConfiguration"]["CustomJWTAuthorizer"]["AllowedClients"]
        # Exactly the agents' clients, in file order, each by a weak reference to its cognito output.
        assert [assembly.resolve_stack_output(c) for c in allowed] == [
            (f"mcpgw-{env_name}-cognito", {"Ref": f"Agent{pascal(a.name)}Client"}) for a in config.agents.entries
        ]
        engine_config = gateway["Properties"]["PolicyEngineConfiguration"]
        assert engine_config == {"Arn": {"Fn::GetAtt": ["PolicyEngine", "PolicyEngineArn"]}, "Mode": mode}
        assert resources["PolicyEngine"]["Properties"]["Name"] == config.names.policy_engine


def references(value: Any) -> Iterator[tuple[str, str | None]]:
    """(logical id, attribute or None for Ref) of every Ref and GetAtt in a template fragment, Fn::Sub's included."""
    if isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                yield arg, None
            elif key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                yield logical_id, attribute
            elif key == "Fn::Sub":
                template = arg if isinstance(arg, str) else arg[0]
                for name in template.split("${")[1:]:
                    name = name.split("}", 1)[0]
                    yield (name.split(".", 1)[0], name.split(".", 1)[1]) if "." in name else (name, None)
                if not isinstance(arg, str):
                    yield from references(arg[1])
            else:
                yield from references(arg)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def test_each_agent_has_a_client_credentials_client_in_the_gateway_pool(dev: Assembly, prod: Assembly) -> None:
    for assembly, env_name in ((dev, "dev"), (prod, "prod")):
        config = load_config(load_context(env=env_name))
        cognito = f"mcpgw-{env_name}-cognito"
        resources = assembly.template(cognito)["Resources"]
        assert resources["GatewayResourceServer"]["Properties"]["Identifier"] == config.names.resource_server("gateway")
        for agent in config.agents.entries:
            label = f"Agent{pascal(agent.name)}"
            client = resources[f"{label}Client"]
            properties = client["Properties"]
            assert client["Type"] == CLIENT
            assert properties["UserPoolId"] == {"Ref": "GatewayUserPool"}
            assert properties["ClientName"] == config.names.agent_client(agent.name)
            assert properties["GenerateSecret"] is True
            assert properties["AllowedOAuthFlows"] == ["client_credentials"]
            assert properties["AllowedOAuthFlowsUserPoolClient"] is True
            assert properties["AllowedOAuthScopes"] == [
                {"Fn::Join": ["", [{"Ref": "GatewayResourceServer"}, "/invoke"]]}
            ]
            if config.retain_data:
                # Deleting a client revokes the credentials its agent is configured with; only the rollback of the
                # operation that created it deletes it (no agent can hold it yet then).
                assert (client.get("DeletionPolicy"), client.get("UpdateReplacePolicy")) == (
                    "RetainExceptOnCreate",
                    "Retain",
                )
            else:
                assert client.get("DeletionPolicy", "Delete") == "Delete"
            # The id is an output (read by the gateway, the policies and the agents), never an export.
            assert assembly.template(cognito)["Outputs"][f"{label}ClientId"] == {"Value": {"Ref": f"{label}Client"}}


def test_no_template_carries_an_agents_secret(dev: Assembly, prod: Assembly, many: Assembly) -> None:
    for assembly in (dev, prod, many):
        clients = {
            (stack, logical_id)
            for stack, logical_id, resource in assembly.all_resources()
            if resource["Type"] == CLIENT
        }
        secrets, agent_refs = [], []
        for stack, template in assembly.templates.items():
            for section in ("Resources", "Outputs"):
                for logical_id, fragment in template.get(section, {}).items():
                    for target, attribute in references(fragment):
                        if (stack, target) not in clients:
                            continue
                        if attribute == "ClientSecret":
                            secrets.append((stack, logical_id, target))
                        if target.startswith("Agent"):
                            agent_refs.append((section, logical_id, target, attribute))
        # The only secrets read: the gateway's client of a pool (the runtime pool's, or a hosted entry's own pool's),
        # each by the credential provider beside it, in the client's stack (never an agent's, never across stacks).
        provider = next(s for s in assembly.templates if s.endswith("-credential-provider"))
        assert (provider, "RuntimeOAuthProvider", "RuntimeUserPoolClient") in secrets
        if assembly is not many:
            assert secrets == [(provider, "RuntimeOAuthProvider", "RuntimeUserPoolClient")]
        for stack, logical_id, target in secrets:
            assert assembly.template(stack)["Resources"][logical_id]["Type"] == (
                "AWS::BedrockAgentCore::OAuth2CredentialProvider"
            )
            assert not target.startswith("Agent"), (stack, logical_id, target)
        # An agent's client is referenced only by its id's output (no GetAtt of anything, no custom resource).
        assert agent_refs and all(
            section == "Outputs" and attribute is None and logical_id == f"{target}Id"
            for section, logical_id, target, attribute in agent_refs
        ), agent_refs


# --- adding and removing an agent -------------------------------------------------------------------------------------

# Sorts between order-viewer and platform-smoke: the worst case for the chain of policies. No rate limit of its own.
NEWCOMER = {"name": "order-watcher", "description": "Watches orders", "tools": ["orders___getOrder"]}


@pytest.fixture(scope="module")
def with_newcomer(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    document = yaml.safe_load((ROOT / DEFAULT_FIXTURE["agentsFile"]).read_text())
    document["agents"].append(NEWCOMER)
    path = tmp_path_factory.mktemp("with-newcomer") / "agents.yaml"
    path.write_text(yaml.safe_dump(document))
    return synthesize(env="dev", agentsFile=str(path))


@pytest.fixture(scope="module")
def without_viewer(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    # order-viewer has a rate limit of its own, and platform-smoke's policy depends on its policy.
    document = yaml.safe_load((ROOT / DEFAULT_FIXTURE["agentsFile"]).read_text())
    document["agents"] = [a for a in document["agents"] if a["name"] != "order-viewer"]
    path = tmp_path_factory.mktemp("without-viewer") / "agents.yaml"
    path.write_text(yaml.safe_dump(document))
    return synthesize(env="dev", agentsFile=str(path))


@pytest.fixture(scope="module")
def viewer_retired(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    # The first of the two deploys that remove order-viewer (the tests' agents file, not the shipped one).
    document = yaml.safe_load(Path(DEFAULT_FIXTURE["agentsFile"]).read_text())
    for agent in document["agents"]:
        if agent["name"] == "order-viewer":
            agent["retired"] = True
    path = tmp_path_factory.mktemp("viewer-retired") / "agents.yaml"
    path.write_text(yaml.safe_dump(document))
    return synthesize(env="dev", agentsFile=str(path))


def changed_stacks(before: Assembly, after: Assembly) -> set[str]:
    assert set(before.templates) == set(after.templates)
    return {name for name in before.templates if before.template(name) != after.template(name)}


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[set[str], set[str], set[str]]:
    """(added, removed, changed) keys of a template section."""
    return (
        set(after) - set(before),
        set(before) - set(after),
        {k for k in set(before) & set(after) if before[k] != after[k]},
    )


def without_allowed_clients(template: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    template = json.loads(json.dumps(template))
    authorizer = template["Resources"]["Gateway"]["Properties"]["AuthorizerConfiguration"]["CustomJWTAuthorizer"]
    return template, authorizer.pop("AllowedClients")


def create_only(templates: dict[str, dict[str, Any]]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every resource's identity: its logical id, and what CloudFormation replaces it for changing."""
    return {
        f"{stack}/{logical_id}": (
            r["Type"],
            {p: r.get("Properties", {}).get(p) for p in create_only_properties(r["Type"])},
        )
        for stack, template in templates.items()
        for logical_id, r in template.get("Resources", {}).items()
    }


def client_output(agent: str) -> dict[str, Any]:
    return {"Fn::GetStackOutput": {"OutputName": f"Agent{pascal(agent)}ClientId", "StackName": COGNITO}}


def test_adding_an_agent_adds_its_client_id_policy_and_nothing_else(dev: Assembly, with_newcomer: Assembly) -> None:
    before, after = dev, with_newcomer
    assert changed_stacks(before, after) == {COGNITO, GATEWAY, AGENTS}

    # cognito: the new client and its output; every other resource and output identical.
    b, a = before.template(COGNITO), after.template(COGNITO)
    assert diff(b["Resources"], a["Resources"]) == ({"AgentOrderWatcherClient"}, set(), set())
    assert diff(b["Outputs"], a["Outputs"]) == ({"AgentOrderWatcherClientId"}, set(), set())
    assert {k: v for k, v in a.items() if k not in ("Resources", "Outputs")} == {
        k: v for k, v in b.items() if k not in ("Resources", "Outputs")
    }

    # gateway: its allowed clients grow by the newcomer's (appended, in file order); nothing else changes.
    (b_rest, b_clients), (a_rest, a_clients) = (
        without_allowed_clients(before.template(GATEWAY)),
        without_allowed_clients(after.template(GATEWAY)),
    )
    assert b_rest == a_rest
    assert a_clients == [*b_clients, client_output("order-watcher")]

    # agents: the new policy; the policy after it in name order now waits for it (DependsOn only: CloudFormation
    # does not update a resource for that); every policy's properties, and the rate limit, unchanged (the
    # newcomer has no limit of its own: the default's entry covers it).
    b, a = before.template(AGENTS)["Resources"], after.template(AGENTS)["Resources"]
    assert diff(b, a) == ({"AgentOrderWatcherPolicy"}, set(), {"AgentPlatformSmokePolicy"})
    assert a["AgentOrderWatcherPolicy"]["DependsOn"] == ["AgentOrderViewerPolicy"]
    assert a["AgentPlatformSmokePolicy"]["DependsOn"] == ["AgentOrderWatcherPolicy"]
    assert {k: v for k, v in a["AgentPlatformSmokePolicy"].items() if k != "DependsOn"} == {
        k: v for k, v in b["AgentPlatformSmokePolicy"].items() if k != "DependsOn"
    }
    assert a["AgentRateLimit"] == b["AgentRateLimit"]

    # Nothing is replaced: every resource keeps its logical id and create-only properties.
    b_ids, a_ids = create_only(before.templates), create_only(after.templates)
    assert {k: a_ids[k] for k in b_ids} == b_ids
    assert replacements(identities(before.templates), identities(after.templates)) == []


def test_removing_an_agent_removes_its_client_id_policy_and_rate_and_nothing_else(
    dev: Assembly, without_viewer: Assembly
) -> None:
    before, after = dev, without_viewer
    assert changed_stacks(before, after) == {COGNITO, GATEWAY, AGENTS}

    b, a = before.template(COGNITO), after.template(COGNITO)
    assert diff(b["Resources"], a["Resources"]) == (set(), {"AgentOrderViewerClient"}, set())
    assert diff(b["Outputs"], a["Outputs"]) == (set(), {"AgentOrderViewerClientId"}, set())

    (b_rest, b_clients), (a_rest, a_clients) = (
        without_allowed_clients(before.template(GATEWAY)),
        without_allowed_clients(after.template(GATEWAY)),
    )
    assert b_rest == a_rest
    assert (
        a_clients == [c for c in b_clients if c != client_output("order-viewer")] == [client_output("platform-smoke")]
    )

    # agents: its policy goes, the next one no longer waits for it, and its rate limit entry goes.
    b, a = before.template(AGENTS)["Resources"], after.template(AGENTS)["Resources"]
    assert diff(b, a) == (set(), {"AgentOrderViewerPolicy"}, {"AgentPlatformSmokePolicy", "AgentRateLimit"})
    assert "DependsOn" not in a["AgentPlatformSmokePolicy"]
    assert a["AgentPlatformSmokePolicy"]["Properties"] == b["AgentPlatformSmokePolicy"]["Properties"]
    assert a["AgentRateLimit"]["Properties"]["Entries"] == b["AgentRateLimit"]["Properties"]["Entries"][1:]
    assert a["AgentRateLimit"]["Properties"]["Entries"] == expected_entries(after, [("*", 600, "minute")])
    assert {k: v for k, v in a["AgentRateLimit"]["Properties"].items() if k != "Entries"} == {
        k: v for k, v in b["AgentRateLimit"]["Properties"].items() if k != "Entries"
    }

    # Only the removed agent's own resources go; the rest keep their identities.
    b_ids, a_ids = create_only(before.templates), create_only(after.templates)
    assert set(b_ids) - set(a_ids) == {f"{COGNITO}/AgentOrderViewerClient", f"{AGENTS}/AgentOrderViewerPolicy"}
    assert {k: b_ids[k] for k in a_ids} == a_ids
    # Removed in one deploy, while the deployed gateway and agents stacks still read its output: refused (a failed
    # update of either would roll back to a template reading an output the cognito stack already deleted).
    (unsafe,) = unsafe_removals(identities(before.templates), identities(after.templates))
    assert unsafe.startswith(
        f"{COGNITO}/AgentOrderViewerClient (AWS::Cognito::UserPoolClient) is gone while {AGENTS}, {GATEWAY} still "
        "read its output (Fn::GetStackOutput)"
    )
    assert "set `retired: true` in config/agents.yaml and deploy" in unsafe
    assert replacements(identities(before.templates), identities(after.templates)) == [unsafe]


def test_retiring_an_agent_stops_every_reader_of_its_output_and_keeps_the_output(
    dev: Assembly, viewer_retired: Assembly
) -> None:
    # Step one: the gateway no longer accepts its tokens, its policy and rate entry go; its client and the output
    # stay, so a rollback of this deploy (to templates that read the output) still resolves it.
    before, after = dev, viewer_retired
    assert changed_stacks(before, after) == {GATEWAY, AGENTS}
    assert "AgentOrderViewerClientId" in after.template(COGNITO)["Outputs"]
    _, clients = without_allowed_clients(after.template(GATEWAY))
    assert clients == [client_output("platform-smoke")]
    assert "AgentOrderViewerPolicy" not in after.template(AGENTS)["Resources"]
    assert "AgentOrderViewerClientId" not in json.dumps({k: t for k, t in after.templates.items() if k != COGNITO})
    recorded = identities(after.templates)
    assert "readBy" not in recorded[f"{COGNITO}/AgentOrderViewerClient"]
    assert recorded[f"{COGNITO}/AgentPlatformSmokeClient"]["readBy"] == [AGENTS, GATEWAY]
    assert replacements(identities(before.templates), recorded) == []


def test_removing_a_retired_agent_changes_the_cognito_stack_alone(
    viewer_retired: Assembly, without_viewer: Assembly
) -> None:
    # Step two, a deploy later: no deployed template reads the output any more, so nothing can roll back to one.
    assert changed_stacks(viewer_retired, without_viewer) == {COGNITO}
    recorded, current = identities(viewer_retired.templates), identities(without_viewer.templates)
    assert unsafe_removals(recorded, current) == []
    assert replacements(recorded, current) == [
        f"{COGNITO}/AgentOrderViewerClient (AWS::Cognito::UserPoolClient) is gone: a rename of its logical id or "
        "stack replaces it"
    ]


def test_a_retired_agent_needs_no_grant_and_is_granted_nothing(tmp_path: Path) -> None:
    entries = [{"name": "orders", "kind": "hosted", "path": "mcp_server", "tools": ["getOrder", "updateOrder"]}]
    agents = {
        "defaultRateLimit": {"requests": 60, "per": "minute"},
        "agents": [
            {"name": "active", "targets": ["orders"]},
            {"name": "leaving", "retired": True},
            {"name": "gone-target", "retired": True, "targets": ["billing"]},
        ],
    }
    config = load_config(load_context(**write_config(tmp_path, entries, agents)))
    assert [a.name for a in config.agents.active] == ["active"]
    assert config.agents.allowed("leaving") == config.agents.allowed("gone-target") == ()


# --- deploy order -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "many"])
def test_the_agents_deploy_after_every_target_and_the_gateway_after_its_clients(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    assembly: Assembly = request.getfixturevalue(fixture)
    shards = {name for name in assembly.templates if "-mcp-targets-" in name}
    assert len(shards) == 4
    # The policy engine checks a policy's tools against the gateway's catalog, which holds them once the targets exist.
    assert shards | {GATEWAY} <= assembly.stack_dependencies(AGENTS)
    # The gateway reads the agents' client ids by weak references, which order nothing on their own.
    assert COGNITO in assembly.stack_dependencies(GATEWAY)
