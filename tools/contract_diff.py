"""What a change does to the tool contracts: every tool lock of the working tree against the same file at a git
revision (default HEAD; a pull request's base in CI), field by field, description changes called out as changes to
what agents are told. `make diff` prints it before the template diff; the PR comment shows it first."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from app_config.tool_locks import EXISTING_LOCKS_DIR, HOSTED_LOCK_FILE
from tools.contracts import TOLD, compare, contracts_of

ROOT = Path(__file__).resolve().parent.parent
# Where locks live (app_config.tool_locks): a hosted folder's tools.lock.json, an existing entry's tool-locks/*.json.
PATTERNS = (f"*{HOSTED_LOCK_FILE}", f"*{EXISTING_LOCKS_DIR}/*.json")
SKIPPED = (".venv/", "node_modules/", "cdk.out/", "tests/")  # tests/ holds fixture locks, not contracts


class GitError(Exception):
    pass


def _git(*args: str, root: Path = ROOT) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GitError(f"git {args[0]}: {type(error).__name__}") from None
    if result.returncode != 0:
        raise GitError(
            f"git {' '.join(args)}: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else 'failed'}"
        )
    return result.stdout


def is_lock(path: str) -> bool:
    return not path.startswith(SKIPPED) and any(fnmatch(path, pattern) for pattern in PATTERNS)


def lock_paths(base: str, root: Path = ROOT) -> list[str]:
    """Every lock at `base` or in the working tree (tracked or not, unless ignored)."""
    at_base = _git("ls-tree", "-r", "--name-only", base, root=root).splitlines()
    here = _git("ls-files", "--cached", "--others", "--exclude-standard", root=root).splitlines()
    return sorted({path for path in [*at_base, *here] if is_lock(path)})


def _tools(text: str) -> dict[str, dict[str, Any]]:
    if not text:
        return {}
    document = json.loads(text)
    return contracts_of(document["tools"])


def changes(base: str = "HEAD", root: Path = ROOT) -> list[str]:
    """One line per change of a tool's contract, grouped by lock file; empty when nothing changed."""
    lines: list[str] = []
    labels = entry_labels(root)
    for path in lock_paths(base, root):
        try:
            before_text = _git("show", f"{base}:{path}", root=root)
        except GitError:
            before_text = ""
        file = root / path
        after_text = file.read_text(encoding="utf-8") if file.is_file() else ""
        if before_text == after_text:
            continue
        try:
            found = compare(_tools(before_text), _tools(after_text))
        except (ValueError, KeyError, TypeError) as error:
            lines.append(
                f"{path}: cannot be compared ({type(error).__name__}); is it a lock written by make tools-lock?"
            )
            continue
        state = "new lock" if not before_text else "lock removed" if not after_text else "changed"
        lines.append(f"{path} ({state}):")
        label = labels.get(path) or label_of(path)
        lines += [f"  {change.line(label)}" for change in found] or ["  (hashes or layout only)"]
    return lines


def entry_labels(root: Path) -> dict[str, str]:
    """Lock path -> the entries it serves, from the targets files under config/ (those that load)."""
    from app_config.errors import TargetsError
    from app_config.targets import load_targets
    from app_config.tool_locks import lock_path

    served: dict[str, list[str]] = {}
    for targets_file in sorted((root / "config").rglob("*.yaml")):
        try:
            entries = load_targets(targets_file, max_targets=10_000)
        except (TargetsError, OSError):
            continue  # an agents file, or a targets file the app refuses (synth says why)
        for entry in entries:
            try:
                path = str(lock_path(entry, targets_file).relative_to(root))
            except ValueError:
                continue
            if entry.name not in served.setdefault(path, []):
                served[path].append(entry.name)
    return {path: ", ".join(names) for path, names in served.items()}


def label_of(path: str) -> str:
    """The entry a lock serves, as its path says: tool-locks/<entry>.json, or the hosted folder's name."""
    parts = Path(path)
    return parts.stem if parts.parent.name == EXISTING_LOCKS_DIR else (parts.parent.name or path)


def report(base: str = "HEAD", root: Path = ROOT) -> str:
    try:
        lines = changes(base, root)
    except GitError as error:
        return f"tool contracts: not compared ({error})\n"
    if not lines:
        return f"tool contracts: no change against {base}\n"
    told = sum(TOLD in line for line in lines)
    header = f"tool contracts against {base}" + (f" ({told} change(s) to what agents are told)" if told else "") + ":"
    return "\n".join([header, *lines]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.contract_diff", description=__doc__)
    parser.add_argument("--base", default="HEAD", help="the git revision to compare with (default: HEAD)")
    args = parser.parse_args(argv)
    sys.stdout.write(report(args.base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
