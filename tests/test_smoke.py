"""tools.smoke and tools.mcp_check end to end: the real local MCP server, and a loopback fake Cognito plus gateway."""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from collections.abc import Collection

import boto3
import pytest
from botocore.stub import Stubber

from app_config import shard_of
from tests.fake_deployment import (
    ARN,
    BILLING_TARGETS,
    DASHBOARD_URL,
    ORDERS_TARGETS,
    OTHER,
    PREFIX,
    REGION,
    ROOT,
    SCOPE,
    SECRET,
    Deployed,
    Fake,
    FakeGateway,
    assert_nothing_leaked,
    aws_with,
)
from tools import mcp_check, smoke
from tools.bench_mcp import free_port
from tools.mcp_steps import SEARCH_TOOL, CheckFailed

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
    """(step, PASS/FAIL) rows of the printed table."""
    rows = []
    for line in out.splitlines()[1:]:
        cells = line.split("  ")
        cells = [c.strip() for c in cells if c.strip()]
        if len(cells) >= 2 and cells[1] in ("PASS", "FAIL"):
            rows.append((cells[0], cells[1]))
    return rows


GATEWAY_STEPS = [
    "stack outputs",
    "client secret",
    "token",
    "initialize",
    "search",
    "list tools",
    f"call {PREFIX}___updateOrder",
    f"call {PREFIX}___getOrder",
]


@pytest.mark.parametrize("shape", ["text", "structured"])
def test_gateway_smoke_passes_end_to_end(deployed: Deployed, shape: str, capsys: pytest.CaptureFixture[str]) -> None:
    deployed.fake.state.search_shape = shape
    assert deployed.run() == 0
    assert steps(capsys.readouterr().out) == [(name, "PASS") for name in GATEWAY_STEPS]
    state = deployed.fake.state
    [grant] = state.token_requests
    assert grant == {
        "grant_type": "client_credentials",
        "scope": SCOPE,
        "client_id": state.client_id,
        "secret_ok": True,
    }
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


def test_shard_stacks_of_the_two_entries_differ() -> None:
    # The tests below tell the entries' stacks apart; with both in one shard they would prove less.
    assert ORDERS_TARGETS != BILLING_TARGETS


def test_another_entry_is_checked_with_the_target_option(deployed: Deployed, capsys) -> None:
    deployed.fake.state.prefix = OTHER
    assert deployed.run("--target", OTHER) == 0
    out = capsys.readouterr().out
    assert [name for name, _ in steps(out)][-2:] == [f"call {OTHER}___updateOrder", f"call {OTHER}___getOrder"]
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
    deployed.fake.state.secret = "another-secret"
    assert deployed.run() == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'token': HTTP 400 from the token endpoint: invalid_client" in err
    assert "likely cause: token:" in err
    assert deployed.fake.state.bearer_seen == []  # nothing reached the gateway


def test_token_endpoint_5xx_is_retried_with_backoff_without_real_sleeps(deployed: Deployed) -> None:
    deployed.fake.state.token_503s = 2
    assert deployed.run() == 0
    assert deployed.sleeps == [1, 2]
    assert len(deployed.fake.state.token_requests) == 3


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
    ],
)
def test_bad_target_or_shards_are_refused_before_anything_runs(argv: list[str], complaint: str, capsys) -> None:
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


@pytest.mark.parametrize("scenario", ["passes", "wrong secret", "rejected token", "tool error"])
def test_secret_and_token_never_reach_output_or_logs(
    deployed: Deployed,
    scenario: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = deployed.fake.state
    if scenario == "wrong secret":
        state.secret = "another-secret"
    elif scenario == "rejected token":
        state.accept_tokens = False
    elif scenario == "tool error":
        state.failing_tool = f"{PREFIX}___getOrder"
    with caplog.at_level(logging.DEBUG):
        deployed.run()
    captured = capsys.readouterr()
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
        "GatewayClientId": "b",
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
        "GatewayClientId": "b",
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
    """Stack names, artifact ids and output keys the smoke reads exist in the synthesized app (cdk.json's shards)."""
    stack_names = {
        artifact_id: artifact["properties"]["stackName"]
        for artifact_id, artifact in dev.manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    layout = smoke.TargetLayout("mcpgw", "dev", PREFIX, smoke.cdk_shards(smoke.cdk_context()))
    for component, keys in layout.outputs.items():
        stack_name = layout.stack_name(component)
        assert stack_names[layout.artifact_id(component)] == stack_name
        assert set(keys) <= set(dev.template(stack_name).get("Outputs", {})), stack_name


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


# tools.mcp_check against the fake gateway: the bearer token comes from the environment and stays unprinted.


def test_mcp_check_sends_the_bearer_token_from_the_environment(gateway_server: FakeGateway, capsys) -> None:
    gateway_server.state = Fake()
    token = gateway_server.issue(3600)
    code = mcp_check.main(["--url", f"{gateway_server.base}/mcp"], environ={mcp_check.TOKEN_ENV: token})
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"call {SEARCH_TOOL}" in captured.out and f"call {PREFIX}___updateOrder" in captured.out
    assert set(gateway_server.state.bearer_seen) == {f"Bearer {token}"}
    assert token not in captured.out + captured.err


def test_mcp_check_without_a_token_is_refused(gateway_server: FakeGateway, capsys) -> None:
    gateway_server.state = Fake()
    assert mcp_check.main(["--url", f"{gateway_server.base}/mcp"], environ={}) == 1
    err = capsys.readouterr().err
    assert "FAILED at step 'initialize': HTTP 401" in err and "token/authorizer" in err
