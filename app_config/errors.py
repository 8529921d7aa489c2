"""A configuration value the app refuses, said in one line: the key (or entry and field), the value and the rule."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from app_config.model import ENTRY_KINDS

# Messages for pydantic's own error types, in the words the rest of the config uses.
_TYPE_RULES = {
    "bool_type": "must be true or false",
    "int_type": "must be an integer",
    "string_type": "must be a string",
    "dict_type": "must be a map",
    "list_type": "must be a list",
    "model_type": "must be a map",
}


class ConfigError(ValueError):
    """A configuration value the app refuses; the message names the key, the value and the rule."""

    def __init__(self, key: str, value: Any, rule: str) -> None:
        super().__init__(f"Invalid configuration {key}={value!r}: {rule}")
        self.key = key
        self.value = value
        self.rule = rule

    @classmethod
    def of_key(cls, key: str, rule: str) -> ConfigError:
        """The key and the rule, not the value: for a key the app does not know, whose value may be anything."""
        error = cls(key, None, rule)
        error.args = (f"Invalid configuration {key}: {rule}",)
        return error


class TargetsError(ValueError):
    """A targets file the app refuses; the message names the entry and the field (the caller names the file)."""


# The keys under which an entry names credentials (Secrets Manager secrets): a value written there by mistake may be
# the credential itself.
CREDENTIAL_KEYS = frozenset(("apiKey", "oauth", "secretName", "clientSecretName", "jsonKey", "prefix", "clientSecret"))


def rule_of(error: ErrorDetails) -> str:
    if error["type"] == "rule":
        return str((error.get("ctx") or {}).get("rule", error["msg"]))
    if error["type"] == "too_short":
        return f"must list at least {(error.get('ctx') or {}).get('min_length', 1)}"
    return _TYPE_RULES.get(error["type"], error["msg"])


def _without_union_tags(loc: tuple[Any, ...]) -> list[Any]:
    # A discriminated union adds the chosen tag to the location: targets.0.hosted.name -> targets[0].name.
    return [
        part
        for index, part in enumerate(loc)
        if not (index and isinstance(loc[index - 1], int) and isinstance(part, str) and part in ENTRY_KINDS)
    ]


def entry_path(parts: list[Any]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")


def explain_entries(error: ValidationError) -> str:
    """The first problem of an entries file (targets, agents), as `targets[1].oauth: 'clientSecretName' is a required property`."""
    first = error.errors()[0]
    parts = _without_union_tags(tuple(first["loc"]))
    kind = first["type"]
    if kind in ("missing", "extra_forbidden"):
        parent, field = entry_path(parts[:-1]) or "file", parts[-1]
        if kind == "missing":
            hint = (
                " (the name of the Secrets Manager secret that holds it: the secret itself never goes in this file)"
                if field in ("secretName", "clientSecretName")
                else ""
            )
            return f"{parent}: '{field}' is a required property{hint}"
        return f"{parent}: Additional properties are not allowed ('{field}' was unexpected)"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        kinds = ", ".join(repr(kind) for kind in ENTRY_KINDS)
        return f"{entry_path(parts) or 'entry'}: 'kind' must be one of {kinds}"
    keys = [part for part in parts if isinstance(part, str)]
    if (first.get("ctx") or {}).get("conceal") or (keys and keys[-1] in CREDENTIAL_KEYS):
        # A wrong value of a key that names a credential (or of its block) may be the credential itself: never shown.
        return f"{entry_path(parts)}: {rule_of(first)}"
    return f"{entry_path(parts)}: {first['input']!r} is invalid: {rule_of(first)}"


def first_setting_error(error: ValidationError) -> tuple[list[Any], Any, str]:
    """(location without list indices, value, rule) of the first problem of a settings model."""
    first = error.errors()[0]
    location = [part for part in first["loc"] if not isinstance(part, int)]
    value = None if first["type"] == "missing" else first["input"]
    rule = "is required" if first["type"] == "missing" else rule_of(first)
    if first["type"] == "too_short":
        rule = "must be a non-empty list"
    return location, value, rule
