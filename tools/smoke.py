"""Post-deploy smoke test: token, search, list and call one target's order tools through the gateway, or a local
server."""

from __future__ import annotations

import argparse
import base64
import functools
import json
import logging
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import anyio
import boto3
import httpx2
from botocore.exceptions import BotoCoreError, ClientError

from app_config.model import AppSettings
from app_config.rules import ENTRY_NAME_MAX, ENTRY_NAME_PATTERN, pascal, shard_of
from tools.mcp_steps import (
    CAUSE_SYNC,
    CheckFailed,
    Probe,
    Report,
    check_call,
    check_initialize,
    check_listed,
    check_search,
    execute,
    qualified,
)

# CfnOutput logical ids per stack (<prefix>-<env>-<component>): the output keys in CloudFormation and in outputs files.
# The smoke reads these two stacks and the one mcp-targets-<shard> stack of the entry it checks (TargetLayout).
STACK_OUTPUTS = {
    "cognito": ("GatewayUserPoolId", "GatewayClientId", "GatewayTokenEndpoint", "GatewayScope"),
    "gateway": ("GatewayUrl", "GatewayId", "GatewayLogGroup"),
    "monitoring": ("DashboardUrl",),
}
# The target id is optional: only the sync-cause diagnosis (GetGatewayTarget) needs it; so are the log group, the
# runtime and the dashboard, which only say where to look.
REQUIRED = ("GatewayUserPoolId", "GatewayClientId", "GatewayTokenEndpoint", "GatewayScope", "GatewayUrl")
# The config entry whose tools (the tutorial's getOrder/updateOrder) the smoke calls: config/targets.yaml.
DEFAULT_TARGET = "orders"
# An entry name as the config allows it (app_config.rules): it is also the tool prefix.
TARGET_NAME = re.compile(ENTRY_NAME_PATTERN)
TARGET_NAME_MAX = ENTRY_NAME_MAX
DEFAULT_SHARDS: int = AppSettings.model_fields["target_shards"].default

CAUSE_OUTPUTS = (
    "stack outputs: deploy first (`make deploy`), or pass the deployment's --env/--prefix/--region or --outputs-file"
)
CAUSE_AWS = (
    "AWS access: credentials, region, or permission for cloudformation:DescribeStacks and "
    "cognito-idp:DescribeUserPoolClient on the gateway pool"
)
CAUSE_TOKEN = (
    "token: Cognito refused the client-credentials grant (client id/secret, scope, or the pool's domain still "
    "propagating right after deploy)"
)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

AwsClients = Callable[[str, str | None], Any]
Sleep = Callable[[float], Awaitable[Any]]


@dataclass(frozen=True)
class TargetLayout:
    """Where the deployed app keeps what the smoke reads, for one config entry (stacks/__init__.py)."""

    prefix: str
    env: str
    target: str = DEFAULT_TARGET
    shards: int = DEFAULT_SHARDS

    @property
    def targets_component(self) -> str:
        return f"mcp-targets-{shard_of(self.target, self.shards)}"

    @property
    def target_id_key(self) -> str:
        return f"{pascal(self.target)}TargetId"

    @property
    def runtime_arn_key(self) -> str:
        return f"{pascal(self.target)}RuntimeArn"

    @property
    def outputs(self) -> dict[str, tuple[str, ...]]:
        """Component -> the output keys read from its stack."""
        return {**STACK_OUTPUTS, self.targets_component: (self.target_id_key, self.runtime_arn_key)}

    def stack_name(self, component: str) -> str:
        return f"{self.prefix}-{self.env}-{component}"

    @staticmethod
    def artifact_id(component: str) -> str:
        # The app's construct ids: Cognito, Gateway, McpTargets<N> (an outputs file may be keyed by these).
        return pascal(component)


class Secret:
    """A credential that renders as *** in str, repr and f-strings, so no message, log or traceback can show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.smoke",
        description=__doc__,
        epilog="Exit status: 0 when every step passed, 1 at the first failing step (named, with its likely cause).",
    )
    source = parser.add_argument_group("deployed gateway (default): where the stack outputs come from")
    source.add_argument("--outputs-file", type=Path, help="a `cdk deploy --outputs-file` JSON file")
    source.add_argument("--env", default="dev", help="environment name in cdk.json (default: dev)")
    source.add_argument("--prefix", help="name prefix of the stacks (default: cdk.json's namePrefix for --env)")
    source.add_argument("--region", help="region of the stacks (default: cdk.json's region for --env)")
    source.add_argument(
        "--shards",
        type=positive_int,
        help="targetShards the app was deployed with (default: cdk.json's context, else 4): picks the entry's stack",
    )
    parser.add_argument(
        "--target",
        default=DEFAULT_TARGET,
        type=_target_name,
        help=f"config entry whose getOrder/updateOrder tools to check, as <NAME>___<tool> (default: {DEFAULT_TARGET})",
    )
    parser.add_argument("--url", help="MCP endpoint; overrides the gateway URL from the outputs")
    parser.add_argument("--no-auth", action="store_true", help="no token: check a local server (`make serve`) at --url")
    parser.add_argument("--query", default="orders", help="semantic search query (default: orders)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default: 30)")
    parser.add_argument("--token-attempts", type=int, default=4, help="token endpoint attempts on 5xx/network errors")
    args = parser.parse_args(argv)
    if args.no_auth and not args.url:
        parser.error("--no-auth needs --url (e.g. http://127.0.0.1:8000/mcp)")
    return args


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return value


def _target_name(text: str) -> str:
    if len(text) > TARGET_NAME_MAX or not TARGET_NAME.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a config/targets.yaml entry name (lowercase letters, digits, single hyphens, at most "
            f"{TARGET_NAME_MAX} characters)"
        )
    return text


def cdk_context() -> dict[str, Any]:
    try:
        context = json.loads((Path(__file__).resolve().parent.parent / "cdk.json").read_text())["context"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return context if isinstance(context, dict) else {}


def cdk_environment(context: dict[str, Any], env: str) -> dict[str, Any]:
    try:
        return dict(context["environments"][env])
    except (KeyError, TypeError, ValueError):
        return {}


def cdk_shards(context: dict[str, Any]) -> int:
    shards = context.get("targetShards", DEFAULT_SHARDS)
    if isinstance(shards, int) and not isinstance(shards, bool) and shards >= 1:
        return shards
    return DEFAULT_SHARDS


def pick_outputs(by_stack: dict[str, dict[str, str]], layout: TargetLayout) -> dict[str, str]:
    """The outputs the smoke needs, from its stacks keyed by stack name, else by CDK artifact id, else any key."""
    wanted = layout.outputs
    by_name = {n: v for n, v in by_stack.items() if n in {layout.stack_name(c) for c in wanted}}
    by_id = {n: v for n, v in by_stack.items() if n in {layout.artifact_id(c) for c in wanted}}
    known = {key for keys in wanted.values() for key in keys}
    outputs: dict[str, str] = {}
    for name, values in (by_name or by_id or by_stack).items():
        for key, value in values.items():
            if key in known:
                if outputs.get(key, value) != value:
                    raise CheckFailed(f"output {key} differs between stacks (e.g. {name}); pass --env/--prefix")
                outputs[key] = value
    missing = [key for key in REQUIRED if key not in outputs]
    if missing:
        seen = ", ".join(by_stack) or "none"
        raise CheckFailed(f"missing outputs {', '.join(missing)} (stacks seen: {seen})", CAUSE_OUTPUTS)
    return outputs


def outputs_from_file(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckFailed(f"cannot read {path}: {exc}", CAUSE_OUTPUTS) from None
    if not isinstance(data, dict):
        raise CheckFailed(f"{path} is not a `cdk deploy --outputs-file` map of stack to outputs", CAUSE_OUTPUTS)
    return {name: values for name, values in data.items() if isinstance(values, dict)}


def outputs_from_cloudformation(cloudformation: Any, layout: TargetLayout) -> dict[str, dict[str, str]]:
    """Only the stacks the smoke reads: cognito, gateway, monitoring and the entry's mcp-targets shard."""
    by_stack = {}
    for component in layout.outputs:
        name = layout.stack_name(component)
        try:
            stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        except ClientError as exc:
            if "does not exist" in str(exc):
                continue
            raise CheckFailed(f"DescribeStacks {name}: {exc.response['Error'].get('Code')}", CAUSE_AWS) from None
        except BotoCoreError as exc:
            raise CheckFailed(f"DescribeStacks {name}: {type(exc).__name__}: {exc}", CAUSE_AWS) from None
        by_stack[name] = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return by_stack


@contextmanager
def _silenced(logger_name: str) -> Iterator[None]:
    """Drop a logger's records for a while: botocore logs every response body at DEBUG, secrets included."""
    logger = logging.getLogger(logger_name)
    drop = logging.Filter(name="\0")  # matches no logger name, so it rejects every record
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def read_client_secret(cognito: Any, pool_id: str, client_id: str) -> Secret:
    try:
        with _silenced("botocore.parsers"):
            client = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
    except ClientError as exc:
        raise CheckFailed(f"DescribeUserPoolClient: {exc.response['Error'].get('Code')}", CAUSE_AWS) from None
    except BotoCoreError as exc:
        raise CheckFailed(f"DescribeUserPoolClient: {type(exc).__name__}: {exc}", CAUSE_AWS) from None
    if not client.get("ClientSecret"):
        raise CheckFailed(f"app client {client_id} has no secret: it cannot use client credentials", CAUSE_TOKEN)
    return Secret(client["ClientSecret"])


def _require_https(url: str) -> None:
    parsed = httpx2.URL(url)
    if parsed.scheme != "https" and parsed.host not in LOOPBACK:
        scheme = parsed.scheme or "no scheme"
        raise CheckFailed(f"refusing to send client credentials over {scheme} to {parsed.host}", CAUSE_OUTPUTS)


async def fetch_token(
    endpoint: str,
    client_id: str,
    secret: Secret,
    scope: str,
    *,
    attempts: int = 4,
    timeout: float = 30.0,
    sleep: Sleep = anyio.sleep,
) -> tuple[str, str]:
    """A client-credentials access token; retries 5xx and network errors with backoff (new Cognito domains lag)."""
    _require_https(endpoint)
    basic = base64.b64encode(f"{client_id}:{secret.reveal()}".encode()).decode()
    async with httpx2.AsyncClient(timeout=timeout) as http:
        for attempt in range(1, attempts + 1):
            try:
                response = await http.post(
                    endpoint,
                    data={"grant_type": "client_credentials", "scope": scope},
                    headers={"Authorization": f"Basic {basic}"},
                )
            except httpx2.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 500:
                    break
                problem = f"HTTP {response.status_code}"
            if attempt < attempts:
                await sleep(2 ** (attempt - 1))
        else:
            raise CheckFailed(f"token endpoint failed {attempts} times, last: {problem}", CAUSE_TOKEN)
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200:
        error = body.get("error", "no OAuth error code") if isinstance(body, dict) else "no OAuth error code"
        raise CheckFailed(f"HTTP {response.status_code} from the token endpoint: {str(error)[:80]}", CAUSE_TOKEN)
    if not isinstance(body, dict) or not body.get("access_token"):
        raise CheckFailed("the token endpoint answered without an access_token", CAUSE_TOKEN)
    return body["access_token"], f"{body.get('token_type', 'bearer')} token, expires in {body.get('expires_in', '?')} s"


def target_status(control: Any, gateway_id: str, target_id: str) -> str:
    """The target's status and reasons, to tell a failed sync from a stale catalog; empty when it cannot be read."""
    try:
        target = control.get_gateway_target(gatewayIdentifier=gateway_id, targetId=target_id)
    except Exception:  # a diagnosis only: the smoke already failed for a better-known reason
        return ""
    reasons = "; ".join(target.get("statusReasons") or [])
    return f"target {target_id} is {target.get('status', 'UNKNOWN')}" + (f" ({reasons})" if reasons else "")


ORDER_TOOLS = ("getOrder", "updateOrder")


async def order_checks(report: Report, probe: Probe, prefix: str) -> None:
    await check_listed(report, probe, [qualified(prefix, tool) for tool in ORDER_TOOLS])
    await check_call(report, probe, qualified(prefix, "updateOrder"), {"orderId": 123}, expected=456)
    await check_call(report, probe, qualified(prefix, "getOrder"), {}, expected=123)


async def local_smoke(report: Report, args: argparse.Namespace) -> None:
    async with Probe(args.url, timeout=args.timeout) as probe:
        await check_initialize(report, probe)
        await order_checks(report, probe, prefix="")


async def gateway_smoke(report: Report, args: argparse.Namespace, aws: AwsClients, sleep: Sleep) -> None:
    layout = TargetLayout(args.prefix, args.env, args.target, args.shards)
    targets_stack = layout.stack_name(layout.targets_component)

    def outputs() -> tuple[dict[str, str], str]:
        if args.outputs_file:
            by_stack = outputs_from_file(args.outputs_file)
        else:
            by_stack = outputs_from_cloudformation(aws("cloudformation", args.region), layout)
        picked = pick_outputs(by_stack, layout)
        where = picked.get(layout.target_id_key) or f"no {layout.target_id_key} in {targets_stack}"
        return picked, f"gateway {picked.get('GatewayId', '?')}, target {args.target} ({where})"

    found = await report.step("stack outputs", outputs, cause=CAUSE_OUTPUTS)
    # A pool id starts with its region (us-east-1_AbCdEf123), so the outputs alone say where to call.
    region = found["GatewayUserPoolId"].split("_", 1)[0]

    def secret() -> tuple[Secret, str]:
        value = read_client_secret(aws("cognito-idp", region), found["GatewayUserPoolId"], found["GatewayClientId"])
        report.hide(value.reveal())
        return value, f"app client {found['GatewayClientId']} (secret not shown)"

    client_secret = await report.step("client secret", secret, cause=CAUSE_AWS)
    token = await report.step(
        "token",
        lambda: fetch_token(
            found["GatewayTokenEndpoint"],
            found["GatewayClientId"],
            client_secret,
            found["GatewayScope"],
            attempts=args.token_attempts,
            timeout=args.timeout,
            sleep=sleep,
        ),
        cause=CAUSE_TOKEN,
    )
    report.hide(token)
    # The gateway names a target after its config entry and exposes its tools as <entry>___<tool>.
    prefix = args.target
    target_id = found.get(layout.target_id_key)
    try:
        async with Probe(args.url or found["GatewayUrl"], token=token, timeout=args.timeout) as probe:
            await check_initialize(report, probe)
            await check_search(report, probe, args.query, [qualified(prefix, tool) for tool in ORDER_TOOLS])
            await order_checks(report, probe, prefix)
    finally:
        report.notes.extend(where_to_look(found, layout))
        failed = report.failure
        if failed is not None and failed.cause == CAUSE_SYNC:
            if not target_id:
                failed.cause += (
                    f"; no {layout.target_id_key} output in {targets_stack}: is {args.target!r} an entry of "
                    "config/targets.yaml deployed here (and --shards what it was deployed with)?"
                )
            elif found.get("GatewayId"):
                status = target_status(aws("bedrock-agentcore-control", region), found["GatewayId"], target_id)
                failed.cause += f"; {status}" if status else ""


def where_to_look(found: dict[str, str], layout: TargetLayout) -> list[str]:
    """The dashboard and the log groups that hold the calls the smoke just made (those the outputs name)."""
    lines = []
    if found.get("DashboardUrl"):
        lines.append(f"dashboard:    {found['DashboardUrl']}")
    if found.get("GatewayLogGroup"):
        lines.append(f"gateway logs: {found['GatewayLogGroup']}")
    runtime_arn = found.get(layout.runtime_arn_key, "")
    if "runtime/" in runtime_arn:
        # AgentCore writes a runtime's output to a group named after its id and endpoint (README, "Observability").
        runtime_id = runtime_arn.rsplit("runtime/", 1)[1]
        lines.append(f"runtime logs: /aws/bedrock-agentcore/runtimes/{runtime_id}-DEFAULT ({layout.target})")
    return ["where to look:", *("  " + line for line in lines)] if lines else []


def boto_client(service: str, region: str | None) -> Any:
    return boto3.client(service, region_name=region)


def main(
    argv: list[str] | None = None,
    *,
    aws: AwsClients = boto_client,
    sleep: Sleep = anyio.sleep,
) -> int:
    args = parse_args(argv)
    if args.no_auth:
        return execute(functools.partial(local_smoke, args=args))
    context = cdk_context()
    settings = cdk_environment(context, args.env)
    args.prefix = args.prefix or settings.get("namePrefix", "mcpgw")
    args.region = args.region or settings.get("region")
    args.shards = args.shards or cdk_shards(context)
    return execute(functools.partial(gateway_smoke, args=args, aws=aws, sleep=sleep))


if __name__ == "__main__":
    sys.exit(main())
