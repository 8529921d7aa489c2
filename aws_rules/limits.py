"""CloudFormation's per-stack quotas."""

from __future__ import annotations

from typing import Any, Iterator

from aws_rules import Rule, Violation
from aws_rules.model import Assembly

# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
LIMITS = {
    "resources": 500,
    "outputs": 200,
    "parameters": 200,
    "mappings": 200,
    "template bytes": 1_000_000,  # template body in S3 (CDK uploads templates to the bootstrap bucket)
}
STACK_LIMITS = Rule(
    "cloudformation-stack-limits",
    "a stack holds at most 500 resources, 200 outputs, 200 parameters, 200 mappings and a 1 MB template "
    "(spread the targets over more shards with -c targetShards=N: this re-homes targets, a migration)",
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html",
)


def usage(template: dict[str, Any], template_bytes: int) -> dict[str, int]:
    return {
        "resources": len(template.get("Resources", {})),
        "outputs": len(template.get("Outputs", {})),
        "parameters": len(template.get("Parameters", {})),
        "mappings": len(template.get("Mappings", {})),
        "template bytes": template_bytes,
    }


def check_stack_limits(model: Assembly) -> Iterator[Violation]:
    for stack, template in sorted(model.templates.items()):
        for what, value in usage(dict(template), model.template_bytes[stack]).items():
            if value > LIMITS[what]:
                yield Violation(STACK_LIMITS, stack, f"{value} {what}, over CloudFormation's limit of {LIMITS[what]}")


CHECKS = [check_stack_limits]
