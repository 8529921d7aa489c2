#!/usr/bin/env python3
"""Entry point of `cdk synth` / `cdk deploy`: read the config, build the stacks, attach cdk-nag."""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _skip_jsii_runtime_type_checks() -> None:
    """What `python -O` does to jsii (its documented switch): no runtime type check of each call into aws-cdk-lib.

    The checks resolve every stub's annotations (importing the modules they name) on every synth: an eighth of a
    second of each `cdk synth`, for types `mypy --strict` checks statically in `make lint`. `cdk.json` cannot pass
    -O (with bytecode writing off, -O recompiles aws-cdk-lib on every run). JSII_RUNTIME_TYPE_CHECKS=1 keeps them.
    Must run before aws_cdk is imported: the generated modules bind check_type when they load.
    """
    if os.environ.get("JSII_RUNTIME_TYPE_CHECKS") == "1":
        return
    try:
        import jsii._type_checking as checks
    except ImportError:  # a jsii without the module: nothing to skip
        return

    class NoHints(dict[str, Any]):
        def __missing__(self, key: str) -> None:
            return None

    checks.check_type = lambda argname, value, expected_type: None
    checks.cached_type_hints = lambda stub: NoHints()


_skip_jsii_runtime_type_checks()

from aws_cdk import App, Validations, cx_api  # noqa: E402 (after the switch above)
from cdk_nag import AwsSolutionsChecks  # noqa: E402

import aws_rules  # noqa: E402
from app_config import CONTEXT_KEYS, TEXT_KEYS, ConfigError, load_config  # noqa: E402
from app_config.tool_locks import unpinned_note  # noqa: E402
from stacks import GatewayApp, build  # noqa: E402
from tools import replacement_guard  # noqa: E402


def create_app(context: dict[str, Any] | None = None) -> App:
    # CDK's built-in CloudFormation validator took 4 of the 5 seconds of a synth, for findings it only reports
    # as warnings. cfn-lint checks every synthesized template against the same schemas in `make test`, and
    # the config is validated before any resource exists. (context=None is no context, as if omitted.)
    app = App(context=context, builtin_cloud_formation_validation=False)
    build_stacks(app)
    return app


def synthesize(app: App) -> cx_api.CloudAssembly:
    """Synthesize, then refuse what AWS would refuse mid-deploy (aws_rules: quotas, ARN forms, permissions..., and
    what create fixed on the resources the replacement guard records)."""
    assembly = app.synth()
    aws_rules.enforce(assembly, recorded=replacement_guard.recorded())
    return assembly


def build_stacks(app: App) -> GatewayApp:
    config = load_config(_context_of(app))
    for entry, lock in config.unpinned.items():
        print(unpinned_note(entry, lock), file=sys.stderr)
    stacks = build(app, config)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks


def _context_of(app: App) -> dict[str, Any]:
    context = {}
    for key in CONTEXT_KEYS:
        value = app.node.try_get_context(key)
        # `-c key=value` always arrives as a string; text settings stay as typed (an account id such as
        # 012345678901 is not a number), the others are JSON (structures, numbers, booleans).
        if key not in TEXT_KEYS and isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as error:
                raise ConfigError(key, value, f"is not valid JSON ({error.msg})") from None
        if value is not None:
            context[key] = value
    return context


def main() -> None:
    try:
        synthesize(create_app())
    except (ConfigError, aws_rules.RulesError) as error:
        # A configuration mistake is the user's to fix: say what and where, without a stack trace.
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    # The cloud assembly is written. Finalizing the interpreter (tearing down the jsii-generated aws_cdk modules)
    # would add a fifth of a second to every cdk command, for nothing: flush, then leave at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
