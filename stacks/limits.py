"""CloudFormation's per-stack quotas, checked on the synthesized templates before anything is deployed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
LIMITS = {
    "resources": 500,
    "outputs": 200,
    "parameters": 200,
    "mappings": 200,
    "template bytes": 1_000_000,  # template body in S3 (CDK uploads templates to the bootstrap bucket)
}
REMEDY = "spread the targets over more shards with -c targetShards=N (this re-homes targets: a migration)"


class LimitError(ValueError):
    """A stack the app would synthesize but CloudFormation would refuse."""


def usage(template: dict[str, Any], template_bytes: int) -> dict[str, int]:
    return {
        "resources": len(template.get("Resources", {})),
        "outputs": len(template.get("Outputs", {})),
        "parameters": len(template.get("Parameters", {})),
        "mappings": len(template.get("Mappings", {})),
        "template bytes": template_bytes,
    }


def check_limits(assembly: Any) -> None:
    """Raise on the first stack over a CloudFormation limit, naming the stack, the figure and the limit."""
    for stack in assembly.stacks:
        template_file = Path(assembly.directory) / stack.template_file
        figures = usage(json.loads(template_file.read_text()), template_file.stat().st_size)
        for what, value in figures.items():
            if value > LIMITS[what]:
                raise LimitError(
                    f"Stack {stack.stack_name} has {value} {what}, over CloudFormation's limit of {LIMITS[what]}: {REMEDY}"
                )
