"""Replacement guard: the identities of resources whose replacement loses data or breaks every client.

`tests/stable_identities.json` records, for the prod environment, each guarded resource's logical id and
create-only properties (a change to either makes CloudFormation replace it). A pull request that would
replace one fails `make test`, listing the property; to replace deliberately, run
`python -m tools.replacement_guard --update` and commit the file with the change, for review.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Mapping

from aws_rules.schemas import create_only_properties, resource_schema
from tools.cli import run

__all__ = ["create_only_properties", "identities", "replacements", "resource_schema"]


ROOT = Path(__file__).resolve().parent.parent
IDENTITIES = ROOT / "tests" / "stable_identities.json"
GUARDED_ENV = "prod"
GUARDED_TYPES = (
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolResourceServer",
    "AWS::BedrockAgentCore::Gateway",
    "AWS::BedrockAgentCore::Runtime",
    "AWS::BedrockAgentCore::OAuth2CredentialProvider",
)


def identities(templates: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {}
    for stack_name, template in sorted(templates.items()):
        for logical_id, resource in sorted(template.get("Resources", {}).items()):
            if resource["Type"] in GUARDED_TYPES:
                properties = resource.get("Properties", {})
                found[f"{stack_name}/{logical_id}"] = {
                    "type": resource["Type"],
                    "createOnly": {p: properties.get(p) for p in create_only_properties(resource["Type"])},
                }
    return found


def replacements(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """One line per guarded resource that the current templates would replace or delete."""
    problems = []
    for key, before in sorted(recorded.items()):
        after = current.get(key)
        if after is None:
            problems.append(f"{key} ({before['type']}) is gone: a rename of its logical id or stack replaces it")
            continue
        for prop, old in before["createOnly"].items():
            new = after["createOnly"].get(prop)
            if new != old:
                problems.append(
                    f"{key} ({before['type']}) would be replaced: {prop} {json.dumps(old)} -> {json.dumps(new)}"
                )
    return problems


def main(argv: list[str] | None = None) -> int:
    from tools.snapshots import synthesize

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--update", action="store_true", help="accept the current identities (a deliberate replacement)"
    )
    args = parser.parse_args(argv)
    current = identities(synthesize(GUARDED_ENV))
    if args.update:
        IDENTITIES.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
        print(f"recorded {len(current)} identities in {IDENTITIES.relative_to(ROOT)}")
        return 0
    problems = replacements(json.loads(IDENTITIES.read_text()), current)
    print("\n".join(problems) or "no guarded resource would be replaced")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(run(main))
