"""CloudFormation's per-stack quotas."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

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


CONCURRENT_TARGET_OPERATIONS = Rule(
    "gateway-concurrent-target-operations",
    "at most 5 target operations (create, update, delete) run at once on one gateway: a stack's targets must be "
    "ordered so that no more than 5 can be worked on together",
    "https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/bedrock-agentcore-limits.html "
    "(Gateway: concurrent target operations on the same gateway)",
)
MAX_CONCURRENT_TARGETS = 5


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


def depends_on(resource: Mapping[str, Any]) -> set[str]:
    """Logical ids a resource waits for: DependsOn, Ref and GetAtt (what CloudFormation orders by)."""
    found = set(
        resource.get("DependsOn", []) if isinstance(resource.get("DependsOn"), list) else [resource.get("DependsOn")]
    )

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "Ref" and isinstance(item, str):
                    found.add(item)
                elif key == "Fn::GetAtt":
                    found.add(item[0] if isinstance(item, list) else str(item).split(".")[0])
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(resource.get("Properties", {}))
    found.discard(None)  # a missing DependsOn
    return found


def _depths(resources: dict[str, Any], ids: list[str]) -> dict[str, int]:
    """Depth of each resource in the order CloudFormation must follow: resources of equal depth can run together."""
    memo: dict[str, int] = {}

    def depth(logical_id: str, seen: frozenset[str]) -> int:
        if logical_id not in memo:
            parents = [d for d in depends_on(resources[logical_id]) if d in resources and d not in seen]
            memo[logical_id] = 1 + max((depth(p, seen | {logical_id}) for p in parents), default=0)
        return memo[logical_id]

    return {logical_id: depth(logical_id, frozenset()) for logical_id in ids}


def check_concurrent_target_operations(model: Assembly) -> Iterator[Violation]:
    for stack, template in sorted(model.templates.items()):
        resources = template.get("Resources", {})
        targets = [i for i, r in resources.items() if r["Type"] == "AWS::BedrockAgentCore::GatewayTarget"]
        if len(targets) <= MAX_CONCURRENT_TARGETS:
            continue
        levels: dict[int, list[str]] = {}
        for target, level in _depths(resources, targets).items():
            levels.setdefault(level, []).append(target)
        widest = max(levels.values(), key=len)
        if len(widest) > MAX_CONCURRENT_TARGETS:
            yield Violation(
                CONCURRENT_TARGET_OPERATIONS,
                stack,
                f"{len(widest)} targets can be worked on at once ({', '.join(sorted(widest)[:6])}, ...): "
                "make each depend on the one before",
            )


POLICY_SIZE = Rule(
    "agentcore-policy-size",
    "a Cedar policy's statement has 35 to 10,000 characters (with the gateway ARN and client ids it names, as "
    "deployed): an agent granted many tools needs its tools split over more policies",
    "CloudFormation registry schema of AWS::BedrockAgentCore::Policy (CedarPolicy.Statement); "
    "https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/bedrock-agentcore-limits.html (policy size)",
)
POLICY_STATEMENT_LENGTH = (35, 10_000)


def check_policy_sizes(model: Assembly) -> Iterator[Violation]:
    shortest, longest = POLICY_STATEMENT_LENGTH
    for policy in model.resources("AWS::BedrockAgentCore::Policy"):
        definition = policy.properties.get("Definition", {})
        statement = definition.get("Cedar", definition.get("Policy", {})).get("Statement")
        text = str(model.evaluate(policy.stack, statement))
        if not shortest <= len(text) <= longest:
            yield Violation(POLICY_SIZE, str(policy), f"its statement has {len(text)} characters")


CHECKS = [check_stack_limits, check_concurrent_target_operations, check_policy_sizes]
