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


def context_through_the_app(**flags: Any) -> dict[str, Any]:
    """The context as app.py hands it to load_config, with `flags` as `-c` gives them (strings) or cdk.json holds them."""
    from aws_cdk import App

    from app import _context_of

    return _context_of(App(context={**load_context(), **flags}))


@pytest.mark.parametrize(
    ("flags", "key", "says"),
    [
        # A misspelt setting was ignored: four shards, whatever the flag said.
        (
            {"targetShard": "7"},
            "targetShard",
            "is not a setting of this app (a -c flag or a key of cdk.json's context): did you mean targetShards?",
        ),
        ({"nameprefix": "acme"}, "nameprefix", "did you mean namePrefix? (keys are case-sensitive)"),
        # Environment-only settings given as flags synthesized the environment's value (a LOG_ONLY gateway, deletable
        # data): refused, saying where they belong.
        ({"policyMode": "ENFORCE"}, "policyMode", "set environments.dev.policyMode in cdk.json"),
        ({"policymode": "ENFORCE"}, "policymode", "(spelt policyMode)"),
        ({"env": "prod", "retainData": "false"}, "retainData", "set environments.prod.retainData in cdk.json"),
        ({"alarmEmails": '["ops@example.com"]'}, "alarmEmails", "set environments.dev.alarmEmails in cdk.json"),
        ({"env": "qa", "logRetentionDays": "30"}, "logRetentionDays", "set environments.<env>.logRetentionDays"),
        (
            {"apiToken": "tok-9f8e7d6c5b4a"},
            "apiToken",
            "its settings are env, namePrefix, region, account, mcpProtocolVersions",
        ),
    ],
)
def test_unknown_and_misplaced_context_keys_are_refused_naming_the_key_and_where_it_belongs(
    flags: dict[str, str], key: str, says: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(context_through_the_app(**flags))
    message = str(raised.value)
    assert message.startswith(f"Invalid configuration {key}: ") and says in message and "\n" not in message
    assert flags[key] not in message  # an unknown key's value may be anything, a secret included


def test_an_unknown_key_in_an_environment_block_is_named_without_its_value() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(env_override(policymode="ENFORCE", apiSecret="s3cr3t-value"))
    assert (
        str(raised.value)
        == "Invalid configuration environments.dev.policymode: is not a setting of this block: did you mean policyMode?"
    )
    with pytest.raises(ConfigError) as raised:
        load_config(env_override(apiSecret="s3cr3t-value"))
    assert "environments.dev.apiSecret: is not a setting of this block" in str(raised.value)
    assert "s3cr3t" not in str(raised.value)


def test_the_cdk_s_own_context_keys_are_accepted() -> None:
    # What the CDK CLI adds to every synth (CDK_CONTEXT_JSON of aws-cdk 2.1148) or writes to cdk.json and
    # cdk.context.json, and any library's feature flags.
    cdk_keys = {
        "aws:cdk:enable-path-metadata": True,
        "aws:cdk:enable-asset-metadata": True,
        "aws:cdk:version-reporting": True,
        "aws:cdk:disable-version-reporting": True,
        "aws:cdk:bundling-stacks": ["**"],
        "@aws-cdk/core:failSynthOnValidationErrors": False,
        "@aws-cdk-containers/ecs-service-extensions:enableDefaultLogDriver": True,
        "cli-telemetry": False,
        "acknowledged-issue-numbers": [32775],
        "availability-zones:account=012345678901:region=us-east-1": ["us-east-1a", "us-east-1b"],
    }
    assert load_config(context_through_the_app(**cdk_keys)).env_name == "dev"


def test_every_recommended_feature_flag_is_adopted_or_kept_off_with_a_reason(dev) -> None:
    # The flags aws-cdk-lib reports (the manifest's feature-flag report, what `cdk flags` reads): each at its
    # recommended value (the CLI's "N feature flags are not configured"), unless app_config.context says why not.
    from app_config.context import FLAGS_KEPT_OFF_RECOMMENDED

    report = next(a for a in dev.manifest["artifacts"].values() if a["type"] == "cdk:feature-flag-report")
    flags = report["properties"]["flags"]
    context = load_context()
    for name, flag in flags.items():
        default = (flag.get("unconfiguredBehavesLike") or {}).get("v2", False)
        effective = context.get(name, default)
        if name in FLAGS_KEPT_OFF_RECOMMENDED:
            kept, reason = FLAGS_KEPT_OFF_RECOMMENDED[name]
            assert effective == kept != flag["recommendedValue"] and len(reason) > 40, name
        elif "recommendedValue" in flag:
            assert effective == flag["recommendedValue"], (
                f"{name}: {effective!r}, recommended {flag['recommendedValue']!r}"
            )
    # And no flag that does not exist (a misspelt flag is ignored, as an unknown key was).
    assert not [key for key in context if key.startswith("@aws-cdk") and key not in flags]
