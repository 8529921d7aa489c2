"""Intrinsic functions where CloudFormation is not known to accept them."""

from __future__ import annotations

from typing import Any, Iterator

from aws_rules import Rule, Violation
from aws_rules.model import Assembly

GET_STACK_OUTPUT = Rule(
    "get-stack-output-position",
    "Fn::GetStackOutput only as a property value or directly inside Fn::Join, Fn::If or Fn::Select "
    "(the positions live create-stack runs accepted)",
    "aws/aws-cdk PR #37948 (weak references); aws-cloudformation/cfn-lint PR #4495 (Fn::GetStackOutput support)",
)

# A weak reference may sit here; anywhere else (Fn::Split, Fn::Sub, Fn::GetAtt, ...) it is a deploy-time gamble.
ALLOWED_PARENTS = frozenset({None, "Fn::Join", "Fn::If", "Fn::Select"})


def _walk(value: Any, parent: str | None, path: str) -> Iterator[tuple[str | None, str]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, parent, f"{path}[{index}]")
    elif isinstance(value, dict):
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Fn::GetStackOutput":
                yield parent, path
                return
            if key.startswith("Fn::") or key == "Ref":
                yield from _walk(arg, key, f"{path}.{key}")
                return
        for key, item in value.items():
            # An object inside an intrinsic (Fn::Sub's variables) stays inside it; outside one, it is a property.
            yield from _walk(item, parent, f"{path}.{key}")


def check_get_stack_output(model: Assembly) -> Iterator[Violation]:
    for resource in model.resources():
        for parent, path in _walk(resource.properties, None, "Properties"):
            if parent not in ALLOWED_PARENTS:
                yield Violation(GET_STACK_OUTPUT, str(resource), f"{path} sits inside {parent}")
    for stack, template in model.templates.items():
        for name, output in template.get("Outputs", {}).items():
            for parent, path in _walk(output.get("Value"), None, f"Outputs.{name}"):
                if parent not in ALLOWED_PARENTS:
                    yield Violation(GET_STACK_OUTPUT, stack, f"{path} sits inside {parent}")


CHECKS = [check_get_stack_output]
