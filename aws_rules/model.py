"""The synthesized app as AWS sees it at deploy time: every template, cross-stack references followed, and
intrinsic functions evaluated to realistic values (a 12-digit account, the longest region name, names and
ids of the lengths the services give them), so that sizes and ARN patterns can be checked before a deploy."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Iterator, Mapping

from aws_rules.service_models import regions

# A real account id has 12 digits and may start with 0.
ACCOUNT = "012345678912"


def longest_region(partitions: tuple[str, ...]) -> str:
    """The longest region code of `partitions`, from botocore's endpoint data (a test keeps REGION equal to it)."""
    return max(sorted(r for p in partitions for r in regions(p)), key=len)


PARTITIONS = ("aws", "aws-cn")  # the app's target partitions (cdk.json)
# longest_region(PARTITIONS), written out: parsing botocore's endpoint data would cost every synth 15 ms.
REGION = "ap-northeast-1"
PARTITION = max(PARTITIONS, key=len)
URL_SUFFIX = "amazonaws.com.cn"

PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": PARTITION,
    "AWS::URLSuffix": URL_SUFFIX,
    "AWS::NoValue": "",
}


def _suffix(seed: str, length: int) -> str:
    """A deterministic stand-in for a service-generated id: same resource, same value; realistic length."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    digest = hashlib.sha256(seed.encode()).digest()
    while len(digest) < length:
        digest += hashlib.sha256(digest).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


# Region code prefixes of the partitions other than aws (botocore's endpoints.json, "regionRegex" of each partition),
# longest first: what CDK writes for a stack whose region it knows (@aws-cdk/core:enablePartitionLiterals).
_PARTITION_PREFIXES = (
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-iso-", "aws-iso"),
    ("us-gov-", "aws-us-gov"),
    ("cn-", "aws-cn"),
)


def partition_of(region: str) -> str:
    return next((partition for prefix, partition in _PARTITION_PREFIXES if region.startswith(prefix)), "aws")


def arn(service: str, resource: str, *, region: str, account: str = ACCOUNT, partition: str = PARTITION) -> str:
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


@dataclass(frozen=True)
class ResourceRef:
    stack: str
    logical_id: str
    resource: Mapping[str, Any]

    @property
    def type(self) -> str:
        return str(self.resource["Type"])

    @property
    def properties(self) -> Mapping[str, Any]:
        properties: Mapping[str, Any] = self.resource.get("Properties", {})
        return properties

    def __str__(self) -> str:
        return f"{self.stack}/{self.logical_id} ({self.type})"


class Assembly:
    """Templates by stack name, with the cross-stack references between them."""

    def __init__(
        self,
        templates: Mapping[str, Mapping[str, Any]],
        template_bytes: Mapping[str, int] | None = None,
        regions: Mapping[str, str] | None = None,
        recorded: Mapping[str, Mapping[str, Any]] | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> None:
        self.templates = templates
        # What is known of resources that already exist, by "<stack>/<logical id>" (the replacement guard's record):
        # for rules on what may not change after create.
        self.recorded = recorded or {}
        template_bytes = template_bytes or {}
        # A stack's region when its environment names one (then CDK writes it literally into ARNs), else a token.
        self.regions = {name: (regions or {}).get(name) or REGION for name in templates}
        # Its account likewise: an environment naming one gets it written literally into ARNs by CDK, beside the
        # AWS::AccountId references the same stack holds, which must then evaluate to the same account.
        self.accounts = {name: (accounts or {}).get(name) or ACCOUNT for name in templates}
        # Likewise its partition: the region's where known, else the longest of the app's (the stricter for sizes).
        self.partitions = {
            name: partition_of(region) if (region := (regions or {}).get(name)) else PARTITION for name in templates
        }
        # As deployed (CDK uploads each template file); a rough stand-in when only the parsed template is known.
        self.template_bytes = {
            name: template_bytes[name] if name in template_bytes else len(json.dumps(t, indent=1))
            for name, t in templates.items()
        }

    def resources(self, *types: str) -> Iterator[ResourceRef]:
        for stack, template in sorted(self.templates.items()):
            for logical_id, resource in sorted(template.get("Resources", {}).items()):
                if not types or resource["Type"] in types:
                    yield ResourceRef(stack, logical_id, resource)

    def resource(self, stack: str, logical_id: str) -> ResourceRef:
        return ResourceRef(stack, logical_id, self.templates[stack]["Resources"][logical_id])

    @cached_property
    def exports(self) -> dict[str, tuple[str, Any]]:
        found = {}
        for stack, template in self.templates.items():
            for output in template.get("Outputs", {}).values():
                if "Export" in output:
                    found[json.dumps(output["Export"]["Name"])] = (stack, output["Value"])
        return found

    def follow(self, stack: str, value: Any) -> tuple[str, Any]:
        """Follow ImportValue / GetStackOutput to the producing stack and its expression (else: unchanged)."""
        while isinstance(value, dict) and len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Fn::ImportValue":
                stack, value = self.exports[json.dumps(arg)]
            elif fn == "Fn::GetStackOutput":
                stack = arg["StackName"]
                value = self.templates[stack]["Outputs"][arg["OutputName"]]["Value"]
            else:
                break
        return stack, value

    def target(self, stack: str, value: Any) -> ResourceRef | None:
        """The resource a Ref/GetAtt (possibly through an import) points at."""
        stack, value = self.follow(stack, value)
        if isinstance(value, dict) and "Ref" in value and value["Ref"] in self.templates[stack].get("Resources", {}):
            return self.resource(stack, value["Ref"])
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            return self.resource(stack, value["Fn::GetAtt"][0])
        return None

    def evaluate(self, stack: str, value: Any) -> Any:
        """Evaluate intrinsics to realistic strings; lists and objects recursively."""
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return [self.evaluate(stack, item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((fn, arg),) = value.items()
            handler = _FUNCTIONS.get(fn)
            if handler is not None:
                return handler(self, stack, arg)
        return {key: self.evaluate(stack, item) for key, item in value.items()}

    def attribute(self, stack: str, logical_id: str, attribute: str | None) -> str:
        resource = self.resource(stack, logical_id)
        builder = _ATTRIBUTES.get(resource.type, _default_attribute)
        return builder(self, resource, attribute)

    def literal(self, resource: ResourceRef, prop: str, fallback: str) -> str:
        value = resource.properties.get(prop)
        return str(self.evaluate(resource.stack, value)) if value is not None else fallback


def _ref(model: Assembly, stack: str, name: str) -> str:
    if name == "AWS::Region":
        return model.regions[stack]
    if name == "AWS::Partition":
        return model.partitions[stack]
    if name == "AWS::AccountId":
        return model.accounts[stack]
    if name in PSEUDO:
        return PSEUDO[name]
    if name == "AWS::StackName":
        return stack
    return model.attribute(stack, name, None)


def _get_att(model: Assembly, stack: str, arg: Any) -> str:
    logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
    return model.attribute(stack, logical_id, attribute)


def _join(model: Assembly, stack: str, arg: Any) -> str:
    separator: str
    separator, parts = arg
    return separator.join(str(p) for p in model.evaluate(stack, parts))


def _split(model: Assembly, stack: str, arg: Any) -> list[str]:
    separator, source = arg
    return str(model.evaluate(stack, source)).split(separator)


def _select(model: Assembly, stack: str, arg: Any) -> Any:
    index, items = arg
    return model.evaluate(stack, items)[int(model.evaluate(stack, index))]


def _sub(model: Assembly, stack: str, arg: Any) -> str:
    template, variables = (arg, {}) if isinstance(arg, str) else arg
    values = {name: str(model.evaluate(stack, v)) for name, v in variables.items()}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        if "." in name:
            return _get_att(model, stack, name)
        return _ref(model, stack, name)

    return re.sub(r"\$\{([^!}][^}]*)\}", replace, template)


def _import(model: Assembly, stack: str, arg: Any) -> Any:
    producer, value = model.follow(stack, {"Fn::ImportValue": arg})
    return model.evaluate(producer, value)


def _stack_output(model: Assembly, stack: str, arg: Any) -> Any:
    producer, value = model.follow(stack, {"Fn::GetStackOutput": arg})
    return model.evaluate(producer, value)


def _if(model: Assembly, stack: str, arg: Any) -> Any:
    # Conditions are not evaluated: the longer branch is the one that matters for sizes.
    _, yes, no = arg
    options = [model.evaluate(stack, yes), model.evaluate(stack, no)]
    return max(options, key=lambda o: len(json.dumps(o)))


_FUNCTIONS: dict[str, Callable[[Assembly, str, Any], Any]] = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Join": _join,
    "Fn::Split": _split,
    "Fn::Select": _select,
    "Fn::Sub": _sub,
    "Fn::ImportValue": _import,
    "Fn::GetStackOutput": _stack_output,
    "Fn::If": _if,
}


# Names and ids the services generate, at the lengths they reach. A name property of the resource wins.
def _name(model: Assembly, resource: ResourceRef, prop: str, length: int) -> str:
    fallback = f"{resource.stack}-{resource.logical_id}-{_suffix(str(resource), 12)}"[:length]
    return model.literal(resource, prop, fallback.ljust(length, "x"))


def _arn(model: Assembly, r: ResourceRef, service: str, resource: str) -> str:
    return arn(
        service,
        resource,
        region=model.regions[r.stack],
        account=model.accounts[r.stack],
        partition=model.partitions[r.stack],
    )


def _role(model: Assembly, r: ResourceRef, attribute: str | None) -> str:
    name = _name(model, r, "RoleName", 64)
    return {
        "Arn": arn(
            "iam", f"role/{name}", region="", account=model.accounts[r.stack], partition=model.partitions[r.stack]
        ),
        "RoleId": "AROA" + _suffix(str(r), 17),
    }.get(attribute or "", name)


def _function(model: Assembly, r: ResourceRef, attribute: str | None) -> str:
    name = _name(model, r, "FunctionName", 64)
    return _arn(model, r, "lambda", f"function:{name}") if attribute == "Arn" else name


def _log_group(model: Assembly, r: ResourceRef, attribute: str | None) -> str:
    # CDK names an unnamed group <stack>-<logical id>-<suffix>; GetAtt Arn ends in :* (CloudWatch Logs' form).
    name = _name(model, r, "LogGroupName", 128)
    return _arn(model, r, "logs", f"log-group:{name}:*") if attribute == "Arn" else name


def _user_pool(model: Assembly, r: ResourceRef, attribute: str | None) -> str:
    region = model.regions[r.stack]
    pool_id = f"{region}_{_suffix(str(r), 9)}"
    return {
        "Arn": _arn(model, r, "cognito-idp", f"userpool/{pool_id}"),
        "ProviderName": f"cognito-idp.{region}.amazonaws.com/{pool_id}",
        "ProviderURL": f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
        "UserPoolId": pool_id,
    }.get(attribute or "", pool_id)


def _user_pool_client(model: Assembly, r: ResourceRef, attribute: str | None) -> str:
    return {"ClientSecret": "<client-secret>".ljust(64, "s"), "Name": _name(model, r, "ClientName", 128)}.get(
        attribute or "", _suffix(str(r), 26)
    )


def _user_pool_domain(model: Assembly, r: ResourceRef, attribute: str | None) -> str:
    domain = model.literal(r, "Domain", _suffix(str(r), 63))
    return (
        f"{domain}.auth.{model.regions[r.stack]}.amazoncognito.com" if attribute == "CloudFrontDistribution" else domain
    )


def _resource_server(model: Assembly, r: ResourceRef, attribute: str | None) -> str:
    # Ref gives the identifier (the prefix of its scopes: <identifier>/<scope>).
    return model.literal(r, "Identifier", _suffix(str(r), 32))


def _gateway(model: Assembly, r: ResourceRef, attribute: str | None) -> str:
    gateway_id = f"{_name(model, r, 'Name', 48)}-{_suffix(str(r), 10).lower()}"
    return {
        "GatewayArn": _arn(model, r, "bedrock-agentcore", f"gateway/{gateway_id}"),
        "GatewayUrl": f"https://{gateway_id}.gateway.bedrock-agentcore.{model.regions[r.stack]}.{URL_SUFFIX}/mcp",
    }.get(attribute or "", gateway_id)


def _runtime(model: Assembly, r: ResourceRef, attribute: str | None) -> str:
    runtime_id = f"{_name(model, r, 'AgentRuntimeName', 48)}-{_suffix(str(r), 10)}"
    return {
        "AgentRuntimeArn": _arn(model, r, "bedrock-agentcore", f"runtime/{runtime_id}"),
        "AgentRuntimeVersion": "1",
    }.get(attribute or "", runtime_id)


def _policy_engine(model: Assembly, r: ResourceRef, attribute: str | None) -> str:
    engine_id = f"{_name(model, r, 'Name', 48)}-{_suffix(str(r), 10)}"
    return {
        "PolicyEngineArn": _arn(model, r, "bedrock-agentcore", f"policy-engine/{engine_id}"),
    }.get(attribute or "", engine_id)


def _credential_provider(model: Assembly, r: ResourceRef, attribute: str | None) -> str:
    name = _name(model, r, "Name", 128)
    provider_arn = _arn(model, r, "bedrock-agentcore", f"token-vault/default/oauth2credentialprovider/{name}")
    secret_arn = _arn(
        model,
        r,
        "secretsmanager",
        f"secret:bedrock-agentcore-identity!default/oauth2/{name}-{_suffix(name + '/id', 8).lower()}-{_suffix(name, 6)}",
    )
    return {"CredentialProviderArn": provider_arn, "ClientSecretArn": secret_arn}.get(attribute or "", provider_arn)


def _api_key_provider(model: Assembly, r: ResourceRef, attribute: str | None) -> str:
    # CredentialProviderArn: arn:...:token-vault/<vault>/apikeycredentialprovider/<name> (its registry schema's
    # pattern); the key's secret is AgentCore Identity's bedrock-agentcore-identity!default/apikey/<name>.
    name = _name(model, r, "Name", 128)
    return _arn(model, r, "bedrock-agentcore", f"token-vault/default/apikeycredentialprovider/{name}")


def _default_attribute(model: Assembly, r: ResourceRef, attribute: str | None) -> str:
    service = r.type.split("::")[1].lower() if r.type.startswith("AWS::") else "custom"
    identifier = f"{r.logical_id}-{_suffix(str(r), 12)}".ljust(64, "x")[:64]
    if attribute and attribute.endswith("Arn"):
        return _arn(model, r, service, f"{r.logical_id.lower()}/{identifier}")
    return identifier


_ATTRIBUTES: dict[str, Callable[[Assembly, ResourceRef, str | None], str]] = {
    "AWS::IAM::Role": _role,
    "AWS::Lambda::Function": _function,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::Cognito::UserPool": _user_pool,
    "AWS::Cognito::UserPoolClient": _user_pool_client,
    "AWS::Cognito::UserPoolDomain": _user_pool_domain,
    "AWS::Cognito::UserPoolResourceServer": _resource_server,
    "AWS::BedrockAgentCore::Gateway": _gateway,
    "AWS::BedrockAgentCore::Runtime": _runtime,
    "AWS::BedrockAgentCore::OAuth2CredentialProvider": _credential_provider,
    "AWS::BedrockAgentCore::ApiKeyCredentialProvider": _api_key_provider,
    "AWS::BedrockAgentCore::PolicyEngine": _policy_engine,
}
