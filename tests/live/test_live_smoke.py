"""The smoke checks against a deployed environment (AGENTCORE_SMOKE=1 plus AWS credentials); deploys nothing."""

from __future__ import annotations

import os
from typing import Mapping

import pytest

from tools import smoke

# Which deployment to check; the defaults are the smoke CLI's (cdk.json's dev environment).
SETTINGS = {
    "AGENTCORE_SMOKE_ENV": "--env",
    "AGENTCORE_SMOKE_PREFIX": "--prefix",
    "AGENTCORE_SMOKE_REGION": "--region",
    "AGENTCORE_SMOKE_OUTPUTS_FILE": "--outputs-file",
    # The config entry whose getOrder/updateOrder tools are called (default: orders), and the app's targetShards
    # when deployed with another than cdk.json's: together they name the stack holding the entry's target id.
    "AGENTCORE_SMOKE_TARGET": "--target",
    "AGENTCORE_SMOKE_SHARDS": "--shards",
    # The agent the smoke acts as (default: platform-smoke) and the denial check's (default: the agents file's first
    # agent granted some but not all of the order tools).
    "AGENTCORE_SMOKE_AGENT": "--agent",
    "AGENTCORE_SMOKE_DENIED_AGENT": "--denied-agent",
}


def why_not_live(environ: Mapping[str, str], has_credentials: bool) -> str | None:
    """The reason to skip, or None when the live smoke should run."""
    if environ.get("AGENTCORE_SMOKE") != "1":
        return "live smoke is opt-in: set AGENTCORE_SMOKE=1 (with AWS credentials) to check a deployed environment"
    if not has_credentials:
        return "AGENTCORE_SMOKE=1 but boto3 finds no AWS credentials"
    return None


def smoke_argv(environ: Mapping[str, str]) -> list[str]:
    return [arg for key, flag in SETTINGS.items() if environ.get(key) for arg in (flag, environ[key])]


def _has_credentials() -> bool:
    import boto3

    return boto3.Session().get_credentials() is not None


@pytest.mark.live
def test_deployed_gateway_passes_the_smoke_checks(capsys: pytest.CaptureFixture[str]) -> None:
    reason = why_not_live(os.environ, has_credentials=os.environ.get("AGENTCORE_SMOKE") == "1" and _has_credentials())
    if reason:
        pytest.skip(reason)
    code = smoke.main(smoke_argv(os.environ))
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err


def test_live_smoke_is_opt_in_and_needs_credentials() -> None:
    opt_in = why_not_live({}, has_credentials=True)
    assert opt_in is not None and "AGENTCORE_SMOKE=1" in opt_in
    credentials = why_not_live({"AGENTCORE_SMOKE": "1"}, has_credentials=False)
    assert credentials is not None and "no AWS credentials" in credentials
    assert why_not_live({"AGENTCORE_SMOKE": "1"}, has_credentials=True) is None


def test_live_smoke_passes_the_chosen_deployment_to_the_cli() -> None:
    environ = {"AGENTCORE_SMOKE_ENV": "prod", "AGENTCORE_SMOKE_REGION": "eu-west-1", "AGENTCORE_SMOKE_PREFIX": ""}
    assert smoke_argv(environ) == ["--env", "prod", "--region", "eu-west-1"]


def test_live_smoke_can_check_another_config_entry() -> None:
    environ = {"AGENTCORE_SMOKE_TARGET": "billing", "AGENTCORE_SMOKE_SHARDS": "2"}
    argv = smoke_argv(environ)
    assert argv == ["--target", "billing", "--shards", "2"]
    # The CLI accepts what the live test passes.
    args = smoke.parse_args(argv)
    assert (args.target, args.shards) == ("billing", 2)


def test_live_smoke_can_act_as_other_agents() -> None:
    environ = {"AGENTCORE_SMOKE_AGENT": "order-viewer", "AGENTCORE_SMOKE_DENIED_AGENT": "order-viewer"}
    argv = smoke_argv(environ)
    assert argv == ["--agent", "order-viewer", "--denied-agent", "order-viewer"]
    args = smoke.parse_args(argv)
    assert (args.agent, args.denied_agent) == ("order-viewer", "order-viewer")
    assert smoke.parse_args([]).agent == smoke.DEFAULT_AGENT == "platform-smoke"
