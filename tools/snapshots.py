"""Template snapshots: the committed, normalized templates that pull requests diff against (`make diff`)."""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

from tools.cli import run

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_DIR = ROOT / "tests" / "snapshots"
EXAMPLE = "config/examples/three-targets"
EVERY_KIND = "config/examples/every-kind"
# Each set is one synthesized configuration: the shipped config/ in both environments (cdk.json's targetsFile and
# agentsFile), and an example with more than one kind of target, which brings its own agents: a set never reads files
# of two configurations, so an agent granted a new entry of config/targets.yaml cannot break the example's set.
SETS: dict[str, dict[str, str]] = {
    "dev": {"env": "dev"},
    "prod": {"env": "prod"},
    "example-three-targets": {
        "env": "dev",
        "targetsFile": f"{EXAMPLE}/targets.yaml",
        "agentsFile": f"{EXAMPLE}/agents.yaml",
    },
    # One entry of every kind (MCP servers hosted and elsewhere, Lambda, OpenAPI, Smithy, API Gateway) and every way
    # the gateway authenticates to them.
    "example-every-kind": {
        "env": "dev",
        "targetsFile": f"{EVERY_KIND}/targets.yaml",
        "agentsFile": f"{EVERY_KIND}/agents.yaml",
    },
}

# Asset hashes (S3 keys, image tags) change with every edit of an asset's source. The snapshot should
# show that an asset's *use* changed, not churn on its hash; the hash itself is reviewed as code.
_ASSET_HASH = re.compile(r"[0-9a-f]{64}")
# A hosted target's description carries its image hash's first 12 characters (see constructs/mcp_entry.py).
_IMAGE_IN_DESCRIPTION = re.compile(r"\(image [0-9a-f]{12}([,)])")
# Every target's description carries its sync revision (app_config.tool_locks.contract_mark: the tool lock's hash, or
# an unpinned entry's declared tools, with its syncToken): the lock's own diff (`make diff`, tools.contract_diff) and
# the config's are what a reviewer reads, so re-recording a lock does not churn the snapshots.
_SYNC_IN_DESCRIPTION = re.compile(r"([(,] ?)sync [0-9a-f]{8}\)")


def normalize(template: Mapping[str, Any]) -> str:
    text = _ASSET_HASH.sub("<asset-hash>", json.dumps(template, indent=2, sort_keys=True))
    text = _IMAGE_IN_DESCRIPTION.sub(r"(image <asset-hash>\1", text)
    return _SYNC_IN_DESCRIPTION.sub(r"\1sync <revision>)", text) + "\n"


def snapshot_path(set_name: str, stack_name: str) -> Path:
    return SNAPSHOT_DIR / set_name / f"{stack_name}.json"


def synthesize(set_name: str, *, recorded: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Stack name -> template, synthesized in-process with the committed cdk.json context and the set's overrides
    (`recorded`: as app.synthesize takes it)."""
    from app import create_app
    from app import synthesize as synth

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context.update(SETS[set_name])
    assembly = synth(create_app(context), recorded=recorded)
    return {stack.stack_name: stack.template for stack in assembly.stacks}


def diff(set_name: str, templates: Mapping[str, Mapping[str, Any]]) -> Iterable[str]:
    """Unified diffs, one per changed, added or removed stack, as a reviewer reads them."""
    committed = {p.stem: p for p in sorted((SNAPSHOT_DIR / set_name).glob("*.json"))}
    for stack_name in sorted(set(committed) | set(templates)):
        before = committed[stack_name].read_text() if stack_name in committed else ""
        after = normalize(templates[stack_name]) if stack_name in templates else ""
        if before != after:
            yield "".join(
                difflib.unified_diff(
                    before.splitlines(keepends=True),
                    after.splitlines(keepends=True),
                    fromfile=f"a/{set_name}/{stack_name}.json" if before else "/dev/null",
                    tofile=f"b/{set_name}/{stack_name}.json" if after else "/dev/null",
                )
            )


def write(set_name: str, templates: Mapping[str, Mapping[str, Any]]) -> None:
    directory = SNAPSHOT_DIR / set_name
    directory.mkdir(parents=True, exist_ok=True)
    for stale in set(directory.glob("*.json")) - {snapshot_path(set_name, s) for s in templates}:
        stale.unlink()
    for stack_name, template in templates.items():
        snapshot_path(set_name, stack_name).write_text(normalize(template))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Diff synthesized templates against the committed snapshots.")
    parser.add_argument("--update", action="store_true", help="rewrite the snapshots instead of diffing")
    parser.add_argument("--set", action="append", choices=list(SETS), help="snapshot set(s); default: all")
    parser.add_argument("--base", default="HEAD", help="git revision the tool locks are compared with (default: HEAD)")
    args = parser.parse_args(argv)
    if not args.update:
        # What agents will be told comes first: each tool lock against the base (tools.contract_diff).
        from tools.contract_diff import report

        sys.stdout.write(report(args.base) + "\n")
    # Every set synthesized before any file is written: a set whose configuration is refused leaves every snapshot
    # as it was (all sets or none), never a tree half old, half new.
    synthesized = {set_name: synthesize(set_name) for set_name in args.set or SETS}
    changed = False
    for set_name, templates in synthesized.items():
        if args.update:
            write(set_name, templates)
            print(f"updated {len(templates)} snapshots in {SNAPSHOT_DIR.relative_to(ROOT) / set_name}")
            continue
        for chunk in diff(set_name, templates):
            changed = True
            sys.stdout.write(chunk)
    if not args.update and not changed:
        print("no infrastructure change against the committed snapshots")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
