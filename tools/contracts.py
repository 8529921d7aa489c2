"""What changed between two sets of tool contracts (a lock against its last commit, a server or the gateway against
a lock), field by field, with a description's changed words marked: a description is what an agent is told."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from app_config.tool_locks import CONTRACT_FIELDS, canonical_tool

# A description change is called out first: it changes what the LLM behind every agent reads and obeys.
TOLD = "changes what agents are told"
_WORDS = re.compile(r"\S+|\s+")

Contracts = Mapping[str, Mapping[str, Any]]  # tool name -> its canonical contract fields


@dataclass(frozen=True)
class Change:
    tool: str
    kind: str  # "added", "removed" or "changed"
    field: str | None = None
    before: Any = None
    after: Any = None

    def line(self, entry: str) -> str:
        where = f"{entry}: tool {self.tool}"
        if self.kind != "changed":
            return f"{where} {self.kind}"
        what = f"field {self.field}"
        if self.field in ("description", "title"):
            return f"{where}, {what} ({TOLD}): {word_diff(str(self.before or ''), str(self.after or ''))}"
        if self.before is None or self.after is None:
            return f"{where}, {what} {'added' if self.before is None else 'removed'}"
        return f"{where}, {what}: {json_diff(self.before, self.after)}"


def contracts_of(tools: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """tools/list entries (or a lock's tools) by name, reduced to their canonical contracts."""
    return {str(tool["name"]): canonical_tool(tool) for tool in tools}


def compare(before: Contracts, after: Contracts, fields: tuple[str, ...] = CONTRACT_FIELDS) -> list[Change]:
    """Every difference from `before` to `after`: tools added or removed, then each changed field, descriptions
    first, in tool order."""
    changes: list[Change] = []
    for tool in sorted(set(before) | set(after)):
        if tool not in before:
            changes.append(Change(tool, "added"))
        elif tool not in after:
            changes.append(Change(tool, "removed"))
        else:
            ordered = sorted(fields, key=lambda field: (field != "description", CONTRACT_FIELDS.index(field)))
            for field in ordered:
                old, new = before[tool].get(field), after[tool].get(field)
                if old != new:
                    changes.append(Change(tool, "changed", field, old, new))
    return changes


def word_diff(before: str, after: str) -> str:
    """The text with its changes marked as git's --word-diff does: [-removed-]{+added+}."""
    old, new = _WORDS.findall(before), _WORDS.findall(after)
    parts: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            parts.append("".join(old[i1:i2]))
            continue
        if i2 > i1:
            parts.append(f"[-{''.join(old[i1:i2])}-]")
        if j2 > j1:
            parts.append(f"{{+{''.join(new[j1:j2])}+}}")
    return "".join(parts)


def json_diff(before: Any, after: Any) -> str:
    """A schema's change, as the lines of its canonical JSON that differ (compact enough for one report line each)."""
    old = json.dumps(before, indent=1, sort_keys=True).splitlines()
    new = json.dumps(after, indent=1, sort_keys=True).splitlines()
    lines = [
        line[0] + line[1:].strip()
        for line in difflib.unified_diff(old, new, lineterm="", n=0)
        if not line.startswith(("---", "+++", "@@"))
    ]
    return "; ".join(lines)
