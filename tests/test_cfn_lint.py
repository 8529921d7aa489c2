"""cfn-lint on every synthesized template of every environment: no errors, no unexplained warnings."""

from __future__ import annotations

import json

import pytest
from cfnlint.api import ManualArgs, lint

from tests.cdk_helpers import Assembly

# W3005: CDK adds an explicit DependsOn beside a GetAtt it also emits (Lambda role, runtime role);
# redundant but harmless, and not ours to change.
IGNORED = ["W3005"]


# The shipped config/ in both environments (what deploys), and the example of every kind of entry.
@pytest.mark.parametrize("set_name", ["shipped_dev", "shipped_prod", "example_every_kind"])
def test_templates_pass_cfn_lint(set_name: str, request: pytest.FixtureRequest) -> None:
    assembly: Assembly = request.getfixturevalue(set_name)
    findings = []
    for stack_name, template in assembly.templates.items():
        matches = lint(json.dumps(template), regions=["us-east-1"], config=ManualArgs(ignore_checks=IGNORED))
        findings += [f"{stack_name}: {m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches]
    assert not findings, "\n".join(findings)


def test_cfn_lint_catches_a_broken_template(dev: Assembly) -> None:
    # Guards the test above against silently linting nothing.
    template = json.loads(json.dumps(dev.template("mcpgw-dev-gateway")))
    template["Resources"]["Gateway"]["Properties"]["ProtocolType"] = 42
    assert lint(json.dumps(template), regions=["us-east-1"])
