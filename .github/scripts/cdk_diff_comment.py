#!/usr/bin/env python3
"""Turn the output of `make diff-live` (and, first, the tool contracts' changes) into the body of the sticky PR comment,
written as the step output `body`.

Runs in the diff job of .github/workflows/diff.yml, which holds AWS credentials but no token that can write on the
PR; the comment job only posts what this prints. Standard library only, so it needs nothing but the runner's Python.
Everything it reads comes from files and the runner's own environment, never from a `${{ }}` expression.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
from pathlib import Path

# GitHub refuses comment bodies over 65,536 characters; the header and the marker added by the poster fit in the rest.
MAX_DIFF_CHARS = 60_000

# The CLI colours its output when it thinks it may; colour codes would show up as garbage in the comment.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_STACKS_WITH_DIFFERENCES = re.compile(r"Number of stacks with differences:\s*(\d+)")


def clean(text: str) -> str:
    return _ANSI.sub("", text).replace("\r\n", "\n").strip("\n")


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """The first `limit` characters, cut back to a whole line where there is one, and whether anything was cut."""
    if len(text) <= limit:
        return text, False
    cut = text.rfind("\n", 0, limit)
    return text[: cut if cut > 0 else limit], True


def fence_for(text: str) -> str:
    """A code fence longer than any run of backticks in the text, so the text cannot close it early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def render(
    diff: str, exit_code: int, head_sha: str, run_url: str, limit: int = MAX_DIFF_CHARS, contracts: str = ""
) -> str:
    diff = clean(diff)
    # The tool contracts come first (what agents will be told, python -m tools.contract_diff) and take their share of
    # the limit; the template diff gets the rest.
    contracts, contracts_cut = truncate(clean(contracts), limit // 3)
    shown, truncated = truncate(diff, limit - len(contracts))
    if exit_code != 0:
        verdict = f"**`cdk diff` failed** (exit code {exit_code}): the output below says why."
    else:
        counted = _STACKS_WITH_DIFFERENCES.findall(diff)
        verdict = f"Stacks with differences: **{counted[-1]}**." if counted else "`cdk diff` succeeded."
    lines = [
        f"### `cdk diff --all` at {head_sha[:12] or 'this commit'}",
        "",
        f"{verdict} [Workflow run]({run_url})",
        "",
    ]
    if contracts:
        fence = fence_for(contracts)
        lines += ["#### Tool contracts (what agents are told)", "", fence, contracts, fence, ""]
        if contracts_cut:
            lines += ["Only the start of the tool contracts' changes fits here; the run's log has all of it.", ""]
    if truncated:
        lines += [
            f"Only the first {len(shown):,} of {len(diff):,} characters fit here; the run's log has all of it.",
            "",
        ]
    fence = fence_for(shown)
    lines += ["<details><summary>Output</summary>", "", fence, shown or "(no output)", fence, "", "</details>"]
    return "\n".join(lines) + "\n"


def write_output(path: Path, name: str, value: str) -> None:
    """Append a multi-line step output. A delimiter found inside the value would end it early and let the rest of
    the value set further outputs, so the delimiter is random and checked against the value."""
    delimiter = f"EOF_{secrets.token_hex(16)}"
    while delimiter in value:
        delimiter = f"EOF_{secrets.token_hex(16)}"
    with path.open("a", encoding="utf-8") as out:
        out.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def head_sha(environ: dict[str, str]) -> str:
    """The PR's head commit (GITHUB_SHA on a pull_request run is the test merge commit, which nobody recognises)."""
    event_path = environ.get("GITHUB_EVENT_PATH")
    if event_path and Path(event_path).is_file():
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
        sha = (event.get("pull_request") or {}).get("head", {}).get("sha")
        if sha:
            return sha
    return environ.get("GITHUB_SHA", "")


def run_url(environ: dict[str, str]) -> str:
    server = environ.get("GITHUB_SERVER_URL", "https://github.com")
    return f"{server}/{environ.get('GITHUB_REPOSITORY', '')}/actions/runs/{environ.get('GITHUB_RUN_ID', '')}"


def main(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> int:
    environ = dict(os.environ if environ is None else environ)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--diff-file", type=Path, required=True)
    parser.add_argument("--exit-code", type=int, required=True)
    parser.add_argument("--contracts-file", type=Path, help="the tool contracts' changes (tools.contract_diff)")
    args = parser.parse_args(argv)

    diff = args.diff_file.read_text(encoding="utf-8", errors="replace") if args.diff_file.is_file() else ""
    contracts = ""
    if args.contracts_file is not None and args.contracts_file.is_file():
        contracts = args.contracts_file.read_text(encoding="utf-8", errors="replace")
    body = render(diff, args.exit_code, head_sha(environ), run_url(environ), contracts=contracts)
    output = environ.get("GITHUB_OUTPUT")
    if output:
        write_output(Path(output), "body", body)
    else:
        sys.stdout.write(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
