"""Logical ids that read as names: what keeps a resource in place when its construct moves."""

from __future__ import annotations

from aws_cdk import CfnElement, CfnResource

from constructs import IConstruct


def name_logical_id(construct: IConstruct, logical_id: str) -> None:
    """Give a stateful or named resource a logical id that reads as a name and survives refactors.

    CDK derives logical ids from the construct path; moving a construct would then replace the resource.
    """
    cfn = construct.node.default_child if not isinstance(construct, CfnResource) else construct
    assert isinstance(cfn, CfnElement), f"{construct.node.path} has no CloudFormation resource to name"
    cfn.override_logical_id(logical_id)
