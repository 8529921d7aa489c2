"""Vended logs and traces (CloudWatch Logs delivery): what a source may send, where it may go, in what order."""

from __future__ import annotations

import json
from typing import Any, Iterator

from aws_rules import Rule, Violation
from aws_rules.iam import matches, statements
from aws_rules.limits import depends_on
from aws_rules.model import Assembly, ResourceRef

LOG_TYPE = Rule(
    "delivery-log-type",
    "a delivery source's LogType is one its resource publishes (AgentCore Gateway: APPLICATION_LOGS, TRACES; "
    "Runtime: APPLICATION_LOGS, USAGE_LOGS, TRACES)",
    "CloudWatch Logs API Reference, PutDeliverySource logType (botocore's logs model; "
    "tests/test_aws_rules.py reads the list from it)",
)
XRAY_TRACES_GUIDE = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-V2-XRayTraces.html"
)
XRAY_POLICY = Rule(
    "xray-delivery-resource-policy",
    "traces delivered to X-Ray need an X-Ray resource policy letting delivery.logs.amazonaws.com call "
    "xray:PutTraceSegments for the source's resource: for AgentCore resources AWS creates one per resource type "
    "(covering every resource of that type in the account) when the deployer may call xray:PutResourcePolicy and "
    "xray:ListResourcePolicies; any other source needs one of the app's",
    XRAY_TRACES_GUIDE + " (X-Ray resource policy)",
)
XRAY_OWN_POLICY = Rule(
    "xray-no-resource-policy-per-deployment",
    "a deployment declares no X-Ray resource policy: AWS's own per-type policies cover AgentCore trace deliveries "
    "account-wide, and X-Ray holds 5 resource policies per account, which one per deployment (dev, prod, e2e runs) "
    "next to AWS's exhausts",
    XRAY_TRACES_GUIDE + "; botocore xray PutResourcePolicy ('a maximum of 5 resource policies')",
)
XRAY_QUOTA = Rule(
    "xray-resource-policies-per-account",
    "the X-Ray resource policies the app's trace deliveries make AWS create (one per AgentCore resource type, one "
    "per other source resource) stay within X-Ray's 5 per account",
    XRAY_TRACES_GUIDE + "; botocore xray PutResourcePolicy ('a maximum of 5 resource policies')",
)
XRAY_POLICIES_PER_ACCOUNT = 5
# AgentCore resource types whose trace deliveries AWS covers with one X-Ray resource policy per type, by the ARN's
# resource type (arn:...:bedrock-agentcore:<region>:<account>:<type>/<id>).
AGENTCORE_SERVICE = "bedrock-agentcore"
LOG_GROUP_DESTINATION = Rule(
    "delivery-log-group-destination",
    "a log-group destination is the bare log-group ARN (no :*), of a group under /aws/vendedlogs/ (the prefix "
    "CloudWatch Logs' delivery policy covers with one statement; other groups each add to a resource policy of "
    "at most 5,120 characters, 10 per account)",
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-V2-CloudWatchLogs.html; "
    "PutDeliveryDestination's example in the CloudWatch Logs API Reference",
)
LOG_GROUP_FIRST = Rule(
    "delivery-destination-after-its-log-group",
    "a log-group delivery destination is created after the log group it names: CloudWatch Logs checks the group "
    "when the destination is created; the app's group (a LogGroup, or one the handler adopts) is referenced or "
    "depended on in the destination's stack",
    "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutDeliveryDestination.html "
    "(destinationResourceArn: the ARN of an existing resource); CloudFormation DependsOn",
)
DELIVERY_ORDER = Rule(
    "delivery-after-source-and-destination",
    "a delivery is created after its source and its destination: it references both (Ref, GetAtt, an import) "
    "or depends on them, else CloudFormation may create it first and fail",
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html",
)

# What each resource type publishes (the PutDeliverySource logType documentation).
LOG_TYPES = {
    "AWS::BedrockAgentCore::Gateway": ("APPLICATION_LOGS", "TRACES"),
    "AWS::BedrockAgentCore::Runtime": ("APPLICATION_LOGS", "USAGE_LOGS", "TRACES"),
}
# The same resources, as the documentation names them.
LOG_TYPE_SERVICES = {
    "AWS::BedrockAgentCore::Gateway": "Amazon Bedrock AgentCore Gateway",
    "AWS::BedrockAgentCore::Runtime": "Amazon Bedrock AgentCore Runtime",
}
DELIVERY_SERVICE = "delivery.logs.amazonaws.com"


def _sources_by_name(model: Assembly) -> dict[str, ResourceRef]:
    return {
        str(model.evaluate(source.stack, source.properties.get("Name"))): source
        for source in model.resources("AWS::Logs::DeliverySource")
    }


def check_log_types(model: Assembly) -> Iterator[Violation]:
    for source in model.resources("AWS::Logs::DeliverySource"):
        resource = model.target(source.stack, source.properties.get("ResourceArn"))
        log_type = source.properties.get("LogType")
        if resource is None or resource.type not in LOG_TYPES:
            what = resource.type if resource else "a resource the rules cannot follow"
            yield Violation(LOG_TYPE, str(source), f"its ResourceArn is {what}: list its log types in LOG_TYPES")
        elif log_type not in LOG_TYPES[resource.type]:
            yield Violation(
                LOG_TYPE,
                str(source),
                f"{resource.type} publishes {', '.join(LOG_TYPES[resource.type])}, not {log_type}",
            )


def _destination(model: Assembly, delivery: ResourceRef) -> ResourceRef | None:
    found = model.target(delivery.stack, delivery.properties.get("DeliveryDestinationArn"))
    return found if found is not None and found.type == "AWS::Logs::DeliveryDestination" else None


def _source(model: Assembly, delivery: ResourceRef, by_name: dict[str, ResourceRef]) -> ResourceRef | None:
    value = delivery.properties.get("DeliverySourceName")
    found = model.target(delivery.stack, value)
    if found is not None:
        return found
    return by_name.get(str(model.evaluate(delivery.stack, value)))


def _xray_grants(document: Any, resource_arn: str) -> bool:
    for statement in statements(document):
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = [services] if isinstance(services, str) else services
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") != "Allow" or DELIVERY_SERVICE not in services:
            continue
        if not any(matches(str(a), "xray:PutTraceSegments", case_sensitive=False) for a in actions):
            continue
        condition = statement.get("Condition", {})
        patterns = [
            pattern
            for operator, pairs in condition.items()
            if operator.endswith("ArnLike") or operator.endswith("StringLike") or operator.endswith("ArnEquals")
            for key, values in pairs.items()
            if key == "logs:LogGeneratingResourceArns"
            for pattern in ([values] if isinstance(values, str) else values)
        ]
        if not patterns or any(matches(str(p), resource_arn) for p in patterns):
            return True
    return False


def _traced_resources(model: Assembly) -> Iterator[tuple[ResourceRef, str]]:
    """(delivery, source resource ARN) for every delivery of traces to X-Ray."""
    by_name = _sources_by_name(model)
    for delivery in model.resources("AWS::Logs::Delivery"):
        destination = _destination(model, delivery)
        if destination is None or destination.properties.get("DeliveryDestinationType") != "XRAY":
            continue
        source = _source(model, delivery, by_name)
        if source is None:
            continue  # check_delivery_order reports it
        yield delivery, str(model.evaluate(source.stack, source.properties.get("ResourceArn")))


def agentcore_resource_type(resource_arn: str) -> str | None:
    """`gateway` for arn:...:bedrock-agentcore:...:gateway/<id>; None for another service's ARN."""
    parts = resource_arn.split(":", 5)
    if len(parts) < 6 or parts[2] != AGENTCORE_SERVICE:
        return None
    return parts[5].split("/", 1)[0]


def check_xray_policy(model: Assembly) -> Iterator[Violation]:
    policies = [
        model.evaluate(p.stack, p.properties.get("PolicyDocument"))
        for p in model.resources("AWS::XRay::ResourcePolicy")
    ]
    documents = [_document(d) for d in policies]
    for delivery, resource_arn in _traced_resources(model):
        if agentcore_resource_type(resource_arn) is not None:
            continue  # AWS's own per-type policy covers it
        if not any(_xray_grants(d, resource_arn) for d in documents):
            yield Violation(XRAY_POLICY, str(delivery), f"no X-Ray resource policy of the app covers {resource_arn}")


def check_no_policy_per_deployment(model: Assembly) -> Iterator[Violation]:
    for policy in model.resources("AWS::XRay::ResourcePolicy"):
        yield Violation(XRAY_OWN_POLICY, str(policy), "declares an X-Ray resource policy of the deployment's own")


def aws_created_xray_policies(model: Assembly) -> set[str]:
    """The X-Ray resource policies AWS creates for the app's trace deliveries: one per AgentCore resource type (shared
    by every deployment in the account), one per resource of other services."""
    found = set()
    for _, resource_arn in _traced_resources(model):
        kind = agentcore_resource_type(resource_arn)
        found.add(f"{AGENTCORE_SERVICE} {kind}" if kind is not None else resource_arn)
    return found


def check_xray_quota(model: Assembly) -> Iterator[Violation]:
    created = aws_created_xray_policies(model)
    if len(created) > XRAY_POLICIES_PER_ACCOUNT:
        yield Violation(
            XRAY_QUOTA,
            "the assembly",
            f"{len(created)} X-Ray resource policies ({', '.join(sorted(created))}), over {XRAY_POLICIES_PER_ACCOUNT}",
        )


def _document(document: Any) -> Any:
    """A policy document as a template holds it: an object, or its JSON text (X-Ray's PolicyDocument is a string)."""
    if isinstance(document, str):
        try:
            return json.loads(document)
        except ValueError:
            return {}
    return document


def check_log_group_destinations(model: Assembly) -> Iterator[Violation]:
    for destination in model.resources("AWS::Logs::DeliveryDestination"):
        value = destination.properties.get("DestinationResourceArn")
        if value is None:
            continue
        resource_arn = str(model.evaluate(destination.stack, value))
        if ":logs:" not in resource_arn or ":log-group:" not in resource_arn:
            continue
        if resource_arn.endswith(":*"):
            yield Violation(LOG_GROUP_DESTINATION, str(destination), f"{resource_arn} ends in :*")
        name = resource_arn.split(":log-group:", 1)[1].removesuffix(":*")
        if not name.startswith("/aws/vendedlogs/"):
            yield Violation(LOG_GROUP_DESTINATION, str(destination), f"log group {name} is not under /aws/vendedlogs/")
        creators = [
            group
            for group in model.resources("AWS::Logs::LogGroup", "Custom::AdoptedLogGroup")
            if group.stack == destination.stack
            and str(model.evaluate(group.stack, group.properties.get("LogGroupName"))) == name
        ]
        if not creators:
            yield Violation(LOG_GROUP_FIRST, str(destination), f"no log group of its stack is named {name}")
        elif not any(group.logical_id in depends_on(destination.resource) for group in creators):
            yield Violation(
                LOG_GROUP_FIRST,
                str(destination),
                f"neither references nor depends on {creators[0]}, which creates {name}",
            )


def check_delivery_order(model: Assembly) -> Iterator[Violation]:
    by_name = _sources_by_name(model)
    for delivery in model.resources("AWS::Logs::Delivery"):
        after = depends_on(delivery.resource)
        destination = model.target(delivery.stack, delivery.properties.get("DeliveryDestinationArn"))
        for prop, found in (
            ("DeliverySourceName", _source(model, delivery, by_name)),
            ("DeliveryDestinationArn", destination),
        ):
            # A Ref or GetAtt orders the delivery after what it names (a literal name does not).
            referenced = model.target(delivery.stack, delivery.properties.get(prop)) is not None
            if found is None:
                yield Violation(DELIVERY_ORDER, str(delivery), f"its {prop} names nothing the app declares")
            elif not referenced and (found.stack != delivery.stack or found.logical_id not in after):
                yield Violation(DELIVERY_ORDER, str(delivery), f"neither references nor depends on {found}")


CHECKS = [
    check_log_types,
    check_xray_policy,
    check_no_policy_per_deployment,
    check_xray_quota,
    check_log_group_destinations,
    check_delivery_order,
]
