"""Shared fixtures: each synthesized app is built once per test process and read by every test."""

from __future__ import annotations

import pytest

from tests.cdk_helpers import Assembly, load_context

# The faked deployment's fixtures (gateway_server, aws_world, deployed) for the smoke's and the demo's tests.
pytest_plugins = ["tests.fake_deployment"]


def synthesize(**context_overrides) -> Assembly:
    from app import create_app
    from app import synthesize as synth

    return Assembly.from_cdk_assembly(synth(create_app(load_context(**context_overrides))))


@pytest.fixture(scope="session")
def dev() -> Assembly:
    return synthesize(env="dev")


@pytest.fixture(scope="session")
def prod() -> Assembly:
    return synthesize(env="prod")


@pytest.fixture(scope="session")
def example_three_targets() -> Assembly:
    """One hosted and two existing servers (config/examples/three-targets.yaml)."""
    return synthesize(env="dev", targetsFile="config/examples/three-targets.yaml")
