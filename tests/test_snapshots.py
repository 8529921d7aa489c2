"""Whole-template snapshots per environment: a pull request shows every infrastructure change as a diff."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from app_config import shard_of
from tests.cdk_helpers import DEFAULT_FIXTURE, ROOT, Assembly, load_context
from tools import snapshots

# Each snapshot set's session fixture (tests/conftest.py): the shipped config/ and the example, as committed.
SET_FIXTURES = {
    "dev": "shipped_dev",
    "prod": "shipped_prod",
    "example-three-targets": "example_three_targets",
    "example-every-kind": "example_every_kind",
}


def test_every_snapshot_set_has_its_fixture() -> None:
    assert set(SET_FIXTURES) == set(snapshots.SETS)


@pytest.mark.parametrize("set_name", list(snapshots.SETS))
def test_templates_match_the_committed_snapshots(set_name: str, request: pytest.FixtureRequest) -> None:
    assembly: Assembly = request.getfixturevalue(SET_FIXTURES[set_name])
    changes = list(snapshots.diff(set_name, assembly.templates))
    assert not changes, (
        "Templates differ from tests/snapshots/. Review the diff below; if intended, run "
        "`make snapshots` and commit the result.\n" + "".join(changes)
    )


def test_normalization_hides_asset_hashes_only() -> None:
    digest = "a" * 64
    template = {"Resources": {"Fn": {"Properties": {"S3Key": f"{digest}.zip", "Name": "keep-me"}}}}
    text = snapshots.normalize(template)
    assert digest not in text
    assert "<asset-hash>.zip" in text and "keep-me" in text
    assert snapshots.normalize(template) == text  # deterministic


def test_snapshots_do_not_churn_on_an_unrelated_source_edit(repo_tmp_path: Path, dev: Assembly) -> None:
    # The image asset's hash changes with any edit of mcp_server/; the normalized template must not.
    tmp_path = repo_tmp_path
    source = tmp_path / "mcp_server"
    shutil.copytree(ROOT / "mcp_server", source)
    (source / "server.py").write_text((source / "server.py").read_text() + "\n# an unrelated edit\n")
    targets_file = tmp_path / "targets.yaml"
    targets_file.write_text(
        (ROOT / DEFAULT_FIXTURE["targetsFile"]).read_text().replace("path: mcp_server", f"path: {source}")
    )

    assembly = create_app(load_context(targetsFile=str(targets_file))).synth()

    image_user = f"mcpgw-dev-mcp-targets-{shard_of('orders', 4)}"
    edited, before = assembly.get_stack_by_name(image_user).template, dev.template(image_user)
    assert edited != before, "the edit should change the image hash in the raw template"
    assert snapshots.normalize(edited) == snapshots.normalize(before)
    # The edit reaches the target's description (an update, so a re-synchronization on deploy) ...
    assert description(edited) != description(before)
    # ... and nothing outside the image's stack.
    for stack_name, template in dev.templates.items():
        if stack_name != image_user:
            assert assembly.get_stack_by_name(stack_name).template == template, stack_name


def test_only_a_new_image_changes_a_hosted_targets_description(dev: Assembly) -> None:
    # A configuration change that touches the targets stack (its tags) must not update the target.
    context = load_context()
    context["environments"]["dev"] = {**context["environments"]["dev"], "tags": {"owner": "x", "cost-centre": "y"}}
    stack = f"mcpgw-dev-mcp-targets-{shard_of('orders', 4)}"
    template = create_app(context).synth().get_stack_by_name(stack).template

    assert template != dev.template(stack)
    assert description(template) == description(dev.template(stack))


def description(template: dict[str, Any]) -> str:
    return template["Resources"]["OrdersTarget"]["Properties"]["Description"]
