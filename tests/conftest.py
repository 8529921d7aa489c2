"""Shared fixtures: each synthesized app is built once per test process and read by every test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cdk_helpers import ROOT, Assembly, load_context, shipped_context
from tests.mcp_fixtures import ServerProcess
from tools import snapshots

# The faked deployment's fixtures (gateway_server, aws_world, deployed) for the smoke's and the demo's tests.
pytest_plugins = ["tests.fake_deployment"]

_SYNTHESIZED: dict[str, Assembly] = {}


def synthesize(**context_overrides) -> Assembly:
    """The app synthesized with the tests' own configuration (tests/fixtures/default/) and `context_overrides`."""
    return synthesize_context(load_context(**context_overrides))


def synthesize_context(context: dict[str, Any]) -> Assembly:
    """Synthesized once per test process per configuration: two contexts whose files hold the same entries (the
    shipped config/ as committed, and the tests' copy of it) are one app, so checking both costs one synth."""
    from app import create_app
    from app import synthesize as synth

    def content(key: str, value: Any) -> Any:
        if key not in ("targetsFile", "agentsFile"):
            return value
        try:
            return yaml.safe_load((ROOT / value).read_text())
        except (OSError, yaml.YAMLError):  # the app reports it; nothing to share
            return value

    key = json.dumps({k: content(k, v) for k, v in context.items()}, sort_keys=True, default=str)
    if key not in _SYNTHESIZED:
        _SYNTHESIZED[key] = Assembly.from_cdk_assembly(synth(create_app(context)))
    return _SYNTHESIZED[key]


@pytest.fixture(scope="session")
def dev() -> Assembly:
    return synthesize(env="dev")


@pytest.fixture(scope="session")
def prod() -> Assembly:
    return synthesize(env="prod")


# The snapshot sets (tools/snapshots.SETS): the shipped config/ in both environments, and the example.
@pytest.fixture(scope="session")
def shipped_dev() -> Assembly:
    return synthesize_context(shipped_context(**snapshots.SETS["dev"]))


@pytest.fixture(scope="session")
def shipped_prod() -> Assembly:
    return synthesize_context(shipped_context(**snapshots.SETS["prod"]))


@pytest.fixture(scope="session")
def example_three_targets() -> Assembly:
    """One hosted and two existing servers, and their agents (config/examples/three-targets/)."""
    return synthesize_context(shipped_context(**snapshots.SETS["example-three-targets"]))


@pytest.fixture(scope="session")
def example_every_kind() -> Assembly:
    """One entry of every kind and every outbound authentication, and an agent granted a tool of each
    (config/examples/every-kind/)."""
    return synthesize_context(shipped_context(**snapshots.SETS["example-every-kind"]))


@pytest.fixture(scope="session")
def example_every_kind_prod() -> Assembly:
    """The every-kind example as prod deploys it: what prod keeps of the new kinds (their functions' log groups)."""
    return synthesize_context(shipped_context(**{**snapshots.SETS["example-every-kind"], "env": "prod"}))


def many_entries() -> list[dict[str, Any]]:
    """Twelve entries of every kind: past the nine at which per-target grants overflowed the gateway role."""
    tools = ["getOrder", "updateOrder"]
    hosted: list[dict[str, Any]] = [
        {"name": f"hosted{i}", "kind": "hosted", "path": "mcp_server", "tools": tools} for i in range(4)
    ]
    hosted.append({"name": "private", "kind": "hosted", "path": "mcp_server", "ownPool": True, "tools": tools})
    existing = [
        {
            "name": f"remote{i}",
            "kind": "existing",
            "endpoint": f"https://remote{i}.example.com/mcp",
            "oauth": {
                "discoveryUrl": f"https://login.example.com/remote{i}/.well-known/openid-configuration",
                "clientId": f"gateway-remote{i}",
                "scopes": [f"remote{i}/invoke"],
                "clientSecretName": f"mcp-gateway/remote{i}",
            },
            "tools": ["search", "fetch"],
        }
        for i in range(7)
    ]
    return hosted + existing


def many_agents() -> dict[str, Any]:
    """Agents of every shape over many_entries(): whole targets, single tools, with and without a rate limit."""
    return {
        "defaultRateLimit": {"requests": 600, "per": "minute"},
        "agents": [
            {"name": "ops", "targets": ["hosted0", "hosted1", "private"]},
            {
                "name": "search-bot",
                "tools": [f"remote{i}___search" for i in range(7)],
                "rateLimit": {"requests": 5, "per": "second"},
            },
            {"name": "mixed", "targets": ["remote0"], "tools": ["hosted2___getOrder"]},
            {"name": "blocked", "tools": ["hosted3___getOrder"], "rateLimit": {"requests": 0, "per": "minute"}},
        ],
    }


def write_config(
    directory: Path, entries: list[dict[str, Any]], agents: dict[str, Any] | None = None
) -> dict[str, str]:
    """A targets file and an agents file in `directory`, as context overrides. Without `agents`: one agent granted
    the first entry's tools (giving it one if it declares none: an agent needs a declared tool)."""
    entries = [dict(e) for e in entries]
    if agents is None:
        if entries and entries[0].get("kind") != "hosted":  # a hosted entry's tools are its folder's lock's
            entries[0].setdefault("tools", ["ping"])
        agents = {
            "defaultRateLimit": {"requests": 600, "per": "minute"},
            "agents": [{"name": "tester", "targets": [entries[0]["name"] if entries else "none"]}],
        }
    targets_file, agents_file = directory / "targets.yaml", directory / "agents.yaml"
    targets_file.write_text(yaml.safe_dump({"targets": entries}))
    agents_file.write_text(yaml.safe_dump(agents))
    return {"targetsFile": str(targets_file), "agentsFile": str(agents_file)}


@pytest.fixture
def repo_tmp_path() -> Iterator[Path]:
    """A temporary folder inside the repository (under the git-ignored .cache/): a hosted entry's path must be in
    the repository, so a test's copy of a server folder goes here rather than in tmp_path."""
    import shutil
    import tempfile

    from tests.cdk_helpers import ROOT

    (ROOT / ".cache").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=ROOT / ".cache", prefix="test-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def many(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    return synthesize(env="dev", **write_config(tmp_path_factory.mktemp("many"), many_entries(), many_agents()))


@pytest.fixture(scope="session")
def local_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example MCP server, started as its image starts it, once per test process (it is stateless); its /mcp
    URL."""
    server = ServerProcess.start(tmp_path_factory.mktemp("local-server"))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region, and no profile: boto3 clients (for moto or Stubber) never reach AWS."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
