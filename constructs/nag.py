"""cdk-nag acknowledgements: one rule finding, on one construct, with the reason a security reviewer reads."""

from __future__ import annotations

from functools import cache

from aws_cdk import Acknowledgment, Stack, Token, Validations
from aws_cdk import aws_iam as iam

from constructs import IConstruct


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge exactly one finding (`AwsSolutions-IAM5[Resource::...]` for a single wildcard) on `construct`."""
    Validations.of(construct).acknowledge(Acknowledgment(id=f"AwsSolutions::{rule}", reason=reason))


def nag_arn(scope: IConstruct, service: str, resource: str) -> str:
    """An ARN spelled the way cdk-nag prints it in a finding id, for the scope's stack and environment."""
    partition, region, account = _spelt_environment(Stack.of(scope))
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


@cache
def _spelt_environment(stack: Stack) -> tuple[str, str, str]:
    # Once per stack (each value is a call into the jsii runtime). The partition is a literal where the region is
    # known (@aws-cdk/core:enablePartitionLiterals), as the template spells it.
    spelt = []
    for value, token in (
        (stack.partition, "<AWS::Partition>"),
        (stack.region, "<AWS::Region>"),
        (stack.account, "<AWS::AccountId>"),
    ):
        spelt.append(token if Token.is_unresolved(value) else value)
    return spelt[0], spelt[1], spelt[2]


def acknowledge_grants(construct: IConstruct, statements: list[iam.PolicyStatement]) -> None:
    """The wildcards of permissions that config entries declare (reviewed with the entry): each acknowledged by name,
    so that a new wildcard in a later entry is a new finding until acknowledged in its turn, by this same review."""
    stack = Stack.of(construct)
    for statement in statements:
        for action in statement.actions:
            if "*" in action:
                acknowledge(
                    construct,
                    f"AwsSolutions-IAM5[Action::{action}]",
                    f"Declared by the config entry behind statement {statement.sid} (config/targets.yaml, reviewed "
                    "with it): the service's actions the gateway calls for that entry's tools.",
                )
        for resource in statement.resources:
            if "*" in resource:
                spelt = stack.resolve(resource)
                acknowledge(
                    construct,
                    f"AwsSolutions-IAM5[Resource::{_nag_spelling(spelt)}]",
                    f"Declared by the config entry behind statement {statement.sid} (config/targets.yaml, reviewed "
                    "with it): a path parameter of an API operation, or the resources the entry's service calls need.",
                )


def _nag_spelling(value: object) -> str:
    """A resource as cdk-nag spells it in a finding id: literal text, pseudo parameters as <AWS::Name>."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_nag_spelling(part) for part in parts)
    return str(value)
