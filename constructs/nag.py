"""cdk-nag acknowledgements: one rule finding, on one construct, with the reason a security reviewer reads."""

from __future__ import annotations

from functools import cache

from aws_cdk import Acknowledgment, Stack, Token, Validations

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
