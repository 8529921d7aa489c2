#!/usr/bin/env python3
"""Entry point of `cdk synth` / `cdk deploy`: read the config, build the stacks, attach cdk-nag."""

from __future__ import annotations

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from app_config import load_config
from stacks import build


def create_app(context: dict | None = None) -> App:
    app = App(context=context) if context is not None else App()
    config = load_config(_context_of(app))
    build(app, config)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def _context_of(app: App) -> dict:
    keys = ("env", "environments", "namePrefix", "region", "account", "mcpProtocolVersions", "targetName")
    return {key: app.node.try_get_context(key) for key in keys if app.node.try_get_context(key) is not None}


if __name__ == "__main__":
    create_app().synth()
