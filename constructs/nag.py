"""cdk-nag acknowledgements: one rule finding, on one construct, with the reason a security reviewer reads."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Token, Validations

from constructs import IConstruct


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge exactly one finding (`AwsSolutions-IAM5[Resource::...]` for a single wildcard) on `construct`."""
    Validations.of(construct).acknowledge(Acknowledgment(id=f"AwsSolutions::{rule}", reason=reason))


def nag_arn(scope: IConstruct, service: str, resource: str) -> str:
    """An ARN spelled the way cdk-nag prints it in a finding id, for the scope's stack and environment."""
    stack = Stack.of(scope)
    region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
    account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
    # A literal where the region is known (@aws-cdk/core:enablePartitionLiterals), as the template spells it.
    partition = "<AWS::Partition>" if Token.is_unresolved(stack.partition) else stack.partition
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"
