"""Names the app derives (joined from config, account ids and other names) against the services' name rules."""

from __future__ import annotations

import re
from typing import Iterator

from aws_rules import Rule, Violation
from aws_rules.model import Assembly
from aws_rules.schemas import property_schema, resource_schema

SCHEMA_PATTERN = Rule(
    "name-schema-rule",
    "a name or identifier within the character set and length its CloudFormation registry schema gives",
    "CloudFormation registry schemas (cfn-lint's data/schemas), evaluated with a 12-digit account and the "
    "longest region, where cfn-lint only checks literal values",
)
COGNITO_DOMAIN = Rule(
    "cognito-domain-prefix",
    "a Cognito domain prefix has 1-63 lowercase letters, digits and hyphens, and contains neither 'aws', "
    "'amazon' nor 'cognito'",
    "https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-assign-domain-prefix.html",
)

# Cognito refuses domain prefixes containing these words.
COGNITO_RESERVED_WORDS = ("aws", "amazon", "cognito")

POLICY_NAME_RULE = (
    re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$"),
    "a letter, then letters, digits or underscores, at most 48 characters",
)

# The name rules of what the app names, as the services state them (the registry schemas' patterns, matched whole,
# and lengths; tests/test_aws_rules.py checks each against its schema). app_config checks every derived name with
# these before any resource exists; check_schema_names checks the synthesized templates again.
SERVICE_NAME_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    # Lowercase on purpose, stricter than the schema: the service lowercases gateway names and the L2's grants
    # assume the given case (aws/aws-cdk#38869).
    "gateway": (
        re.compile(r"^([0-9a-z][-]?){1,48}$"),
        "lowercase letters, digits and single hyphens, at most 48 characters",
    ),
    "runtime": (
        re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,47}$"),
        "a letter, then letters, digits or underscores, at most 48 characters",
    ),
    "target": (re.compile(r"^([0-9a-zA-Z][-]?){1,100}$"), "letters, digits and single hyphens, at most 100 characters"),
    "credential provider": (
        re.compile(r"^[a-zA-Z0-9\-_]{1,128}$"),
        "letters, digits, hyphens and underscores, at most 128 characters",
    ),
    # CloudFormation's stack name rule (not a resource schema: the CreateStack API's).
    "stack": (
        re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$"),
        "a letter, then letters, digits or hyphens, at most 128 characters",
    ),
    # The policy engine's and its policies' names follow the same schema rule.
    "policy engine": POLICY_NAME_RULE,
    "policy": POLICY_NAME_RULE,
    "cognito domain": (
        re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"),
        "lowercase letters, digits and hyphens, at most 63 characters (with the 12-digit account id)",
    ),
}
# Where each rule comes from in the registry schemas, for the test that keeps them in step.
SERVICE_NAME_SCHEMAS = {
    "gateway": ("AWS::BedrockAgentCore::Gateway", "Name"),
    "runtime": ("AWS::BedrockAgentCore::Runtime", "AgentRuntimeName"),
    "target": ("AWS::BedrockAgentCore::GatewayTarget", "Name"),
    "credential provider": ("AWS::BedrockAgentCore::OAuth2CredentialProvider", "Name"),
    "policy engine": ("AWS::BedrockAgentCore::PolicyEngine", "Name"),
    "policy": ("AWS::BedrockAgentCore::Policy", "Name"),
    "cognito domain": ("AWS::Cognito::UserPoolDomain", "Domain"),
}
COGNITO_DOMAIN_PATTERN = SERVICE_NAME_RULES["cognito domain"][0]


def cognito_domain_problem(domain: str) -> str | None:
    """Why Cognito would refuse `domain` as a prefix, or None."""
    if not COGNITO_DOMAIN_PATTERN.match(domain):
        return "must be 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit"
    for word in COGNITO_RESERVED_WORDS:
        if word in domain:
            return f"contains '{word}', which Cognito rejects"
    return None


# Properties that name or identify the resource, besides the ones called *Name.
NAME_LIKE = ("Domain", "Identifier")


def _string_rules(resource_type: str, name: str) -> tuple[re.Pattern[str] | None, int | None, int | None]:
    prop = property_schema(resource_type, name)
    if prop.get("type") not in ("string", None) or not ({"pattern", "maxLength", "minLength"} & set(prop)):
        return None, None, None
    try:
        # Matched whole: the services apply their name patterns to the full name (the runtime schema's
        # [a-zA-Z][a-zA-Z0-9_]{0,47} is unanchored, yet a 49-character name is refused).
        pattern = re.compile(prop["pattern"]) if "pattern" in prop else None
    except re.error:  # an ECMA-only construct; the lengths still apply
        pattern = None
    return pattern, prop.get("maxLength"), prop.get("minLength")


def check_schema_names(model: Assembly) -> Iterator[Violation]:
    for resource in model.resources():
        if not resource_schema(resource.type):
            continue
        for name, value in resource.properties.items():
            if not (name.endswith("Name") or name in NAME_LIKE):
                continue  # other patterns (message templates and the like) test for a substring, not a name
            pattern, longest, shortest = _string_rules(resource.type, name)
            if pattern is None and longest is None and shortest is None:
                continue
            evaluated = model.evaluate(resource.stack, value)
            if not isinstance(evaluated, str) or evaluated.startswith("{{resolve:"):
                continue
            if longest is not None and len(evaluated) > longest:
                yield Violation(
                    SCHEMA_PATTERN,
                    str(resource),
                    f"{name} {evaluated!r} has {len(evaluated)} characters, over {longest}",
                )
            elif shortest is not None and len(evaluated) < shortest:
                yield Violation(SCHEMA_PATTERN, str(resource), f"{name} {evaluated!r} is under {shortest} characters")
            elif pattern is not None and not pattern.fullmatch(evaluated):
                yield Violation(SCHEMA_PATTERN, str(resource), f"{name} {evaluated!r} does not match {pattern.pattern}")


def check_cognito_domains(model: Assembly) -> Iterator[Violation]:
    for resource in model.resources("AWS::Cognito::UserPoolDomain"):
        if resource.properties.get("CustomDomainConfig"):
            continue
        domain = str(model.evaluate(resource.stack, resource.properties.get("Domain", "")))
        problem = cognito_domain_problem(domain)
        if problem:
            yield Violation(COGNITO_DOMAIN, str(resource), f"Domain {domain!r} {problem}")


CHECKS = [check_schema_names, check_cognito_domains]
