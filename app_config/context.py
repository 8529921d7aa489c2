"""The keys of cdk.json's context and of `-c` flags: the app's settings, what the CDK itself keeps there, and a
one-line refusal of anything else. Without it a misspelt key (`-c targetShard=2`) or a setting given where the app
does not read it (`-c policyMode=ENFORCE`, which leaves the gateway in the environment's mode) is ignored silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from difflib import get_close_matches

from app_config.errors import ConfigError
from app_config.model import AppSettings, EnvironmentSettings

# Settings a `-c key=value` flag may set over the chosen environment's block.
ENVIRONMENT_FLAGS = ("namePrefix", "region", "account")
# The top level of cdk.json's context (each may also be a -c flag).
APP_SETTINGS = tuple(field.alias or name for name, field in AppSettings.model_fields.items())
# Every context key the app reads, and those whose values are text as typed on a command line; the others are JSON
# there.
CONTEXT_KEYS = ("env", "environments", *ENVIRONMENT_FLAGS, *APP_SETTINGS)
TEXT_KEYS = ("env", *ENVIRONMENT_FLAGS, "targetsFile", "agentsFile", "runtimePlatformVersion")
# Settings only an environment's block holds: what makes prod prod (policy mode, retention, alarms) is reviewed in
# cdk.json, not given to one deploy by a flag.
ENVIRONMENT_SETTINGS = tuple(field.alias or name for name, field in EnvironmentSettings.model_fields.items())

# What the CDK keeps in the context, never the app's:
# - feature flags, of aws-cdk-lib (@aws-cdk/..., @aws-cdk-containers/...) and of any construct library (@<scope>/...);
# - what the CLI adds to each run (aws-cdk CLI 2.1148, as CDK_CONTEXT_JSON shows it to the app):
#   aws:cdk:enable-path-metadata, aws:cdk:enable-asset-metadata, aws:cdk:version-reporting or
#   aws:cdk:disable-version-reporting, aws:cdk:bundling-stacks;
# - what the CLI writes to cdk.json or cdk.context.json: `cdk acknowledge` (acknowledged-issue-numbers),
#   `cdk cli-telemetry` (cli-telemetry), and the cached answers of context lookups (<provider>:account=...:...).
CDK_KEY_PREFIXES = ("@", "aws:cdk:")
CDK_KEYS = frozenset(("acknowledged-issue-numbers", "cli-telemetry"))
_LOOKUP_KEY = re.compile(r"^[a-z0-9-]+:account=")

# The aws-cdk-lib feature flags this app sets to another value than the pinned version recommends (`cdk flags`
# lists them; tests/test_config.py holds cdk.json to every other recommendation), and why.
FLAGS_KEPT_OFF_RECOMMENDED = {
    "@aws-cdk/core:defaultCrossStackReferences": (
        "strong",
        "a reference across stacks stays an export, which CloudFormation refuses to delete while another stack "
        "imports it: a pool, gateway or policy engine cannot be removed from under a stack that uses it. The "
        "references that must let go when an agent is removed (its client id) are weak one by one "
        "(Fn::GetStackOutput, stacks/__init__.py).",
    ),
}


def is_cdk_key(key: str) -> bool:
    return key.startswith(CDK_KEY_PREFIXES) or key in CDK_KEYS or bool(_LOOKUP_KEY.match(key))


def check_keys(keys: Iterable[str], env_name: str) -> None:
    """Refuse a context key that is neither the app's nor the CDK's, saying where it belongs. Names the key only:
    its value may be anything, a secret included."""
    for key in keys:
        if key in CONTEXT_KEYS or is_cdk_key(key):
            continue
        respelt = _spelt_as(key, CONTEXT_KEYS)
        if respelt is not None:
            raise ConfigError.of_key(
                key, f"is not a setting of this app: did you mean {respelt}? (keys are case-sensitive)"
            )
        environment_setting = _spelt_as(key, ENVIRONMENT_SETTINGS)
        if environment_setting is not None:
            spelling = "" if environment_setting == key else f" (spelt {environment_setting})"
            raise ConfigError.of_key(
                key,
                f"is a setting of each environment{spelling}, not of the command line or the top of cdk.json's "
                f"context: set environments.{env_name}.{environment_setting} in cdk.json "
                f"(-c flags may set env, {', '.join(ENVIRONMENT_FLAGS)} and the top-level settings)",
            )
        close = get_close_matches(key, CONTEXT_KEYS, n=1)
        where = "is not a setting of this app (a -c flag or a key of cdk.json's context)"
        if close:
            raise ConfigError.of_key(key, f"{where}: did you mean {close[0]}?")
        raise ConfigError.of_key(
            key,
            f"{where}: its settings are env, {', '.join(ENVIRONMENT_FLAGS)}, {', '.join(APP_SETTINGS)}, and each "
            f"environment's under environments.{env_name} in cdk.json",
        )


def _spelt_as(key: str, names: Iterable[str]) -> str | None:
    """The name `key` is, but for letter case, hyphens or underscores (policymode, policy_mode -> policyMode)."""
    folded = key.replace("-", "").replace("_", "").lower()
    return next((name for name in names if name.lower() == folded), None)
