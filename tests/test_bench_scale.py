"""`make bench-scale`'s generated configurations: every kind of entry in its fixed mix, loading as the app loads
them (the declared kinds pinned by the tool locks it writes), without a synth (the benchmark itself synthesizes)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app_config import load_config, outbound_auth
from app_config.model import ENTRY_KINDS, LambdaEntry
from tests.cdk_helpers import ROOT, load_context
from tools import bench_scale


@pytest.fixture
def folder() -> Iterator[Path]:
    # In the repository, as the benchmark's: the app refuses a hosted or function folder outside it.
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".bench-scale-test-") as tmp:
        yield Path(tmp)


def test_ten_entries_hold_every_kind_and_every_outbound_auth_and_load(folder: Path) -> None:
    targets_file, agents_file = bench_scale.write_config(10, 2, folder)
    config = load_config(load_context(targetsFile=str(targets_file), agentsFile=str(agents_file)))

    assert {entry.kind for entry in config.targets} == set(ENTRY_KINDS)
    assert {(entry.kind, outbound_auth(entry)) for entry in config.targets} >= {
        ("hosted", "oauth"),
        ("existing", "oauth"),
        ("existing", "apiKey"),
        ("existing", "iam"),
        ("openapi", "apiKey"),
        ("openapi", "oauth"),
        ("smithy", "iam"),
        ("apiGateway", "iam"),
    }
    functions = [entry for entry in config.targets if isinstance(entry, LambdaEntry)]
    assert sorted(entry.path is not None for entry in functions) == [False, True]  # built here, and by ARN
    # Every declared entry is pinned by the lock the benchmark wrote; only existing servers may be unpinned.
    declared = {entry.name for entry in config.targets if entry.kind not in ("hosted", "existing")}
    assert declared <= set(config.tool_locks)
    assert {entry.kind for entry in config.targets if entry.name in config.unpinned} <= {"existing"}
    # The agents are granted tools the entries offer (load_config checks them against the locks).
    assert all(agent.tools for agent in config.agents.entries)


def test_the_mix_repeats_so_that_a_hundred_entries_hold_ten_of_each() -> None:
    assert len(bench_scale.MIX) == 10 and bench_scale.MIX[0] == "hosted"
    assert bench_scale.built(100) == 10
