"""Helpers for reading a synthesized cloud assembly: templates, cross-stack references, intrinsic evaluation."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent


def schema_and_model_agree(schema: dict[str, Any], model: Any, document: Any) -> bool:
    """Whether a generated JSON Schema and the pydantic model it came from accept or refuse `document` alike."""
    import jsonschema
    from pydantic import ValidationError

    by_schema = not list(jsonschema.Draft202012Validator(schema).iter_errors(document))
    try:
        model.model_validate(document)
        by_model = True
    except ValidationError:
        by_model = False
    return by_schema == by_model


# The configuration the tests own (entries and agents): behaviour is tested on it, never on the shipped config/, which
# teams change in every onboarding pull request. config/ is checked only for what holds of any valid configuration.
FIXTURES = Path("tests") / "fixtures"
DEFAULT_FIXTURE = {
    "targetsFile": str(FIXTURES / "default" / "targets.yaml"),
    "agentsFile": str(FIXTURES / "default" / "agents.yaml"),
}


def load_context(**overrides: Any) -> dict[str, Any]:
    """cdk.json's context with the tests' own targets and agents files (tests/fixtures/default/), then `overrides`."""
    return shipped_context(**{**DEFAULT_FIXTURE, **overrides})


def shipped_context(**overrides: Any) -> dict[str, Any]:
    """cdk.json's context as committed (config/targets.yaml and config/agents.yaml), then `overrides`."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context.update(overrides)
    return context


@dataclass
class Assembly:
    """A synthesized app, read from its cloud assembly directory."""

    outdir: Path
    templates: dict[str, dict[str, Any]]  # by stack name
    manifest: dict[str, Any]

    @classmethod
    def from_cdk_assembly(cls, assembly: Any) -> "Assembly":
        outdir = Path(assembly.directory)
        templates = {stack.stack_name: stack.template for stack in assembly.stacks}
        manifest = json.loads((outdir / "manifest.json").read_text())
        return cls(outdir, templates, manifest)

    def artifact_id(self, stack_name: str) -> str:
        return next(
            artifact_id
            for artifact_id, artifact in self.manifest["artifacts"].items()
            if artifact["type"] == "aws:cloudformation:stack" and artifact["properties"].get("stackName") == stack_name
        )

    def template_bytes(self, stack_name: str) -> int:
        return (self.outdir / f"{self.artifact_id(stack_name)}.template.json").stat().st_size

    def docker_images(self, stack_name: str) -> list[dict[str, Any]]:
        """The Docker image assets a stack publishes, from its asset manifest."""
        manifest = json.loads((self.outdir / f"{self.artifact_id(stack_name)}.assets.json").read_text())
        return list(manifest.get("dockerImages", {}).values())

    def template(self, stack_name: str) -> dict[str, Any]:
        return self.templates[stack_name]

    def resources(self, stack_name: str, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.templates[stack_name].get("Resources", {}).items()
            if resource["Type"] == resource_type
        }

    def single(self, stack_name: str, resource_type: str) -> tuple[str, dict[str, Any]]:
        found = self.resources(stack_name, resource_type)
        assert len(found) == 1, f"{stack_name}: expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.items()))

    def all_resources(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for stack_name, template in self.templates.items():
            for logical_id, resource in template.get("Resources", {}).items():
                yield stack_name, logical_id, resource

    def stack_dependencies(self, stack_name: str) -> set[str]:
        """Stack names this stack's manifest artifact depends on (CloudFormation stacks only)."""
        artifacts = self.manifest["artifacts"]
        by_artifact = {
            artifact_id: artifact["properties"].get("stackName", artifact_id)
            for artifact_id, artifact in artifacts.items()
            if artifact["type"] == "aws:cloudformation:stack"
        }
        artifact_id = next(a for a, name in by_artifact.items() if name == stack_name)
        return {by_artifact[d] for d in artifacts[artifact_id].get("dependencies", []) if d in by_artifact}

    def exports(self) -> dict[str, tuple[str, Any]]:
        """Export name -> (producing stack name, the exported value expression)."""
        found = {}
        for stack_name, template in self.templates.items():
            for output in template.get("Outputs", {}).values():
                if "Export" in output:
                    found[output["Export"]["Name"]] = (stack_name, output["Value"])
        return found

    def resolve_stack_output(self, value: Any) -> tuple[str, Any]:
        """Follow a weak reference (Fn::GetStackOutput) to the producing stack and the output's value."""
        assert isinstance(value, dict) and "Fn::GetStackOutput" in value, f"not a weak reference: {value!r}"
        arg = value["Fn::GetStackOutput"]
        return arg["StackName"], self.templates[arg["StackName"]]["Outputs"][arg["OutputName"]]["Value"]

    def resolve_import(self, value: Any) -> tuple[str, Any]:
        """Follow an Fn::ImportValue to the producing stack and the value it exports."""
        assert isinstance(value, dict) and "Fn::ImportValue" in value, f"not a cross-stack import: {value!r}"
        return self.exports()[value["Fn::ImportValue"]]


def evaluate(expression: Any, lookup: Callable[[str, Any], str]) -> Any:
    """Evaluate the intrinsic functions CDK emits for string building.

    `lookup(kind, arg)` answers Ref / Fn::GetAtt / Fn::ImportValue with a concrete string.
    """
    if isinstance(expression, str):
        return expression
    if isinstance(expression, list):
        return [evaluate(item, lookup) for item in expression]
    if isinstance(expression, dict) and len(expression) == 1:
        ((fn, arg),) = expression.items()
        if fn == "Fn::Join":
            separator, parts = arg
            return separator.join(evaluate(parts, lookup))
        if fn == "Fn::Split":
            separator, source = arg
            return evaluate(source, lookup).split(separator)
        if fn == "Fn::Select":
            index, items = arg
            return evaluate(items, lookup)[int(index)]
        if fn == "Fn::Sub":
            template, variables = (arg, {}) if isinstance(arg, str) else arg
            values = {name: evaluate(v, lookup) for name, v in variables.items()}
            return re.sub(r"\$\{([^}]+)\}", lambda m: values.get(m.group(1)) or lookup("Ref", m.group(1)), template)
        if fn in ("Ref", "Fn::GetAtt", "Fn::ImportValue", "Fn::GetStackOutput"):
            return lookup(fn.removeprefix("Fn::"), arg)
    raise AssertionError(f"cannot evaluate {expression!r}")
