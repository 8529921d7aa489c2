"""AWS's deploy-time rules that CloudFormation's schemas do not carry, checked on the synthesized templates.

cfn-lint checks each template against its resource schemas. These rules are the ones a first `cdk deploy` would
otherwise discover half-way: IAM quotas, the ARN form CloudWatch Logs authorizes, where CloudFormation accepts
`Fn::GetStackOutput`, the permissions the callers of AWS APIs need, service name rules, per-stack limits, where
vended logs and traces may go.
Every rule cites its source; `app.synthesize` refuses an assembly that breaks one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
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
    from aws_rules import gateway, handlers, iam, intrinsics, limits, names, observability, runtime_role, targets

    return [
        *gateway.CHECKS,
        *iam.CHECKS,
        *intrinsics.CHECKS,
        *handlers.CHECKS,
        *names.CHECKS,
        *limits.CHECKS,
        *observability.CHECKS,
        *runtime_role.CHECKS,
        *targets.CHECKS,
    ]


def check(
    templates: Mapping[str, Mapping[str, Any]],
    template_bytes: Mapping[str, int] | None = None,
    regions: Mapping[str, str] | None = None,
    recorded: Mapping[str, Mapping[str, Any]] | None = None,
    accounts: Mapping[str, str] | None = None,
) -> list[Violation]:
    model = Assembly(templates, template_bytes, regions, recorded, accounts)
    return [violation for rule_check in checks() for violation in rule_check(model)]


def enforce(assembly: Any, recorded: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """Raise RulesError for a synthesized CDK assembly (or its directory) that breaks any rule. `recorded`: what is
    known of resources that already exist (the replacement guard's record), for the rules on what create fixes."""
    templates, sizes, regions, accounts = read_assembly(getattr(assembly, "directory", assembly))
    violations = check(templates, sizes, regions, recorded=recorded, accounts=accounts)
    if violations:
        raise RulesError(violations)


def read_assembly(directory: str | Path) -> tuple[dict[str, Any], dict[str, int], dict[str, str], dict[str, str]]:
    """Templates, template sizes and regions by stack name, read from a cloud assembly directory's files (the
    same values as through the CDK's objects, without a round trip to the jsii runtime for each)."""
    root = Path(directory)
    manifest = json.loads((root / "manifest.json").read_text())
    templates, sizes, regions, accounts = {}, {}, {}, {}
    for artifact in manifest["artifacts"].values():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        path = root / artifact["properties"]["templateFile"]
        name = artifact["properties"].get("stackName") or path.name.removesuffix(".template.json")
        templates[name] = json.loads(path.read_text())
        sizes[name] = path.stat().st_size
        account, region = artifact["environment"].removeprefix("aws://").split("/", 1)
        if not region.startswith("unknown-"):
            regions[name] = region
        if not account.startswith("unknown-"):
            accounts[name] = account
    return templates, sizes, regions, accounts
