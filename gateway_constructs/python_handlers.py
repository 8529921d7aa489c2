"""What the app's polled custom resources share: the handler asset, bundled locally with a pinned boto3, and
`PythonHandlerProvider`, the provider framework around an on_event/is_complete pair of Python handlers."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, Duration, ILocalBundling, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct

from gateway_constructs.log_groups import managed_log_group
from gateway_constructs.nag import acknowledge

HANDLERS_DIR = Path(__file__).resolve().parent.parent / "custom_resources"
HANDLER_PACKAGE = HANDLERS_DIR.name
# The latest Python that aws-cdk-lib knows, which is what cdk-nag's AwsSolutions-L1 demands.
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_14
# arm64 (Graviton): about 20% cheaper per GB-second than x86_64 for the same work, and the bundle is pure Python
# (every wheel is py3-none-any), so nothing native has to match the host: the choice costs nothing here.
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64
# pip's platform tag and Python version for the runtime and architecture above, so that the three cannot drift.
_PIP_PLATFORM = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}[LAMBDA_ARCHITECTURE.name]
_PIP_PYTHON = LAMBDA_RUNTIME.name.removeprefix("python")
# Wheels are chosen for the Lambda's platform and Python, not the synthesizing machine's; binary-only so that pip
# never runs a build (an sdist would need a compiler for the target platform).
PIP_INSTALL_ARGS: tuple[str, ...] = (
    "install",
    "--only-binary=:all:",
    f"--platform={_PIP_PLATFORM}",
    "--implementation=cp",
    f"--python-version={_PIP_PYTHON}",
    # Byte code compiled by the synthesizing Python would not match the runtime's; Lambda compiles on import.
    "--no-compile",
    "--disable-pip-version-check",
    "--quiet",
    "--requirement=requirements.txt",
)
# Kept out of the asset and out of its hash, so running the tests (which writes __pycache__) changes nothing.
ASSET_EXCLUDES = ["__pycache__", "*.pyc", ".pytest_cache"]

# Added to the handlers' own deadline so that the handler's clear message, not the framework's bare
# "Operation timed out", is what CloudFormation shows when a wait runs out.
PROVIDER_TIMEOUT_MARGIN = Duration.seconds(60)


# The only AWS APIs the handlers call (boto3.client(...) in custom_resources/). botocore ships the models of
# 400+ services, 28 MB in 2,200 files; the bundle keeps these and the shared endpoint/retry data, which makes
# the Lambda package a fifth of the size (faster cold starts) and each synth's copy of it quick.
BUNDLED_SERVICES = ("bedrock-agentcore-control", "cognito-idp")

# Installed dependencies, by hash of requirements.txt, the pip flags and the services kept: every synth (each test, `make bench`)
# would otherwise pay a pip run of a few seconds for the same bytes. Git-ignored; delete it to force a fresh install.
DEPENDENCY_CACHE = HANDLERS_DIR.parent / ".cache" / "lambda-dependencies"


def _installed_dependencies() -> Path:
    key = hashlib.sha256(
        "\n".join([(HANDLERS_DIR / "requirements.txt").read_text(), *PIP_INSTALL_ARGS, *BUNDLED_SERVICES]).encode()
    ).hexdigest()[:16]
    cached = DEPENDENCY_CACHE / key
    if cached.is_dir():
        return cached
    DEPENDENCY_CACHE.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{key}-", dir=DEPENDENCY_CACHE))
    command = [sys.executable, "-m", "pip", *PIP_INSTALL_ARGS, f"--target={staging}"]
    result = subprocess.run(command, cwd=HANDLERS_DIR, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        # Raising (not returning False) keeps CDK from falling back to a Docker build that cannot run here.
        raise RuntimeError(
            f"Bundling the custom-resource handlers failed: {' '.join(command)}\n{result.stdout}{result.stderr}"
        )
    # Console scripts of the dependencies (jmespath's jp.py) are of no use in a Lambda.
    shutil.rmtree(staging / "bin", ignore_errors=True)
    for service_models in (staging / "botocore" / "data").iterdir():
        if service_models.is_dir() and service_models.name not in BUNDLED_SERVICES:
            shutil.rmtree(service_models)
    try:
        staging.rename(cached)  # atomic: a concurrent synth that got there first wins, ours is dropped
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    return cached


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:  # another file system (a temp outdir), or links not supported
        shutil.copy2(source, destination)


@jsii.implements(ILocalBundling)
class _PipLocalBundling:
    """`pip install --target` (cached) plus a copy of the handler sources, on the synthesizing machine: no Docker."""

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        out = Path(output_dir)
        # Hard links where the file system allows: thousands of botocore files, copied on every synth, cost seconds.
        shutil.copytree(_installed_dependencies(), out, dirs_exist_ok=True, copy_function=_link_or_copy)
        shutil.copytree(
            HANDLERS_DIR, out / HANDLER_PACKAGE, ignore=shutil.ignore_patterns(*ASSET_EXCLUDES, "requirements.txt")
        )
        return True


def bundled_handler_code() -> lambda_.Code:
    """The handler asset: `custom_resources/` (as a package, so tests and Lambda import it the same way) + boto3.

    A new Code object per function (an asset binds to one stack); CDK bundles once per synthesis and asset hash.
    """
    pip = " ".join(PIP_INSTALL_ARGS)
    keep = " ".join(f"! -name {service}" for service in BUNDLED_SERVICES)
    return lambda_.Code.from_asset(
        str(HANDLERS_DIR),
        exclude=ASSET_EXCLUDES,
        # SOURCE: the hash is the handler sources + requirements.txt + these bundling options (which spell out the
        # pip flags), never the downloaded bytes, so it only changes when we change something.
        asset_hash_type=AssetHashType.SOURCE,
        bundling=BundlingOptions(
            local=_PipLocalBundling(),
            # Never used (local bundling succeeds or raises); the same steps, should Docker bundling ever be forced.
            image=LAMBDA_RUNTIME.bundling_image,
            command=[
                "bash",
                "-c",
                (
                    f"pip {pip} --target=/asset-output && rm -rf /asset-output/bin && "
                    f"find /asset-output/botocore/data -mindepth 1 -maxdepth 1 -type d {keep} -exec rm -rf {{}} + && "
                    f"mkdir /asset-output/{HANDLER_PACKAGE} && cp -r /asset-input/. /asset-output/{HANDLER_PACKAGE}/"
                ),
            ],
        ),
    )


def nag_arn_ref(construct: Construct) -> str:
    """`<LogicalId.Arn>`, the way cdk-nag prints a GetAtt Arn in a finding id."""
    stack = Stack.of(construct)
    cfn = construct.node.default_child
    return f"<{stack.resolve(stack.get_logical_id(cfn))}.Arn>"  # type: ignore[arg-type]


class PythonHandlerProvider(Construct):
    """The provider framework around an `on_event` / `is_complete` pair from one module of `custom_resources/`.

    Every function gets its own role and log group (retention and removal policy from the caller); the roles
    start empty but for their log group, and the caller grants each handler only what it calls. The framework's
    functions and waiter state machine are CDK's, given our roles and log groups so that no managed policy and no
    log group without retention are left.
    """

    @classmethod
    def shared(cls, scope: Construct, construct_id: str, **settings: Any) -> "PythonHandlerProvider":
        """One provider per stack and `construct_id`, however many custom resources use it.

        A provider is a dozen resources (four functions, their roles and logs, a state machine); one per target
        would put a gateway with many targets over CloudFormation's per-stack limits.
        """
        stack = Stack.of(scope)
        # Durations are jsii objects without value equality; their seconds compare.
        key = {k: v.to_seconds() if isinstance(v, Duration) else v for k, v in settings.items()}
        existing = stack.node.try_find_child(construct_id)
        if existing is None:
            provider = cls(stack, construct_id, **settings)
            provider._settings = key
            return provider
        if existing._settings != key:
            raise ValueError(f"{stack.node.path}/{construct_id} is shared: every user must pass the same settings")
        return existing

    def grant(self, role: iam.IRole, key: str, statement: iam.PolicyStatement) -> None:
        """Add `statement` to one of this provider's roles once, however many users ask for it under `key`."""
        if (id(role), key) not in self._granted:
            self._granted.add((id(role), key))
            role.add_to_principal_policy(statement)

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler_module: str,
        purpose: str,
        wait: Duration,
        on_event_timeout: Duration,
        is_complete_timeout: Duration,
        query_interval: Duration,
        log_retention_days: int,
        retain: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings: dict[str, Any] = {}
        self._granted: set[tuple[int, str]] = set()
        wait_seconds = int(wait.to_seconds())
        # The handlers enforce `wait` themselves, so their message (naming what they waited for), not the
        # framework's bare "Operation timed out", reaches CloudFormation; the framework waits a margin longer,
        # in whole query intervals as it requires. An environment variable, not a resource property: changing
        # the bound must not update (and so re-run) the custom resources.
        environment = {"WAIT_TIMEOUT_SECONDS": str(wait_seconds)}
        interval = int(query_interval.to_seconds())
        total = -(-(wait_seconds + int(PROVIDER_TIMEOUT_MARGIN.to_seconds())) // interval) * interval
        # CloudFormation's own bound (1 h by default) brought near ours, in case the framework itself fails.
        self.service_timeout = Duration.seconds(min(total + 300, 3600))
        self.on_event_function, self.on_event_role, self.on_event_log_group = self._handler(
            "OnEvent", f"{handler_module}.on_event", purpose, environment, on_event_timeout, log_retention_days, retain
        )
        self.is_complete_function, self.is_complete_role, self.is_complete_log_group = self._handler(
            "IsComplete",
            f"{handler_module}.is_complete",
            purpose,
            environment,
            is_complete_timeout,
            log_retention_days,
            retain,
        )

        self.framework_log_group = managed_log_group(
            self, "FrameworkLogs", retention_days=log_retention_days, retain=retain
        )
        # Two roles, as the framework wants them: with one, the onEvent role's StartExecution grant would make the
        # state machine wait on a function that waits on that same role policy (a dependency cycle).
        self.framework_on_event_role = self._framework_role("FrameworkOnEventRole", purpose)
        self.framework_waiter_role = self._framework_role("FrameworkWaiterRole", purpose)
        self.waiter_log_group = managed_log_group(self, "WaiterLogs", retention_days=log_retention_days, retain=retain)
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.on_event_function,
            is_complete_handler=self.is_complete_function,
            query_interval=query_interval,
            total_timeout=Duration.seconds(total),
            framework_on_event_role=self.framework_on_event_role,
            framework_complete_and_timeout_role=self.framework_waiter_role,
            log_group=self.framework_log_group,
            disable_waiter_state_machine_logging=False,
            waiter_state_machine_log_options=cr.LogOptions(
                destination=self.waiter_log_group,
                level=sfn.LogLevel.ALL,
                # An execution's input is the CloudFormation event, whose ResponseURL can answer for the resource.
                include_execution_data=False,
            ),
        )
        self.service_token = self.provider.service_token
        self._acknowledge_framework()

    def _framework_role(self, construct_id: str, purpose: str) -> iam.Role:
        role = iam.Role(
            self,
            construct_id,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"CDK provider framework of: {purpose}",
        )
        self.framework_log_group.grant_write(role)
        return role

    def _handler(
        self,
        construct_id: str,
        handler: str,
        purpose: str,
        environment: dict[str, str],
        timeout: Duration,
        log_retention_days: int,
        retain: bool,
    ) -> tuple[lambda_.Function, iam.Role, logs.LogGroup]:
        log_group = managed_log_group(self, f"{construct_id}Logs", retention_days=log_retention_days, retain=retain)
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{construct_id} handler of: {purpose}",
        )
        # Only its own log group: no AWSLambdaBasicExecutionRole, which would allow every log group.
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            construct_id,
            description=f"{construct_id} handler of: {purpose}"[:256],
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            code=bundled_handler_code(),
            handler=f"{HANDLER_PACKAGE}.{handler}",
            role=role,
            timeout=timeout,
            memory_size=256,
            environment=environment,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
        )
        return function, role, log_group

    def _acknowledge_framework(self) -> None:
        for role in (self.framework_on_event_role, self.framework_waiter_role):
            for handler in (self.on_event_function, self.is_complete_function):
                acknowledge(
                    role.node.find_child("DefaultPolicy"),
                    f"AwsSolutions-IAM5[Resource::{nag_arn_ref(handler)}:*]",
                    "CDK's provider framework lets each of its functions invoke our handlers and their versions "
                    "(ARN:*); the wildcard is the version qualifier of this one function.",
                )
        waiter = self.provider.node.find_child("waiter-state-machine")
        waiter_policy = waiter.node.find_child("Role").node.find_child("DefaultPolicy")
        for name in ("framework-isComplete", "framework-onTimeout"):
            acknowledge(
                waiter_policy,
                f"AwsSolutions-IAM5[Resource::{nag_arn_ref(self.provider.node.find_child(name))}:*]",
                "CDK's waiter state machine invokes the provider framework's function and its versions (ARN:*); "
                "the wildcard is the version qualifier of this one function.",
            )
        acknowledge(
            waiter_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "Step Functions' log delivery (logs:CreateLogDelivery and friends) supports no resource-level "
            "permissions; the state machine writes only to its own log group.",
        )
        acknowledge(
            waiter.node.find_child("Resource"),
            "AwsSolutions-SF2",
            "CDK's waiter state machine offers no tracing setting; it only polls is_complete, whose logs (with "
            "request ids) and the framework's cover what a trace would show.",
        )
