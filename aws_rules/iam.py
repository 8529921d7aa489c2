"""IAM: quotas on each role's policies, CloudWatch Logs' ARN forms, and what a gateway's role needs per target."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Iterator

from aws_rules import Rule, Violation
from aws_rules.model import PARTITION, REGION, Assembly, ResourceRef

IAM_QUOTAS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"

INLINE_SIZE = Rule(
    "iam-inline-policy-size",
    "a role's inline policies together hold at most 10,240 characters, whitespace not counted",
    IAM_QUOTAS + " (Role policy size)",
)
MANAGED_SIZE = Rule(
    "iam-managed-policy-size",
    "a customer managed policy holds at most 6,144 characters, whitespace not counted",
    IAM_QUOTAS + " (Managed policy size)",
)
MANAGED_COUNT = Rule(
    "iam-managed-policies-per-role",
    "a role has at most 10 managed policies attached (adjustable to 20)",
    IAM_QUOTAS + " (Managed policies attached to an IAM role)",
)
TRUST_SIZE = Rule(
    "iam-trust-policy-size",
    "a role's trust policy holds at most 2,048 characters (adjustable to 4,096)",
    IAM_QUOTAS + " (Role trust policy length)",
)
LOGS_ARN = Rule(
    "logs-log-group-arn-form",
    "CloudWatch Logs authorizes log-group actions against arn:...:log-group:NAME:*, "
    "and only the tagging actions against the bare arn:...:log-group:NAME",
    "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_LogGroup.html (arn, logGroupArn); "
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html",
)
GATEWAY_OAUTH = Rule(
    "gateway-outbound-oauth-permissions",
    "a gateway's service role must get a workload access token, the provider's OAuth2 token and the provider's "
    "secret for every target with OAuth credentials",
    "https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/gateway-prerequisites-permissions.html; "
    "aws-cdk-lib 2.275 aws-bedrockagentcore/lib/gateway/outbound-auth/oauth.js (grantNeededPermissionsToRole)",
)
POLICY_ENGINE = Rule(
    "gateway-policy-engine-permissions",
    "a gateway with a policy engine needs, on its service role, bedrock-agentcore:GetPolicyEngine on the engine, and "
    "AuthorizeAction and PartiallyAuthorizeActions on the engine and the gateway (else attaching fails and every "
    "tool call is denied), granted from a stack deployed before the gateway's: IAM is eventually consistent, and a "
    "grant created seconds before the gateway is not yet seen (InternalServerException)",
    "https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/policy-permissions.html; "
    "aws-cdk-lib 2.275 aws-bedrockagentcore PolicyEngine.grantEvaluateForGateway; "
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency",
)

INLINE_LIMIT, MANAGED_LIMIT, MANAGED_COUNT_LIMIT, TRUST_LIMIT = 10_240, 6_144, 10, 2_048
# CloudWatch Logs' tagging actions, the only ones authorized on the bare log-group ARN. (The deprecated
# TagLogGroup/UntagLogGroup/ListTagsLogGroup are not among them: they take the :* form like the rest.)
LOGS_TAGGING_ACTIONS = frozenset(("logs:tagresource", "logs:untagresource", "logs:listtagsforresource"))


def policy_size(document: Any, region: str = REGION) -> int:
    """Characters IAM counts (the JSON without whitespace outside strings), with the longest region name in
    place of the stack's and the longest partition in its ARNs: the same templates may be deployed to any region."""
    text = json.dumps(document, separators=(",", ":")).replace(region, REGION)
    return len(text.replace('"arn:aws:', f'"arn:{PARTITION}:'))


@dataclass(frozen=True)
class AttachedPolicy:
    name: str
    kind: str  # inline | managed | aws-managed
    document: Any  # evaluated, or None for an AWS managed policy
    declared_by: ResourceRef


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_of(model: Assembly, stack: str, expr: Any) -> ResourceRef | None:
    target = model.target(stack, expr)
    if target is not None:
        return target
    if isinstance(expr, str):  # a role named literally
        for role in model.resources("AWS::IAM::Role"):
            if role.properties.get("RoleName") == expr:
                return role
    return None


def _policy_name(model: Assembly, policy: ResourceRef) -> str:
    name = policy.properties.get("PolicyName") or policy.properties.get("ManagedPolicyName")
    return str(model.evaluate(policy.stack, name)) if name is not None else f"{policy.stack}/{policy.logical_id}"


@lru_cache(maxsize=8)
def _attachments(model: Assembly) -> dict[tuple[str, str], list[AttachedPolicy]]:
    found: dict[tuple[str, str], list[AttachedPolicy]] = {}
    for role in model.resources("AWS::IAM::Role"):
        attached = found.setdefault((role.stack, role.logical_id), [])
        for policy in role.properties.get("Policies", []):
            attached.append(
                AttachedPolicy(
                    str(policy.get("PolicyName")), "inline", model.evaluate(role.stack, policy["PolicyDocument"]), role
                )
            )
        for managed in _as_list(role.properties.get("ManagedPolicyArns", [])):
            target = model.target(role.stack, managed)
            if target is None:
                attached.append(AttachedPolicy(str(model.evaluate(role.stack, managed)), "aws-managed", None, role))
    for policy in model.resources("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
        kind = "managed" if policy.type == "AWS::IAM::ManagedPolicy" else "inline"
        roles = _as_list(policy.properties.get("Roles", [])) + (
            [policy.properties["RoleName"]] if "RoleName" in policy.properties else []
        )
        document = model.evaluate(policy.stack, policy.properties["PolicyDocument"])
        for expr in roles:
            attached_to = _role_of(model, policy.stack, expr)
            if attached_to is not None:
                found.setdefault((attached_to.stack, attached_to.logical_id), []).append(
                    AttachedPolicy(_policy_name(model, policy), kind, document, policy)
                )
    return found


def role_policies(model: Assembly, role: ResourceRef) -> list[AttachedPolicy]:
    return _attachments(model).get((role.stack, role.logical_id), [])


def check_quotas(model: Assembly) -> Iterator[Violation]:
    for role in model.resources("AWS::IAM::Role"):
        attached = role_policies(model, role)
        inline = [p for p in attached if p.kind == "inline"]
        sizes = {p.name: policy_size(p.document, model.regions[p.declared_by.stack]) for p in inline}
        total = sum(sizes.values())
        if total > INLINE_LIMIT:
            listed = ", ".join(f"{name} {size}" for name, size in sizes.items())
            yield Violation(INLINE_SIZE, str(role), f"{len(inline)} inline policies, {total} characters ({listed})")
        managed = [p for p in attached if p.kind in ("managed", "aws-managed")]
        if len(managed) > MANAGED_COUNT_LIMIT:
            listed = ", ".join(p.name for p in managed)
            yield Violation(MANAGED_COUNT, str(role), f"{len(managed)} managed policies attached ({listed})")
        document = model.evaluate(role.stack, role.properties.get("AssumeRolePolicyDocument", {}))
        trust = policy_size(document, model.regions[role.stack])
        if trust > TRUST_LIMIT:
            yield Violation(TRUST_SIZE, str(role), f"trust policy of {trust} characters")
    for policy in model.resources("AWS::IAM::ManagedPolicy"):
        document = model.evaluate(policy.stack, policy.properties["PolicyDocument"])
        size = policy_size(document, model.regions[policy.stack])
        if size > MANAGED_LIMIT:
            yield Violation(MANAGED_SIZE, str(policy), f"{size} characters")


@lru_cache(maxsize=4096)
def _pattern(value: str, *, case_sensitive: bool) -> re.Pattern[str]:
    # IAM wildcards: * any run of characters (including : and /), ? one character.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value)
    return re.compile(f"^{regex}$", 0 if case_sensitive else re.IGNORECASE)


def matches(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    return bool(_pattern(pattern, case_sensitive=case_sensitive).match(value))


def statements(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        return []
    return [s for s in _as_list(document.get("Statement", [])) if isinstance(s, dict)]


# Conditions these rules can check (handlers.py checks that the resource carries the tag); a statement with any
# other condition, or with NotAction/NotResource, is not taken as granting anything: offline, the rules cannot
# tell whether it would.
VERIFIED_CONDITIONS = ("StringEquals:aws:ResourceTag/",)


def _unverifiable(statement: dict[str, Any]) -> bool:
    if "NotAction" in statement or "NotResource" in statement:
        return True
    for operator, pairs in dict(statement.get("Condition", {})).items():
        for key in dict(pairs):
            if not any(f"{operator}:{key}".startswith(known) for known in VERIFIED_CONDITIONS):
                return True
    return False


def allows(documents: Iterable[Any], action: str, resource: str) -> bool:
    """Whether the policies allow `action` on `resource` and no statement denies it. Only statements whose
    conditions the rules can verify count as allowing (see VERIFIED_CONDITIONS)."""
    allowed = False
    for document in documents:
        for statement in statements(document):
            if "Action" not in statement:
                continue
            acts = any(matches(a, action, case_sensitive=False) for a in _as_list(statement["Action"]))
            on = any(matches(str(r), resource) for r in _as_list(statement.get("Resource", [])))
            if acts and on:
                if statement.get("Effect") == "Deny":
                    return False
                allowed = allowed or not _unverifiable(statement)
    return allowed


def _all_policy_documents(model: Assembly) -> Iterator[tuple[str, Any]]:
    for role in model.resources("AWS::IAM::Role"):
        for policy in role.properties.get("Policies", []):
            yield str(role), model.evaluate(role.stack, policy["PolicyDocument"])
    for policy in model.resources("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
        yield str(policy), model.evaluate(policy.stack, policy.properties["PolicyDocument"])


_LOG_GROUP_ARN = re.compile(r"^(arn:[^:]+:logs:[^:]*:[^:]*:log-group:[^:]+?)(:\*)?$")


def check_log_group_arns(model: Assembly) -> Iterator[Violation]:
    for where, document in _all_policy_documents(model):
        for statement in statements(document):
            if statement.get("Effect") != "Allow":
                continue
            actions = [str(a).lower() for a in _as_list(statement.get("Action", []))]
            logs_actions = [a for a in actions if a.startswith("logs:")]
            resources = [str(r) for r in _as_list(statement.get("Resource", []))]
            for resource in resources:
                found = _LOG_GROUP_ARN.match(resource)
                if not found or ":log-stream:" in resource:
                    continue
                group = found.group(1).rstrip("*")
                if group.endswith(":"):
                    continue
                bare, starred = found.group(1), found.group(1) + ":*"
                for action in logs_actions:
                    tagging = action in LOGS_TAGGING_ACTIONS
                    needed = bare if tagging else starred
                    if not any(matches(r, needed) for r in resources):
                        form = "the bare log-group ARN" if tagging else "the log-group ARN ending in :*"
                        yield Violation(
                            LOGS_ARN,
                            where,
                            f"{action} on {resource} does not reach {needed} ({form}): add it to the statement",
                        )


def _gateway_role(model: Assembly, target: ResourceRef) -> tuple[ResourceRef, ResourceRef] | None:
    gateway = model.target(target.stack, target.properties.get("GatewayIdentifier"))
    if gateway is None or gateway.type != "AWS::BedrockAgentCore::Gateway":
        return None
    role = model.target(gateway.stack, gateway.properties.get("RoleArn"))
    return (gateway, role) if role is not None else None


def required_outbound_oauth(model: Assembly, target: ResourceRef) -> list[tuple[str, str]]:
    """(action, resource) pairs a gateway's role needs for each OAuth credential provider of `target`."""
    pair = _gateway_role(model, target)
    if pair is None:
        return []
    gateway, _ = pair
    gateway_id = model.attribute(gateway.stack, gateway.logical_id, "GatewayIdentifier")
    region_account = model.attribute(gateway.stack, gateway.logical_id, "GatewayArn").split(":")[3:5]
    prefix = f"arn:{model.attribute(gateway.stack, gateway.logical_id, 'GatewayArn').split(':')[1]}"

    def agentcore(resource: str) -> str:
        return f"{prefix}:bedrock-agentcore:{region_account[0]}:{region_account[1]}:{resource}"

    directory = agentcore("workload-identity-directory/default")
    identity = f"{directory}/workload-identity/{gateway_id}"
    needed = []
    for config in target.properties.get("CredentialProviderConfigurations", []):
        oauth = config.get("CredentialProvider", {}).get("OauthCredentialProvider")
        if config.get("CredentialProviderType") != "OAUTH" or not oauth:
            continue
        provider_arn = str(model.evaluate(target.stack, oauth["ProviderArn"]))
        provider = model.target(target.stack, oauth["ProviderArn"])
        name = provider_arn.rsplit("/", 1)[-1]
        secret = (
            model.attribute(provider.stack, provider.logical_id, "ClientSecretArn")
            if provider is not None
            else f"{prefix}:secretsmanager:{region_account[0]}:{region_account[1]}:secret:"
            f"bedrock-agentcore-identity!default/oauth2/{name}-0e976f98-AbCdEf"
        )
        for action in (
            "bedrock-agentcore:GetWorkloadAccessToken",
            "bedrock-agentcore:GetWorkloadAccessTokenForJWT",
            "bedrock-agentcore:GetWorkloadAccessTokenForUserId",
        ):
            needed += [(action, directory), (action, identity)]
        for resource in (agentcore("token-vault/default"), provider_arn, directory, identity):
            needed.append(("bedrock-agentcore:GetResourceOauth2Token", resource))
        needed.append(("secretsmanager:GetSecretValue", secret))
    return needed


def check_gateway_outbound_oauth(model: Assembly) -> Iterator[Violation]:
    for target in model.resources("AWS::BedrockAgentCore::GatewayTarget"):
        pair = _gateway_role(model, target)
        if pair is None:
            continue
        _, role = pair
        documents = [p.document for p in role_policies(model, role) if p.document is not None]
        missing = [f"{a} on {r}" for a, r in required_outbound_oauth(model, target) if not allows(documents, a, r)]
        if missing:
            yield Violation(GATEWAY_OAUTH, str(target), f"role {role} lacks: " + "; ".join(missing))


def check_gateway_policy_engine(model: Assembly) -> Iterator[Violation]:
    for gateway in model.resources("AWS::BedrockAgentCore::Gateway"):
        configuration = gateway.properties.get("PolicyEngineConfiguration")
        if not configuration:
            continue
        role = model.target(gateway.stack, gateway.properties.get("RoleArn"))
        if role is None:
            yield Violation(POLICY_ENGINE, str(gateway), "its role is not one the rules can follow")
            continue
        engine = str(model.evaluate(gateway.stack, configuration.get("Arn")))
        gateway_arn = model.attribute(gateway.stack, gateway.logical_id, "GatewayArn")
        needed = [("bedrock-agentcore:GetPolicyEngine", engine)] + [
            (action, resource)
            for action in ("bedrock-agentcore:AuthorizeAction", "bedrock-agentcore:PartiallyAuthorizeActions")
            for resource in (engine, gateway_arn)
        ]
        attached = [p for p in role_policies(model, role) if p.document is not None]
        # Only what an earlier stack grants has had time to propagate when the gateway attaches the engine.
        earlier = [p.document for p in attached if p.declared_by.stack != gateway.stack]
        same_stack = [p.document for p in attached if p.declared_by.stack == gateway.stack]
        missing = [(a, r) for a, r in needed if not allows(earlier, a, r)]
        if missing:
            late = all(allows(same_stack, a, r) for a, r in missing)
            detail = "; ".join(f"{a} on {r}" for a, r in missing)
            yield Violation(
                POLICY_ENGINE,
                str(gateway),
                f"role {role} is granted in the gateway's own stack, too late for IAM to propagate: {detail}"
                if late
                else f"role {role} lacks: {detail}",
            )


CHECKS = [check_quotas, check_log_group_arns, check_gateway_outbound_oauth, check_gateway_policy_engine]
