"""Custom resources: the role of the code that calls an AWS API holds what that API needs.

For CDK's AwsCustomResource the calls are in the resource's properties. For our own handlers (custom_resources/)
they are read from the handler's source (every `boto3.client(...).<operation>(...)`), mapped to IAM actions with
botocore's service models, and must each appear in HANDLER_CALLS, which says which resource ARN the call acts on.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from aws_rules import Rule, Violation
from aws_rules.iam import allows, matches, role_policies, statements
from aws_rules.model import Assembly, ResourceRef, arn
from aws_rules.schemas import resource_schema
from aws_rules.service_models import input_members, operation_names, signing_name, snake_case

ROOT = Path(__file__).resolve().parent.parent

CALLER_PERMISSIONS = Rule(
    "custom-resource-caller-permissions",
    "the function that calls an AWS API holds the IAM actions the API needs, on the resources it acts on",
    "botocore service models (operation and signing name); the service authorization reference of each action; "
    "CloudFormation registry handler permissions for AgentCore (cfn-lint data/schemas)",
)
RESOURCE_TAG_CONDITION = Rule(
    "custom-resource-resource-tag-condition",
    "a grant conditioned on aws:ResourceTag/KEY reaches only resources that carry KEY with that value",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html (controlling access to AWS resources)",
)
UNDECLARED_CALL = Rule(
    "custom-resource-declared-calls",
    "every AWS API a custom-resource handler calls is declared in aws_rules.handlers.HANDLER_CALLS",
    "aws_rules/handlers.py",
)


@dataclass(frozen=True)
class Call:
    """One API call: botocore service name, operation name, and its parameters built from resource properties."""

    service: str
    operation: str
    params: Callable[[Mapping[str, Any]], dict[str, Any]]
    # The resource property that refers to the resource acted on, when IAM conditions on its tags.
    resource_property: str | None = None


# Adopting a log group (create if missing, retention, tags): what both log-group handlers call.
ADOPT_LOG_GROUP = [
    Call("logs", "CreateLogGroup", lambda p: {"logGroupName": p["LogGroupName"]}),
    Call(
        "logs",
        "PutRetentionPolicy",
        lambda p: {"logGroupName": p["LogGroupName"], "retentionInDays": int(p["RetentionInDays"])},
    ),
    Call("logs", "TagResource", lambda p: {"resourceArn": p["LogGroupArn"], "tags": p["Tags"]}),
]

# What each of our handlers calls, per custom resource type. The resource an action is authorized on follows
# the service authorization reference (see ACTION_RESOURCES).
HANDLER_CALLS: dict[str, list[Call]] = {
    "Custom::TokenEndpointGate": [
        Call(
            "cognito-idp",
            "DescribeUserPoolClient",
            lambda p: {"UserPoolId": p["UserPoolId"], "ClientId": p["ClientId"]},
            resource_property="UserPoolId",
        ),
    ],
    "Custom::RuntimeLogGroup": [*ADOPT_LOG_GROUP],
    "Custom::AdoptedLogGroup": [
        *ADOPT_LOG_GROUP,
        Call("logs", "DeleteLogGroup", lambda p: {"logGroupName": p["LogGroupName"]}),
    ],
    "Custom::RuntimeLogGroupCleanup": [
        Call(
            "logs",
            "DescribeLogGroups",
            lambda p: {"logGroupNamePrefix": f"/aws/bedrock-agentcore/runtimes/{p['RuntimeName']}-"},
        ),
        # One of the runtime's groups, as the service names them: <runtime name>-<10 characters>-DEFAULT.
        Call(
            "logs",
            "DeleteLogGroup",
            lambda p: {"logGroupName": f"/aws/bedrock-agentcore/runtimes/{p['RuntimeName']}-AbCdEf1234-DEFAULT"},
        ),
    ],
}


# IAM resource ARN for an action, from the call's parameters. CloudWatch Logs authorizes every log-group action
# but tagging on arn:...:log-group:NAME:* (see aws_rules.iam.LOGS_ARN).
ACTION_RESOURCES: dict[str, Callable[[dict[str, Any], str, str, str], str]] = {
    "logs:CreateLogGroup": lambda p, r, a, pt: arn(
        "logs", f"log-group:{p['logGroupName']}:*", region=r, account=a, partition=pt
    ),
    "logs:DeleteLogGroup": lambda p, r, a, pt: arn(
        "logs", f"log-group:{p['logGroupName']}:*", region=r, account=a, partition=pt
    ),
    "logs:PutRetentionPolicy": lambda p, r, a, pt: arn(
        "logs", f"log-group:{p['logGroupName']}:*", region=r, account=a, partition=pt
    ),
    "logs:TagResource": lambda p, r, a, pt: p["resourceArn"],
    "logs:UntagResource": lambda p, r, a, pt: p["resourceArn"],
    "cognito-idp:DescribeUserPoolClient": lambda p, r, a, pt: arn(
        "cognito-idp", f"userpool/{p['UserPoolId']}", region=r, account=a, partition=pt
    ),
    "logs:DescribeLogGroups": lambda p, r, a, pt: arn("logs", "log-group:*", region=r, account=a, partition=pt),
}


def extra_actions(action: str) -> list[str]:
    """Actions an API needs besides its own. None of the calls above has any; an API that acts with the caller's
    permissions on more (SynchronizeGatewayTargets fetches the target's OAuth token with them, as the registry
    schema of AWS::BedrockAgentCore::GatewayTarget lists) belongs here with its source."""
    return []


def iam_action(service: str, operation: str) -> str:
    return f"{signing_name(service)}:{operation}"


_CLIENT_FACTORIES = ("client", "client_factory")


@lru_cache(maxsize=None)
def calls_in_source(path: Path) -> frozenset[tuple[str, str]]:
    """(service, operation) of every AWS API a handler module calls: the services it creates clients for
    (`boto3.client("logs")`, `client_factory("logs")`), and every method call named like one of their operations."""
    tree = ast.parse(path.read_text())
    services = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], ast.Constant):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in _CLIENT_FACTORIES and isinstance(node.args[0].value, str):
            services.add(node.args[0].value)
    operations = {snake_case(op): (service, op) for service in services for op in operation_names(service)}
    found = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr in operations:
            found.add(operations[node.func.attr])
        # client.get_paginator("describe_log_groups") calls DescribeLogGroups.
        elif node.func.attr == "get_paginator" and node.args and isinstance(node.args[0], ast.Constant):
            if str(node.args[0].value) in operations:
                found.add(operations[str(node.args[0].value)])
    return frozenset(found)


@lru_cache(maxsize=1)
def _handler_modules() -> dict[str, Path]:
    """Resource type -> module of custom_resources/, from each module's RESOURCE_TYPE constant (read, not imported:
    the handlers import boto3, a sixth of a second of every synth)."""
    found = {}
    for path in sorted((ROOT / "custom_resources").glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if (
                isinstance(node, ast.Assign)
                and [getattr(t, "id", None) for t in node.targets] == ["RESOURCE_TYPE"]
                and isinstance(node.value, ast.Constant)
            ):
                found[str(node.value.value)] = path
    return found


def handler_source(resource_type: str) -> Path | None:
    """The module of custom_resources/ that handles `resource_type`."""
    return _handler_modules().get(resource_type)


def _validate_params(call: Call, params: dict[str, Any]) -> str | None:
    members, required = input_members(call.service, call.operation)
    unknown = set(params) - members
    missing = required - set(params)
    if unknown or missing:
        return f"{call.service}.{call.operation}: unknown {sorted(unknown)}, missing {sorted(missing)}"
    return None


def _function(model: Assembly, stack: str, expr: Any) -> ResourceRef | None:
    function = model.target(stack, expr)
    return function if function is not None and function.type == "AWS::Lambda::Function" else None


def _handler_functions(model: Assembly, resource: ResourceRef) -> list[ResourceRef]:
    """The function(s) that run this custom resource's code: the service token, or the provider framework's
    user handlers (USER_ON_EVENT_FUNCTION_ARN / USER_IS_COMPLETE_FUNCTION_ARN)."""
    entry = _function(model, resource.stack, resource.properties.get("ServiceToken"))
    if entry is None:
        return []
    variables = entry.properties.get("Environment", {}).get("Variables", {})
    users = [
        _function(model, entry.stack, variables[key])
        for key in ("USER_ON_EVENT_FUNCTION_ARN", "USER_IS_COMPLETE_FUNCTION_ARN")
        if key in variables
    ]
    return [f for f in users if f is not None] or [entry]


def _role_documents(model: Assembly, function: ResourceRef) -> list[Any]:
    role = model.target(function.stack, function.properties.get("Role"))
    return [p.document for p in role_policies(model, role) if p.document is not None] if role else []


def _sdk_calls(model: Assembly, resource: ResourceRef) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """AwsCustomResource: (service, operation, parameters) of its Create/Update/Delete calls."""
    from aws_rules.sdk_names import botocore_service

    for event in ("Create", "Update", "Delete"):
        body = resource.properties.get(event)
        if body is None:
            continue
        call = json.loads(str(model.evaluate(resource.stack, body)))
        operation = call["action"][:1].upper() + call["action"][1:]
        yield botocore_service(call["service"]), operation, call.get("parameters", {})


def _required(
    action: str, params: dict[str, Any], region: str, account: str, partition: str
) -> list[tuple[str, str | None]]:
    builder = ACTION_RESOURCES.get(action)
    needed: list[tuple[str, str | None]] = [(action, builder(params, region, account, partition) if builder else None)]
    needed += [(extra, None) for extra in extra_actions(action)]
    return needed


def _allowed_somewhere(documents: list[Any], action: str) -> bool:
    return any(
        statement.get("Effect") == "Allow"
        and any(matches(a, action, case_sensitive=False) for a in _as_list(statement.get("Action", [])))
        for document in documents
        for statement in statements(document)
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def check_custom_resources(model: Assembly) -> Iterator[Violation]:
    for resource in model.resources():
        if not (resource.type.startswith("Custom::") or resource.type == "AWS::CloudFormation::CustomResource"):
            continue
        functions = _handler_functions(model, resource)
        if not functions:
            continue
        region, account = model.regions[resource.stack], model.accounts[resource.stack]
        documents = [d for f in functions for d in _role_documents(model, f)]
        planned: list[tuple[str, str, dict[str, Any]]] = []
        if any(key in resource.properties for key in ("Create", "Update", "Delete")):
            planned = list(_sdk_calls(model, resource))
        else:
            properties = model.evaluate(resource.stack, dict(resource.properties))
            declared = HANDLER_CALLS.get(resource.type, [])
            source = handler_source(resource.type)
            if source is None:
                yield Violation(UNDECLARED_CALL, str(resource), "no handler in custom_resources.handler.HANDLERS")
            else:
                for service, operation in sorted(
                    calls_in_source(source) - {(c.service, c.operation) for c in declared}
                ):
                    yield Violation(
                        UNDECLARED_CALL, str(resource), f"{source.relative_to(ROOT)} calls {service}.{operation}"
                    )
            for call in declared:
                params = call.params(properties)
                problem = _validate_params(call, params)
                if problem:
                    yield Violation(CALLER_PERMISSIONS, str(resource), f"does not fit botocore's model: {problem}")
                planned.append((call.service, call.operation, params))
                if call.resource_property:
                    yield from _tag_conditions(model, resource, call, documents)
        seen = set()
        for service, operation, params in planned:
            if (service, operation, json.dumps(params, sort_keys=True)) in seen:
                continue
            seen.add((service, operation, json.dumps(params, sort_keys=True)))
            for action, target in _required(
                iam_action(service, operation), params, region, account, model.partitions[resource.stack]
            ):
                ok = allows(documents, action, target) if target else _allowed_somewhere(documents, action)
                if not ok:
                    on = f" on {target}" if target else ""
                    yield Violation(
                        CALLER_PERMISSIONS,
                        str(resource),
                        f"{service}.{operation} needs {action}{on}; the role of "
                        + ", ".join(f.logical_id for f in functions)
                        + " does not allow it",
                    )


def _resource_tags(model: Assembly, resource: ResourceRef) -> dict[str, str]:
    tagging = resource_schema(resource.type).get("tagging", {})
    raw = resource.properties.get(str(tagging.get("tagProperty", "/properties/Tags")).removeprefix("/properties/"))
    raw = model.evaluate(resource.stack, raw) if raw is not None else {}
    if isinstance(raw, list):
        return {str(t["Key"]): str(t["Value"]) for t in raw}
    return {str(k): str(v) for k, v in dict(raw).items()}


def _tag_conditions(model: Assembly, resource: ResourceRef, call: Call, documents: list[Any]) -> Iterator[Violation]:
    """Statements granting the call on a condition of the acted-on resource's tags: the resource must carry them."""
    target = model.target(resource.stack, resource.properties.get(call.resource_property or ""))
    if target is None:
        return
    action = iam_action(call.service, call.operation)
    tags = _resource_tags(model, target)
    for document in documents:
        for statement in statements(document):
            if not any(matches(a, action, case_sensitive=False) for a in _as_list(statement.get("Action", []))):
                continue
            for operator, pairs in dict(statement.get("Condition", {})).items():
                for key, expected in dict(pairs).items():
                    if operator == "StringEquals" and key.startswith("aws:ResourceTag/"):
                        tag = key.removeprefix("aws:ResourceTag/")
                        if tags.get(tag) not in _as_list(expected):
                            yield Violation(
                                RESOURCE_TAG_CONDITION,
                                str(resource),
                                f"{action} is granted only on resources tagged {tag}={expected}, "
                                f"but {target} has {tag}={tags.get(tag)!r}",
                            )


CHECKS = [check_custom_resources]
