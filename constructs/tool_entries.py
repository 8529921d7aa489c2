"""What the entries of the declared kinds deploy: a Lambda function's target (and the function, when the repository
holds its code), an OpenAPI or Smithy API's target, an API Gateway stage's target; and what every entry kind shares:
the deployment's resources it is wired to (`SharedResources`), its outputs and the grants the gateway's role needs
for it (`ToolEntry`), an API-key credential provider (`ApiKeyAccess`).

Every target is built with aws-cdk-lib's GatewayTarget L2. Its grants go nowhere: the gateway's role is passed
immutable (a grant per target on the one role would overflow IAM's inline-policy quota). What the gateway needs
instead comes from three places, none of which grows the role with the number of entries:
- the role's own outbound policy: every credential provider (OAuth, API key) of this deployment, by name;
- a Lambda function's resource policy, per function, in the entry's stack (same account: either policy allows);
- the shard's managed policy (`ShardGrants`), for what only an identity policy can grant: an API Gateway stage's
  operations, a Smithy model's service actions, a function in another account or region, an S3 description.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from aws_cdk import Arn, ArnComponents, ArnFormat, Aws, CfnResource, Duration, SecretValue, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from app_config import ApiGatewayEntry, Entry, LambdaEntry, Names, OpenApiEntry, SmithyEntry, ToolLock, pascal
from app_config.declared import lambda_definitions, spec_of
from app_config.model import ApiKey, IamGrant, OAuthClient, S3Object
from app_config.tool_locks import contract_mark
from aws_rules.names import SERVICE_NAME_RULES
from constructs import Construct
from constructs.adopted_log_group import AdoptedLogGroup
from constructs.custom_resource_handlers import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, HandlerEndpoint
from constructs.hosted_server import RuntimeSettings
from constructs.mcp_target import acknowledge_secret_wildcard, check_target, oauth_credentials
from constructs.nag import acknowledge, nag_arn
from constructs.naming import name_logical_id
from constructs.pool_credential_provider import PoolCredentialProvider

LAMBDA_LOG_GROUPS = "/aws/lambda/"


@dataclass(frozen=True)
class SharedResources:
    """What every entry of the deployment is wired to: the gateway, the gateway's way into the shared runtime pool
    (its client, credential provider and token gate), the custom-resource handler, and the deployment's names and
    settings."""

    gateway: agentcore.IGateway
    names: Names
    account: str | None
    runtime_access: PoolCredentialProvider
    handlers: HandlerEndpoint
    trace_destination_arn: str
    runtime: RuntimeSettings
    log_retention_days: int
    retain_data: bool
    tags: Mapping[str, str]
    # Each entry's tool lock (app_config.tool_locks), by entry name; an unpinned existing entry has none.
    tool_locks: Mapping[str, ToolLock] = field(default_factory=dict)


class ToolEntry(Construct):
    """One entry of config/targets.yaml: its gateway target (`target.target`), the stack outputs it offers (`outputs`,
    name -> value) and what the gateway's role must be allowed for it beyond its own policy (`grants`, gathered into
    the shard's managed policy)."""

    target: Any  # a construct whose `target` is the L2 GatewayTarget
    outputs: dict[str, str]
    grants: list[iam.PolicyStatement]

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.grants = []

    def _adopt(self, target: agentcore.GatewayTarget, label: str) -> None:
        """`target` as this entry's, its logical id and its output named after the entry."""
        name_logical_id(target, f"{label}Target")
        self.target = _Target(target)
        self.outputs = {f"{label}TargetId": target.target_id}


def target_description(entry: Entry, lock: ToolLock | None, image: str | None = None) -> str:
    """The entry's description with its sync revision (app_config.tool_locks.contract_mark), and a hosted entry's
    image, so that a change of either updates the target."""
    marks = ", ".join([*([f"image {image}"] if image else []), f"sync {contract_mark(lock, entry)}"])
    return f"{entry.text} ({marks})"


@dataclass
class _Target:
    """What the stacks read of any entry's target: the L2 GatewayTarget."""

    target: agentcore.GatewayTarget


class ApiKeyAccess(Construct):
    """An API-key credential provider named after the entry, the key copied from Secrets Manager by CloudFormation (a
    dynamic reference: the template names the secret, never holds the key), and how the gateway sends it."""

    def __init__(self, scope: Construct, construct_id: str, *, names: Names, entry: str, key: ApiKey) -> None:
        super().__init__(scope, construct_id)
        self.provider_name = names.api_key_provider(entry)
        self.provider = agentcore.ApiKeyCredentialProvider(
            self,
            "Provider",
            api_key_credential_provider_name=self.provider_name,
            api_key=SecretValue.secrets_manager(key.secret_name, json_field=key.json_key),
        )
        name_logical_id(self.provider, f"{pascal(entry)}ApiKeyProvider")
        location_of = (
            agentcore.ApiKeyCredentialLocation.header
            if key.location == "HEADER"
            else agentcore.ApiKeyCredentialLocation.query_parameter
        )
        self.config = agentcore.GatewayCredentialProvider.from_api_key_identity_arn(
            provider_arn=self.provider.credential_provider_arn,
            # AgentCore Identity keeps the key in bedrock-agentcore-identity!default/apikey/<provider name>-..., seen
            # as <name>-<8 hex>-<6 random> (credential_provider.provider_secret_arn): the provider's ApiKeySecretArn
            # attribute is an object ({SecretArn}) IAM cannot use, as the OAuth2 provider's is.
            secret_arn=Stack.of(self).format_arn(
                service="secretsmanager",
                resource="secret",
                resource_name=f"bedrock-agentcore-identity!default/apikey/{self.provider_name}-*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
            credential_location=location_of(credential_parameter_name=key.parameter_name, credential_prefix=key.prefix),
        )


def without_default_prefix(target: agentcore.GatewayTarget, key: ApiKey | None) -> None:
    """An API key sent as written when the entry sets no prefix: the L2 writes its own default ('Bearer ' for a
    header), which an API reading a key from x-api-key would refuse, and a prefix cannot be set empty (the target's
    CredentialPrefix has 1-64 characters, registry schema): so it is left out of the template."""
    if key is None or key.prefix is not None:
        return
    cfn = target.node.default_child
    assert isinstance(cfn, CfnResource)
    cfn.add_property_deletion_override(
        "CredentialProviderConfigurations.0.CredentialProvider.ApiKeyCredentialProvider.CredentialPrefix"
    )


def declared_grants(entry: str, grants: Sequence[IamGrant]) -> list[iam.PolicyStatement]:
    """An entry's declared permissions, as statements named after it (the shard's policy holds every entry's)."""
    return [
        iam.PolicyStatement(sid=f"{pascal(entry)}{index}", actions=list(grant.actions), resources=list(grant.resources))
        for index, grant in enumerate(grants)
    ]


def _s3_object_arn(source: S3Object) -> str:
    bucket, _, key = source.uri.removeprefix("s3://").partition("/")
    return f"arn:{Aws.PARTITION}:s3:::{bucket}/{key}"


def _schema(source: S3Object | None, payload: str | None, scope: Construct) -> agentcore.ApiSchema:
    if source is None:
        assert payload is not None
        return agentcore.ApiSchema.from_inline(payload)
    from aws_cdk import aws_s3 as s3  # only for a description in S3: its module costs every synth an import

    bucket, _, key = source.uri.removeprefix("s3://").partition("/")
    return agentcore.ApiSchema.from_s3_file(
        s3.Bucket.from_bucket_name(scope, "SchemaBucket", bucket), key, source.bucket_owner_account_id
    )


def _schema_definition(schema: Mapping[str, Any]) -> agentcore.SchemaDefinition:
    """A JSON Schema (the subset app_config.specs checks a tool schema against) as the L2's SchemaDefinition."""
    return agentcore.SchemaDefinition(
        type=getattr(agentcore.SchemaDefinitionType, str(schema["type"]).upper()),
        description=schema.get("description"),
        items=_schema_definition(schema["items"]) if "items" in schema else None,
        properties={name: _schema_definition(value) for name, value in schema["properties"].items()}
        if "properties" in schema
        else None,
        required=list(schema["required"]) if "required" in schema else None,
    )


class ToolFunction(Construct):
    """A Lambda function built from a folder of the repository: arm64, the app's Python runtime, a role that may only
    write its own logs, and its log group (adopted by name, so that prod keeps it and a redeploy takes it over)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        folder: Path,
        handler: str,
        function_name: str,
        description: str,
        timeout: Duration,
        memory_mb: int,
        shared: SharedResources,
    ) -> None:
        super().__init__(scope, construct_id)
        pattern, rule = SERVICE_NAME_RULES["lambda function"]
        if not pattern.match(function_name):
            raise ValueError(f"{self.node.path}: function name {function_name!r} must be {rule}")
        self.log_group = AdoptedLogGroup(
            self,
            "Logs",
            handlers=shared.handlers,
            log_group_name=f"{LAMBDA_LOG_GROUPS}{function_name}",
            log_retention_days=shared.log_retention_days,
            retain_data=shared.retain_data,
            tags=shared.tags,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Lambda function {function_name}: its own logs only",
            inline_policies={
                "logs": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            sid="OwnLogs",
                            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                            # CloudWatch Logs authorizes these on the group's ARN ending in :* (IAM service
                            # authorization reference, CloudWatch Logs resource types).
                            resources=[f"{self.log_group.arn}:*"],
                        )
                    ]
                )
            },
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=description[:256],
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            code=lambda_.Code.from_asset(str(folder), exclude=["__pycache__", "*.pyc", "tests", ".*"]),
            handler=handler,
            role=self.role,
            timeout=timeout,
            memory_size=memory_mb,
            log_group=logs.LogGroup.from_log_group_name(self, "LogGroup", self.log_group.log_group_name),
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
        )
        # The group exists (adopted) before the function can write to it.
        self.function.node.add_dependency(self.log_group.resource)
        acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::{nag_arn(self, 'logs', f'log-group:{self.log_group.log_group_name}:*')}]",
            "The function's own log group, named exactly: CloudWatch Logs authorizes writing its streams on the "
            "group's ARN ending in :*.",
        )


class LambdaToolEntry(ToolEntry):
    """A Lambda function's tools: its target (the tool schema inline), and the function when built from a folder."""

    def __init__(self, scope: Construct, construct_id: str, *, entry: LambdaEntry, shared: SharedResources) -> None:
        super().__init__(scope, construct_id)
        label, names = pascal(entry.name), shared.names
        lock = shared.tool_locks.get(entry.name)
        self.function: ToolFunction | None = None
        function: lambda_.IFunction
        if entry.folder is not None:
            self.function = ToolFunction(
                self,
                "Tools",
                folder=entry.folder,
                handler=entry.handler,
                function_name=names.tool_function(entry.name),
                description=entry.text,
                timeout=Duration.seconds(entry.timeout_seconds),
                memory_mb=entry.memory_mb,
                shared=shared,
            )
            name_logical_id(self.function.function, f"{label}Function")
            name_logical_id(self.function.role, f"{label}FunctionRole")
            name_logical_id(self.function.log_group.resource, f"{label}FunctionLogGroup")
            function = self.function.function
        else:
            assert entry.function_arn is not None
            # Elsewhere, its owner's resource policy is theirs to write (skip_permissions: the L2 would otherwise
            # refuse, as it cannot add to it); here, this construct writes it itself below.
            function = lambda_.Function.from_function_attributes(
                self,
                "Function",
                function_arn=entry.function_arn,
                same_environment=not entry.cross_account_or_region,
                skip_permissions=entry.cross_account_or_region,
            )
        tools = agentcore.ToolSchema.from_inline(
            [
                agentcore.ToolDefinition(
                    name=tool["name"],
                    description=tool["description"],
                    input_schema=_schema_definition(tool["inputSchema"]),
                    output_schema=_schema_definition(tool["outputSchema"]) if "outputSchema" in tool else None,
                )
                for tool in lambda_definitions(entry)
            ]
        )
        description = target_description(entry, lock)
        check_target(self, entry.name, description)
        target = agentcore.GatewayTarget.for_lambda(
            self,
            "Target",
            gateway=shared.gateway,
            gateway_target_name=entry.name,
            description=description,
            lambda_function=function,
            tool_schema=tools,
        )
        self._adopt(target, label)
        if self.function is None:
            # The L2 allows the gateway's role in an imported function's resource policy under a generated id; this
            # construct declares that permission itself (below, named after the entry), or for a function elsewhere
            # cannot (its owner does).
            for child in list(function.node.children):
                if isinstance(child, lambda_.CfnPermission):
                    function.node.try_remove_child(child.node.id)
        if entry.cross_account_or_region:
            # A function elsewhere: its owner's resource policy must allow the gateway's role, and so must the role's
            # own (cross-account access needs both, IAM policy evaluation logic).
            self.grants.append(
                iam.PolicyStatement(
                    sid=f"{label}Invoke", actions=["lambda:InvokeFunction"], resources=[function.function_arn]
                )
            )
        else:
            # In this account: the function's resource policy allows exactly the gateway's role (either policy
            # suffices within one account, IAM policy evaluation logic), so the role's policies do not grow with the
            # functions.
            permission = lambda_.CfnPermission(
                self,
                "GatewayInvoke",
                action="lambda:InvokeFunction",
                function_name=function.function_arn,
                principal=shared.gateway.role.role_arn,
            )
            name_logical_id(permission, f"{label}GatewayInvoke")
            target.node.add_dependency(permission)
        if self.function is not None:
            self.outputs[f"{label}FunctionName"] = self.function.function.function_name


class OpenApiToolEntry(ToolEntry):
    """An OpenAPI-described HTTPS API: its target (the description inline, or in S3) and its credential provider."""

    def __init__(self, scope: Construct, construct_id: str, *, entry: OpenApiEntry, shared: SharedResources) -> None:
        super().__init__(scope, construct_id)
        label = pascal(entry.name)
        spec = spec_of(entry)
        credentials = provider_credentials(self, shared, entry.name, entry.api_key, entry.oauth)
        description = target_description(entry, shared.tool_locks.get(entry.name))
        check_target(self, entry.name, description)
        target = agentcore.GatewayTarget.for_open_api(
            self,
            "Target",
            gateway=shared.gateway,
            gateway_target_name=entry.name,
            description=description,
            api_schema=_schema(entry.spec_s3, spec.payload if spec else None, self),
            credential_provider_configurations=[credentials],
            # app_config.specs checked the description at synth, with the gateway's documented limits and one-line
            # errors naming the entry; the L2's own check would fail later and in other words.
            validate_open_api_schema=False,
        )
        acknowledge_secret_wildcard(shared.gateway)
        without_default_prefix(target, entry.api_key)
        self._adopt(target, label)
        if entry.spec_s3 is not None:
            self.grants.append(_read_object(label, entry.spec_s3))


class SmithyToolEntry(ToolEntry):
    """A Smithy-modelled API called with the gateway's role: its target, and the service actions it declares."""

    def __init__(self, scope: Construct, construct_id: str, *, entry: SmithyEntry, shared: SharedResources) -> None:
        super().__init__(scope, construct_id)
        label = pascal(entry.name)
        spec = spec_of(entry)
        description = target_description(entry, shared.tool_locks.get(entry.name))
        check_target(self, entry.name, description)
        target = agentcore.GatewayTarget.for_smithy(
            self,
            "Target",
            gateway=shared.gateway,
            gateway_target_name=entry.name,
            description=description,
            smithy_model=_schema(entry.model_s3, spec.payload if spec else None, self),
            credential_provider_configurations=[agentcore.GatewayCredentialProvider.from_iam_role()],
        )
        self._adopt(target, label)
        self.grants.extend(declared_grants(entry.name, entry.grants))
        if entry.model_s3 is not None:
            self.grants.append(_read_object(label, entry.model_s3))


class ApiGatewayToolEntry(ToolEntry):
    """A REST API stage of this account: its target (exactly the declared operations, each named and described) and,
    with IAM auth, the role's right to invoke exactly those operations."""

    def __init__(self, scope: Construct, construct_id: str, *, entry: ApiGatewayEntry, shared: SharedResources) -> None:
        super().__init__(scope, construct_id)
        from aws_cdk import aws_apigateway as apigateway  # only for these entries: its module costs an import

        label = pascal(entry.name)
        description = target_description(entry, shared.tool_locks.get(entry.name))
        check_target(self, entry.name, description)
        method = agentcore.ApiGatewayHttpMethod.of
        by_path: dict[str, list[str]] = {}
        for operation in entry.operations:
            by_path.setdefault(operation.path, []).append(operation.method)
        credentials = (
            [ApiKeyAccess(self, "ApiKey", names=shared.names, entry=entry.name, key=entry.api_key).config]
            if entry.api_key is not None
            else [agentcore.GatewayCredentialProvider.from_iam_role()]
        )
        target = agentcore.GatewayTarget.for_api_gateway(
            self,
            "Target",
            gateway=shared.gateway,
            gateway_target_name=entry.name,
            description=description,
            rest_api=apigateway.RestApi.from_rest_api_id(self, "RestApi", entry.rest_api_id),
            stage=entry.stage,
            api_gateway_tool_configuration=agentcore.ApiGatewayToolConfiguration(
                # One filter per path with exactly its listed methods, and a name and description per operation:
                # the stage's other operations stay out of the catalog.
                tool_filters=[
                    agentcore.ApiGatewayToolFilter(filter_path=path, methods=[method(m) for m in methods])
                    for path, methods in by_path.items()
                ],
                tool_overrides=[
                    agentcore.ApiGatewayToolOverride(
                        name=op.name, path=op.path, method=method(op.method), description=op.description
                    )
                    for op in entry.operations
                ],
            ),
            credential_provider_configurations=credentials,
        )
        if entry.api_key is not None:
            acknowledge_secret_wildcard(shared.gateway)
        without_default_prefix(target, entry.api_key)
        self._adopt(target, label)
        if entry.api_key is None:
            # execute-api:Invoke on each operation (arn:...:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/
            # <path>, API Gateway developer guide, "Resource format of permissions for executing the API"; a path
            # parameter matched by *), not the whole stage the L2 would grant.
            resources = sorted(
                {
                    Arn.format(
                        ArnComponents(
                            service="execute-api",
                            resource=entry.rest_api_id,
                            resource_name=f"{entry.stage}/{op.method}{_wildcard_parameters(op.path)}",
                            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                        ),
                        Stack.of(self),
                    )
                    for op in entry.operations
                }
            )
            self.grants.append(
                iam.PolicyStatement(sid=f"{label}Invoke", actions=["execute-api:Invoke"], resources=resources)
            )


def _wildcard_parameters(path: str) -> str:
    return "/".join("*" if part.startswith("{") and part.endswith("}") else part for part in path.split("/"))


def _read_object(label: str, source: S3Object) -> iam.PolicyStatement:
    return iam.PolicyStatement(sid=f"{label}Schema", actions=["s3:GetObject"], resources=[_s3_object_arn(source)])


def provider_credentials(
    scope: Construct, shared: SharedResources, entry: str, api_key: ApiKey | None, oauth: OAuthClient | None
) -> agentcore.ICredentialProviderConfig:
    """An entry's own credential provider (an API key, else an OAuth client) and how the gateway uses it."""
    if api_key is not None:
        return ApiKeyAccess(scope, "ApiKey", names=shared.names, entry=entry, key=api_key).config
    assert oauth is not None
    provider_name = shared.names.target_provider(entry)
    provider = agentcore.OAuth2CredentialProvider.using_custom(
        scope,
        "OAuthProvider",
        o_auth2_credential_provider_name=provider_name,
        discovery_url=oauth.discovery_url,
        client_id=oauth.client_id,
        # A dynamic reference, resolved by CloudFormation at deploy time: the template holds the secret's name, never
        # its value, and the config file only ever names it.
        client_secret=SecretValue.secrets_manager(oauth.client_secret_name),
    )
    name_logical_id(provider, f"{pascal(entry)}OAuthProvider")
    return oauth_credentials(
        scope, provider_arn=provider.credential_provider_arn, provider_name=provider_name, scopes=list(oauth.scopes)
    )


def declared_entry(scope: Construct, entry: Entry, shared: SharedResources) -> ToolEntry:
    """The construct of an entry of a declared kind (lambda, openapi, smithy, apiGateway)."""
    kinds: dict[type, type] = {
        LambdaEntry: LambdaToolEntry,
        OpenApiEntry: OpenApiToolEntry,
        SmithyEntry: SmithyToolEntry,
        ApiGatewayEntry: ApiGatewayToolEntry,
    }
    construct: ToolEntry = kinds[type(entry)](scope, pascal(entry.name), entry=entry, shared=shared)
    return construct
