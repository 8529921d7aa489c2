"""tools.smoke and tools.mcp_check end to end: the real local MCP server, and a loopback fake Cognito plus gateway."""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber

from app_config import shard_of
from tests.fake_deployment import (
    ARN,
    BILLING_TARGETS,
    DASHBOARD_URL,
    DENIED_AGENT,
    ORDERS_TARGETS,
    OTHER,
    OUTSIDER,
    POLICY_REFUSAL,
    PREFIX,
    REGION,
    ROOT,
    SCOPE,
    SECRET,
    SMOKE_AGENT,
    Deployed,
    Fake,
    FakeGateway,
    assert_nothing_leaked,
    aws_with,
    shipped_agents,
)
from tools import mcp_check, smoke
from tools.bench_mcp import free_port
from tools.mcp_steps import SEARCH_TOOL, CheckFailed

pytestmark = pytest.mark.usefixtures("fixture_config")

# The real server, started the way the container starts it.


def test_smoke_no_auth_passes_against_the_local_server(local_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.main(["--url", local_url, "--no-auth"]) == 0
    out = capsys.readouterr().out
    assert steps(out) == [
        ("initialize", "PASS"),
        ("list tools", "PASS"),
        ("call updateOrder", "PASS"),
        ("call getOrder", "PASS"),
    ]
    assert "-> 456" in out and "-> 123" in out
    assert "search" not in out  # the local server has no gateway search tool


def test_smoke_runs_as_a_module_the_way_make_smoke_does(local_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.smoke", "--url", local_url, "--no-auth"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK: 4 steps passed" in done.stdout


def test_mcp_check_calls_every_local_tool(local_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert mcp_check.main(["--url", local_url], environ={}) == 0
    out = capsys.readouterr().out
    assert "call getOrder" in out and "-> 123" in out
    assert "call updateOrder" in out and "-> 456" in out


def test_mcp_check_list_only_calls_nothing(local_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert mcp_check.main(["--url", local_url, "--list-only"], environ={}) == 0
    out = capsys.readouterr().out
    assert "list tools" in out and "call " not in out


def test_smoke_names_an_unreachable_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.main(["--url", f"http://127.0.0.1:{free_port()}/mcp", "--no-auth", "--timeout", "5"]) == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'initialize'" in err and "likely cause: endpoint" in err


def steps(out: str) -> list[tuple[str, str]]:
    """(step, PASS/FAIL/SKIP) rows of the printed table."""
    return [(name, result) for name, result, _ in rows(out)]


def rows(out: str) -> list[tuple[str, str, str]]:
    """(step, PASS/FAIL/SKIP, detail) rows of the printed table."""
    found = []
    for line in out.splitlines()[1:]:
        cells = [c.strip() for c in line.split("  ") if c.strip()]
        if len(cells) >= 2 and cells[1] in ("PASS", "FAIL", "SKIP"):
            found.append((cells[0], cells[1], cells[-1] if len(cells) >= 4 else ""))
    return found


def detail(out: str, step: str) -> str:
    [found] = [row_detail for name, _, row_detail in rows(out) if name == step]
    return found


ORDER_STEPS = [
    "stack outputs",
    "client secret",
    "token",
    "initialize",
    "search",
    "list tools",
    f"call {PREFIX}___updateOrder",
    f"call {PREFIX}___getOrder",
]
# The denial check with the shipped config: order-viewer may call getOrder, not updateOrder.
DENY_STEP = f"deny {PREFIX}___updateOrder as {DENIED_AGENT}"
DENIAL_STEPS = [
    f"token as {DENIED_AGENT}",
    f"initialize as {DENIED_AGENT}",
    f"call {PREFIX}___getOrder as {DENIED_AGENT}",
    DENY_STEP,
    f"list tools as {DENIED_AGENT}",
]
GATEWAY_STEPS = ORDER_STEPS + DENIAL_STEPS


@pytest.mark.parametrize("shape", ["text", "structured"])
def test_gateway_smoke_passes_end_to_end(deployed: Deployed, shape: str, capsys: pytest.CaptureFixture[str]) -> None:
    deployed.fake.state.search_shape = shape
    assert deployed.run() == 0
    assert steps(capsys.readouterr().out) == [(name, "PASS") for name in GATEWAY_STEPS]
    state = deployed.fake.state
    # One grant per agent, each with its own client and secret.
    assert state.token_requests == [
        {
            "grant_type": "client_credentials",
            "scope": SCOPE,
            "client_id": deployed.client_id(agent),
            "secret_ok": True,
        }
        for agent in (SMOKE_AGENT, DENIED_AGENT)
    ]
    assert state.bearer_seen and all(seen in {f"Bearer {t}" for t in state.tokens} for seen in state.bearer_seen)


def test_the_smoke_says_where_to_look_after_it_ran(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    assert deployed.run() == 0
    out = capsys.readouterr().out
    assert out.split("where to look:\n", 1)[1].splitlines() == [
        f"  dashboard:    {DASHBOARD_URL}",
        "  gateway logs: /aws/vendedlogs/bedrock-agentcore/mcpgw-dev-gateway",
        "  runtime logs: /aws/bedrock-agentcore/runtimes/mcpgw_dev_orders-a-DEFAULT (orders)",
    ]


def test_where_to_look_follows_a_failure_and_skips_what_was_not_deployed(deployed: Deployed, capsys) -> None:
    del deployed.outputs["mcpgw-dev-monitoring"]
    deployed.fake.state.accept_tokens = False
    assert deployed.run() == 1
    out = capsys.readouterr().out
    assert "dashboard:" not in out and "  gateway logs: /aws/vendedlogs/bedrock-agentcore/mcpgw-dev-gateway" in out


# The denial check: a second agent, granted getOrder only, through the same gateway.


@pytest.mark.parametrize("refuse_as", ["error", "result"])
def test_the_denial_check_passes_when_the_gateway_enforces(deployed: Deployed, refuse_as: str, capsys) -> None:
    # AWS documents neither whether a refusal is a JSON-RPC error or an isError result: both are a refusal.
    deployed.enforce()
    deployed.fake.state.refuse_as = refuse_as
    assert deployed.run() == 0
    out = capsys.readouterr().out
    assert steps(out) == [(name, "PASS") for name in GATEWAY_STEPS]
    assert detail(out, DENY_STEP) == f"refused: {POLICY_REFUSAL}"
    assert detail(out, f"list tools as {DENIED_AGENT}") == (
        f"2 tools, {PREFIX}___updateOrder not listed (ENFORCE lists only what a policy permits)"
    )
    assert "policy ENFORCE" in detail(out, "stack outputs")
    # The gateway saw the denied agent's own token: the policy engine decided for its client.
    viewer = deployed.client_id(DENIED_AGENT)
    assert (viewer, f"{PREFIX}___updateOrder", "deny") in deployed.fake.state.decisions
    assert (viewer, f"{PREFIX}___getOrder", "allow") in deployed.fake.state.decisions


def test_the_denial_check_in_log_only_is_allowed_and_says_so(deployed: Deployed, capsys) -> None:
    assert deployed.run() == 0
    out = capsys.readouterr().out
    assert detail(out, DENY_STEP) == "allowed: LOG_ONLY logs the decision only (ENFORCE refuses it)"
    # Informational only: LOG_ONLY enforces nothing, so what it lists is not judged.
    assert "only ENFORCE must hide what no policy permits" in detail(out, f"list tools as {DENIED_AGENT}")
    # The engine decided "deny" all the same; LOG_ONLY only logged it.
    assert (deployed.client_id(DENIED_AGENT), f"{PREFIX}___updateOrder", "deny") in deployed.fake.state.decisions


@pytest.mark.parametrize("misconfigured", ["engine left in LOG_ONLY", "policy permits too much"])
def test_the_denial_check_fails_when_enforce_lets_the_call_through(
    deployed: Deployed, misconfigured: str, capsys
) -> None:
    deployed.enforce()
    state = deployed.fake.state
    control = boto3.client("bedrock-agentcore-control", region_name=REGION)
    stub = Stubber(control)
    if misconfigured == "engine left in LOG_ONLY":
        # The outputs say ENFORCE; the gateway, and GetGateway (moto), say LOG_ONLY.
        state.policy_mode = "LOG_ONLY"
        aws = aws_with({})
    else:
        state.grants[deployed.client_id(DENIED_AGENT)].add(f"{PREFIX}___updateOrder")
        # GetGateway refused: the cause names the engine by its name instead.
        stub.add_client_error("get_gateway", "AccessDeniedException", "not authorized")
        aws = aws_with({"bedrock-agentcore-control": control})
    with stub:
        assert deployed.run(aws=aws) == 1
    captured = capsys.readouterr()
    assert steps(captured.out)[-1] == (DENY_STEP, "FAIL")
    assert f"FAILED at step '{DENY_STEP}': {PREFIX}___updateOrder went through for {DENIED_AGENT}" in captured.err
    cause = captured.err.split("likely cause: ", 1)[1]
    gateway_id = deployed.outputs["mcpgw-dev-gateway"]["GatewayId"]
    assert cause.startswith("policy engine: PolicyEngineMode is ENFORCE")
    assert f"aws bedrock-agentcore-control get-gateway --gateway-identifier {gateway_id}" in cause
    assert "mcpgw_dev_order_viewer (AgentOrderViewerPolicy in stack mcpgw-dev-agents)" in cause
    if misconfigured == "engine left in LOG_ONLY":
        assert "the gateway runs engine mcpgw_dev_agents-0123456789 in mode LOG_ONLY" in cause
        assert "list-policies --policy-engine-id mcpgw_dev_agents-0123456789" in cause
    else:
        assert "list-policies --policy-engine-id <the id of engine mcpgw_dev_agents>" in cause
    # Where to look still follows.
    assert "where to look:" in captured.out


def test_an_enforcing_gateway_must_not_list_the_denied_tool(deployed: Deployed, capsys) -> None:
    # Refuses the call, but lists the tool all the same: not what AWS documents.
    deployed.enforce()
    deployed.fake.state.filter_listing = False
    assert deployed.run() == 1
    err = capsys.readouterr().err
    step = f"list tools as {DENIED_AGENT}"
    assert f"FAILED at step '{step}': {PREFIX}___updateOrder is listed to {DENIED_AGENT}" in err
    assert "likely cause: policy engine: an enforcing gateway lists only the tools a policy permits" in err


def test_a_refused_permitted_call_points_at_the_agent_policy(deployed: Deployed, capsys) -> None:
    deployed.enforce()
    deployed.fake.state.grants[deployed.client_id(DENIED_AGENT)] = set()  # its policy is missing
    assert deployed.run() == 1
    err = capsys.readouterr().err
    assert f"FAILED at step 'call {PREFIX}___getOrder as {DENIED_AGENT}'" in err
    assert "policy enforcement" in err
    assert "likely cause: policy: the gateway's policy engine (ENFORCE) refused the call" in err
    assert f"yet {DENIED_AGENT}'s grants include it" in err


def test_a_gateway_that_enforces_though_the_outputs_say_log_only_fails(deployed: Deployed, capsys) -> None:
    deployed.fake.state.policy_mode = "ENFORCE"
    assert deployed.run() == 1
    err = capsys.readouterr().err
    assert f"FAILED at step '{DENY_STEP}': refused although PolicyEngineMode is LOG_ONLY: Tool call not allowed" in err
    assert "likely cause: policy engine: the gateway enforces though this deployment's outputs say LOG_ONLY" in err


def test_a_denied_call_failing_for_another_reason_is_no_refusal(deployed: Deployed, capsys) -> None:
    # The runtime fails the denied agent's updateOrder: an error, but not the policy engine's.
    deployed.enforce()
    deployed.fake.state.policy_mode = "LOG_ONLY"
    deployed.outputs["mcpgw-dev-gateway"]["PolicyEngineMode"] = "LOG_ONLY"
    state = deployed.fake.state
    state.failing_tool, state.failing_client = f"{PREFIX}___updateOrder", deployed.client_id(DENIED_AGENT)
    assert deployed.run() == 1
    err = capsys.readouterr().err
    assert f"FAILED at step '{DENY_STEP}': failed, but not by the policy engine: {PREFIX}___updateOrder" in err
    assert "target returned 502" in err and "likely cause: runtime/OAuth" in err


def test_without_a_policy_mode_output_the_denied_tool_is_not_called(deployed: Deployed, capsys) -> None:
    del deployed.outputs["mcpgw-dev-gateway"]["PolicyEngineMode"]
    assert deployed.run() == 1
    captured = capsys.readouterr()
    assert "policy unknown" in detail(captured.out, "stack outputs")
    assert f"FAILED at step '{DENY_STEP}': PolicyEngineMode output is missing" in captured.err
    assert "likely cause: stack outputs: the gateway stack's PolicyEngineMode output" in captured.err
    calls = [(client, tool) for client, tool, _ in deployed.fake.state.decisions]
    assert (deployed.client_id(DENIED_AGENT), f"{PREFIX}___updateOrder") not in calls


def write_agents(tmp_path: Path, agents: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the smoke read this agents file (as cdk.json's agentsFile), over the shipped targets file."""
    path = tmp_path / "agents.yaml"
    path.write_text(yaml.safe_dump({"defaultRateLimit": {"requests": 600, "per": "minute"}, "agents": agents}))
    context = {**smoke.cdk_context(), "agentsFile": str(path)}
    monkeypatch.setattr(smoke, "cdk_context", lambda: context)


def test_the_denial_check_is_skipped_when_no_agent_qualifies(
    deployed: Deployed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    write_agents(
        tmp_path, [{"name": SMOKE_AGENT, "targets": [PREFIX]}, {"name": "reader", "targets": [PREFIX]}], monkeypatch
    )
    assert deployed.run() == 0
    out = capsys.readouterr().out
    assert steps(out) == [(name, "PASS") for name in ORDER_STEPS] + [("denial check", "SKIP")]
    assert detail(out, "denial check") == (
        f"no agent in the agents file may call some but not all of {PREFIX}___getOrder, {PREFIX}___updateOrder"
    )
    assert f"OK: {len(ORDER_STEPS)} steps passed, 1 skipped" in out
    assert len(deployed.fake.state.token_requests) == 1  # no second agent's token


def test_denied_agent_option_picks_the_agent_and_its_tools(
    deployed: Deployed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    # A third agent, granted updateOrder only; deployed with the outsider's client.
    write_agents(
        tmp_path,
        [
            {"name": SMOKE_AGENT, "targets": [PREFIX]},
            {"name": DENIED_AGENT, "tools": [f"{PREFIX}___getOrder"]},
            {"name": "order-writer", "tools": [f"{PREFIX}___updateOrder"]},
        ],
        monkeypatch,
    )
    writer = deployed.client_id(OUTSIDER)
    deployed.outputs["mcpgw-dev-cognito"]["AgentOrderWriterClientId"] = writer
    deployed.enforce()
    state = deployed.fake.state
    state.allowed_clients.add(writer)
    state.grants[writer] = {f"{PREFIX}___updateOrder"}
    assert deployed.run("--denied-agent", "order-writer") == 0
    out = capsys.readouterr().out
    assert [name for name, _ in steps(out)][len(ORDER_STEPS) :] == [
        "token as order-writer",
        "initialize as order-writer",
        f"call {PREFIX}___updateOrder as order-writer",
        f"deny {PREFIX}___getOrder as order-writer",
        "list tools as order-writer",
    ]
    assert detail(out, f"deny {PREFIX}___getOrder as order-writer").startswith("refused: ")
    # Without the option, the first qualifying agent of the file.
    assert deployed.run() == 0
    assert DENY_STEP in [name for name, _ in steps(capsys.readouterr().out)]


def test_the_agent_option_authenticates_as_that_agent(deployed: Deployed, capsys) -> None:
    viewer = deployed.client_id(DENIED_AGENT)
    assert deployed.run("--agent", DENIED_AGENT) == 0  # LOG_ONLY: its updateOrder goes through
    assert f"app client {viewer} of agent {DENIED_AGENT}" in detail(capsys.readouterr().out, "client secret")
    assert deployed.fake.state.token_requests[0]["client_id"] == viewer
    # Enforced, the order checks' listing lacks updateOrder, and the cause names the agent's policy too.
    deployed.enforce()
    assert deployed.run("--agent", DENIED_AGENT) == 1
    err = capsys.readouterr().err
    assert f"FAILED at step 'list tools': missing {PREFIX}___updateOrder" in err
    assert f"or, as PolicyEngineMode is ENFORCE, {DENIED_AGENT}'s policy does not permit them" in err
    # And a refused call is blamed on the policy, not on the runtime.
    deployed.fake.state.filter_listing = False
    assert deployed.run("--agent", DENIED_AGENT) == 1
    err = capsys.readouterr().err
    assert f"FAILED at step 'call {PREFIX}___updateOrder'" in err
    assert "likely cause: policy: the gateway's policy engine (ENFORCE) refused the call" in err


def test_a_long_refusal_is_quoted_on_one_short_line() -> None:
    quoted = smoke._quoted("denied\n" + "x" * 500)
    assert len(quoted) == smoke.REASON_CHARS and quoted.startswith("denied x") and quoted.endswith("...")


def test_an_agent_the_deployment_lacks_is_named_in_the_cause(deployed: Deployed, capsys) -> None:
    assert deployed.run("--agent", "ghost") == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'stack outputs': missing outputs AgentGhostClientId" in err
    assert "is 'ghost' an agent of the agents file this deployment was made with (--agent)?" in err


def test_the_denied_agent_missing_from_the_deployment_fails_its_token_step(deployed: Deployed, capsys) -> None:
    del deployed.outputs["mcpgw-dev-cognito"]["AgentOrderViewerClientId"]
    assert deployed.run() == 1
    err = capsys.readouterr().err
    assert f"FAILED at step 'token as {DENIED_AGENT}': no AgentOrderViewerClientId output" in err
    assert "likely cause: stack outputs" in err


def test_a_client_that_is_no_agent_is_refused_by_the_gateway(deployed: Deployed, capsys) -> None:
    # Cognito issues the outsider a token, but the gateway's allowed clients are the agents' only.
    deployed.outputs["mcpgw-dev-cognito"]["AgentPlatformSmokeClientId"] = deployed.client_id(OUTSIDER)
    assert deployed.run() == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'initialize': HTTP 401" in err and "Client not allowed" in err
    assert "likely cause: token/authorizer" in err


def test_the_default_denied_agent_is_the_shipped_read_only_agent() -> None:
    agents = smoke.agent_grants(smoke.cdk_context())
    assert agents.tools == shipped_agents().tools
    assert smoke.plan_denial(agents, PREFIX, None) == smoke.DenialPlan(DENIED_AGENT, "getOrder", "updateOrder")
    assert smoke.plan_denial(agents, OTHER, None) == (
        f"no agent in the agents file may call some but not all of {OTHER}___getOrder, {OTHER}___updateOrder"
    )


def test_a_broken_agents_file_is_refused_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    write_agents(tmp_path, [{"name": "reader", "tools": [f"{PREFIX}___deleteOrder"]}], monkeypatch)
    with pytest.raises(SystemExit) as exited:
        smoke.main(["--outputs-file", "unused.json"], aws=lambda service, region: pytest.fail(f"called {service}"))
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "agents.yaml: agents[0].tools[0]" in err and "deleteOrder" in err


def test_shard_stacks_of_the_two_entries_differ() -> None:
    # The tests below tell the entries' stacks apart; with both in one shard they would prove less.
    assert ORDERS_TARGETS != BILLING_TARGETS


def test_another_entry_is_checked_with_the_target_option(deployed: Deployed, capsys) -> None:
    deployed.fake.state.prefix = OTHER
    assert deployed.run("--target", OTHER) == 0
    out = capsys.readouterr().out
    # No agent of the shipped agents file is granted billing's tools: the denial check is skipped.
    assert [name for name, _ in steps(out)][-3:] == [
        f"call {OTHER}___updateOrder",
        f"call {OTHER}___getOrder",
        "denial check",
    ]
    # Its target id comes from its own shard's stack, not the orders entry's.
    assert f"target {OTHER} ({deployed.outputs[BILLING_TARGETS]['BillingTargetId']})" in out


def test_outputs_file_keyed_by_cdk_artifact_ids_is_accepted(deployed: Deployed, capsys) -> None:
    # The app's construct ids (stacks/__init__.py): Cognito, Gateway, CredentialProvider, McpServers<N>, McpTargets<N>.
    def artifact_id(stack_name: str) -> str:
        return "".join(part.capitalize() for part in stack_name.removeprefix("mcpgw-dev-").split("-"))

    renamed = {artifact_id(name): values for name, values in deployed.outputs.items()}
    assert {"Cognito", "Gateway", f"McpTargets{shard_of(PREFIX, 4)}"} <= set(renamed)
    assert deployed.run(outputs=renamed) == 0
    assert f"target {PREFIX} ({deployed.outputs[ORDERS_TARGETS]['OrdersTargetId']})" in capsys.readouterr().out


def test_tools_list_pages_are_followed(deployed: Deployed, capsys) -> None:
    deployed.fake.state.page_size = 1
    assert deployed.run() == 0
    # The MCP client lists page one on its own before the first call (to learn output schemas); the list step pages on.
    assert deployed.fake.state.list_cursors[-3:] == [None, "1", "2"]
    assert "3 tools" in capsys.readouterr().out


def test_a_cursor_that_never_ends_fails_the_list_step(deployed: Deployed, capsys) -> None:
    deployed.fake.state.page_size, deployed.fake.state.endless_cursor = 1, True
    assert deployed.run() == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'list tools': tools/list returned cursor '0' twice; pagination never ends" in err


def test_rejected_token_is_blamed_on_the_token_or_authorizer(deployed: Deployed, capsys) -> None:
    deployed.fake.state.accept_tokens = False
    assert deployed.run() == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'initialize': HTTP 401" in err
    assert "likely cause: token/authorizer" in err


def test_expired_token_shows_the_gateway_challenge(deployed: Deployed, capsys) -> None:
    deployed.fake.state.token_lifetime = -60
    assert deployed.run() == 1
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "The access token expired" in err
    assert "likely cause: token/authorizer" in err


def test_wrong_client_secret_fails_at_the_token_step(deployed: Deployed, capsys) -> None:
    deployed.fake.state.secrets[deployed.client_id(SMOKE_AGENT)] = "another-secret"
    assert deployed.run() == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'token': HTTP 400 from the token endpoint: invalid_client" in err
    assert "likely cause: token:" in err
    assert deployed.fake.state.bearer_seen == []  # nothing reached the gateway


def test_token_endpoint_5xx_is_retried_with_backoff_without_real_sleeps(deployed: Deployed) -> None:
    deployed.fake.state.token_503s = 2
    assert deployed.run() == 0
    assert deployed.sleeps == [1, 2]
    # Three for the smoke's agent; the denied agent's first request then succeeds.
    clients = [grant["client_id"] for grant in deployed.fake.state.token_requests]
    assert clients == [deployed.client_id(SMOKE_AGENT)] * 3 + [deployed.client_id(DENIED_AGENT)]


def test_token_endpoint_that_keeps_failing_gives_up(deployed: Deployed, capsys) -> None:
    deployed.fake.state.token_503s = 99
    assert deployed.run("--token-attempts", "3") == 1
    assert deployed.sleeps == [1, 2]
    assert "token endpoint failed 3 times, last: HTTP 503" in capsys.readouterr().err


def test_tools_under_another_target_name_fail_the_search_with_the_sync_cause(deployed: Deployed, capsys) -> None:
    # The gateway serves orders___* only; the billing entry is deployed (its stack has an id) but not in the catalog.
    assert deployed.run("--target", OTHER) == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'search'" in err and f"{OTHER}___getOrder" in err
    target_id = deployed.outputs[BILLING_TARGETS]["BillingTargetId"]
    assert "likely cause: target sync" in err and f"target {target_id} is READY" in err


def test_an_entry_without_a_target_id_output_is_named_in_the_cause(deployed: Deployed, capsys) -> None:
    # No such entry deployed: the sync cause says which output of which stack was looked for.
    assert deployed.run("--target", "payments") == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'search'" in err and "likely cause: target sync" in err
    assert f"no PaymentsTargetId output in mcpgw-dev-mcp-targets-{shard_of('payments', 4)}" in err


def test_shards_option_picks_the_entry_stack_of_that_many_shards(deployed: Deployed, capsys) -> None:
    # Deployed with -c targetShards=2: the orders entry lives in another stack than with cdk.json's 4.
    assert shard_of(PREFIX, 2) != shard_of(PREFIX, 4)
    outputs = {name: values for name, values in deployed.outputs.items() if "-mcp-" not in name}
    outputs[f"mcpgw-dev-mcp-targets-{shard_of(PREFIX, 2)}"] = {"OrdersTargetId": "TGT2SHARDS"}
    outputs[ORDERS_TARGETS] = {"OrdersTargetId": "TGT-OF-ANOTHER-LAYOUT"}
    assert deployed.run("--shards", "2", outputs=outputs) == 0
    assert f"target {PREFIX} (TGT2SHARDS)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--target", "Orders"], "not a config/targets.yaml entry name"),
        (["--target", "orders___getOrder"], "not a config/targets.yaml entry name"),
        (["--shards", "0"], "must be a positive integer"),
        (["--agent", "Platform-Smoke"], "not a config/agents.yaml agent name"),
        (["--agent", "a" * 25], "at most 24 characters"),
        (["--denied-agent", "order_viewer"], "not a config/agents.yaml agent name"),
        (["--denied-agent", "nobody"], "--denied-agent 'nobody' is not in the agents file"),
        (["--denied-agent", SMOKE_AGENT], f"may call every one of {PREFIX}___getOrder, {PREFIX}___updateOrder"),
        (["--target", OTHER, "--denied-agent", DENIED_AGENT], f"may call none of {OTHER}___getOrder"),
    ],
)
def test_bad_options_are_refused_before_anything_runs(argv: list[str], complaint: str, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        smoke.main(argv, aws=lambda service, region: pytest.fail(f"called {service}"))
    assert exited.value.code == 2
    assert complaint in capsys.readouterr().err


def test_stale_catalog_fails_the_list_step_and_reports_the_target_status(deployed: Deployed, capsys) -> None:
    deployed.fake.state.hide_from_list = {f"{PREFIX}___updateOrder"}
    control = boto3.client("bedrock-agentcore-control", region_name=REGION)
    gateway_id = deployed.outputs["mcpgw-dev-gateway"]["GatewayId"]
    target_id = deployed.outputs[ORDERS_TARGETS]["OrdersTargetId"]
    with Stubber(control) as stub:
        stub.add_response(
            "get_gateway_target",
            {
                "gatewayArn": f"{ARN}:gateway/{gateway_id}",
                "targetId": target_id,
                "name": PREFIX,
                "status": "SYNCHRONIZE_UNSUCCESSFUL",
                "statusReasons": ["initialize returned 401"],
                "createdAt": "2026-01-01T00:00:00Z",
                "updatedAt": "2026-01-01T00:00:00Z",
                "targetConfiguration": {"mcp": {"mcpServer": {"endpoint": "https://example.com/invocations"}}},
                "credentialProviderConfigurations": [
                    {
                        "credentialProviderType": "OAUTH",
                        "credentialProvider": {
                            "oauthCredentialProvider": {
                                "providerArn": f"{ARN}:token-vault/default/oauth2credentialprovider/p",
                                "scopes": ["mcpgw-dev-runtime/invoke"],
                            }
                        },
                    }
                ],
            },
            {"gatewayIdentifier": gateway_id, "targetId": target_id},
        )
        assert deployed.run(aws=aws_with({"bedrock-agentcore-control": control})) == 1
    err = capsys.readouterr().err
    assert f"FAILED at step 'list tools': missing {PREFIX}___updateOrder" in err
    assert f"target {target_id} is SYNCHRONIZE_UNSUCCESSFUL (initialize returned 401)" in err


@pytest.mark.parametrize("fail_as", ["result", "protocol"])
def test_tool_error_is_blamed_on_the_runtime_or_its_oauth(deployed: Deployed, fail_as: str, capsys) -> None:
    deployed.fake.state.failing_tool, deployed.fake.state.fail_as = f"{PREFIX}___updateOrder", fail_as
    assert deployed.run() == 1
    err = capsys.readouterr().err
    assert f"FAILED at step 'call {PREFIX}___updateOrder'" in err
    assert "likely cause: runtime/OAuth" in err


def test_failing_search_tool_points_at_the_gateway_search_configuration(deployed: Deployed, capsys) -> None:
    deployed.fake.state.failing_tool = SEARCH_TOOL
    assert deployed.run() == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'search'" in err and "searchType SEMANTIC" in err


def test_unexpected_tool_result_fails_the_call(deployed: Deployed, capsys) -> None:
    deployed.fake.state.update_returns = 999
    assert deployed.run() == 1
    assert "returned 999, expected 456" in capsys.readouterr().err


@pytest.mark.parametrize(
    "scenario",
    [
        "passes",
        "enforced",
        "wrong secret",
        "rejected token",
        "tool error",
        "denied agent's wrong secret",
        "denied agent's tool error",
        "let through",
    ],
)
def test_secrets_and_tokens_of_both_agents_never_reach_output_or_logs(
    deployed: Deployed,
    scenario: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = deployed.fake.state
    if scenario == "enforced":
        deployed.enforce()
    elif scenario == "wrong secret":
        state.secrets[deployed.client_id(SMOKE_AGENT)] = "another-secret"
    elif scenario == "rejected token":
        state.accept_tokens = False
    elif scenario == "tool error":
        state.failing_tool = f"{PREFIX}___getOrder"
    elif scenario == "denied agent's wrong secret":
        state.secrets[deployed.client_id(DENIED_AGENT)] = "another-secret"
    elif scenario == "denied agent's tool error":
        state.failing_tool, state.failing_client = f"{PREFIX}___getOrder", deployed.client_id(DENIED_AGENT)
    elif scenario == "let through":
        deployed.outputs["mcpgw-dev-gateway"]["PolicyEngineMode"] = "ENFORCE"
    with caplog.at_level(logging.DEBUG):
        code = deployed.run()
    captured = capsys.readouterr()
    assert code == (0 if scenario in ("passes", "enforced") else 1), captured.err
    if scenario in ("passes", "enforced", "denied agent's tool error", "let through"):
        # Both agents got a token: the check covers the denied agent's too.
        issued_to = set(state.token_clients.values())
        assert {deployed.client_id(SMOKE_AGENT), deployed.client_id(DENIED_AGENT)} <= issued_to
    assert_nothing_leaked(captured, caplog.records, state)


def test_secret_renders_masked() -> None:
    secret = smoke.Secret(SECRET)
    assert SECRET not in f"{secret} {secret!r} {[secret]}"
    assert secret.reveal() == SECRET


def test_client_credentials_are_never_sent_over_plain_http_to_a_remote_host() -> None:
    with pytest.raises(CheckFailed, match="refusing to send client credentials over http"):
        smoke._require_https("http://example.com/oauth2/token")
    smoke._require_https("https://example.auth.eu-west-1.amazoncognito.com/oauth2/token")


# Outputs from CloudFormation (botocore Stubber validates each call against the real service model).


def _cloudformation_stub(outputs: dict[str, dict[str, str]], stacks: list[str], missing: Collection[str] = frozenset()):
    """Answers DescribeStacks for exactly these stacks, in this order: any other call fails the smoke."""
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    stub = Stubber(cloudformation)
    for name in stacks:
        if name in missing:
            stub.add_client_error(
                "describe_stacks",
                "ValidationError",
                f"Stack with id {name} does not exist",
                expected_params={"StackName": name},
            )
            continue
        stub.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": name,
                        "CreationTime": "2026-01-01T00:00:00Z",
                        "StackStatus": "CREATE_COMPLETE",
                        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.get(name, {}).items()],
                    }
                ]
            },
            {"StackName": name},
        )
    return cloudformation, stub


@pytest.mark.parametrize(
    ("extra", "target", "targets_stack"),
    [
        ([], PREFIX, ORDERS_TARGETS),
        (["--target", OTHER], OTHER, BILLING_TARGETS),
        (["--shards", "2"], PREFIX, f"mcpgw-dev-mcp-targets-{shard_of(PREFIX, 2)}"),
    ],
    ids=["default", "other-target", "two-shards"],
)
def test_outputs_are_read_from_cloudformation_by_stack_name(
    deployed: Deployed,
    extra: list[str],
    target: str,
    targets_stack: str,
    capsys,
) -> None:
    # Only the stacks the smoke reads: no other shard, no gateway role.
    deployed.fake.state.prefix = target
    stacks = ["mcpgw-dev-cognito", "mcpgw-dev-gateway", "mcpgw-dev-monitoring", targets_stack]
    outputs = {**deployed.outputs, targets_stack: {f"{target.capitalize()}TargetId": "TGT-FROM-CFN"}}
    cloudformation, stub = _cloudformation_stub(outputs, stacks)
    with stub:
        argv = ["--env", "dev", "--prefix", "mcpgw", "--region", REGION, *extra]
        code = smoke.main(argv, aws=aws_with({"cloudformation": cloudformation}))
        stub.assert_no_pending_responses()
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"target {target} (TGT-FROM-CFN)" in out


def test_missing_targets_stack_only_loses_the_target_id(deployed: Deployed, capsys) -> None:
    stacks = ["mcpgw-dev-cognito", "mcpgw-dev-gateway", "mcpgw-dev-monitoring", ORDERS_TARGETS]
    cloudformation, stub = _cloudformation_stub(deployed.outputs, stacks, missing={ORDERS_TARGETS})
    with stub:
        code = smoke.main(["--prefix", "mcpgw", "--region", REGION], aws=aws_with({"cloudformation": cloudformation}))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"target {PREFIX} (no OrdersTargetId in {ORDERS_TARGETS})" in out


def test_missing_stack_fails_the_outputs_step_with_a_deploy_hint(deployed: Deployed, capsys) -> None:
    stacks = ["mcpgw-dev-cognito", "mcpgw-dev-gateway", "mcpgw-dev-monitoring", ORDERS_TARGETS]
    cloudformation, stub = _cloudformation_stub(deployed.outputs, stacks, missing={"mcpgw-dev-cognito"})
    with stub:
        code = smoke.main(["--prefix", "mcpgw", "--region", REGION], aws=lambda service, region: cloudformation)
    err = capsys.readouterr().err
    assert code == 1
    assert "FAILED at step 'stack outputs': missing outputs GatewayUserPoolId" in err
    assert "likely cause: stack outputs: deploy first" in err


def test_outputs_of_our_environment_win_over_another_environment_in_the_same_file() -> None:
    dev = {
        "GatewayUserPoolId": "a",
        "AgentPlatformSmokeClientId": "b",
        "GatewayTokenEndpoint": "c",
        "GatewayScope": "d",
        "GatewayUrl": "https://dev/mcp",
    }
    prod = {**dev, "GatewayUrl": "https://prod/mcp"}
    by_stack = {"mcpgw-dev-cognito": dev, "mcpgw-prod-cognito": prod}
    assert smoke.pick_outputs(by_stack, smoke.TargetLayout("mcpgw", "prod"))["GatewayUrl"] == "https://prod/mcp"
    # Keys that are neither our stack names nor our artifact ids: used only when they agree.
    with pytest.raises(CheckFailed, match="differs between stacks"):
        smoke.pick_outputs({"first": dev, "second": prod}, smoke.TargetLayout("mcpgw", "dev"))


@pytest.mark.parametrize("keyed_by", ["stack name", "artifact id"])
def test_the_target_id_comes_only_from_the_entry_shard_stack(keyed_by: str) -> None:
    gateway = {
        "GatewayUserPoolId": "a",
        "AgentPlatformSmokeClientId": "b",
        "GatewayTokenEndpoint": "c",
        "GatewayScope": "d",
        "GatewayUrl": "https://dev/mcp",
    }
    shard = shard_of(PREFIX, 4)
    stacks = {
        "cognito": gateway,
        f"mcp-targets-{shard}": {"OrdersTargetId": "RIGHT"},
        f"mcp-targets-{(shard + 1) % 4}": {"OrdersTargetId": "STALE"},
    }
    if keyed_by == "stack name":
        by_stack = {f"mcpgw-dev-{component}": values for component, values in stacks.items()}
    else:
        by_stack = {
            "Cognito": gateway,
            f"McpTargets{shard}": {"OrdersTargetId": "RIGHT"},
            f"McpTargets{(shard + 1) % 4}": {"OrdersTargetId": "STALE"},
        }
    assert smoke.pick_outputs(by_stack, smoke.TargetLayout("mcpgw", "dev"))["OrdersTargetId"] == "RIGHT"


def test_the_smoke_reads_outputs_the_app_declares(dev) -> None:
    """Stack names, artifact ids and output keys the smoke reads exist in the synthesized app (cdk.json's shards and
    agents file): both agents' client ids, and the policy mode; the agents stack its causes name exists too."""
    stack_names = {
        artifact_id: artifact["properties"]["stackName"]
        for artifact_id, artifact in dev.manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    context = smoke.cdk_context()
    plan = smoke.plan_denial(smoke.agent_grants(context), PREFIX, None)
    assert isinstance(plan, smoke.DenialPlan)
    layout = smoke.TargetLayout("mcpgw", "dev", PREFIX, smoke.cdk_shards(context), smoke.DEFAULT_AGENT, plan.agent)
    assert {smoke.client_id_key(SMOKE_AGENT), smoke.client_id_key(DENIED_AGENT)} <= set(layout.outputs["cognito"])
    assert "PolicyEngineMode" in layout.outputs["gateway"]
    for component, keys in layout.outputs.items():
        stack_name = layout.stack_name(component)
        assert stack_names[layout.artifact_id(component)] == stack_name
        # A function name is a built Lambda entry's only (orders is hosted): see the every-kind test below.
        read = set(keys) - {layout.function_name_key}
        assert read <= set(dev.template(stack_name).get("Outputs", {})), stack_name
    # The denial check's causes name the agent's policy by the agents stack's logical id.
    agents_stack = dev.template(layout.stack_name("agents"))
    assert "AgentOrderViewerPolicy" in agents_stack["Resources"]
    # dev's gateway says which mode it runs in, as the output the denial check judges by.
    assert dev.template(layout.stack_name("gateway"))["Outputs"]["PolicyEngineMode"]["Value"] == smoke.LOG_ONLY


@pytest.mark.parametrize("name", ["orders", "billing-v2", "Orders", "a" * 25, "two--hyphens", "9lives", "x"])
def test_target_names_follow_the_config(name: str) -> None:
    # The smoke takes --target as the config takes an entry name: the same rule (app_config.rules), so the same answer.
    from app_config.model import HostedEntry

    try:
        HostedEntry.model_validate({"kind": "hosted", "name": name, "path": "mcp_server"})
        config_accepts = True
    except ValueError:
        config_accepts = False
    try:
        smoke._target_name(name)
        smoke_accepts = True
    except argparse.ArgumentTypeError:
        smoke_accepts = False
    assert smoke_accepts == config_accepts


@pytest.mark.parametrize("name", ["platform-smoke", "order-viewer", "Viewer", "a" * 25, "two--hyphens", "9lives", "x"])
def test_agent_names_follow_the_config(name: str) -> None:
    # --agent and --denied-agent take a name as the agents file does: the same rule, so the same answer.
    from app_config.model import AgentEntry

    try:
        AgentEntry.model_validate({"name": name, "targets": ["orders"]})
        config_accepts = True
    except ValueError:
        config_accepts = False
    try:
        smoke.agent_name(name)
        smoke_accepts = True
    except argparse.ArgumentTypeError:
        smoke_accepts = False
    assert smoke_accepts == config_accepts


def test_the_smoke_judges_every_policy_mode_the_config_allows() -> None:
    from app_config.rules import POLICY_MODES

    assert {smoke.ENFORCE, smoke.LOG_ONLY} == set(POLICY_MODES)


# tools.mcp_check against the fake gateway: the bearer token comes from the environment and stays unprinted.


def test_mcp_check_sends_the_bearer_token_from_the_environment(gateway_server: FakeGateway, capsys) -> None:
    gateway_server.state = Fake(allowed_clients={"mcp-check"})
    token = gateway_server.issue(3600, "mcp-check")
    # A gateway has no health probe of its own: --skip-ping.
    url = f"{gateway_server.base}/mcp"
    code = mcp_check.main(["--url", url, "--skip-ping"], environ={mcp_check.TOKEN_ENV: token})
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"call {SEARCH_TOOL}" in captured.out and f"call {PREFIX}___updateOrder" in captured.out
    assert set(gateway_server.state.bearer_seen) == {f"Bearer {token}"}
    assert token not in captured.out + captured.err


def test_mcp_check_without_a_token_is_refused(gateway_server: FakeGateway, capsys) -> None:
    gateway_server.state = Fake()
    assert mcp_check.main(["--url", f"{gateway_server.base}/mcp", "--skip-ping"], environ={}) == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'initialize': HTTP 401" in err and "token/authorizer" in err


# --- any entry: its smokeTool, its declared tools, and hints that fit a local server ----------------------------------


def write_targets(tmp_path: Path, entry: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the smoke read a targets file holding `entry` (as cdk.json's targetsFile), with the tests' agents."""
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump({"targets": [entry]}))
    context = {**smoke.cdk_context(), "targetsFile": str(path)}
    monkeypatch.setattr(smoke, "cdk_context", lambda: context)


ORDERS_ENTRY = {"name": PREFIX, "kind": "hosted", "path": "mcp_server", "tools": ["getOrder", "updateOrder"]}


def test_an_entry_with_a_smoke_tool_gets_only_that_tool_called(
    deployed: Deployed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    write_targets(tmp_path, {**ORDERS_ENTRY, "smokeTool": "getOrder"}, monkeypatch)
    assert deployed.run() == 0
    out = capsys.readouterr().out
    assert [name for name, _ in steps(out)][-4:] == [
        "search",
        "list tools",
        f"call {PREFIX}___getOrder",
        "denial check",
    ]
    assert "updateOrder" not in "".join(detail for _, _, detail in rows(out) if "call" in detail)
    assert ("denial check", "SKIP") in steps(out)


def test_an_entry_without_a_smoke_tool_is_listed_and_nothing_called(
    deployed: Deployed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    write_targets(tmp_path, {**ORDERS_ENTRY, "tools": ["getOrder"]}, monkeypatch)
    assert deployed.run() == 0
    names = steps(capsys.readouterr().out)
    assert ("call", "SKIP") in names and not any(name.startswith("call ") for name, _ in names)


def test_the_local_smoke_calls_the_entrys_smoke_tool(
    local_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    write_targets(tmp_path, {**ORDERS_ENTRY, "smokeTool": "getOrder"}, monkeypatch)
    assert smoke.main(["--url", local_url, "--no-auth"]) == 0
    assert steps(capsys.readouterr().out) == [("initialize", "PASS"), ("list tools", "PASS"), ("call getOrder", "PASS")]


def test_a_local_failure_blames_the_server_not_a_gateway(
    local_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    entry = {**ORDERS_ENTRY, "tools": ["getOrder", "updateOrder", "cancelOrder"], "smokeTool": "getOrder"}
    write_targets(tmp_path, entry, monkeypatch)
    assert smoke.main(["--url", local_url, "--no-auth"]) == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'list tools': missing cancelOrder" in err
    assert "likely cause: server: its tools/list lacks tools its entry declares" in err
    assert "gateway" not in err and "SynchronizeGatewayTargets" not in err


# --- every kind of entry: its declared tools, called as <entry>___<tool> through the gateway -------------------------------

# What the fake gateway serves for an entry (Fake.order_tools): getOrder and updateOrder under the entry's prefix, so
# a Lambda or OpenAPI entry declaring those two is smoked as any other.
ORDER_SCHEMA = [
    {"name": "getOrder", "description": "Get an order", "inputSchema": {"type": "object"}},
    {
        "name": "updateOrder",
        "description": "Update an order",
        "inputSchema": {"type": "object", "properties": {"orderId": {"type": "integer"}}, "required": ["orderId"]},
    },
]


def write_entry(tmp_path: Path, entry: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the smoke read a targets file holding `entry` beside the tests' orders entry (their agents name it)."""
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump({"targets": [ORDERS_ENTRY, entry]}))
    context = {**smoke.cdk_context(), "targetsFile": str(path)}
    monkeypatch.setattr(smoke, "cdk_context", lambda: context)


def deployed_entry(deployed: Deployed, name: str, outputs: dict[str, str]) -> str:
    """The fake gateway serves `name`'s tools, and its shard's stack has `outputs` (as the app names them)."""
    deployed.fake.state.prefix = name
    stack = f"mcpgw-dev-mcp-targets-{shard_of(name, 4)}"
    deployed.outputs[stack] = {**deployed.outputs.get(stack, {}), **outputs}
    return stack


def test_a_built_lambda_entry_is_smoked_and_its_function_logs_named(
    deployed: Deployed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    entry = {
        "name": "inventory",
        "kind": "lambda",
        "path": "functions/inventory",
        "toolSchema": ORDER_SCHEMA,
        "smokeTool": "getOrder",
    }
    write_entry(tmp_path, entry, monkeypatch)
    outputs = {"InventoryTargetId": "INVTARGET1", "InventoryFunctionName": "mcpgw-dev-fn-inventory"}
    deployed_entry(deployed, "inventory", outputs)
    assert deployed.run("--target", "inventory") == 0
    out = capsys.readouterr().out
    # Its declared tools (no `tools:`: the tool schema's) searched and listed, its smokeTool called, by gateway name.
    assert [name for name, _ in steps(out)][-4:] == [
        "search",
        "list tools",
        "call inventory___getOrder",
        "denial check",
    ]
    assert "target inventory (INVTARGET1)" in out
    assert "  function logs: /aws/lambda/mcpgw-dev-fn-inventory (inventory)" in out.split("where to look:\n", 1)[1]
    # A failed call points at the function's log group and its invoke permission, not at a runtime.
    deployed.fake.state.failing_tool = "inventory___getOrder"
    assert deployed.run("--target", "inventory") == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'call inventory___getOrder'" in err
    assert (
        "likely cause: function: the tool call failed past the catalog; read /aws/lambda/mcpgw-dev-fn-inventory" in err
    )
    assert "runtime" not in err


def test_an_openapi_entry_is_smoked_with_its_specs_operations(
    deployed: Deployed, tmp_path: Path, repo_tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from tests.cdk_helpers import ROOT

    spec = repo_tmp_path / "orders.openapi.yaml"
    operation = {"responses": {"200": {"description": "ok"}}}
    spec.write_text(
        yaml.safe_dump(
            {
                "openapi": "3.0.3",
                "info": {"title": "Orders", "version": "1"},
                "servers": [{"url": "https://orders.example.com/v1"}],
                "paths": {
                    "/orders/{orderId}": {
                        "get": {**operation, "operationId": "getOrder", "summary": "Get an order"},
                        "put": {**operation, "operationId": "updateOrder", "summary": "Update an order"},
                    }
                },
            }
        )
    )
    entry = {
        "name": "shop",
        "kind": "openapi",
        "spec": str(spec.relative_to(ROOT)),
        "apiKey": {"secretName": "mcp-gateway/shop/api-key", "parameterName": "x-api-key"},
        "smokeTool": "getOrder",
    }
    write_entry(tmp_path, entry, monkeypatch)
    stack = deployed_entry(deployed, "shop", {"ShopTargetId": "SHOPTARGET1"})
    assert deployed.run("--target", "shop") == 0
    out = capsys.readouterr().out
    assert [name for name, _ in steps(out)][-4:] == ["search", "list tools", "call shop___getOrder", "denial check"]
    assert f"target shop ({deployed.outputs[stack]['ShopTargetId']})" in out
    assert "function logs" not in out and "runtime logs" not in out
    deployed.fake.state.failing_tool = "shop___getOrder"
    assert deployed.run("--target", "shop") == 1
    err = capsys.readouterr().err
    assert (
        "likely cause: API: the tool call failed past the catalog; the gateway's logs hold the API's answer; check "
        "the API's own logs and its API-key credential provider (the key in Secrets Manager)"
    ) in err


def test_a_lambda_entrys_outputs_are_the_ones_its_shard_declares(example_every_kind) -> None:
    # The every-kind example's shards: the built function's entry offers its target id and function name, the
    # existing function's and the OpenAPI entry's their target id (and no runtime): what the smoke reads.
    for target, expected in (
        ("inventory", {"InventoryTargetId", "InventoryFunctionName"}),
        ("pricing", {"PricingTargetId"}),
        ("pets", {"PetsTargetId"}),
        ("lambda-api", {"LambdaApiTargetId"}),
        ("shipping", {"ShippingTargetId"}),
    ):
        layout = smoke.TargetLayout("mcpgw", "dev", target, 4)
        outputs = example_every_kind.template(layout.stack_name(layout.targets_component)).get("Outputs", {})
        read = set(layout.outputs[layout.targets_component])
        assert read & set(outputs) == expected, target
