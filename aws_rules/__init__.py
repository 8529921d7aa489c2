"""AWS's deploy-time rules that CloudFormation's schemas do not carry, checked on the synthesized templates.

cfn-lint checks each template against its resource schemas. These rules are the ones a first `cdk deploy` would
otherwise discover half-way: IAM quotas, the ARN form CloudWatch Logs authorizes, where CloudFormation accepts
`Fn::GetStackOutput`, the permissions the callers of AWS APIs need, service name rules, per-stack limits.
Every rule cites its source; `app.synthesize` refuses an assembly that breaks one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from aws_rules.model import Assembly


@dataclass(frozen=True)
class Rule:
    id: str
    summary: str
    source: str


@dataclass(frozen=True)
class Violation:
    rule: Rule
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.detail} [{self.rule.id}: {self.rule.summary}; source: {self.rule.source}]"


class RulesError(ValueError):
    """An assembly that synthesizes but that AWS would refuse at deploy time."""

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__(
            f"{len(violations)} AWS deploy-time rule(s) broken:\n" + "\n".join(f"  - {v}" for v in violations)
        )
        self.violations = violations


Check = Callable[[Assembly], Iterable[Violation]]


def checks() -> list[Check]:
    from aws_rules import handlers, iam, intrinsics, limits, names

    return [*iam.CHECKS, *intrinsics.CHECKS, *handlers.CHECKS, *names.CHECKS, *limits.CHECKS]


def check(
    templates: Mapping[str, Mapping[str, Any]],
    template_bytes: Mapping[str, int] | None = None,
    regions: Mapping[str, str] | None = None,
) -> list[Violation]:
    model = Assembly(templates, template_bytes, regions)
    return [violation for rule_check in checks() for violation in rule_check(model)]


def enforce(assembly: Any, only: tuple[str, ...] | None = None) -> None:
    """Raise RulesError for a synthesized CDK assembly that breaks any rule (or any of the rule ids in `only`)."""
    from pathlib import Path

    templates, sizes, regions = {}, {}, {}
    for stack in assembly.stacks:
        templates[stack.stack_name] = stack.template
        sizes[stack.stack_name] = (Path(assembly.directory) / stack.template_file).stat().st_size
        if not stack.environment.region.startswith("unknown-"):
            regions[stack.stack_name] = stack.environment.region
    violations = [v for v in check(templates, sizes, regions) if only is None or v.rule.id in only]
    if violations:
        raise RulesError(violations)
