"""cdk-nag AwsSolutions: attached to the app, failing synth on any unacknowledged finding, acknowledgements reasoned."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack, Validations
from aws_cdk import aws_iam as iam

from app import create_app
from tests.cdk_helpers import load_context


@pytest.fixture(scope="module")
def acknowledgements() -> dict[str, dict[str, str]]:
    app = create_app(load_context())
    key = Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    found: dict[str, dict[str, str]] = {}
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == key:
                found.setdefault(construct.node.path, {}).update(entry.data)
    return found


def test_an_unacknowledged_finding_fails_synth() -> None:
    app = create_app(load_context())
    stack = next(c for c in app.node.children if isinstance(c, Stack) and c.stack_name == "mcpgw-dev-gateway-role")
    iam.Role(
        stack,
        "TooPowerful",
        assumed_by=iam.AccountRootPrincipal(),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AdministratorAccess")],
    )
    with pytest.raises(
        Exception, match=r"AwsSolutions-IAM4\[Policy::arn:<AWS::Partition>:iam::aws:policy/AdministratorAccess\]"
    ):
        app.synth()


def test_acknowledgements_sit_on_resources_not_stacks(acknowledgements: dict[str, Any]) -> None:
    assert acknowledgements, "no acknowledgement found: the metadata key changed?"
    for path in acknowledgements:
        assert "/" in path, f"{path}: acknowledge on the narrowest construct, not a whole stack"


def test_every_acknowledgement_names_one_rule_and_gives_a_reason(acknowledgements: dict[str, Any]) -> None:
    for path, rules in acknowledgements.items():
        for rule, reason in rules.items():
            assert rule.startswith("AwsSolutions::AwsSolutions-"), f"{path}: {rule}"
            if "-IAM5" in rule:
                assert "[" in rule, f"{path}: IAM5 must name the exact wildcard it accepts"
            assert len(reason) >= 40, f"{path} {rule}: the reason must explain why, got {reason!r}"
