"""Post-deploy smoke test: as one agent (its own app client in the gateway pool), get a token, then search, list and
call one entry's tools through the gateway (or a local server). An entry naming a `smokeTool` (a read-only tool of its
`tools:`) gets its declared tools listed and that one tool called; the example's entry, without one, gets its order
tools called and checked. Any kind of entry: an MCP server's tools as its `tools:` (or lock) names them; a lambda,
openapi, smithy or apiGateway entry's as its declaration does (its tool schema, its description's operations, its
operations), each called as <entry>___<tool> through the gateway. Then, for the order tools, as a second agent that may call some but not all of them
(config/agents.yaml), call one it may and one it may not: with PolicyEngineMode ENFORCE the gateway must refuse the
second, with LOG_ONLY it lets it through and only logs the decision."""

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
from typing import Any, Awaitable, Callable, Iterator, NoReturn

import anyio
import boto3
import httpx2
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import TypeAdapter

from app_config import Names, outbound_auth
from app_config.agents import Agents, load_agents
from app_config.declared import SpecError, declared_tools
from app_config.errors import TargetsError
from app_config.model import ROOT, AppSettings, Entry
from app_config.rules import ENTRY_NAME_MAX, ENTRY_NAME_PATTERN, AgentName, agent_client_output, pascal, shard_of
from app_config.targets import load_targets
from tools.mcp_steps import (
    CAUSE_AUTH,
    CAUSE_POLICY,
    CAUSE_SYNC,
    CAUSE_TOOL,
    CheckFailed,
    Probe,
    Report,
    ToolError,
    check_call,
    check_initialize,
    check_listed,
    check_search,
    execute,
    qualified,
    result_value,
    sample_arguments,
)

# CfnOutput logical ids per stack (<prefix>-<env>-<component>): the output keys in CloudFormation and in outputs files.
# The smoke reads these stacks and the one mcp-targets-<shard> stack of the entry it checks (TargetLayout); from the
# cognito stack also the client id of each agent it acts as (Agent<Name>ClientId, client_id_key).
STACK_OUTPUTS = {
    "cognito": ("GatewayUserPoolId", "GatewayTokenEndpoint", "GatewayScope"),
    "gateway": ("GatewayUrl", "GatewayId", "GatewayLogGroup", "PolicyEngineMode"),
    "monitoring": ("DashboardUrl",),
}
# Plus the agent's client id. The target id is optional: only the sync-cause diagnosis (GetGatewayTarget) needs it;
# so are the log group, the runtime and the dashboard, which only say where to look, and the policy mode and the
# denied agent's client id, which only the denial check reads (and fails on when they are missing).
REQUIRED = ("GatewayUserPoolId", "GatewayTokenEndpoint", "GatewayScope", "GatewayUrl")
# The config entry whose tools (the tutorial's getOrder/updateOrder) the smoke calls: config/targets.yaml.
DEFAULT_TARGET = "orders"
DEFAULT_QUERY = "orders"
# The agent the smoke acts as: config/agents.yaml grants it every example tool.
DEFAULT_AGENT = "platform-smoke"
# An entry name as the config allows it (app_config.rules): it is also the tool prefix.
TARGET_NAME = re.compile(ENTRY_NAME_PATTERN)
TARGET_NAME_MAX = ENTRY_NAME_MAX
# An agent name as the config allows it: the very rule of the agents file (app_config.rules.AgentName), its pattern
# and length read from the rule's own JSON Schema so that the message cannot drift from the check.
_AGENT_NAME = TypeAdapter(AgentName)
AGENT_NAME_MAX: int = _AGENT_NAME.json_schema()["maxLength"]
DEFAULT_SHARDS: int = AppSettings.model_fields["target_shards"].default
DEFAULT_TARGETS_FILE: str = AppSettings.model_fields["targets_file"].default
DEFAULT_AGENTS_FILE: str = AppSettings.model_fields["agents_file"].default
DEFAULT_MAX_TARGETS: int = AppSettings.model_fields["max_targets_per_gateway"].default
# The policy engine's modes (app_config.rules.POLICY_MODES), as the PolicyEngineMode output holds them.
ENFORCE, LOG_ONLY = "ENFORCE", "LOG_ONLY"
# How much of the gateway's refusal the denial step quotes.
REASON_CHARS = 120

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
CAUSE_MODE = (
    "stack outputs: the gateway stack's PolicyEngineMode output (LOG_ONLY or ENFORCE) says what the denial check "
    "expects; deploy the current app (`make deploy`), or pass the outputs of this deployment"
)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PROG = "python -m tools.smoke"

AwsClients = Callable[[str, str | None], Any]
Sleep = Callable[[float], Awaitable[Any]]


@dataclass(frozen=True)
class TargetLayout:
    """Where the deployed app keeps what the smoke reads, for one config entry (stacks/__init__.py)."""

    prefix: str
    env: str
    target: str = DEFAULT_TARGET
    shards: int = DEFAULT_SHARDS
    agent: str = DEFAULT_AGENT
    # The denial check's agent, whose client id is read too (not required: only that check needs it).
    denied_agent: str | None = None

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
    def function_name_key(self) -> str:
        # A lambda entry built from a folder: its function's name (constructs/tool_entries.py LambdaToolEntry).
        return f"{pascal(self.target)}FunctionName"

    @property
    def agents(self) -> tuple[str, ...]:
        return (self.agent,) if self.denied_agent in (None, self.agent) else (self.agent, self.denied_agent)

    @property
    def outputs(self) -> dict[str, tuple[str, ...]]:
        """Component -> the output keys read from its stack."""
        clients = tuple(client_id_key(agent) for agent in self.agents)
        return {
            **STACK_OUTPUTS,
            "cognito": STACK_OUTPUTS["cognito"] + clients,
            self.targets_component: (self.target_id_key, self.runtime_arn_key, self.function_name_key),
        }

    @property
    def required(self) -> tuple[str, ...]:
        return (*REQUIRED, client_id_key(self.agent))

    def stack_name(self, component: str) -> str:
        return f"{self.prefix}-{self.env}-{component}"

    @staticmethod
    def artifact_id(component: str) -> str:
        # The app's construct ids: Cognito, Gateway, McpTargets<N> (an outputs file may be keyed by these).
        return pascal(component)


# The cognito stack's output holding an agent's app client id, named as the app names it.
client_id_key = agent_client_output


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
        prog=PROG,
        description=__doc__,
        epilog="Exit status: 0 when every step passed (a skipped denial check included), 1 at the first failing step "
        "(named, with its likely cause), 2 for bad options. The agents' client secrets and tokens are never printed.",
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
        help="config entry whose tools to check, as <NAME>___<tool>: its declared tools listed and its smokeTool "
        f"called, or, without a smokeTool, the example's getOrder/updateOrder (default: {DEFAULT_TARGET})",
    )
    agents = parser.add_argument_group("agents (config/agents.yaml): who the smoke acts as")
    agents.add_argument(
        "--agent",
        default=DEFAULT_AGENT,
        type=agent_name,
        help=f"the agent whose app client gets the token for the order checks (default: {DEFAULT_AGENT}, which "
        "config/agents.yaml grants every example tool); its client id is the Agent<Name>ClientId output",
    )
    agents.add_argument(
        "--denied-agent",
        type=agent_name,
        help="the denial check's agent: an agent of cdk.json's agentsFile that may call some but not all of the "
        "target's getOrder/updateOrder (default: the first such agent there; without one the check is skipped)",
    )
    parser.add_argument("--url", help="MCP endpoint; overrides the gateway URL from the outputs")
    parser.add_argument("--no-auth", action="store_true", help="no token: check a local server (`make serve`) at --url")
    parser.add_argument(
        "--query", help=f"semantic search query (default: {DEFAULT_QUERY} for the order tools, else the entry's name)"
    )
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


def agent_name(text: str) -> str:
    try:
        return str(_AGENT_NAME.validate_python(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a config/agents.yaml agent name (lowercase letters, digits, single hyphens, at most "
            f"{AGENT_NAME_MAX} characters)"
        ) from None


def usage_error(message: str) -> NoReturn:
    """Refuse the options before anything runs, as argparse does (exit status 2)."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


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
    missing = [key for key in layout.required if key not in outputs]
    if missing:
        seen = ", ".join(by_stack) or "none"
        cause = CAUSE_OUTPUTS
        if client_id_key(layout.agent) in missing and len(missing) == 1:
            # Everything else is there: the deployment lacks this agent (its agents file has no such entry).
            cause += f"; is {layout.agent!r} an agent of the agents file this deployment was made with (--agent)?"
        raise CheckFailed(f"missing outputs {', '.join(missing)} (stacks seen: {seen})", cause)
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
# Each order tool's arguments and the value the example server answers them with (mcp_server/server.py).
ORDER_CALLS: dict[str, tuple[dict[str, Any], int]] = {"getOrder": ({}, 123), "updateOrder": ({"orderId": 123}, 456)}


async def order_checks(report: Report, probe: Probe, prefix: str) -> None:
    await check_listed(report, probe, [qualified(prefix, tool) for tool in ORDER_TOOLS])
    for tool in ("updateOrder", "getOrder"):
        arguments, expected = ORDER_CALLS[tool]
        await check_call(report, probe, qualified(prefix, tool), arguments, expected=expected)


@dataclass(frozen=True)
class EntryChecks:
    """What the smoke lists and calls for one entry: its declared tools, and the one tool it is safe to call. The
    example's order checks (`orders`) are for an entry with no smokeTool, that the config lacks or that declares them."""

    declared: tuple[str, ...]
    smoke_tool: str | None
    order_tools: bool
    # The entry's kind and how the gateway authenticates to it: what a failed call's cause points at.
    kind: str = "hosted"
    auth: str = "oauth"

    @classmethod
    def of(cls, entry: Entry | None) -> EntryChecks:
        if entry is None:
            return cls(ORDER_TOOLS, None, True)
        names = entry.tools
        if names is None:
            # A declared kind's tools are its declaration's (the app takes them from there too: its lock says the
            # same); an MCP server without `tools:` lists its lock's, which the smoke does not read.
            try:
                derived = declared_tools(entry)
            except SpecError as error:
                raise TargetsError(f"entry {entry.name}: {error}") from None
            names = [tool["name"] for tool in derived or ()]
        declared = tuple(names)
        order_tools = entry.smoke_tool is None and set(ORDER_TOOLS) <= set(declared)
        return cls(declared, entry.smoke_tool, order_tools, entry.kind, outbound_auth(entry))

    @property
    def searched(self) -> tuple[str, ...]:
        return self.declared or ((self.smoke_tool,) if self.smoke_tool else ())


async def entry_checks(report: Report, probe: Probe, prefix: str, checks: EntryChecks) -> None:
    if checks.order_tools:
        await order_checks(report, probe, prefix)
        return
    tools = await check_listed(report, probe, [qualified(prefix, tool) for tool in checks.declared])
    if checks.smoke_tool is None:
        report.skip("call", "its entry names no smokeTool (a read-only tool of its tools:), so nothing is called")
        return
    name = qualified(prefix, checks.smoke_tool)
    schema = next((tool.input_schema for tool in tools if tool.name == name), None)
    await check_call(report, probe, name, sample_arguments(schema))


# An entry the targets file lacks is checked as the example's (its order tools), as before entries named a smokeTool.
EXAMPLE_CHECKS = EntryChecks.of(None)


def target_entry(context: dict[str, Any], target: str) -> Entry | None:
    """The targets file's entry named `target` (cdk.json's targetsFile), or None when the file has none."""
    value = context.get("targetsFile")
    path = Path(value if isinstance(value, str) and value else DEFAULT_TARGETS_FILE)
    path = path if path.is_absolute() else ROOT / path
    try:
        entries = load_targets(path, max_targets=10_000)
    except TargetsError as error:
        raise TargetsError(f"{path}: {error}") from None
    return next((entry for entry in entries if entry.name == target), None)


# The denial check: a second agent, granted some but not all of the order tools, through the same gateway.


@dataclass(frozen=True)
class DenialPlan:
    """The agent the denial check acts as, an order tool its grants include and one they do not (unqualified)."""

    agent: str
    permitted: str
    denied: str


def agent_grants(context: dict[str, Any]) -> Agents:
    """The agents file the app reads (cdk.json's agentsFile), each agent's grants resolved against the targets file
    as the app resolves them (a whole target is the tools its entry declares)."""

    def path(key: str, default: str) -> Path:
        value = context.get(key)
        chosen = Path(value if isinstance(value, str) and value else default)
        return chosen if chosen.is_absolute() else ROOT / chosen

    quota = context.get("maxTargetsPerGateway")
    max_targets = quota if isinstance(quota, int) and not isinstance(quota, bool) and quota > 0 else DEFAULT_MAX_TARGETS
    targets_file, agents_file = path("targetsFile", DEFAULT_TARGETS_FILE), path("agentsFile", DEFAULT_AGENTS_FILE)
    try:
        targets = load_targets(targets_file, max_targets=max_targets)
    except TargetsError as error:
        raise TargetsError(f"{targets_file}: {error}") from None
    try:
        return load_agents(agents_file, targets)
    except TargetsError as error:
        raise TargetsError(f"{agents_file}: {error}") from None


def plan_denial(agents: Agents, target: str, denied_agent: str | None) -> DenialPlan | str:
    """The denial check for `target`'s order tools: with the named agent, else the first agent of the file granted some
    but not all of them; the reason there is none (the skipped row's detail) when no agent of the file qualifies.
    Raises ValueError for a named agent that cannot serve."""
    tools = [qualified(target, tool) for tool in ORDER_TOOLS]

    def split(agent: str) -> tuple[list[str], list[str]]:
        granted = set(agents.allowed(agent))
        return [t for t in ORDER_TOOLS if qualified(target, t) in granted], [
            t for t in ORDER_TOOLS if qualified(target, t) not in granted
        ]

    names = [agent.name for agent in agents.entries]
    if denied_agent is not None:
        if denied_agent not in names:
            raise ValueError(
                f"--denied-agent {denied_agent!r} is not in the agents file (agents: {', '.join(names) or 'none'}): "
                "the check needs its grants"
            )
        permitted, denied = split(denied_agent)
        if not permitted or not denied:
            which = "every one" if permitted else "none"
            raise ValueError(
                f"--denied-agent {denied_agent!r} may call {which} of {', '.join(tools)}: the denial check needs an "
                "agent that may call one of them and not another"
            )
        return DenialPlan(denied_agent, permitted[0], denied[0])
    for name in names:
        permitted, denied = split(name)
        if permitted and denied:
            return DenialPlan(name, permitted[0], denied[0])
    return f"no agent in the agents file may call some but not all of {', '.join(tools)}"


@dataclass(frozen=True)
class Session:
    """What a token needs and where the gateway is: read once from the outputs, shared by both agents."""

    found: dict[str, str]
    region: str
    args: argparse.Namespace
    aws: AwsClients
    sleep: Sleep

    async def token(self, report: Report, agent: str) -> tuple[str, str, str]:
        """The agent's client id, a token for it (hidden from the report) and the token's description."""
        key = client_id_key(agent)
        client_id = self.found.get(key)
        if not client_id:
            raise CheckFailed(
                f"no {key} output in the cognito stack: is {agent!r} an agent of the agents file this deployment was "
                "made with?",
                CAUSE_OUTPUTS,
            )
        secret = read_client_secret(self.aws("cognito-idp", self.region), self.found["GatewayUserPoolId"], client_id)
        report.hide(secret.reveal())
        token, described = await fetch_token(
            self.found["GatewayTokenEndpoint"],
            client_id,
            secret,
            self.found["GatewayScope"],
            attempts=self.args.token_attempts,
            timeout=self.args.timeout,
            sleep=self.sleep,
        )
        report.hide(token)
        return client_id, token, described

    @property
    def url(self) -> str:
        return str(self.args.url or self.found["GatewayUrl"])


def gateway_policy(control: Any, gateway_id: str) -> tuple[str, str]:
    """What the gateway really runs with (GetGateway), as a clause, and its engine's id; empty when unreadable."""
    try:
        configuration = control.get_gateway(gatewayIdentifier=gateway_id).get("policyEngineConfiguration")
    except Exception:  # a diagnosis only: the smoke already failed for a better-known reason
        return "", ""
    if not configuration:
        return "the gateway has no policy engine attached", ""
    # Policy engine ARNs end in policy-engine/<id>.
    engine = str(configuration.get("arn", "")).rpartition("policy-engine/")[2]
    return f"the gateway runs engine {engine or '?'} in mode {configuration.get('mode', '?')}", engine


def policy_places(session: Session, layout: TargetLayout, agent: str) -> str:
    """Where a policy decision comes from, as commands: the gateway's engine and mode, the agent's policy, and every
    policy of the engine (another policy may permit what the agent's does not)."""
    names = Names(layout.prefix, layout.env)
    gateway_id = session.found.get("GatewayId", "<GatewayId>")
    seen, engine = gateway_policy(session.aws("bedrock-agentcore-control", session.region), gateway_id)
    return (
        f"the gateway's engine and mode (aws bedrock-agentcore-control get-gateway --gateway-identifier {gateway_id} "
        f"--query policyEngineConfiguration{'; ' + seen if seen else ''}), {agent}'s policy "
        f"{names.agent_policy(agent)} (Agent{pascal(agent)}Policy in stack {names.stack('agents')}) and every policy "
        f"of the engine (aws bedrock-agentcore-control list-policies --policy-engine-id "
        f"{engine or f'<the id of engine {names.policy_engine}>'})"
    )


def _quoted(reason: str) -> str:
    reason = " ".join(reason.split())
    return reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 3] + "..."


async def denial_checks(report: Report, session: Session, layout: TargetLayout, plan: DenialPlan | str) -> None:
    """As an agent granted some but not all of the order tools, in a new session: call one it may (it must work) and
    one it may not (ENFORCE must refuse it, LOG_ONLY lets it through), then list the tools it is shown."""
    if isinstance(plan, str):
        report.skip("denial check", plan)
        return
    agent, mode = plan.agent, session.found.get("PolicyEngineMode")
    permitted, denied = qualified(layout.target, plan.permitted), qualified(layout.target, plan.denied)

    def places() -> str:
        return policy_places(session, layout, agent)

    async def token() -> tuple[str, str]:
        client_id, token, described = await session.token(report, agent)
        return token, f"app client {client_id}: {described} (secret not shown)"

    bearer = await report.step(f"token as {agent}", token, cause=CAUSE_TOKEN)
    # A new session: the gateway evaluates the policies for the caller of each request, but a session of the first
    # agent's would prove nothing about this one's token.
    async with Probe(session.url, token=bearer, timeout=session.args.timeout) as probe:
        await report.step(f"initialize as {agent}", probe.initialize)

        async def call_permitted() -> tuple[None, str]:
            arguments, expected = ORDER_CALLS[plan.permitted]
            try:
                value = result_value(await probe.call(permitted, arguments))
            except CheckFailed as failed:
                if failed.cause != CAUSE_POLICY:
                    raise
                raise CheckFailed(
                    str(failed), f"{CAUSE_POLICY}; yet {agent}'s grants include it: check {places()}"
                ) from None
            if value != expected:
                raise CheckFailed(f"{permitted} returned {value!r}, expected {expected!r}", CAUSE_TOOL)
            return None, f"-> {value!r} (granted)"

        await report.step(f"call {permitted} as {agent}", call_permitted, cause=CAUSE_TOOL)

        async def call_denied() -> tuple[None, str]:
            if mode not in (ENFORCE, LOG_ONLY):
                # Checked before the call: without the mode, neither outcome could be judged.
                raise CheckFailed(
                    f"PolicyEngineMode output is {mode or 'missing'}, not LOG_ONLY or ENFORCE", CAUSE_MODE
                )
            outcome = await probe.attempt(denied, ORDER_CALLS[plan.denied][0])
            if isinstance(outcome, ToolError) and not outcome.by_policy:
                # An error, but not the policy engine's (runtime down, arguments refused): no verdict on the policy,
                # whichever the mode; were it taken for a refusal, a broken runtime would pass the check.
                raise CheckFailed(f"failed, but not by the policy engine: {_quoted(outcome.message)}", CAUSE_TOOL)
            if mode == ENFORCE:
                if isinstance(outcome, ToolError):
                    return None, f"refused: {_quoted(outcome.text)}"
                raise CheckFailed(
                    f"{denied} went through for {agent}, whose grants do not include it",
                    f"policy engine: PolicyEngineMode is ENFORCE, so the gateway must refuse a call no policy "
                    f"permits; check {places()}",
                )
            if isinstance(outcome, ToolError):
                raise CheckFailed(
                    f"refused although PolicyEngineMode is LOG_ONLY: {_quoted(outcome.text)}",
                    "policy engine: the gateway enforces though this deployment's outputs say LOG_ONLY (stale "
                    f"outputs, or the gateway changed outside CloudFormation); check {places()}",
                )
            return None, "allowed: LOG_ONLY logs the decision only (ENFORCE refuses it)"

        await report.step(f"deny {denied} as {agent}", call_denied, cause=CAUSE_TOOL)

        async def listed() -> tuple[None, str]:
            names = [tool.name for tool in await probe.list_tools()]
            shown = f"{len(names)} tools, {denied} {'listed' if denied in names else 'not listed'}"
            if mode != ENFORCE:
                # Informational: AWS documents the filtered listing as what policies permit, and LOG_ONLY enforces
                # none of their decisions; whether it filters the listing all the same is not documented.
                return None, f"{shown} (only ENFORCE must hide what no policy permits)"
            # Documented: a principal sees in the listing only the tools a policy would let it call.
            if denied in names:
                raise CheckFailed(
                    f"{denied} is listed to {agent}, whose grants do not include it",
                    f"policy engine: an enforcing gateway lists only the tools a policy permits; check {places()}",
                )
            if permitted not in names:
                raise CheckFailed(
                    f"{permitted} is not listed to {agent}, whose grants include it (listed: {', '.join(names)})",
                    f"{CAUSE_SYNC}; or no policy permits it: check {places()}",
                )
            return None, f"{shown} (ENFORCE lists only what a policy permits)"

        await report.step(f"list tools as {agent}", listed)


# Against a server of one's own (`--url ... --no-auth`) there is no gateway, catalog, policy or OAuth to blame.
LOCAL_CAUSES = {
    CAUSE_SYNC: "server: its tools/list lacks tools its entry declares (tools: in the targets file)",
    CAUSE_TOOL: "server: the tool call failed; read the server's output (make serve prints it)",
    CAUSE_POLICY: "server: it refused the call",
    CAUSE_AUTH: "server: it refused the request; a local server needs no token",
}


async def local_smoke(report: Report, args: argparse.Namespace, checks: EntryChecks) -> None:
    try:
        async with Probe(args.url, timeout=args.timeout) as probe:
            await check_initialize(report, probe)
            await entry_checks(report, probe, "", checks)
    finally:
        failed = report.failure
        if failed is not None:
            failed.cause = LOCAL_CAUSES.get(failed.cause, failed.cause)


async def gateway_smoke(
    report: Report,
    args: argparse.Namespace,
    aws: AwsClients,
    sleep: Sleep,
    plan: DenialPlan | str,
    checks: EntryChecks = EXAMPLE_CHECKS,
) -> None:
    denied_agent = plan.agent if isinstance(plan, DenialPlan) else None
    layout = TargetLayout(args.prefix, args.env, args.target, args.shards, args.agent, denied_agent)
    targets_stack = layout.stack_name(layout.targets_component)

    def outputs() -> tuple[dict[str, str], str]:
        if args.outputs_file:
            by_stack = outputs_from_file(args.outputs_file)
        else:
            by_stack = outputs_from_cloudformation(aws("cloudformation", args.region), layout)
        picked = pick_outputs(by_stack, layout)
        where = picked.get(layout.target_id_key) or f"no {layout.target_id_key} in {targets_stack}"
        mode = picked.get("PolicyEngineMode", "unknown")
        return picked, f"gateway {picked.get('GatewayId', '?')}, target {args.target} ({where}), policy {mode}"

    found = await report.step("stack outputs", outputs, cause=CAUSE_OUTPUTS)
    # A pool id starts with its region (us-east-1_AbCdEf123), so the outputs alone say where to call.
    session = Session(found, found["GatewayUserPoolId"].split("_", 1)[0], args, aws, sleep)
    client_id = found[client_id_key(args.agent)]

    def secret() -> tuple[Secret, str]:
        value = read_client_secret(aws("cognito-idp", session.region), found["GatewayUserPoolId"], client_id)
        report.hide(value.reveal())
        return value, f"app client {client_id} of agent {args.agent} (secret not shown)"

    client_secret = await report.step("client secret", secret, cause=CAUSE_AWS)
    token = await report.step(
        "token",
        lambda: fetch_token(
            found["GatewayTokenEndpoint"],
            client_id,
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
        async with Probe(session.url, token=token, timeout=args.timeout) as probe:
            await check_initialize(report, probe)
            if checks.searched:
                query = args.query or (DEFAULT_QUERY if checks.order_tools else args.target)
                await check_search(report, probe, query, [qualified(prefix, tool) for tool in checks.searched])
            else:
                report.skip("search", "its entry declares no tools to look for")
            await entry_checks(report, probe, prefix, checks)
        if checks.order_tools:
            await denial_checks(report, session, layout, plan)
        else:
            report.skip("denial check", "it calls the example's order tools (--target orders)")
    finally:
        report.notes.extend(where_to_look(found, layout))
        failed = report.failure
        if failed is not None and failed.cause == CAUSE_TOOL:
            failed.cause = tool_cause(checks, found, layout)
        if failed is not None and failed.cause == CAUSE_SYNC:
            if not target_id:
                failed.cause += (
                    f"; no {layout.target_id_key} output in {targets_stack}: is {args.target!r} an entry of "
                    "config/targets.yaml deployed here (and --shards what it was deployed with)?"
                )
            elif found.get("GatewayId"):
                status = target_status(aws("bedrock-agentcore-control", session.region), found["GatewayId"], target_id)
                failed.cause += f"; {status}" if status else ""
            if found.get("PolicyEngineMode") == ENFORCE:
                # An enforcing gateway lists (and may search) only the tools the caller's policies permit.
                failed.cause += (
                    f"; or, as PolicyEngineMode is ENFORCE, {args.agent}'s policy does not permit them (its grants in "
                    "the agents file)"
                )


def tool_cause(checks: EntryChecks, found: dict[str, str], layout: TargetLayout) -> str:
    """Where a call that failed past the catalog went wrong, for the entry's kind (CAUSE_TOOL is a hosted entry's)."""
    if checks.kind == "lambda":
        function = found.get(layout.function_name_key)
        logs = f"/aws/lambda/{function}" if function else "the function's own log group (an existing function)"
        return (
            f"function: the tool call failed past the catalog; read {logs}, and check that the gateway's role may "
            "invoke the function (its resource policy; cross-account: its owner's)"
        )
    auth = {
        "apiKey": "its API-key credential provider (the key in Secrets Manager)",
        "oauth": "its OAuth credential provider",
        "iam": "the gateway role's grants for it (its shard's GatewayGrants policy)",
    }[checks.auth]
    if checks.kind in ("openapi", "smithy", "apiGateway"):
        return (
            f"API: the tool call failed past the catalog; the gateway's logs hold the API's answer; check the API's "
            f"own logs and {auth}"
        )
    if checks.kind == "existing":
        return f"server: the tool call failed past the catalog; check the team's server and {auth}"
    return CAUSE_TOOL


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
    function = found.get(layout.function_name_key)
    if function:
        # Lambda's default log group, which the app adopts with the environment's retention.
        lines.append(f"function logs: /aws/lambda/{function} ({layout.target})")
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
    context = cdk_context()
    try:
        checks = EntryChecks.of(target_entry(context, args.target))
    except TargetsError as error:  # the config files are the user's to fix
        usage_error(str(error))
    if args.no_auth:
        return execute(functools.partial(local_smoke, args=args, checks=checks))
    settings = cdk_environment(context, args.env)
    args.prefix = args.prefix or settings.get("namePrefix", "mcpgw")
    args.region = args.region or settings.get("region")
    args.shards = args.shards or cdk_shards(context)
    # Before anything runs: which agent the denial check acts as, from the agents file the app reads.
    try:
        plan = plan_denial(agent_grants(context), args.target, args.denied_agent)
    except ValueError as error:  # TargetsError included: the config files are the user's to fix
        usage_error(str(error))
    return execute(functools.partial(gateway_smoke, args=args, aws=aws, sleep=sleep, plan=plan, checks=checks))


if __name__ == "__main__":
    sys.exit(main())
