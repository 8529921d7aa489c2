"""The real `cdk synth`, through the CLI pinned in package.json, exactly as `make synth` runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cdk_helpers import ROOT

CDK = ROOT / "node_modules" / ".bin" / "cdk"


def run_cdk(*args: str, outdir: Path) -> subprocess.CompletedProcess[str]:
    if not CDK.exists():
        pytest.fail("the pinned CDK CLI is missing: run `make setup` (make test does it)")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
    }
    for credential in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(credential, None)  # synth must not need them
    return subprocess.run(
        [str(CDK), "--no-notices", "--no-version-reporting", *args, "--output", str(outdir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_cli_version_is_the_pinned_one(tmp_path: Path) -> None:
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    result = run_cdk("--version", outdir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(pinned)


UNPINNED = re.compile(r"^note: targets entry [a-z0-9-]+ is unpinned \(no [^)]+\): ")


def test_cdk_synth_writes_every_stack_offline(tmp_path: Path) -> None:
    result = run_cdk("synth", "--quiet", outdir=tmp_path)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    stacks = sorted(
        a["properties"]["stackName"] for a in manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack"
    )
    shards = [f"mcp-targets-{i}" for i in range(4)]
    assert stacks == sorted(
        f"mcpgw-dev-{c}"
        for c in ("cognito", "gateway-role", "gateway", "credential-provider", "agents", "monitoring", *shards)
    )
    # cdk-nag ran as a validation plugin and reported nothing unacknowledged; and nothing else is said that a user
    # would wonder about (a stray jsii runtime line, an INFO per hosted entry, "N feature flags are not configured").
    # The one thing the app itself says on purpose: an existing entry whose team has not recorded its tool lock yet
    # (the shipped config is the teams' to change, so it may hold one).
    said = [line for line in result.stderr.splitlines() if line.strip()]
    expected = ("Successfully synthesized to ", "Supply a stack id ")
    assert [line for line in said if not line.startswith(expected) and not UNPINNED.match(line)] == []


@pytest.mark.parametrize(
    ("flag", "said"),
    [
        ("namePrefix=Bad_Prefix", "error: Invalid configuration namePrefix='Bad_Prefix': "),
        # A setting of each environment as a flag: it was ignored (the gateway stayed LOG_ONLY).
        ("policyMode=ENFORCE", "error: Invalid configuration policyMode: is a setting of each environment"),
    ],
)
def test_cdk_synth_fails_clearly_on_bad_config(tmp_path: Path, flag: str, said: str) -> None:
    result = run_cdk("synth", "--quiet", "-c", flag, outdir=tmp_path)
    assert result.returncode != 0
    assert [line for line in result.stderr.splitlines() if line.startswith("error: ")] == [
        next(line for line in result.stderr.splitlines() if line.startswith(said))
    ]
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.template.json"))


@pytest.mark.parametrize(("env", "skipped"), [({}, True), ({"JSII_RUNTIME_TYPE_CHECKS": "1"}, False)])
def test_app_skips_jsii_runtime_type_checks_unless_asked(env: dict[str, str], skipped: bool) -> None:
    # As `python -O` would (jsii's documented switch); mypy --strict checks the same types in make lint.
    probe = (
        "import app, jsii._type_checking as checks, aws_cdk.aws_sns as sns;"
        "print(sns.CfnTopic.__init__.__globals__['check_type'] is checks.check_type,"
        " checks.check_type.__module__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    bound, module = result.stdout.split()
    assert bound == "True"  # aws-cdk-lib's generated modules call the switched function
    assert (module == "app") is skipped


@pytest.mark.parametrize(("env", "skipped"), [({}, True), ({"PYDANTIC_DISABLE_PLUGINS": ""}, False)])
def test_app_skips_pydantic_plugin_discovery_unless_asked(env: dict[str, str], skipped: bool) -> None:
    # pydantic's discovery reads every installed distribution's entry points through importlib.metadata (a
    # twentieth of a second of each synth); PYDANTIC_DISABLE_PLUGINS= (empty) keeps it.
    probe = (
        "import sys, app; from app_config import load_config; from tests.cdk_helpers import load_context;"
        "load_config(load_context()); import pydantic.plugin._loader as loader;"
        "print('importlib.metadata' in sys.modules, list(loader.get_plugins()))"
    )
    base = {key: value for key, value in os.environ.items() if key != "PYDANTIC_DISABLE_PLUGINS"}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, check=True
    )
    imported, plugins = result.stdout.split(" ", 1)
    assert imported == str(not skipped) and plugins.strip() == "[]"


def test_while_cdk_nag_loads_in_the_background_nothing_else_calls_the_jsii_runtime() -> None:
    # app.py has the runtime load cdk-nag on a thread while Python imports the rest; the runtime serves one request
    # at a time, so a call from the main thread in that window would interleave with the load's on the pipe.
    probe = """
import threading, time, jsii._kernel.providers.process as process
overlaps, calls = [], []
send = process._NodeProcess.send
def watched(self, request, response_type):
    if threading.current_thread().name == "import cdk_nag" and getattr(request, "name", "") == "cdk-nag":
        time.sleep(3)  # a slow load: the window spans every import of the main thread before done()
    loading = any(t.name == "import cdk_nag" and t.is_alive() for t in threading.enumerate())
    calls.append(threading.current_thread().name)
    if loading and threading.current_thread().name != "import cdk_nag":
        overlaps.append(type(request).__name__)
    return send(self, request, response_type)
process._NodeProcess.send = watched
import app
print(overlaps, "import cdk_nag" in calls)
"""
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["[]", "True"]


def test_a_failed_background_import_is_raised_where_it_is_awaited() -> None:
    from app import _ImportInTheBackground

    loading = _ImportInTheBackground("no_such_module_here")
    with pytest.raises(ModuleNotFoundError, match="no_such_module_here"):
        loading.done()
