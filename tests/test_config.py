"""Config validation: every bad value fails before any resource is declared, naming the key, the value and the rule."""

from __future__ import annotations

from typing import Any

import pytest

from app_config import ConfigError, load_config
from tests.cdk_helpers import load_context, shipped_context


def env_override(env_name: str = "dev", **settings) -> dict[str, Any]:
    context = load_context()
    context["environments"] = {**context["environments"]}
    context["environments"][env_name] = {**context["environments"][env_name], **settings}
    return context


@pytest.mark.parametrize("env_name", ["dev", "prod"])
def test_the_shipped_config_loads(env_name: str) -> None:
    # What holds of any valid config/: it loads in both environments (the rest is its synth: cdk-nag, aws_rules,
    # cfn-lint and the snapshots). Its entries and agents are the teams' to change: no test pins them.
    config = load_config(shipped_context(env=env_name))
    assert config.targets and config.env_name == env_name


def test_defaults_load() -> None:
    config = load_config(load_context())
    assert (config.env_name, config.names.prefix, config.region, config.account) == ("dev", "mcpgw", "us-east-1", None)
    assert config.names.gateway == "mcpgw-dev-gateway"
    assert config.names.runtime("orders") == "mcpgw_dev_orders"
    assert [t.name for t in config.targets] == ["orders"] and config.shards == 4
    assert config.tags["environment"] == "dev" and config.tags["project"] == "agentcore-mcp-gateway"


def test_flags_override_the_environment_block() -> None:
    config = load_config(load_context(env="prod", region="eu-west-1", account="123456789012", namePrefix="acme"))
    assert (config.env_name, config.region, config.account, config.names.prefix) == (
        "prod",
        "eu-west-1",
        "123456789012",
        "acme",
    )
    assert config.retain_data is True


@pytest.mark.parametrize(
    ("context", "key", "value", "rule"),
    [
        (load_context(env="staging"), "env", "staging", "must be one of the environments in cdk.json: dev, prod"),
        (load_context(namePrefix="Bad_Prefix"), "namePrefix", "Bad_Prefix", "lowercase letters or digits"),
        (load_context(namePrefix="a" * 21), "namePrefix", "a" * 21, "1-20"),
        (load_context(namePrefix="-lead"), "namePrefix", "-lead", "starting with a letter"),
        # With a hyphen, mcpgw-dev + x would share the names mcpgw + dev's grants match by their start.
        (load_context(namePrefix="mcpgw-dev"), "namePrefix", "mcpgw-dev", "without hyphens"),
        (load_context(namePrefix="myaws"), "namePrefix", "myaws", "must not contain 'aws'"),
        (load_context(namePrefix="cognitoteam"), "namePrefix", "cognitoteam", "must not contain 'cognito'"),
        (load_context(region="us-east"), "region", "us-east", "AWS region code"),
        (load_context(region="US-EAST-1"), "region", "US-EAST-1", "AWS region code"),
        (load_context(account="12345"), "account", "12345", "12-digit"),
        (
            load_context(mcpProtocolVersions=["2024-11-05"]),
            "mcpProtocolVersions",
            "2024-11-05",
            "2025-03-26, 2025-06-18",
        ),
        (load_context(mcpProtocolVersions=[]), "mcpProtocolVersions", [], "non-empty list"),
        (load_context(targetShards=0), "targetShards", 0, "from 1 to 20"),
        (load_context(gatewaySessionTimeoutSeconds=600), "gatewaySessionTimeoutSeconds", 600, "from 900 to 28800"),
        (
            load_context(gatewaySessionTimeoutSeconds=900, runtimeIdleTimeoutSeconds=1200),
            "runtimeIdleTimeoutSeconds",
            1200,
            "from 60 to gatewaySessionTimeoutSeconds (900)",
        ),
        (load_context(runtimeIdleTimeoutSeconds=30), "runtimeIdleTimeoutSeconds", 30, "from 60"),
        (load_context(runtimePlatformVersion="V3"), "runtimePlatformVersion", "V3", "must be one of V1, V2"),
        (load_context(maxTargetsPerGateway="many"), "maxTargetsPerGateway", "many", "positive integer"),
        (env_override(retainData="yes"), "environments.dev.retainData", "yes", "true or false"),
        (env_override(logRetentionDays=10), "environments.dev.logRetentionDays", 10, "retention period"),
        (
            env_override(tags={"aws:owner": "x", "owner": "o", "cost-centre": "c"}),
            "environments.dev.tags.aws:owner",
            "x",
            "must not start with 'aws:'",
        ),
        (env_override(namePrefix=None), "environments.dev.namePrefix", None, "is required"),
        (env_override(alarmEmails=["ops"]), "environments.dev.alarmEmails", "ops", "email address"),
        (env_override(alarmEmails="ops@example.com"), "environments.dev.alarmEmails", "ops@example.com", "list"),
        (env_override(alarmSystemErrors=0), "environments.dev.alarmSystemErrors", 0, "from 1 to 100000"),
        (env_override(alarmLatencyP99Ms=2.5), "environments.dev.alarmLatencyP99Ms", 2.5, "whole milliseconds"),
        (
            load_context(transactionSearchIndexingPercentage=101),
            "transactionSearchIndexingPercentage",
            101,
            "from 0 to 100",
        ),
        (load_context(transactionSearch="on"), "transactionSearch", "on", "true or false"),
        (env_override(tags={"owner": "team"}), "environments.dev.tags.cost-centre", None, "is required"),
    ],
)
def test_bad_values_fail_with_a_message_naming_key_value_and_rule(
    context: dict[str, Any], key: str, value, rule: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(context)
    error = raised.value
    assert (error.key, error.value) == (key, value)
    assert rule in error.rule
    assert str(error).startswith(f"Invalid configuration {key}={value!r}: ")


def test_unknown_environment_fails_before_any_stack_exists() -> None:
    from aws_cdk import App

    from app import build_stacks

    app = App(context=load_context(env="qa"))
    with pytest.raises(ConfigError, match="env='qa'"):
        build_stacks(app)
    assert app.node.children == []


def test_derived_names_respect_the_service_rules() -> None:
    # The longest prefix and environment name still give valid gateway, runtime and stack names.
    context = env_override(namePrefix="p" * 20)
    context["environments"]["longname"] = context["environments"].pop("dev")
    config = load_config({**context, "env": "longname"})
    assert len(config.names.gateway) <= 48 and len(config.names.runtime("orders")) <= 48


def test_every_accepted_retention_reaches_the_template_as_that_many_days() -> None:
    # app_config.rules holds CloudWatch Logs' periods (the smoke imports it without aws_cdk); log_groups maps them.
    from aws_cdk import App, Stack

    from app_config.rules import LOG_RETENTION_PERIODS
    from constructs.log_groups import managed_log_group

    app = App()
    stack = Stack(app, "Retention")
    for days in LOG_RETENTION_PERIODS:
        managed_log_group(stack, f"Group{days}", log_retention_days=days, retain_data=False)
    template = app.synth().get_stack_by_name("Retention").template
    assert sorted(r["Properties"]["RetentionInDays"] for r in template["Resources"].values()) == sorted(
        LOG_RETENTION_PERIODS
    )
    with pytest.raises(ValueError, match="10 days is not a CloudWatch Logs retention period"):
        managed_log_group(stack, "Bad", log_retention_days=10, retain_data=False)


def test_command_line_flags_keep_account_ids_as_strings() -> None:
    # `cdk synth -c account=012345678901 -c targetShards=4` hands the app strings. An account id is 12 digits
    # that may start with 0: parsed as JSON it was "not valid JSON" (leading zero), or would lose the zero.
    from aws_cdk import App

    from app import _context_of

    flags = {"account": "012345678901", "targetShards": "4", "mcpProtocolVersions": '["2025-06-18"]'}
    context = _context_of(App(context={**load_context(), **flags}))
    config = load_config(context)
    assert config.account == "012345678901"
    assert config.shards == 4 and config.settings.mcp_protocol_versions == ["2025-06-18"]
