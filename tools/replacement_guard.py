"""Replacement guard: the identities of resources whose replacement loses data or breaks every client.

`tests/stable_identities.json` records, for the prod environment, each guarded resource's logical id and
create-only properties (a change to either makes CloudFormation replace it). A pull request that would
replace one fails `make test`, listing the property; to replace deliberately, run
`python -m tools.replacement_guard --update` and commit the file with the change, for review.

It also records what create may fix without a replacement to undo it: a gateway's MCP versions, reported to narrow
but never extend (aws/aws-cli#10346, closed as stale; the AgentCore guide says UpdateGateway changes them: contested,
so the stricter is built for). Every synth refuses a version added to a recorded gateway (aws_rules
gateway-mcp-versions-fixed-at-create, fed the record by app.synthesize); `--update` accepts one deliberately (its
synth is held to no record), and records a narrowing so that adding the version back is refused too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Mapping

from aws_rules.gateway import VERSIONS_FIXED, supported_versions
from aws_rules.schemas import create_only_properties, resource_schema
from tools.cli import run

__all__ = ["create_only_properties", "identities", "narrowed", "recorded", "replacements", "resource_schema"]


ROOT = Path(__file__).resolve().parent.parent
IDENTITIES = ROOT / "tests" / "stable_identities.json"
GUARDED_ENV = "prod"
GATEWAY = "AWS::BedrockAgentCore::Gateway"
GUARDED_TYPES = (
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolResourceServer",
    # A replaced domain changes every token endpoint; the credential-provider stack imports the runtime pool's.
    "AWS::Cognito::UserPoolDomain",
    "AWS::BedrockAgentCore::Gateway",
    "AWS::BedrockAgentCore::Runtime",
    "AWS::BedrockAgentCore::OAuth2CredentialProvider",
    "AWS::BedrockAgentCore::ApiKeyCredentialProvider",
    # Named, with create-only properties: CloudFormation cannot replace a custom-named resource in place.
    "AWS::Logs::DeliverySource",
    "AWS::Logs::DeliveryDestination",
    # A shard's grants to the gateway role (ManagedPolicyName is create-only).
    "AWS::IAM::ManagedPolicy",
    # Every custom resource's ServiceToken is this function's ARN, and CloudFormation refuses a changed ServiceToken.
    "AWS::Lambda::Function",
)


def weak_readers(templates: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """`stack/logical id` -> the stacks whose templates read an output of it (`Ref`) by Fn::GetStackOutput.

    A weak reference is resolved whenever its stack is created, updated or rolled back to a template holding it
    (CloudFormation template reference, Fn::GetStackOutput: "resolved at stack create or update time"; nothing says a
    rollback keeps the value it resolved before). So the resource, and its output, must outlive every deployed template
    that reads it: removed in the same deploy as its readers' references, a failed update of a reader would roll back
    to a template whose output is gone."""
    outputs = {
        (stack, name): output["Value"]["Ref"]
        for stack, template in templates.items()
        for name, output in template.get("Outputs", {}).items()
        if isinstance(output.get("Value"), dict) and "Ref" in output["Value"]
    }
    readers: dict[str, set[str]] = {}

    def walk(node: Any, consumer: str) -> None:
        if isinstance(node, dict):
            reference = node.get("Fn::GetStackOutput")
            if isinstance(reference, dict):
                key = (reference.get("StackName"), reference.get("OutputName"))
                if key in outputs:
                    readers.setdefault(f"{key[0]}/{outputs[key]}", set()).add(consumer)
            for value in node.values():
                walk(value, consumer)
        elif isinstance(node, list):
            for value in node:
                walk(value, consumer)

    for stack, template in templates.items():
        walk(template.get("Resources", {}), stack)
    return {key: sorted(stacks) for key, stacks in readers.items()}


def identities(templates: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {}
    readers = weak_readers(templates)
    for stack_name, template in sorted(templates.items()):
        for logical_id, resource in sorted(template.get("Resources", {}).items()):
            if resource["Type"] in GUARDED_TYPES:
                properties = resource.get("Properties", {})
                key = f"{stack_name}/{logical_id}"
                identity: dict[str, Any] = {
                    "type": resource["Type"],
                    "createOnly": {p: properties.get(p) for p in create_only_properties(resource["Type"])},
                }
                versions = supported_versions(properties) if resource["Type"] == GATEWAY else None
                if versions is not None:
                    identity["supportedVersions"] = versions
                if key in readers:
                    identity["readBy"] = readers[key]
                found[key] = identity
    return found


def recorded() -> dict[str, dict[str, Any]]:
    """The committed record (what synth knows of the resources that exist); empty when there is none."""
    if not IDENTITIES.is_file():
        return {}
    found: dict[str, dict[str, Any]] = json.loads(IDENTITIES.read_text())
    return found


def unsafe_removals(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Guarded resources gone from the current templates while the recorded (deployed) ones still read their outputs by
    weak reference: a removal that must wait a deploy (for an agent: `retired: true` first). `--update` refuses them."""
    return [
        f"{key} ({before['type']}) is gone while {', '.join(before['readBy'])} still read its output "
        "(Fn::GetStackOutput): a failed update of those stacks would roll back to a template reading an output that "
        "no longer exists. Stop reading it first, in a deploy of its own (an agent: set `retired: true` in "
        "config/agents.yaml and deploy), then remove it"
        for key, before in sorted(recorded.items())
        if key not in current and before.get("readBy")
    ]


def replacements(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """One line per guarded resource that the current templates would replace or delete."""
    problems = unsafe_removals(recorded, current)
    for key, before in sorted(recorded.items()):
        after = current.get(key)
        if after is None:
            if not before.get("readBy"):
                problems.append(f"{key} ({before['type']}) is gone: a rename of its logical id or stack replaces it")
            continue
        for prop, old in before["createOnly"].items():
            new = after["createOnly"].get(prop)
            if new != old:
                problems.append(
                    f"{key} ({before['type']}) would be replaced: {prop} {json.dumps(old)} -> {json.dumps(new)}"
                )
        added = [v for v in after.get("supportedVersions", []) if v not in before.get("supportedVersions", [])]
        if "supportedVersions" in before and added:
            problems.append(
                f"{key} ({before['type']}) cannot take MCP version {', '.join(added)}: {VERSIONS_FIXED.summary} "
                f"[{VERSIONS_FIXED.source}]"
            )
    return problems


def narrowed(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Gateways whose MCP versions were narrowed since the record: allowed, but to be recorded (`--update`), or adding
    a removed version back would pass the guard and fail the deploy."""
    return [
        f"{key}: supportedVersions {before['supportedVersions']} -> {current[key]['supportedVersions']}"
        for key, before in sorted(recorded.items())
        if "supportedVersions" in before
        and key in current
        and set(current[key].get("supportedVersions", [])) < set(before["supportedVersions"])
    ]


def main(argv: list[str] | None = None) -> int:
    from tools.snapshots import synthesize

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--update", action="store_true", help="accept the current identities (a deliberate replacement)"
    )
    args = parser.parse_args(argv)
    # --update accepts deliberately what the record would refuse (an MCP version added to a recorded gateway, say):
    # the synth it records is held to no record.
    current = identities(synthesize(GUARDED_ENV, recorded={} if args.update else None))
    unsafe = unsafe_removals(json.loads(IDENTITIES.read_text()), current) if IDENTITIES.exists() else []
    if args.update and unsafe:
        print("\n".join(unsafe) + "\nnot recorded: these removals cannot be accepted in one deploy", file=sys.stderr)
        return 1
    if args.update:
        IDENTITIES.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
        print(f"recorded {len(current)} identities in {IDENTITIES.relative_to(ROOT)}")
        return 0
    problems = replacements(json.loads(IDENTITIES.read_text()), current)
    print("\n".join(problems) or "no guarded resource would be replaced")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(run(main))
