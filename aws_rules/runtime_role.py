"""AgentCore Runtime: what a runtime's execution role must hold for the runtime to start and run, and no more.

The role is assumed by AgentCore Runtime itself: to pull the image at create (a runtime whose pull is refused
fails to create), to write the container's output to the runtime's log groups, to send traces and metrics, and to
get workload access tokens. A role missing one of these synthesizes and deploys as far as the runtime, then fails
it, or leaves a runtime without logs.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from aws_rules import Rule, Violation
from aws_rules.iam import allows, matches, role_policies, statements
from aws_rules.limits import depends_on
from aws_rules.model import Assembly, ResourceRef, arn

RUNTIME_DOC = (
    "https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/runtime-permissions.html "
    "(Execution role for running an agent in AgentCore Runtime)"
)
RUNTIME_ROLE = Rule(
    "runtime-execution-role",
    "an AgentCore Runtime's execution role may pull the runtime's image from its repository "
    "(ecr:BatchGetImage, ecr:GetDownloadUrlForLayer; ecr:GetAuthorizationToken on *) and from no other repository; "
    "create and describe the runtime's log group, and create and write its log streams on "
    "log-group:...:log-stream:*; send traces to X-Ray; put metrics (cloudwatch:PutMetricData) only on the "
    "cloudwatch:namespace condition bedrock-agentcore; get workload access tokens for its workload identity",
    RUNTIME_DOC + "; the image pull narrowed to the runtime's repository (least privilege)",
)

ECR_PULL = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
LOG_WRITES = ("logs:CreateLogStream", "logs:PutLogEvents")
XRAY = ("xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets")
WORKLOAD_TOKENS = (
    "bedrock-agentcore:GetWorkloadAccessToken",
    "bedrock-agentcore:GetWorkloadAccessTokenForJWT",
    "bedrock-agentcore:GetWorkloadAccessTokenForUserId",
)
METRICS_NAMESPACE = "bedrock-agentcore"
# <account>.dkr.ecr.<region>.<url suffix>/<repository>:<tag> or @<digest>
_CONTAINER_URI = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.[^/]+/(?P<repo>[^:@]+)[:@].+$")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grants(documents: list[Any], action: str) -> list[dict[str, Any]]:
    """The Allow statements naming `action` (by pattern), whatever their resource."""
    return [
        statement
        for document in documents
        for statement in statements(document)
        if statement.get("Effect") == "Allow"
        and any(matches(str(a), action, case_sensitive=False) for a in _as_list(statement.get("Action", [])))
    ]


def required(model: Assembly, runtime: ResourceRef) -> tuple[list[tuple[str, str]], str | None]:
    """(action, resource) pairs the runtime's role must allow, and the image's repository ARN (None when the
    container URI is not one of ECR's)."""
    region, partition = model.regions[runtime.stack], model.partitions[runtime.stack]
    account = model.accounts[runtime.stack]
    runtime_id = model.attribute(runtime.stack, runtime.logical_id, "AgentRuntimeId")
    group = f"/aws/bedrock-agentcore/runtimes/{runtime_id}-DEFAULT"
    needed = [
        (
            "logs:CreateLogGroup",
            arn("logs", f"log-group:{group}:*", region=region, account=account, partition=partition),
        ),
        (
            "logs:DescribeLogStreams",
            arn("logs", f"log-group:{group}:*", region=region, account=account, partition=partition),
        ),
        ("logs:DescribeLogGroups", arn("logs", "log-group:*", region=region, account=account, partition=partition)),
        *[
            (
                action,
                arn(
                    "logs",
                    f"log-group:{group}:log-stream:runtime-logs-1a2b3c",
                    region=region,
                    account=account,
                    partition=partition,
                ),
            )
            for action in LOG_WRITES
        ],
        *[(action, "*") for action in XRAY],
        ("ecr:GetAuthorizationToken", "*"),
    ]
    directory = arn(
        "bedrock-agentcore", "workload-identity-directory/default", region=region, account=account, partition=partition
    )
    # The service names a runtime's workload identity after the runtime (<runtime name>-<suffix>, the doc's
    # workload-identity/agentName-*).
    for resource in (directory, f"{directory}/workload-identity/{runtime_id}"):
        needed += [(action, resource) for action in WORKLOAD_TOKENS]
    uri = model.evaluate(
        runtime.stack,
        runtime.properties.get("AgentRuntimeArtifact", {}).get("ContainerConfiguration", {}).get("ContainerUri"),
    )
    found = _CONTAINER_URI.match(str(uri))
    repository = None
    if found:
        repository = arn(
            "ecr",
            f"repository/{found['repo']}",
            region=found["region"],
            account=found["account"],
            partition=partition,
        )
        needed += [(action, repository) for action in ECR_PULL]
    return needed, repository


def check_runtime_roles(model: Assembly) -> Iterator[Violation]:
    for runtime in model.resources("AWS::BedrockAgentCore::Runtime"):
        role = model.target(runtime.stack, runtime.properties.get("RoleArn"))
        if role is None or role.type != "AWS::IAM::Role":
            yield Violation(RUNTIME_ROLE, str(runtime), "its RoleArn is not a role of the app the rules can follow")
            continue
        attached = role_policies(model, role)
        documents = [p.document for p in attached if p.document is not None]
        needed, repository = required(model, runtime)
        problems = [
            f"lacks {action} on {resource}" for action, resource in needed if not allows(documents, action, resource)
        ]
        if repository is None:
            problems.append("its ContainerUri is not an ECR image URI the rules can read")
        else:
            other = repository.rsplit("/", 1)[0] + "/another-teams-repository"
            broad = [action for action in ECR_PULL if allows(documents, action, other)]
            if broad:
                problems.append(f"may pull ({', '.join(broad)}) from every repository, not only {repository}")
        for action in LOG_WRITES:
            for statement in _grants(documents, action):
                wide = [str(r) for r in _as_list(statement.get("Resource", [])) if ":log-stream:" not in str(r)]
                if wide:
                    problems.append(
                        f"grants {action} on {', '.join(wide)}: log writes go on the group's log streams "
                        "(log-group:NAME:log-stream:*), not the group"
                    )
        metrics = _grants(documents, "cloudwatch:PutMetricData")
        if not metrics:
            problems.append("lacks cloudwatch:PutMetricData (on the bedrock-agentcore namespace)")
        for statement in metrics:
            namespace = dict(dict(statement.get("Condition", {})).get("StringEquals", {})).get("cloudwatch:namespace")
            if _as_list(namespace) != [METRICS_NAMESPACE]:
                problems.append(
                    "grants cloudwatch:PutMetricData without the condition StringEquals cloudwatch:namespace "
                    f"{METRICS_NAMESPACE} (it could write any namespace's metrics)"
                )
        # The runtime pulls its image when it is created: a policy attached as a resource of its own must exist by then,
        # which only a reference or DependsOn guarantees (the role's own inline policies come with the role).
        waits_for = depends_on(runtime.resource)
        for policy in attached:
            declared = policy.declared_by
            if declared.logical_id != role.logical_id and (
                declared.stack != runtime.stack or declared.logical_id not in waits_for
            ):
                problems.append(
                    f"the runtime does not wait for {declared}, which grants it: the first image pull may fail"
                )
        if problems:
            yield Violation(RUNTIME_ROLE, str(runtime), f"role {role}: " + "; ".join(dict.fromkeys(problems)))


CHECKS = [check_runtime_roles]
