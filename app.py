#!/usr/bin/env python3
"""Entry point of `cdk synth` / `cdk deploy`: read the config, build the stacks, attach cdk-nag."""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import types
from collections.abc import Mapping
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


def _skip_pydantic_plugin_discovery() -> None:
    """pydantic looks for plugins in the entry points of every installed distribution, importing importlib.metadata
    (and email with it) to do so: a twentieth of a second of every synth, for a config model that uses none.

    PYDANTIC_DISABLE_PLUGINS=__all__ is pydantic's documented switch (set here unless given), yet pydantic imports
    its plugin loader, and importlib.metadata with it, before it reads the switch; with the switch on, the loader is
    one that finds no plugin. PYDANTIC_DISABLE_PLUGINS= (empty) keeps pydantic's own. Must run before pydantic is
    imported.
    """
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if os.environ["PYDANTIC_DISABLE_PLUGINS"] != "__all__" or "pydantic.plugin._loader" in sys.modules:
        return
    loader = types.ModuleType("pydantic.plugin._loader", "No pydantic plugins (app.py: PYDANTIC_DISABLE_PLUGINS)")
    loader.get_plugins = lambda: ()  # type: ignore[attr-defined]
    sys.modules[loader.__name__] = loader


class _ImportInTheBackground(threading.Thread):
    """Import a module on another thread, its failure raised where `done()` is called.

    The jsii runtime (node) loads aws-cdk-lib and then cdk-nag (which requires most of aws-cdk-lib's modules) while
    Python imports, on the main thread, what makes no call into the runtime (the config model, aws_rules, the
    generated aws_cdk modules): on two cores, a fifth of a synth overlapped. The runtime serves one request at a
    time, so nothing else may call into it until `done()`.
    """

    def __init__(self, module: str) -> None:
        super().__init__(name=f"import {module}", daemon=True)
        self.module = module
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            importlib.import_module(self.module)
        except BaseException as error:  # raised again on the main thread by done()
            self.error = error

    def done(self) -> None:
        self.join()
        if self.error is not None:
            raise self.error


_skip_jsii_runtime_type_checks()
_skip_pydantic_plugin_discovery()
_cdk_nag = _ImportInTheBackground("cdk_nag")  # imports aws_cdk first: after the switches above

import aws_rules  # noqa: E402
from app_config import CONTEXT_KEYS, TEXT_KEYS, ConfigError, load_config  # noqa: E402
from app_config.tool_locks import unpinned_note  # noqa: E402

# Pure Python (no call into the runtime): each waits for aws_cdk, then runs beside the runtime's loading of cdk-nag.
for _module in ("aws_ec2", "aws_lambda", "aws_bedrockagentcore", "aws_cognito", "aws_cloudwatch", "aws_sns"):
    importlib.import_module(f"aws_cdk.{_module}")
_cdk_nag.done()

from aws_cdk import App, Validations, cx_api  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from stacks import GatewayApp, build  # noqa: E402
from tools import replacement_guard  # noqa: E402


def create_app(context: dict[str, Any] | None = None) -> App:
    # CDK's built-in CloudFormation validator took 4 of the 5 seconds of a synth, for findings it only reports
    # as warnings. cfn-lint checks every synthesized template against the same schemas in `make test`, and
    # the config is validated before any resource exists. (context=None is no context, as if omitted.)
    app = App(context=context, builtin_cloud_formation_validation=False)
    build_stacks(app)
    return app


def synthesize(app: App, *, recorded: Mapping[str, Mapping[str, Any]] | None = None) -> cx_api.CloudAssembly:
    """Synthesize, then refuse what AWS would refuse mid-deploy (aws_rules: quotas, ARN forms, permissions..., and
    what create fixed on the resources the replacement guard records). `recorded`: the record to hold the assembly
    to, the committed one when None (`replacement_guard --update` passes an empty one: accepting is its purpose)."""
    assembly = app.synth()
    aws_rules.enforce(assembly, recorded=replacement_guard.recorded() if recorded is None else recorded)
    return assembly


def build_stacks(app: App) -> GatewayApp:
    config = load_config(_context_of(app))
    for entry, lock in config.unpinned.items():
        print(unpinned_note(entry, lock), file=sys.stderr)
    for note in config.notes:
        print(note, file=sys.stderr)
    stacks = build(app, config)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks


def _context_of(app: App) -> dict[str, Any]:
    """Every context key (load_config refuses those neither the app's nor the CDK's), the app's decoded."""
    context = {}
    for key, value in app.node.get_all_context().items():
        # `-c key=value` always arrives as a string; text settings stay as typed (an account id such as
        # 012345678901 is not a number), the others are JSON (structures, numbers, booleans).
        if key in CONTEXT_KEYS and key not in TEXT_KEYS and isinstance(value, str):
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
