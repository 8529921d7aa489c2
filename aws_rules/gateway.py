"""AgentCore Gateway: what its API refuses, or cannot change after create, that its registry schema lets through."""

from __future__ import annotations

from typing import Any, Iterator

from aws_rules import Rule, Violation
from aws_rules.model import Assembly

JWT_SCOPES = Rule(
    "gateway-jwt-allowed-scopes",
    "a gateway's CUSTOM_JWT authorizer lists at least one allowed scope: without, the service stores [] and refuses "
    "every later update of the gateway ('AllowedScopes minimum 1')",
    "aws-cloudformation/cloudformation-coverage-roadmap#2528; botocore bedrock-agentcore-control "
    "CustomJWTAuthorizerConfiguration.allowedScopes (min 1)",
)
MCP_VERSIONS = Rule(
    "gateway-mcp-versions",
    "a gateway's SupportedVersions are MCP versions AgentCore Gateway supports (2025-03-26, 2025-06-18, 2025-11-25, "
    "2026-07-28), at least one",
    "https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/gateway-using.html (supported MCP versions); "
    "botocore MCPGatewayConfiguration.supportedVersions",
)
VERSIONS_FIXED = Rule(
    "gateway-mcp-versions-fixed-at-create",
    "a gateway's SupportedVersions are reported to be narrowed after create but never extended (through the API "
    "and CloudFormation alike): a version added to a gateway that exists may fail its update, and a new gateway "
    "takes every target, policy and agent URL with it. Contested (the guide says UpdateGateway changes them), so "
    "refused to be safe: accept it deliberately with python -m tools.replacement_guard --update",
    "aws/aws-cli#10346 (closed as stale) against the AgentCore guide, 'List available tools'; the gateways' "
    "recorded versions in tests/stable_identities.json (tools/replacement_guard.py)",
)

# The MCP versions AgentCore Gateway serves (its developer guide); the mcp SDK the app pins serves all four.
GATEWAY_MCP_VERSIONS = ("2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28")
GATEWAY = "AWS::BedrockAgentCore::Gateway"


def supported_versions(properties: Any) -> list[str] | None:
    """A gateway's SupportedVersions as the template sets them (None when it sets no MCP configuration)."""
    mcp = (properties.get("ProtocolConfiguration") or {}).get("Mcp")
    if mcp is None:
        return None
    return list(mcp.get("SupportedVersions") or [])


def check_jwt_scopes(model: Assembly) -> Iterator[Violation]:
    for gateway in model.resources(GATEWAY):
        if gateway.properties.get("AuthorizerType") != "CUSTOM_JWT":
            continue
        jwt = (gateway.properties.get("AuthorizerConfiguration") or {}).get("CustomJWTAuthorizer") or {}
        if not jwt.get("AllowedScopes"):
            yield Violation(JWT_SCOPES, str(gateway), "its CustomJWTAuthorizer has no AllowedScopes")


def check_mcp_versions(model: Assembly) -> Iterator[Violation]:
    for gateway in model.resources(GATEWAY):
        versions = supported_versions(gateway.properties)
        if versions is None:
            continue
        unknown = [v for v in versions if v not in GATEWAY_MCP_VERSIONS]
        if not versions or unknown:
            yield Violation(MCP_VERSIONS, str(gateway), f"SupportedVersions {versions}")


def check_versions_fixed_at_create(model: Assembly) -> Iterator[Violation]:
    for gateway in model.resources(GATEWAY):
        recorded = model.recorded.get(f"{gateway.stack}/{gateway.logical_id}", {}).get("supportedVersions")
        versions = supported_versions(gateway.properties)
        if recorded is None or versions is None:
            continue  # not a gateway that exists (as far as the record knows)
        added = [v for v in versions if v not in recorded]
        if added:
            yield Violation(
                VERSIONS_FIXED,
                str(gateway),
                f"adds MCP version {', '.join(added)} to the versions it was created with ({', '.join(recorded)})",
            )


CHECKS = [check_jwt_scopes, check_mcp_versions, check_versions_fixed_at_create]
