#!/usr/bin/env python3
"""Entry point of `cdk synth` / `cdk deploy`: read the config, build the stacks, attach cdk-nag."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from aws_cdk import App, Validations, cx_api
from cdk_nag import AwsSolutionsChecks

import aws_rules
from app_config import CONTEXT_KEYS, TEXT_KEYS, ConfigError, load_config
from stacks import GatewayApp, build


def create_app(context: dict[str, Any] | None = None) -> App:
    # CDK's built-in CloudFormation validator took 4 of the 5 seconds of a synth, for findings it only reports
    # as warnings. cfn-lint checks every synthesized template against the same schemas in `make test`, and
    # the config is validated before any resource exists. (context=None is no context, as if omitted.)
    app = App(context=context, builtin_cloud_formation_validation=False)
    build_stacks(app)
    return app


def synthesize(app: App) -> cx_api.CloudAssembly:
    """Synthesize, then refuse what AWS would refuse mid-deploy (aws_rules: quotas, ARN forms, permissions...)."""
    assembly = app.synth()
    aws_rules.enforce(assembly)
    return assembly


def build_stacks(app: App) -> GatewayApp:
    stacks = build(app, load_config(_context_of(app)))
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
