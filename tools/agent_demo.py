"""Optional agent demo: a Bedrock Converse tool-use loop whose tools are the gateway's MCP tools (the tutorial's agent,
without Strands), acting as one of the agents of config/agents.yaml (its own app client, its policy's tools)."""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import anyio
import anyio.to_thread
import mcp_types as types
from botocore.exceptions import BotoCoreError, ClientError

from tools.mcp_steps import CAUSE_POLICY, CAUSE_TOOL, CheckFailed, Probe, describe, result_value
from tools.smoke import (
    DEFAULT_AGENT,
    DEFAULT_TARGET,
    AwsClients,
    Secret,
    Sleep,
    TargetLayout,
    agent_name,
    boto_client,
    cdk_context,
    cdk_environment,
    cdk_shards,
    client_id_key,
    fetch_token,
    outputs_from_cloudformation,
    outputs_from_file,
    pick_outputs,
    positive_int,
    read_client_secret,
)

# The tutorial's model: a cross-region inference profile, so it needs a US region (--bedrock-region).
DEFAULT_MODEL_ID = "us.anthropic.claude-sonnet-4-20250514-v1:0"
DEFAULT_PROMPT = "Update order 123"
DEFAULT_MAX_TURNS = 8
# The tutorial's BedrockModel settings.
TEMPERATURE = 0.7
DEFAULT_MAX_TOKENS = 500
# Converse's ToolName: the botocore model declares the pattern but does not enforce it client side, the service does.
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
TOOL_NAME_MAX = 64
NOT_A_TOOL_NAME_CHAR = re.compile(r"[^a-zA-Z0-9_-]")
# Stop reasons that mean the model finished its answer; anything else (max_tokens, guardrail_intervened, ...) cut it.
FINISHED = ("end_turn", "stop_sequence")
TRACE_CHARS = 200

CAUSE_BEDROCK = (
    "Bedrock: AWS credentials and region, access to the model in this account, and a model or inference profile id "
    "valid in --bedrock-region (a us.* profile needs a US region)"
)
CAUSE_TURNS = "turn limit: the model kept asking for tools; raise --max-turns, or look at the tool results traced above"

Trace = Callable[[str], None]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.agent_demo",
        description=__doc__,
        epilog="Prints the model's final answer on stdout and a trace (turns, tool calls and results) on stderr; "
        "the client secret and the token are never printed. Exit status: 0 when the model finished its answer, "
        "1 otherwise (the failure and its likely cause on stderr). Calls real tools: updateOrder updates an order. "
        "The model sees the tools the gateway lists to --agent; a call its policy refuses (ENFORCE) goes back to the "
        "model as a tool error.",
    )
    parser.add_argument(
        "prompt", nargs="*", help=f"what to ask the agent, one or more words (default: {DEFAULT_PROMPT!r})"
    )
    source = parser.add_argument_group("deployed gateway (default): where the stack outputs come from, as make smoke")
    source.add_argument("--outputs-file", type=Path, help="a `cdk deploy --outputs-file` JSON file")
    source.add_argument("--env", default="dev", help="environment name in cdk.json (default: dev)")
    source.add_argument("--prefix", help="name prefix of the stacks (default: cdk.json's namePrefix for --env)")
    source.add_argument(
        "--region",
        help="region of the stacks and of Bedrock (default: cdk.json's region for --env; with --no-auth, the AWS "
        "SDK's default region)",
    )
    source.add_argument(
        "--shards", type=positive_int, help="targetShards the app was deployed with (default: cdk.json's, else 4)"
    )
    parser.add_argument(
        "--agent",
        default=DEFAULT_AGENT,
        type=agent_name,
        help=f"the agent (config/agents.yaml) whose app client gets the token, as make smoke's --agent (default: "
        f"{DEFAULT_AGENT}); the tools it may call are its policy's",
    )
    parser.add_argument("--url", help="MCP endpoint; overrides the gateway URL from the outputs")
    parser.add_argument("--no-auth", action="store_true", help="no token: use a local server (`make serve`) at --url")
    model = parser.add_argument_group("model")
    model.add_argument(
        "--model-id", default=DEFAULT_MODEL_ID, help=f"model or inference profile (default: {DEFAULT_MODEL_ID})"
    )
    model.add_argument("--bedrock-region", help="Bedrock's region when it is not --region's")
    model.add_argument(
        "--max-turns",
        type=positive_int,
        default=DEFAULT_MAX_TURNS,
        help=f"most Converse calls before giving up on a model that keeps calling tools (default: {DEFAULT_MAX_TURNS})",
    )
    model.add_argument(
        "--max-tokens",
        type=positive_int,
        default=DEFAULT_MAX_TOKENS,
        help=f"per answer (default: {DEFAULT_MAX_TOKENS})",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per MCP or token request (default: 30)")
    parser.add_argument("--token-attempts", type=int, default=4, help="token endpoint attempts on 5xx/network errors")
    args = parser.parse_args(argv)
    if args.no_auth and not args.url:
        parser.error("--no-auth needs --url (e.g. http://127.0.0.1:8000/mcp)")
    args.prompt = " ".join(args.prompt) or DEFAULT_PROMPT
    return args


class ToolNames:
    """MCP tool names <-> Converse tool names, one to one: a name Converse refuses is rewritten, with a hash of the
    original so two rewritten names cannot collide."""

    def __init__(self) -> None:
        self.to_bedrock: dict[str, str] = {}
        self.to_mcp: dict[str, str] = {}

    def add(self, name: str) -> str:
        if name in self.to_bedrock:
            return self.to_bedrock[name]
        alias = name
        if not TOOL_NAME.match(name) or name in self.to_mcp:
            digest = hashlib.sha256(name.encode()).hexdigest()
            clean = NOT_A_TOOL_NAME_CHAR.sub("_", name)
            # Longer hashes only if a shorter one is taken: by a real tool name, or (at any odds) by another rewrite.
            for size in range(8, len(digest) + 1):
                alias = f"{clean[: TOOL_NAME_MAX - size - 1]}_{digest[:size]}"
                if alias not in self.to_mcp:
                    break
        self.to_bedrock[name] = alias
        self.to_mcp[alias] = name
        return alias


def tool_specs(tools: list[types.Tool], names: ToolNames) -> list[dict[str, Any]]:
    """Converse toolSpecs for MCP tools (each name once, the first listing wins)."""
    specs = []
    for tool in tools:
        if tool.name in names.to_bedrock:
            continue
        schema = dict(tool.input_schema or {})
        # Converse wants an object schema; MCP requires one too, but a sloppy server may leave the type out.
        schema.setdefault("type", "object")
        spec: dict[str, Any] = {"name": names.add(tool.name), "inputSchema": {"json": schema}}
        description = tool.description or tool.title
        if description:  # Converse refuses an empty description: leave it out instead
            spec["description"] = description
        specs.append({"toolSpec": spec})
    return specs


def tool_result_content(result: types.CallToolResult) -> list[dict[str, Any]]:
    """A toolResult's content: the structured result as json when there is one, else the text blocks."""
    if isinstance(result.structured_content, dict):
        return [{"json": result.structured_content}]
    content = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            content.append({"text": block.text})
        else:  # images, audio, resources: this demo passes on text only, but says what it left out
            content.append({"text": f"[{block.type} content not shown]"})
    return content or [{"text": "(the tool returned no content)"}]


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    return text if len(text) <= TRACE_CHARS else text[: TRACE_CHARS - 3] + "..."


async def call_tool(probe: Probe, names: ToolNames, use: dict[str, Any], trace: Trace) -> dict[str, Any]:
    """Run one toolUse through MCP and answer it with a toolResult; a failing tool is the model's to handle."""
    name = names.to_mcp.get(use["name"])
    arguments = use.get("input")
    status, value = "success", None
    if name is None:
        status, content = "error", [{"text": f"unknown tool {use['name']!r}: use one of the tools listed"}]
    elif not isinstance(arguments, dict):
        status, content = "error", [{"text": "tool arguments must be a JSON object"}]
    else:
        try:
            result = await probe.call(name, arguments)
        except CheckFailed as exc:
            # A tool error (isError, or a JSON-RPC error such as invalid arguments or the policy engine's refusal) goes
            # back to the model, which may correct itself; anything else (token refused, HTTP 5xx, endpoint gone) ends
            # the demo.
            if exc.cause not in (CAUSE_TOOL, CAUSE_POLICY):
                raise
            status, content = "error", [{"text": str(exc)}]
        else:
            content, value = tool_result_content(result), result_value(result)
    shown = content[0]["text"] if status == "error" else value
    trace(f"  tool {name or use['name']} {_short(arguments)} -> {status}: {_short(shown)}")
    return {"toolResult": {"toolUseId": use["toolUseId"], "content": content, "status": status}}


async def converse(bedrock: Any, **request: Any) -> dict[str, Any]:
    # boto3 blocks: in a worker thread, the MCP client's streams keep being served while the model thinks.
    try:
        return await anyio.to_thread.run_sync(functools.partial(bedrock.converse, **request))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise CheckFailed(f"Converse: {error.get('Code')}: {error.get('Message', '')}", CAUSE_BEDROCK) from None
    except BotoCoreError as exc:
        raise CheckFailed(f"Converse: {type(exc).__name__}: {exc}", CAUSE_BEDROCK) from None


@dataclass
class Answer:
    text: str
    stop_reason: str
    turns: int
    tool_calls: int


async def run_agent(
    bedrock: Any,
    probe: Probe,
    tools: list[types.Tool],
    prompt: str,
    *,
    model_id: str = DEFAULT_MODEL_ID,
    max_turns: int = DEFAULT_MAX_TURNS,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    trace: Trace = lambda line: None,
) -> Answer:
    """Converse until the model stops asking for tools, calling each tool it asks for through `probe`."""
    names = ToolNames()
    specs = tool_specs(tools, names)
    request: dict[str, Any] = {
        "modelId": model_id,
        "inferenceConfig": {"maxTokens": max_tokens, "temperature": TEMPERATURE},
    }
    if specs:  # Converse refuses an empty tool list
        request["toolConfig"] = {"tools": specs}
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"text": prompt}]}]
    calls = 0
    for turn in range(1, max_turns + 1):
        response = await converse(bedrock, messages=messages, **request)
        message, stop = response["output"]["message"], response["stopReason"]
        usage = response.get("usage", {})
        trace(f"turn {turn}: {stop} (tokens in {usage.get('inputTokens', '?')}, out {usage.get('outputTokens', '?')})")
        messages.append(message)  # as received: toolUse blocks must be followed by their results
        uses = [block["toolUse"] for block in message["content"] if "toolUse" in block]
        if stop != "tool_use":
            text = "\n".join(block["text"] for block in message["content"] if "text" in block)
            return Answer(text.strip(), stop, turn, calls)
        if not uses:
            raise CheckFailed(f"turn {turn}: stopReason tool_use without a toolUse block", CAUSE_BEDROCK)
        if turn == max_turns:
            # Not called: the results could never be shown to the model, and tools may change things (updateOrder).
            break
        results = [await call_tool(probe, names, use, trace) for use in uses]
        calls += len(results)
        messages.append({"role": "user", "content": results})
    raise CheckFailed(f"the model still asked for tools after {max_turns} turns ({calls} tool calls)", CAUSE_TURNS)


async def gateway_endpoint(
    args: argparse.Namespace, aws: AwsClients, sleep: Sleep, hide: Callable[[str], None]
) -> tuple[str, Secret]:
    """The gateway URL and a bearer token, from the stack outputs and the agent's app client, as the smoke gets them."""
    layout = TargetLayout(args.prefix, args.env, DEFAULT_TARGET, args.shards, args.agent)
    if args.outputs_file:
        by_stack = outputs_from_file(args.outputs_file)
    else:
        by_stack = outputs_from_cloudformation(aws("cloudformation", args.region), layout)
    found = pick_outputs(by_stack, layout)
    client_id = found[client_id_key(args.agent)]
    # A pool id starts with its region (us-east-1_AbCdEf123).
    region = found["GatewayUserPoolId"].split("_", 1)[0]
    secret = read_client_secret(aws("cognito-idp", region), found["GatewayUserPoolId"], client_id)
    hide(secret.reveal())
    token, _ = await fetch_token(
        found["GatewayTokenEndpoint"],
        client_id,
        secret,
        found["GatewayScope"],
        attempts=args.token_attempts,
        timeout=args.timeout,
        sleep=sleep,
    )
    hide(token)
    return args.url or found["GatewayUrl"], Secret(token)


async def demo(
    args: argparse.Namespace, aws: AwsClients, sleep: Sleep, trace: Trace, hide: Callable[[str], None]
) -> Answer:
    if args.no_auth:
        url, token = args.url, None
    else:
        url, token = await gateway_endpoint(args, aws, sleep, hide)
    async with Probe(url, token=token.reveal() if token else None, timeout=args.timeout) as probe:
        _, server = await probe.initialize()
        tools = await probe.list_tools()
        trace(f"{url}: {server}, {len(tools)} tools: {', '.join(tool.name for tool in tools) or 'none'}")
        try:
            bedrock = aws("bedrock-runtime", args.bedrock_region or args.region)
        except BotoCoreError as exc:
            raise CheckFailed(f"bedrock-runtime client: {type(exc).__name__}: {exc}", CAUSE_BEDROCK) from None
        trace(f"model {args.model_id} in {bedrock.meta.region_name}")
        return await run_agent(
            bedrock,
            probe,
            tools,
            args.prompt,
            model_id=args.model_id,
            max_turns=args.max_turns,
            max_tokens=args.max_tokens,
            trace=trace,
        )


def main(argv: list[str] | None = None, *, aws: AwsClients = boto_client, sleep: Sleep = anyio.sleep) -> int:
    args = parse_args(argv)
    if not args.no_auth:  # the deployment's names and region, as the smoke resolves them
        context = cdk_context()
        settings = cdk_environment(context, args.env)
        args.prefix = args.prefix or settings.get("namePrefix", "mcpgw")
        args.region = args.region or settings.get("region")
        args.shards = args.shards or cdk_shards(context)
    hidden: list[str] = []

    def hide(value: str) -> None:
        if value:
            hidden.append(value)

    def scrub(text: str) -> str:
        # Defence in depth: no message quotes the secret or the token today, and none ever may.
        for value in hidden:
            text = text.replace(value, "***")
        return text

    def trace(line: str) -> None:
        print(scrub(line), file=sys.stderr, flush=True)

    try:
        answer = anyio.run(demo, args, aws, sleep, trace, hide)
    except Exception as exc:  # every failure becomes one line and a likely cause, never a traceback
        message, cause = describe(exc)
        trace(f"FAILED: {message}" + (f"\nlikely cause: {cause}" if cause else ""))
        return 1
    print(scrub(answer.text))
    trace(f"{answer.turns} turns, {answer.tool_calls} tool calls, stop reason {answer.stop_reason}")
    if answer.stop_reason not in FINISHED:
        trace(f"FAILED: the answer was cut short ({answer.stop_reason}); for max_tokens, raise --max-tokens")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
