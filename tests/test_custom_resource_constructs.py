"""GatewayTargetSync and TokenEndpointGate synthesized: IAM scope, log groups, the bundle, asset hashes, cdk-nag."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

import gateway_constructs.python_handlers as python_handlers_module
from gateway_constructs.m2m_user_pool import M2MUserPool
from gateway_constructs.python_handlers import HANDLERS_DIR
from gateway_constructs.target_sync import GatewayTargetSync
from gateway_constructs.token_gate import TokenEndpointGate

GATEWAY_ID = "mcpgw-dev-gateway-abcdefghij"
GATEWAY_ARN = f"arn:aws:bedrock-agentcore:eu-west-1:123456789012:gateway/{GATEWAY_ID}"
TARGET_ID = "ABCDEFGHIJ"
# Skips bundling for every stack: the asset hash is still computed (from the sources), pip is not run.
NO_BUNDLING = {"aws:cdk:bundling-stacks": []}


@dataclass
class Synth:
    stack: Stack
    template: dict[str, Any]
    outdir: Path
    validation_report: dict[str, Any]
    sync: GatewayTargetSync
    gate: TokenEndpointGate
    pool: M2MUserPool

    def logical_id(self, construct: IConstruct) -> str:
        cfn = construct.node.default_child or construct
        return self.stack.resolve(self.stack.get_logical_id(cfn))  # type: ignore[arg-type]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == resource_type}

    def statements_of_role(self, role_id: str) -> list[dict[str, Any]]:
        return [
            statement
            for policy in self.resources("AWS::IAM::Policy").values()
            if {"Ref": role_id} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]

    def statements_of_function(self, function: lambda_.Function) -> list[dict[str, Any]]:
        role = self.template["Resources"][self.logical_id(function)]["Properties"]["Role"]["Fn::GetAtt"][0]
        return self.statements_of_role(role)


def build(
    app: App,
    stack_id: str,
    *,
    trigger: str = "image-hash-1",
    sync_timeout: Duration | None = None,
    retention_days: int = 30,
) -> tuple[Stack, GatewayTargetSync, TokenEndpointGate, M2MUserPool]:
    stack = Stack(app, stack_id)
    pool = M2MUserPool(
        stack,
        "RuntimePool",
        user_pool_name="runtime-pool",
        resource_server_id="mcpgw-runtime",
        client_name="runtime-m2m",
        domain_prefix="mcpgw-runtime-test",
        purpose="runtime",
        retain=False,
    )
    sync_kwargs = {"timeout": sync_timeout} if sync_timeout else {}
    sync = GatewayTargetSync(
        stack,
        "TargetSync",
        gateway_id=GATEWAY_ID,
        gateway_arn=GATEWAY_ARN,
        target_id=TARGET_ID,
        trigger=trigger,
        log_retention_days=retention_days,
        retain=False,
        **sync_kwargs,
    )
    # The gate keeps its logs (retain=True) so both removal policies are in one template.
    gate = TokenEndpointGate(
        stack,
        "TokenGate",
        user_pool=pool.user_pool,
        client=pool.client,
        token_endpoint=pool.token_endpoint,
        scope_string=pool.scope_string,
        log_retention_days=7,
        retain=True,
    )
    return stack, sync, gate, pool


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    # Each xdist worker may build this (pytest-xdist's loadgroup does not group under pytest 9). They take turns
    # on one outdir: CDK skips bundling when the asset directory (named by its source hash) exists.
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    outdir = shared / "custom-resource-constructs.out"
    with (shared / "custom-resource-constructs.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        app = App(outdir=str(outdir))
        stack, sync, gate, pool = build(app, "CustomResources")
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
        # Raises on any AwsSolutions finding that is not acknowledged.
        assembly = app.synth()
        report = json.loads((outdir / "validation-report.json").read_text())
    template = assembly.get_stack_by_name("CustomResources").template
    return Synth(stack, template, outdir, report, sync, gate, pool)


def code_hashes(template: dict[str, Any]) -> set[str]:
    return {
        resource["Properties"]["Code"]["S3Key"].removesuffix(".zip")
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function" and resource["Properties"]["Runtime"].startswith("python")
    }


# --- cdk-nag -----------------------------------------------------------------------------------------------------


def test_cdk_nag_acknowledgements_are_few_and_each_on_the_violating_construct(synth: Synth) -> None:
    (nag,) = [plugin for plugin in synth.validation_report["pluginReports"] if plugin["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success" and nag["violations"] == []
    ours = [
        v
        for v in nag["suppressedViolations"]
        if "/GatewayTargetSyncHandlers/" in v["acknowledgedAt"] + "/"
        or "/TokenEndpointGateHandlers/" in v["acknowledgedAt"] + "/"
    ]
    for violation in ours:
        (construct,) = violation["violatingConstructs"]
        # Acknowledged on the violating resource or its L2 wrapper, never on a parent that would hide more.
        assert violation["acknowledgedAt"] in (
            construct["constructPath"],
            construct["constructPath"].removesuffix("/Resource"),
        )
    rules = sorted(re.sub(r"<[^>]+>", "<fn>", v["ruleName"]) for v in ours)
    # Per construct: the framework's two roles invoke both handlers (ARN:*), the waiter invokes two framework
    # functions (ARN:*) and delivers logs (Resource::*), and the waiter cannot be traced. Nothing else.
    per_construct = ["AwsSolutions-IAM5[Resource::*]", "AwsSolutions-SF2"] + ["AwsSolutions-IAM5[Resource::<fn>:*]"] * 6
    assert rules == sorted(per_construct * 2)


def test_cdk_nag_fails_the_synth_without_the_acknowledgements(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(python_handlers_module, "acknowledge", lambda *args: None)
    app = App(context=NO_BUNDLING)
    build(app, "Unacknowledged")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception) as failure:
        app.synth()
    assert "AwsSolutions-IAM5[Resource::<GatewayTargetSyncHandlersOnEvent" in str(failure.value)
    assert "AwsSolutions-SF2" in str(failure.value)


# --- IAM ---------------------------------------------------------------------------------------------------------


def logs_statement(synth: Synth, log_group: IConstruct) -> dict[str, Any]:
    return {
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [synth.logical_id(log_group), "Arn"]},
    }


def test_sync_handlers_may_touch_only_the_one_gateway(synth: Synth) -> None:
    handlers = synth.sync.handlers
    assert synth.statements_of_function(handlers.on_event_function) == [
        logs_statement(synth, handlers.on_event_log_group),
        {
            "Action": ["bedrock-agentcore:SynchronizeGatewayTargets", "bedrock-agentcore:GetGatewayTarget"],
            "Effect": "Allow",
            "Resource": GATEWAY_ARN,
        },
    ]
    assert synth.statements_of_function(handlers.is_complete_function) == [
        logs_statement(synth, handlers.is_complete_log_group),
        {"Action": "bedrock-agentcore:GetGatewayTarget", "Effect": "Allow", "Resource": GATEWAY_ARN},
    ]


def test_gate_reads_clients_of_the_one_pool_and_only_in_is_complete(synth: Synth) -> None:
    handlers = synth.gate.handlers
    assert synth.statements_of_function(handlers.on_event_function) == [
        logs_statement(synth, handlers.on_event_log_group)
    ]
    assert synth.statements_of_function(handlers.is_complete_function) == [
        logs_statement(synth, handlers.is_complete_log_group),
        {
            "Action": "cognito-idp:DescribeUserPoolClient",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [synth.logical_id(synth.pool.user_pool), "Arn"]},
        },
    ]


def test_no_role_has_a_managed_policy_or_an_unexplained_wildcard(synth: Synth) -> None:
    for role in synth.resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"] and "Policies" not in role["Properties"]
    star_statements = [
        s
        for p in synth.resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Resource"] == "*"
    ]
    # Only the two waiter state machines' log delivery, which IAM cannot scope.
    assert len(star_statements) == 2
    assert all(all(a.startswith("logs:") for a in s["Action"]) for s in star_statements)


# --- log groups, runtime, timeouts ---------------------------------------------------------------------------------


def test_every_function_and_state_machine_logs_to_a_group_with_retention_and_a_removal_policy(synth: Synth) -> None:
    groups = synth.resources("AWS::Logs::LogGroup")
    sync_groups = {k: v for k, v in groups.items() if k.startswith("GatewayTargetSyncHandlers")}
    gate_groups = {k: v for k, v in groups.items() if k.startswith("TokenEndpointGateHandlers")}
    assert len(sync_groups) == 4 and len(gate_groups) == 4 and len(groups) == 8
    for group in sync_groups.values():
        assert group["Properties"]["RetentionInDays"] == 30 and group["DeletionPolicy"] == "Delete"
    for group in gate_groups.values():
        assert group["Properties"]["RetentionInDays"] == 7 and group["DeletionPolicy"] == "Retain"
    # No function or state machine writes to a log group CloudFormation does not manage (never expiring).
    functions = synth.resources("AWS::Lambda::Function").values()
    assert len(functions) == 10  # per construct: 2 handlers + 3 framework functions
    for function in functions:
        assert function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] in groups
    for machine in synth.resources("AWS::StepFunctions::StateMachine").values():
        logging = machine["Properties"]["LoggingConfiguration"]
        assert logging["Level"] == "ALL" and logging["IncludeExecutionData"] is False
        assert logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0] in groups


def test_handlers_run_on_the_latest_python_on_arm64(synth: Synth) -> None:
    latest = max(
        (r for r in lambda_.Runtime.ALL if r.name.startswith("python3.")),
        key=lambda r: tuple(int(p) for p in r.name.removeprefix("python").split(".")),
    )
    handlers = {}
    for function in synth.resources("AWS::Lambda::Function").values():
        props = function["Properties"]
        if props["Runtime"].startswith("python"):
            assert props["Runtime"] == latest.name
            assert props["Architectures"] == ["arm64"]
            handlers[props["Handler"]] = (props["Timeout"], props["Environment"]["Variables"])
    assert handlers == {
        # 14 min: CDK's onEvent function (15 min) must outlive ours to answer CloudFormation.
        "custom_resources.target_sync.handler.on_event": (840, {"WAIT_TIMEOUT_SECONDS": "900"}),
        "custom_resources.target_sync.handler.is_complete": (60, {"WAIT_TIMEOUT_SECONDS": "900"}),
        "custom_resources.token_gate.handler.on_event": (30, {"WAIT_TIMEOUT_SECONDS": "600"}),
        "custom_resources.token_gate.handler.is_complete": (60, {"WAIT_TIMEOUT_SECONDS": "600"}),
    }


def test_the_framework_waits_longer_than_the_handlers_deadline(synth: Synth) -> None:
    bounds = {}
    for logical_id, machine in synth.resources("AWS::StepFunctions::StateMachine").items():
        definition = "".join(p for p in machine["Properties"]["DefinitionString"]["Fn::Join"][1] if isinstance(p, str))
        interval = int(re.search(r'"IntervalSeconds":(\d+)', definition).group(1))
        attempts = int(re.search(r'"MaxAttempts":(\d+)', definition).group(1))
        bounds["sync" if logical_id.startswith("GatewayTargetSyncHandlers") else "gate"] = interval * attempts
    # The handler's deadline (900 s / 600 s) must run out first: its message names the target or endpoint.
    assert bounds == {"sync": 960, "gate": 660}
    service_timeouts = {
        r["Type"]: int(r["Properties"]["ServiceTimeout"])
        for r in synth.template["Resources"].values()
        if r["Type"].startswith("Custom::") and "ServiceTimeout" in r["Properties"]
    }
    assert service_timeouts["Custom::GatewayTargetSync"] > bounds["sync"]
    assert service_timeouts["Custom::TokenEndpointGate"] > bounds["gate"]


# --- the resources' properties -------------------------------------------------------------------------------------


def custom_resource(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (resource,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == resource_type]
    return resource


def test_the_gate_is_given_ids_and_never_the_secret(synth: Synth) -> None:
    props = custom_resource(synth.template, "Custom::TokenEndpointGate")
    assert set(props) == {"ServiceToken", "ServiceTimeout", "UserPoolId", "ClientId", "TokenEndpoint", "Scope"}
    assert props["UserPoolId"] == {"Ref": synth.logical_id(synth.pool.user_pool)}
    assert props["Scope"] == "mcpgw-runtime/invoke"
    assert "/oauth2/token" in json.dumps(props["TokenEndpoint"])
    # No secret-reading custom resource, and the word does not even occur in the template.
    assert "ClientSecret" not in json.dumps(synth.template)
    assert not [r for r in synth.template["Resources"].values() if r["Type"] == "Custom::AWS"]


def test_only_a_new_trigger_or_target_changes_what_the_sync_resource_sees() -> None:
    app = App(context=NO_BUNDLING)
    build(app, "Base", trigger="image-hash-1")
    build(app, "OtherBounds", trigger="image-hash-1", sync_timeout=Duration.minutes(20), retention_days=7)
    build(app, "NewImage", trigger="image-hash-2")
    assembly = app.synth()

    def sync_inputs(stack_name: str) -> dict[str, Any]:
        props = custom_resource(assembly.get_stack_by_name(stack_name).template, "Custom::GatewayTargetSync")
        # The handler syncs only when one of these differs from OldResourceProperties.
        return {key: props[key] for key in ("GatewayIdentifier", "TargetId", "Trigger")}

    base = sync_inputs("Base")
    assert base == {"GatewayIdentifier": GATEWAY_ID, "TargetId": TARGET_ID, "Trigger": "image-hash-1"}
    assert sync_inputs("OtherBounds") == base
    assert sync_inputs("NewImage") == {**base, "Trigger": "image-hash-2"}
    full = custom_resource(assembly.get_stack_by_name("Base").template, "Custom::GatewayTargetSync")
    assert set(full) == {"ServiceToken", "ServiceTimeout", "GatewayIdentifier", "TargetId", "Trigger"}


# --- the bundle and its hash ---------------------------------------------------------------------------------------


def asset_dir(synth: Synth) -> Path:
    (asset_hash,) = code_hashes(synth.template)
    return synth.outdir / f"asset.{asset_hash}"


def test_bundle_holds_the_handlers_and_exactly_the_pinned_packages(synth: Synth) -> None:
    bundle = asset_dir(synth)
    for handler in ("target_sync/handler.py", "token_gate/handler.py", "__init__.py"):
        assert (bundle / "custom_resources" / handler).read_text() == (HANDLERS_DIR / handler).read_text()
    pins = {
        line.split("==")[0].lower().replace("-", "_"): line.split("==")[1]
        for line in (HANDLERS_DIR / "requirements.txt").read_text().splitlines()
        if "==" in line
    }
    installed = {}
    for dist_info in bundle.glob("*.dist-info"):
        name, version = dist_info.name.removesuffix(".dist-info").rsplit("-", 1)
        installed[name.lower()] = version
    assert installed == pins
    assert installed["boto3"] == "1.44.8" and installed["botocore"] == "1.44.8"
    # Nothing built for the synthesizing machine: no byte code, no scripts, no native extension.
    assert not list(bundle.rglob("__pycache__")) and not list(bundle.rglob("*.pyc"))
    assert not (bundle / "bin").exists() and not list(bundle.rglob("*.so"))


def test_bundled_handlers_import_the_bundled_boto3(synth: Synth) -> None:
    bundle = asset_dir(synth)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import custom_resources.target_sync.handler as s, custom_resources.token_gate.handler as g, boto3, botocore;"
        "print(boto3.__version__, botocore.__version__, boto3.__file__.startswith(sys.argv[1]),"
        " botocore.__file__.startswith(sys.argv[1]), s.__file__.startswith(sys.argv[1]));"
        # The pruned botocore still builds the clients the handlers use (models, endpoints, retries).
        "print(s.default_client().meta.service_model.service_name, g.default_client().meta.service_model.service_name)"
    )
    # -I: no PYTHONPATH, no user site, no current directory, so nothing comes from the repository checkout.
    # -B: no byte code written into the bundle, which another worker may be inspecting.
    command = [sys.executable, "-I", "-B", "-c", code, str(bundle)]
    env = {"PATH": os.environ["PATH"], "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    assert result.stdout.split() == [
        "1.44.8",
        "1.44.8",
        "True",
        "True",
        "True",
        "bedrock-agentcore-control",
        "cognito-idp",
    ]


def test_bundle_keeps_only_the_service_models_the_handlers_call(synth: Synth) -> None:
    models = {p.name for p in (asset_dir(synth) / "botocore" / "data").iterdir() if p.is_dir()}
    assert models == {"bedrock-agentcore-control", "cognito-idp"}
    assert sum(1 for _ in asset_dir(synth).rglob("*") if _.is_file()) < 400


def test_asset_hash_follows_the_sources_not_the_download(
    synth: Synth, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copies = {}
    for name, edit in {
        "same": None,
        "handler": ("target_sync/handler.py", "\n# a changed handler\n"),
        "requirements": ("requirements.txt", "\n# a changed requirements file\n"),
    }.items():
        copy = tmp_path / name / "custom_resources"
        shutil.copytree(HANDLERS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
        # Byte code next to the sources (as running the tests leaves it) must not count.
        (copy / "target_sync" / "__pycache__").mkdir()
        (copy / "target_sync" / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\x00stale")
        if edit:
            with (copy / edit[0]).open("a") as file:
                file.write(edit[1])
        copies[name] = copy

    app = App(context=NO_BUNDLING)
    for name, copy in copies.items():
        monkeypatch.setattr(python_handlers_module, "HANDLERS_DIR", copy)
        build(app, f"Copy{name.capitalize()}")
    assembly = app.synth()
    hashes = {name: code_hashes(assembly.get_stack_by_name(f"Copy{name.capitalize()}").template) for name in copies}
    # Unbundled, from a copy: the same hash as the pip-bundled original, so pip's output is not part of it.
    assert hashes["same"] == code_hashes(synth.template)
    assert hashes["handler"] != hashes["same"] and hashes["requirements"] != hashes["same"]
    assert len(hashes["handler"]) == len(hashes["requirements"]) == 1


def test_custom_resources_of_a_stack_share_one_provider_per_kind() -> None:
    # A provider is a dozen resources; one per target would not fit many targets in a stack.
    app = App(context=NO_BUNDLING)
    stack, _, _, pool = build(app, "Shared")
    for index in range(2):
        GatewayTargetSync(
            stack,
            f"MoreSync{index}",
            gateway_id=GATEWAY_ID,
            gateway_arn=GATEWAY_ARN,
            target_id=f"T{index}",
            trigger="h",
            log_retention_days=30,
            retain=False,
        )
    template = app.synth().get_stack_by_name("Shared").template
    kinds = [r["Type"] for r in template["Resources"].values()]
    assert kinds.count("Custom::GatewayTargetSync") == 3
    assert kinds.count("AWS::StepFunctions::StateMachine") == 2  # one waiter for the syncs, one for the gate
    # The one gateway is granted once, not once per resource.
    assert json.dumps(template).count('"bedrock-agentcore:SynchronizeGatewayTargets"') == 1


def test_a_shared_provider_refuses_different_settings() -> None:
    app = App(context=NO_BUNDLING)
    stack, _, _, _ = build(app, "Conflict")
    with pytest.raises(ValueError, match="is shared: every user must pass the same settings"):
        GatewayTargetSync(
            stack,
            "Other",
            gateway_id=GATEWAY_ID,
            gateway_arn=GATEWAY_ARN,
            target_id="T",
            trigger="h",
            log_retention_days=7,
            retain=False,
        )
