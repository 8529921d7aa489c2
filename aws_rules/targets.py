"""AgentCore Gateway targets of every kind: what the gateway's role must be allowed for each (evaluated over every
policy attached to the role, in any stack, and over the resource policies AWS evaluates with them), and what the
Lambda functions the app builds for its targets may do.

A target whose role lacks a permission deploys, and then fails every tool call (AccessDenied from the service behind
it), or, for an MCP server, fails its create (the implicit synchronization lists the server's tools with the role).
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator
from urllib.parse import urlparse

from aws_rules import Rule, Violation
from aws_rules.iam import allows, matches, role_policies, statements
from aws_rules.limits import depends_on
from aws_rules.model import ACCOUNT, Assembly, ResourceRef

OUTBOUND_AUTH = "https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/gateway-outbound-auth.html"
IAM_EVALUATION = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html "
    "(within one account an identity or a resource policy allows; across accounts both must)"
)

GATEWAY_API_KEY = Rule(
    "gateway-outbound-api-key-permissions",
    "a gateway's service role must get a workload access token, the provider's API key and the provider's secret "
    "(bedrock-agentcore-identity!default/apikey/<provider name>-<8 hex>-<6 random>, as one was seen deployed) for every target with API-key credentials",
    OUTBOUND_AUTH + "; aws-cdk-lib 2.275 aws-bedrockagentcore/lib/gateway/outbound-auth/api-key.js "
    "(grantNeededPermissionsToRole: GATEWAY_WORKLOAD_IDENTITY_PERMS, GATEWAY_API_KEY_PERMS, GATEWAY_SECRETS_PERMS)",
)
GATEWAY_LAMBDA = Rule(
    "gateway-lambda-invoke",
    "a gateway's service role may invoke each Lambda target's function (lambda:InvokeFunction on its LambdaArn): by "
    "its own policies, or, for a function of the same account and region, by the function's resource policy "
    "naming the role; a function elsewhere needs the role's own grant (the owner's side cannot be checked here)",
    "https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/gateway-add-target-lambda.html "
    "(Configuring permissions); "
    + IAM_EVALUATION
    + "; an AWS::Lambda::Permission only deploys in the function's own account (Lambda's AddPermission is not "
    "granted across accounts, awsdocs/aws-lambda-developer-guide#139)",
)
GATEWAY_API_GATEWAY = Rule(
    "gateway-api-gateway-invoke",
    "a gateway's service role may call execute-api:Invoke on every operation an IAM-authorized API Gateway target "
    "exposes (arn:...:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/<path>, each tool filter's methods "
    "and path)",
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-"
    "invoke-api.html (Resource format of permissions for executing the API); aws-cdk-lib 2.275 aws-bedrockagentcore "
    "ApiGatewayTargetConfiguration (grants execute-api:Invoke to the gateway's role)",
)
GATEWAY_SCHEMA = Rule(
    "gateway-s3-schema-read",
    "a gateway's service role may read (s3:GetObject) every S3 object a target's schema or tool schema is in",
    "https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/gateway-prerequisites-permissions.html "
    "(the gateway service role accesses an S3 tool definition); aws-cdk-lib 2.275 aws-bedrockagentcore "
    "api-schema.js/tool-schema.js grantPermissionsToRole. aws/agentcore-cli#1241 reports the caller reads it "
    "(CloudFormation's GatewayTarget handler lists s3:GetObject): the stricter is both",
)
GATEWAY_IAM_TARGET = Rule(
    "gateway-iam-target-grants",
    "a target the gateway signs for with its own role (GATEWAY_IAM_ROLE: Smithy, MCP server) has its declared grants "
    "on the role (the statements named after the entry: <Entry><n>), an MCP server behind API Gateway "
    "execute-api:Invoke on POST to its endpoint; and an MCP server's target waits for the policy granting it: "
    "its create lists the server's tools with the role (implicit synchronization)",
    OUTBOUND_AUTH + " (GATEWAY_IAM_ROLE signs with the gateway's service role); "
    "https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/gateway-target-MCPservers.html (Implicit "
    "synchronization on CreateGatewayTarget and UpdateGatewayTarget)",
)
TOOL_FUNCTION = Rule(
    "tool-function-least-privilege",
    "a Lambda function the app builds for a target runs on arm64 with a runtime Lambda knows, writes to a log group "
    "the app declares (with a retention) and waits for, and its role, trusted by Lambda only, may do nothing but "
    "write that group's log streams (no other action or resource, no managed policy)",
    "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-loggroups.html (the function writes to "
    "its LoggingConfig.LogGroup with logs:CreateLogStream and logs:PutLogEvents); botocore lambda "
    "CreateFunctionRequest.Runtime/Architectures; "
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
)

TARGET = "AWS::BedrockAgentCore::GatewayTarget"
FUNCTION_LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
# A value for a path parameter ({id}) or a filter's wildcard: the request's path as IAM sees it.
_SAMPLE_SEGMENT = "a1b2c3"
_EXECUTE_API_HOST = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


def pascal(name: str) -> str:
    # The app names an entry's statements after it (constructs/tool_entries.py declared_grants: <Entry><n>), as
    # app_config.rules.pascal does; aws_rules reads templates, not the app's config.
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class _Context:
    """A target's gateway, role and the values its needs are written in."""

    def __init__(self, model: Assembly, target: ResourceRef, gateway: ResourceRef, role: ResourceRef) -> None:
        self.model, self.target, self.gateway, self.role = model, target, gateway, role
        gateway_arn = model.attribute(gateway.stack, gateway.logical_id, "GatewayArn")
        _, self.partition, _, self.region, self.account, _ = gateway_arn.split(":", 5)
        self.gateway_id = model.attribute(gateway.stack, gateway.logical_id, "GatewayIdentifier")
        self.role_arn = model.attribute(role.stack, role.logical_id, "Arn")
        self.policies = role_policies(model, role)
        self.documents = [p.document for p in self.policies if p.document is not None]

    def arn(self, service: str, resource: str, *, region: str | None = None, account: str | None = None) -> str:
        region = self.region if region is None else region
        return f"arn:{self.partition}:{service}:{region}:{self.account if account is None else account}:{resource}"

    def missing(self, needed: list[tuple[str, str]]) -> list[str]:
        return [
            f"{action} on {resource}" for action, resource in needed if not allows(self.documents, action, resource)
        ]

    def named_statements(self, entry: str) -> list[tuple[Any, dict[str, Any]]]:
        """(policy, statement) of the role's Allow statements named after `entry` (<Entry><n>)."""
        sid = re.compile(rf"^{re.escape(pascal(entry))}\d+$")
        return [
            (policy, statement)
            for policy in self.policies
            for statement in statements(policy.document)
            if statement.get("Effect") == "Allow" and sid.match(str(statement.get("Sid", "")))
        ]


def _contexts(model: Assembly) -> Iterator[_Context]:
    for target in model.resources(TARGET):
        gateway = model.target(target.stack, target.properties.get("GatewayIdentifier"))
        if gateway is None or gateway.type != "AWS::BedrockAgentCore::Gateway":
            continue
        role = model.target(gateway.stack, gateway.properties.get("RoleArn"))
        if role is not None and role.type == "AWS::IAM::Role":
            yield _Context(model, target, gateway, role)


def _mcp(target: ResourceRef) -> dict[str, Any]:
    mcp: dict[str, Any] = dict(dict(target.properties.get("TargetConfiguration") or {}).get("Mcp") or {})
    return mcp


def _credentials(target: ResourceRef, kind: str) -> list[dict[str, Any]]:
    return [
        dict(config)
        for config in target.properties.get("CredentialProviderConfigurations", [])
        if config.get("CredentialProviderType") == kind
    ]


def required_api_key(context: _Context) -> list[tuple[str, str]]:
    """(action, resource) pairs a gateway's role needs for each API-key credential provider of the target."""
    model, target = context.model, context.target
    directory = context.arn("bedrock-agentcore", "workload-identity-directory/default")
    identity = f"{directory}/workload-identity/{context.gateway_id}"
    needed: list[tuple[str, str]] = []
    for config in _credentials(target, "API_KEY"):
        provider = dict(config.get("CredentialProvider", {}).get("ApiKeyCredentialProvider") or {})
        provider_arn = str(model.evaluate(target.stack, provider.get("ProviderArn")))
        name = provider_arn.rsplit("/", 1)[-1]
        # AgentCore Identity keeps the key in a secret of its own naming; Secrets Manager appends a 6-character
        # suffix to a secret's ARN.
        secret = context.arn(
            "secretsmanager", f"secret:bedrock-agentcore-identity!default/apikey/{name}-0e976f98-AbCdEf"
        )
        needed += [("bedrock-agentcore:GetWorkloadAccessToken", resource) for resource in (directory, identity)]
        needed += [
            ("bedrock-agentcore:GetResourceApiKey", resource)
            for resource in (context.arn("bedrock-agentcore", "token-vault/default"), provider_arn, directory, identity)
        ]
        needed.append(("secretsmanager:GetSecretValue", secret))
    return needed


def check_api_key_targets(model: Assembly) -> Iterator[Violation]:
    for context in _contexts(model):
        missing = context.missing(required_api_key(context))
        if missing:
            yield Violation(GATEWAY_API_KEY, str(context.target), f"role {context.role} lacks: " + "; ".join(missing))


def _permission_allows(model: Assembly, permission: ResourceRef, function_arn: str, role_arn: str) -> bool:
    properties = permission.properties
    action = str(model.evaluate(permission.stack, properties.get("Action")))
    if not any(matches(action, wanted, case_sensitive=False) for wanted in ("lambda:InvokeFunction",)):
        return False
    # A source condition is one the gateway's call does not carry: such a statement allows something else.
    if any(key in properties for key in ("SourceArn", "SourceAccount", "PrincipalOrgID", "EventSourceToken")):
        return False
    name = str(model.evaluate(permission.stack, properties.get("FunctionName")))
    principal = str(model.evaluate(permission.stack, properties.get("Principal")))
    # FunctionName may be the function's ARN or its name (then in the permission's own account and region).
    return principal == role_arn and name in (function_arn, function_arn.split(":", 6)[-1])


def check_lambda_targets(model: Assembly) -> Iterator[Violation]:
    permissions = list(model.resources("AWS::Lambda::Permission"))
    for context in _contexts(model):
        lambda_config = _mcp(context.target).get("Lambda")
        if lambda_config is None:
            continue
        function_arn = str(model.evaluate(context.target.stack, lambda_config.get("LambdaArn")))
        if allows(context.documents, "lambda:InvokeFunction", function_arn):
            continue
        _, _, _, region, account, _ = function_arn.split(":", 5)
        # Where the deployment's account is not known at synth (the templates say AWS::AccountId), a function ARN
        # written with an account can only be this account's if a permission for it deploys at all.
        same_account = account == context.account or context.account == ACCOUNT
        same_home = region == context.region and same_account
        by_resource_policy = [p for p in permissions if _permission_allows(model, p, function_arn, context.role_arn)]
        if same_home and by_resource_policy:
            continue
        detail = (
            f"role {context.role} may not call lambda:InvokeFunction on {function_arn}, and no "
            "AWS::Lambda::Permission of the function allows the role's ARN"
            if same_home
            else f"the function {function_arn} is in another account or region: role {context.role} itself must "
            "be allowed lambda:InvokeFunction on it (and the function's owner must allow the role)"
        )
        yield Violation(GATEWAY_LAMBDA, str(context.target), detail)


def _request_path(path: str) -> str:
    """A filter's or override's path as a request has it: path parameters and wildcards given a value."""
    return "/".join(
        _SAMPLE_SEGMENT if (part.startswith("{") and part.endswith("}")) or part == "*" else part
        for part in path.split("/")
    )


def required_api_gateway(context: _Context) -> list[tuple[str, str]]:
    api = _mcp(context.target).get("ApiGateway")
    if api is None or not _credentials(context.target, "GATEWAY_IAM_ROLE"):
        return []
    model, stack = context.model, context.target.stack
    rest_api, stage = model.evaluate(stack, api.get("RestApiId")), model.evaluate(stack, api.get("Stage"))
    tools = dict(api.get("ApiGatewayToolConfiguration") or {})
    operations = [
        (str(method), str(model.evaluate(stack, f.get("FilterPath"))))
        for f in tools.get("ToolFilters", [])
        for method in f.get("Methods", [])
    ] + [(str(o.get("Method")), str(model.evaluate(stack, o.get("Path")))) for o in tools.get("ToolOverrides", [])]
    return [
        (
            "execute-api:Invoke",
            context.arn("execute-api", f"{rest_api}/{stage}/{method}{_request_path(path)}"),
        )
        for method, path in dict.fromkeys(operations)
    ]


def check_api_gateway_targets(model: Assembly) -> Iterator[Violation]:
    for context in _contexts(model):
        missing = context.missing(required_api_gateway(context))
        if missing:
            yield Violation(
                GATEWAY_API_GATEWAY, str(context.target), f"role {context.role} lacks: " + "; ".join(missing)
            )


def _s3_sources(target: ResourceRef) -> list[tuple[str, dict[str, Any]]]:
    mcp = _mcp(target)
    found = []
    for kind in ("OpenApiSchema", "SmithyModel"):
        if isinstance(mcp.get(kind), dict) and "S3" in mcp[kind]:
            found.append((kind, dict(mcp[kind]["S3"])))
    tool_schema = dict(dict(mcp.get("Lambda") or {}).get("ToolSchema") or {})
    if "S3" in tool_schema:
        found.append(("Lambda.ToolSchema", dict(tool_schema["S3"])))
    return found


def check_s3_schemas(model: Assembly) -> Iterator[Violation]:
    for context in _contexts(model):
        missing = []
        for kind, source in _s3_sources(context.target):
            uri = str(model.evaluate(context.target.stack, source.get("Uri")))
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            obj = f"arn:{context.partition}:s3:::{bucket}/{key}"
            if not allows(context.documents, "s3:GetObject", obj):
                missing.append(f"s3:GetObject on {obj} ({kind})")
        if missing:
            yield Violation(GATEWAY_SCHEMA, str(context.target), f"role {context.role} lacks: " + "; ".join(missing))


def _execute_api_endpoint(context: _Context, endpoint: str) -> tuple[str, list[str]] | None:
    """For an endpoint behind API Gateway (https://<api>.execute-api.<region>.amazonaws.com/<stage>/<path>): the
    operation the gateway's POST reaches, as said in a violation, and its ARN once per account the role's grants name
    (the URL does not say the API's account). None for any other endpoint."""
    url = urlparse(endpoint)
    host = _EXECUTE_API_HOST.match(url.hostname or "")
    stage, _, path = url.path.lstrip("/").partition("/")
    if host is None or not stage:
        return None
    accounts = {context.account} | {
        str(r).split(":")[4]
        for document in context.documents
        for statement in statements(document)
        for r in _as_list(statement.get("Resource", []))
        if str(r).startswith("arn:") and str(r).count(":") >= 5
    }
    resource = f"{host['api']}/{stage}/POST/{path}"
    shown = context.arn("execute-api", resource, region=host["region"], account="<account>")
    return shown, [context.arn("execute-api", resource, region=host["region"], account=a) for a in sorted(accounts)]


def check_iam_targets(model: Assembly) -> Iterator[Violation]:
    for context in _contexts(model):
        target, mcp = context.target, _mcp(context.target)
        if not _credentials(target, "GATEWAY_IAM_ROLE") or not ({"SmithyModel", "McpServer"} & set(mcp)):
            continue
        entry = str(model.evaluate(target.stack, target.properties.get("Name")))
        problems = []
        named = context.named_statements(entry)
        if not named:
            problems.append(f"role {context.role} holds no statement named after the entry ({pascal(entry)}<n>)")
        if "McpServer" in mcp:
            endpoint = str(model.evaluate(target.stack, mcp["McpServer"].get("Endpoint")))
            operation = _execute_api_endpoint(context, endpoint)
            if operation is not None and not any(
                allows(context.documents, "execute-api:Invoke", arn) for arn in operation[1]
            ):
                problems.append(f"role {context.role} lacks execute-api:Invoke on {operation[0]}")
            waits_for = depends_on(target.resource)
            granting = {str(p.declared_by): p.declared_by for p, _ in named}
            for declared in granting.values():
                if declared.stack == target.stack and declared.logical_id not in waits_for:
                    problems.append(
                        f"the target does not wait for {declared}, which grants the role its calls: the create's "
                        "implicit synchronization may be refused"
                    )
        if problems:
            yield Violation(GATEWAY_IAM_TARGET, str(target), "; ".join(problems))


def _lambda_runtimes() -> frozenset[str]:
    from aws_rules.service_models import shape_enum

    return frozenset(shape_enum("lambda", "Runtime"))


def _function_problems(model: Assembly, function: ResourceRef) -> list[str]:
    properties = function.properties
    problems = []
    if properties.get("Architectures") != ["arm64"]:
        problems.append(f"Architectures is {properties.get('Architectures')}, not ['arm64']")
    if properties.get("Runtime") not in _lambda_runtimes():
        problems.append(f"Runtime {properties.get('Runtime')!r} is not one of Lambda's")
    group_name = model.evaluate(function.stack, dict(properties.get("LoggingConfig") or {}).get("LogGroup"))
    groups = [
        g
        for g in model.resources("AWS::Logs::LogGroup", "Custom::AdoptedLogGroup")
        if model.evaluate(g.stack, g.properties.get("LogGroupName")) == group_name
    ]
    if group_name is None or not groups:
        problems.append(
            "its LoggingConfig.LogGroup is not a log group the app declares: Lambda would create one without "
            "retention, kept forever"
        )
    else:
        group = groups[0]
        if "RetentionInDays" not in group.properties:
            problems.append(f"its log group {group} has no RetentionInDays")
        if group.stack != function.stack or group.logical_id not in depends_on(function.resource):
            problems.append(f"it does not wait for its log group {group}")
    role = model.target(function.stack, properties.get("Role"))
    if role is None or role.type != "AWS::IAM::Role":
        return [*problems, "its Role is not a role of the app the rules can follow"]
    trust = model.evaluate(role.stack, role.properties.get("AssumeRolePolicyDocument", {}))
    principals = [
        s.get("Principal") for s in statements(trust) if s.get("Effect") == "Allow" and "sts:AssumeRole" in str(s)
    ]
    if principals != [{"Service": "lambda.amazonaws.com"}]:
        problems.append(f"role {role} is trusted by {json.dumps(principals)}, not Lambda alone")
    attached = role_policies(model, role)
    managed = [p.name for p in attached if p.kind != "inline"]
    if managed:
        problems.append(f"role {role} has managed policies attached: {', '.join(managed)}")
    region, partition = model.regions[function.stack], model.partitions[function.stack]
    account = model.accounts[function.stack]
    stream = f"arn:{partition}:logs:{region}:{account}:log-group:{group_name}:log-stream:2026/12/03/[$LATEST]abc"
    own = (f"arn:{partition}:logs:{region}:{account}:log-group:{group_name}:*", stream)
    documents = [p.document for p in attached if p.document is not None]
    for action in FUNCTION_LOG_ACTIONS:
        if group_name is not None and not allows(documents, action, stream):
            problems.append(f"role {role} lacks {action} on {own[0]}")
    for policy in attached:
        for statement in statements(policy.document):
            if statement.get("Effect") != "Allow":
                continue
            actions = [str(a) for a in _as_list(statement.get("Action", []))]
            other = [a for a in actions if not any(a.lower() == f.lower() for f in FUNCTION_LOG_ACTIONS)]
            resources = [str(r) for r in _as_list(statement.get("Resource", []))]
            elsewhere = [r for r in resources if r not in own]
            if other or elsewhere or "NotAction" in statement or "NotResource" in statement:
                problems.append(
                    f"role {role} ({policy.name}) allows {', '.join(other) or ', '.join(actions)} on "
                    f"{', '.join(elsewhere) or ', '.join(resources)}: more than its own log streams"
                )
    return problems


def check_tool_functions(model: Assembly) -> Iterator[Violation]:
    seen = set()
    for target in model.resources(TARGET):
        lambda_config = _mcp(target).get("Lambda")
        if lambda_config is None:
            continue
        function = model.target(target.stack, lambda_config.get("LambdaArn"))
        if function is None or function.type != "AWS::Lambda::Function" or str(function) in seen:
            continue  # a function the app does not build
        seen.add(str(function))
        problems = _function_problems(model, function)
        if problems:
            yield Violation(TOOL_FUNCTION, str(function), "; ".join(problems))


CHECKS = [
    check_api_key_targets,
    check_lambda_targets,
    check_api_gateway_targets,
    check_s3_schemas,
    check_iam_targets,
    check_tool_functions,
]
