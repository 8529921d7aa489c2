"""The docs' commands work from a fresh clone without activating anything: every `make` target they name exists,
and no command relies on a `python` or `cdk` on the PATH."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cdk_helpers import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TARGETS = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def commands(text: str) -> list[str]:
    """The lines of fenced shell blocks (what a reader pastes), and inline `make ...` spans."""
    fenced = re.findall(r"```(?:bash|sh)\n(.*?)```", text, re.DOTALL)
    inline = re.findall(r"`(make [^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.DOTALL))
    return [line.split(" #")[0].strip() for block in fenced for line in block.splitlines()] + inline


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_make_target_the_docs_name_exists(doc: Path) -> None:
    named = {m for c in commands(doc.read_text()) for m in re.findall(r"(?:^|&& |\$\()make ([a-z][a-z-]*)", c)}
    assert named <= TARGETS, f"{doc.name} names make targets the Makefile lacks: {sorted(named - TARGETS)}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_command_needs_an_activated_environment(doc: Path) -> None:
    bare = [c for c in commands(doc.read_text()) if re.match(r"^(python3?|pip|cdk|pytest|uv|ruff|mypy) ", c)]
    assert bare == [], f"{doc.name}: run these through make or .venv/bin/: {bare}"
