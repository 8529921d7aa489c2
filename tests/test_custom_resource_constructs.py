"""CustomResourceHandlers synthesized: one function behind CDK's provider framework, its IAM scope, its log groups,
its asset (the handler package and nothing else), and cdk-nag."""

from __future__ import annotations

import ast
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks

import constructs.custom_resource_handlers as handlers_module
from constructs.custom_resource_handlers import HANDLERS_DIR, CustomResourceHandlers
from constructs.m2m_user_pool import M2MUserPool
from constructs.token_gate import TokenEndpointGate


def build(app: App, stack_id: str, *, wait: Duration | None = None, retain_data: bool = False) -> Stack:
    wait = wait or Duration.minutes(10)
    stack = Stack(app, stack_id, env={"region": "eu-west-1", "account": "012345678901"})
    handlers = CustomResourceHandlers(
        stack,
        "Handlers",
        runtime_prefix="mcpgw_dev_",
        pool_tag=("gateway-deployment", "mcpgw-dev"),
        wait=wait,
        log_retention_days=30,
        retain_data=retain_data,
    )
    pool = M2MUserPool(
        stack,
        "Pool",
        user_pool_name="runtime-pool",
        resource_server_id="mcpgw-runtime",
        domain_prefix="mcpgw-runtime-test",
        purpose="runtime",
        retain_data=False,
    )
    client = pool.add_client("Client", "runtime-m2m")
    TokenEndpointGate(stack, "Gate", handlers=handlers.endpoint, pool=pool, client=client)
    return stack


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    outdir = tmp_path_factory.mktemp("handlers")
    app = App(outdir=str(outdir))
    build(app, "Handlers")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    assembly = app.synth()  # raises on any AwsSolutions finding that is not acknowledged
    return {
        "template": assembly.get_stack_by_name("Handlers").template,
        "report": json.loads((outdir / "validation-report.json").read_text()),
        "outdir": outdir,
    }


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def handler_function(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v)
        for k, v in resources(template, "AWS::Lambda::Function").items()
        if v["Properties"]["Handler"] == "custom_resources.handler.lambda_handler"
    ]
    return found


def test_one_handler_function_no_framework_and_no_state_machine(synth: dict[str, Any]) -> None:
    template = synth["template"]
    (function_id,) = resources(template, "AWS::Lambda::Function")
    assert not resources(template, "AWS::StepFunctions::StateMachine")
    (gate,) = resources(template, "Custom::TokenEndpointGate").values()
    # CloudFormation invokes the handler itself (it answers at the ResponseURL), and gives up on the resource after
    # the function's own ceiling (15 min) and a minute, not an hour.
    assert gate["Properties"]["ServiceToken"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert int(gate["Properties"]["ServiceTimeout"]) == 960


def test_the_handler_role_reaches_this_deployments_runtime_log_groups_and_tagged_pools_only(
    synth: dict[str, Any],
) -> None:
    template = synth["template"]
    _, function = handler_function(template)
    role = template["Resources"][function["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
    assert "ManagedPolicyArns" not in role
    (policy,) = role["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    groups = "arn:aws:logs:eu-west-1:012345678901:log-group:/aws/bedrock-agentcore/runtimes/mcpgw_dev_*"

    def text(value: Any) -> str:
        return json.dumps(value).replace('{"Ref": "AWS::Partition"}', "aws")

    assert statements["AdoptRuntimeLogGroups"]["Action"] == [
        "logs:CreateLogGroup",
        "logs:PutRetentionPolicy",
        "logs:DeleteLogGroup",
    ]
    # CloudWatch Logs authorizes these on arn:...:log-group:NAME:*, tagging on the bare ARN.
    assert text(statements["AdoptRuntimeLogGroups"]["Resource"]).replace('", "', "").endswith(':*"]]}')
    assert "mcpgw_dev_*-DEFAULT:*" in text(statements["AdoptRuntimeLogGroups"]["Resource"])
    assert statements["TagRuntimeLogGroups"]["Action"] == "logs:TagResource"
    assert text(statements["TagRuntimeLogGroups"]["Resource"]).replace('", "', "").endswith('mcpgw_dev_*-DEFAULT"]]}')
    # A list action, authorized on log-group:* only; nothing else may use that resource.
    assert statements["FindRuntimeLogGroups"]["Action"] == "logs:DescribeLogGroups"
    assert text(statements["FindRuntimeLogGroups"]["Resource"]).replace('", "', "").endswith(':log-group:*"]]}')
    assert groups.split(":log-group:")[1] in text(statements["TagRuntimeLogGroups"]["Resource"])
    read = statements["ReadDeploymentPoolClients"]
    assert read["Action"] == "cognito-idp:DescribeUserPoolClient"
    assert read["Condition"] == {"StringEquals": {"aws:ResourceTag/gateway-deployment": "mcpgw-dev"}}
    assert set(statements) == {
        "OwnLogs",
        "AdoptRuntimeLogGroups",
        "FindRuntimeLogGroups",
        "TagRuntimeLogGroups",
        "ReadDeploymentPoolClients",
    }


def test_the_function_logs_to_a_group_with_retention_and_the_removal_policy(synth: dict[str, Any]) -> None:
    template = synth["template"]
    groups = resources(template, "AWS::Logs::LogGroup")
    assert len(groups) == 1
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == 30 and group["DeletionPolicy"] == "Delete"
    for function in resources(template, "AWS::Lambda::Function").values():
        assert function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] in groups


def test_the_handler_runs_on_the_latest_python_on_arm64_with_room_after_its_wait(synth: dict[str, Any]) -> None:
    latest = max(
        (r for r in lambda_.Runtime.ALL if r.name.startswith("python3.")),
        key=lambda r: tuple(int(p) for p in r.name.removeprefix("python").split(".")),
    )
    _, function = handler_function(synth["template"])
    props = function["Properties"]
    assert props["Runtime"] == latest.name and props["Architectures"] == ["arm64"]
    assert props["Environment"]["Variables"] == {"WAIT_TIMEOUT_SECONDS": "600"}
    assert props["Timeout"] == 660


def test_a_wait_that_leaves_no_room_in_a_lambda_invocation_is_refused() -> None:
    with pytest.raises(ValueError, match="leaves no margin in a Lambda invocation"):
        build(App(), "TooLong", wait=Duration.minutes(15))


def test_the_asset_is_the_handler_package_only(synth: dict[str, Any]) -> None:
    _, function = handler_function(synth["template"])
    digest = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    bundle = synth["outdir"] / f"asset.{digest}"
    assert sorted(p.name for p in bundle.iterdir()) == ["custom_resources"]
    files = sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file())
    expected = sorted(
        str(p.relative_to(HANDLERS_DIR.parent)) for p in HANDLERS_DIR.rglob("*.py") if "__pycache__" not in p.parts
    )
    assert files == expected


def test_handlers_need_nothing_beyond_the_lambda_runtime() -> None:
    # No bundled dependencies: the standard library, and the boto3/botocore every Python Lambda runtime ships.
    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore", "custom_resources"}
    for source in HANDLERS_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert name.split(".")[0] in allowed, f"{source.name} imports {name}"


def test_the_asset_hash_follows_the_sources_not_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def digest(handlers_dir: Path) -> str:
        monkeypatch.setattr(handlers_module, "HANDLERS_DIR", handlers_dir)
        app = App(outdir=str(tmp_path / f"out-{len(list(tmp_path.iterdir()))}"))
        build(app, "Hash")
        template = app.synth().get_stack_by_name("Hash").template
        _, function = handler_function(template)
        return str(function["Properties"]["Code"]["S3Key"])

    base = tmp_path / "base" / "custom_resources"
    shutil.copytree(HANDLERS_DIR, base, ignore=shutil.ignore_patterns("__pycache__"))
    before = digest(base)
    (base / "__pycache__").mkdir(exist_ok=True)
    (base / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\x00stale")
    assert digest(base) == before, "compiled files must not change the asset"
    (base / "handler.py").write_text((base / "handler.py").read_text() + "\n# a changed handler\n")
    assert digest(base) != before


def test_cdk_nag_acknowledgements_are_few_and_each_on_the_violating_construct(synth: dict[str, Any]) -> None:
    (nag,) = [p for p in synth["report"]["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success" and nag["violations"] == []
    ours = [v for v in nag["suppressedViolations"] if "/Handlers/" in v["acknowledgedAt"] + "/"]
    for violation in ours:
        (construct,) = violation["violatingConstructs"]
        assert violation["acknowledgedAt"] in (
            construct["constructPath"],
            construct["constructPath"].removesuffix("/Resource"),
        )
    rules = sorted(v["ruleName"].split("[Resource::", 1)[1].rstrip("]").split(":")[-1] or "<arn>" for v in ours)
    # On the handler's role: the runtime log groups in both ARN forms, listing log groups, and the tagged pools.
    # Nothing else (no provider framework, no grant to invoke the handler's versions).
    assert rules == sorted(["*", "*", "/aws/bedrock-agentcore/runtimes/mcpgw_dev_*-DEFAULT", "userpool/*"])


def test_cdk_nag_fails_the_synth_without_the_acknowledgements(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handlers_module, "acknowledge", lambda *args: None)
    app = App()
    build(app, "Unacknowledged")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception) as failure:
        app.synth()
    assert "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:eu-west-1:012345678901:log-group:" in str(
        failure.value
    )


def test_aws_rules_finds_each_resource_types_handler_module_as_the_dispatcher_does() -> None:
    from aws_rules.handlers import handler_source
    from custom_resources.handler import HANDLERS

    for resource_type, function in HANDLERS.items():
        assert handler_source(resource_type) == HANDLERS_DIR / f"{function.__module__.rsplit('.', 1)[1]}.py"


def test_service_model_names_match_botocore() -> None:
    from botocore import xform_name

    from aws_rules.service_models import operation_names, snake_case

    for service in ("logs", "cognito-idp", "bedrock-agentcore-control"):
        for operation in operation_names(service):
            assert snake_case(operation) == xform_name(operation), operation
