"""`make bench-scale`: synth time, stacks, resources, Lambda functions and template sizes for 1, 10, 50 and 100
targets (with one agent per ten targets), and 10 targets with the most agents the config allows, with AWS's
deploy-time rules (aws_rules) checked at every size.

Entries are generated in a temp dir inside the repository, every kind in a fixed mix (MIX): hosted (each its own
copy of mcp_server/, so its own image asset), existing servers by OAuth, API key and IAM, Lambda functions built
here (each its own copy of functions/inventory/) and by ARN, OpenAPI by API key and by OAuth, Smithy and API Gateway;
the declared kinds' tool locks are written beside the targets file, as `make tools-lock` writes them. Each size is
synthesized in a fresh process, as `cdk synth` would; `app.synthesize` refuses an assembly that breaks a rule of
aws_rules, which fails the size. Exits non-zero when a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from app_config.agents import MAX_AGENTS

ROOT = Path(__file__).resolve().parent.parent

# Goals (issues "The first real cdk deploy must succeed" and "Lean deploy machinery").
GOALS = {
    "default app resources": 45,  # one hosted entry
    "default app Lambda functions": 4,
    "state machines": 0,
    "resources per entry at 100": 5.0,  # ten of each kind of MIX; shared resources included
    # The deploy's own functions (custom-resource handlers): the entries' built functions are counted apart.
    "Lambda functions at 100": 12,
    # Exactly one function per Lambda entry built here, none for an entry of any other kind (issue #21).
    "functions per built Lambda entry at 100": 1.0,
    "time of 100 entries / 10": 4.0,
    "worst use of a CloudFormation limit": 0.5,
    # The config's most agents (app_config.agents.MAX_AGENTS) still synthesize within every limit (issue "Onboard
    # agents too"); its bound is the cognito stack's outputs.
    "most agents: worst use of a limit": 1.0,
}

SYNTH = """
import json, os, sys
os.environ["CDK_OUTDIR"] = sys.argv[2]
from app import create_app, synthesize
from aws_rules import read_assembly
from aws_rules.limits import LIMITS, usage
context = json.load(open("cdk.json"))["context"]
context["targetsFile"] = sys.argv[1]
context["agentsFile"] = sys.argv[3]
# The default quotas stand: the mix at 100 entries needs 20 API-key and about 20 OAuth2 credential providers, within
# AgentCore Identity's 50 of each (the config refuses a file over a quota, naming it).
from app_config import load_config
tool_functions = load_config(context).names.tool_function_prefix
assembly = synthesize(create_app(context))  # raises aws_rules.RulesError on any broken rule
templates, sizes, _, _ = read_assembly(assembly.directory)
worst = {}
for name, template in templates.items():
    for what, value in usage(template, sizes[name]).items():
        worst[what] = max(worst.get(what, 0), value / LIMITS[what])
resources = [r for t in templates.values() for r in t.get("Resources", {}).values()]
types = [r["Type"] for r in resources]
# A Lambda entry built here is a function of its own (named <prefix>-<env>-fn-<entry>); the rest are the deploy's.
built = [
    r for r in resources
    if r["Type"] == "AWS::Lambda::Function"
    and str(r.get("Properties", {}).get("FunctionName", "")).startswith(tool_functions)
]
print(json.dumps({
    "stacks": len(templates),
    "resources": len(types),
    "functions": types.count("AWS::Lambda::Function") - len(built),
    "tool_functions": len(built),
    "state_machines": types.count("AWS::StepFunctions::StateMachine"),
    "largest_bytes": max(sizes.values()),
    "worst": worst,
}))
"""


# The fixed mix, in this order, repeated: every kind of entry and every way the gateway authenticates to one. Ten
# entries hold one of each; 100 hold ten of each. The first is hosted, so one entry is the default app.
MIX = (
    "hosted",
    "existing-oauth",
    "existing-apikey",
    "existing-iam",
    "lambda-built",
    "lambda-arn",
    "openapi-apikey",
    "openapi-oauth",
    "smithy",
    "apigateway",
)
# The example's description files (config/examples/every-kind/): paths relative to the repository, as an entry's are.
EXAMPLE = "config/examples/every-kind"
OPENAPI_SPEC = f"{EXAMPLE}/specs/petstore.openapi.yaml"
SMITHY_MODEL = f"{EXAMPLE}/specs/lambda.smithy.json"
TOOL_SCHEMA_FILE = f"{EXAMPLE}/tools/inventory.tools.json"
FUNCTION_FOLDER = ROOT / "functions" / "inventory"
ACCOUNT = "111122223333"  # another team's account, for the ARNs entries name (the dev environment sets none)


def _oauth(name: str) -> dict[str, Any]:
    return {
        "discoveryUrl": f"https://login.example.com/{name}/.well-known/openid-configuration",
        "clientId": name,
        "scopes": [f"{name}/invoke"],
        "clientSecretName": f"mcp-gateway/{name}/client-secret",
    }


def _api_key(name: str) -> dict[str, Any]:
    return {"secretName": f"mcp-gateway/{name}/api-key", "parameterName": "x-api-key"}


def entry(index: int, workdir: Path, region: str) -> dict[str, Any]:
    """The index-th generated entry, of the kind MIX gives it. Built code (a hosted server, a Lambda function) gets a
    folder of its own, so that each is its own asset as a team's would be."""
    name = f"team{index:03d}"
    kind = MIX[index % len(MIX)]
    if kind == "hosted":
        source = workdir / name
        shutil.copytree(ROOT / "mcp_server", source, ignore=shutil.ignore_patterns("__pycache__"))
        (source / "server.py").write_text((source / "server.py").read_text() + f"\n# {name}\n")
        return {"name": name, "kind": "hosted", "path": str(source), "tools": ["getOrder", "updateOrder"]}
    if kind.startswith("existing-"):
        auth = kind.removeprefix("existing-")
        endpoint = f"https://{name}.example.com/mcp"
        generated: dict[str, Any] = {
            "name": name,
            "kind": "existing",
            "endpoint": endpoint,
            "tools": ["search", "fetch"],
        }
        if auth == "oauth":
            generated["oauth"] = _oauth(name)
        elif auth == "apikey":
            generated["apiKey"] = _api_key(name)
        else:
            api = f"{name.replace('team', 'mcpapi')}"  # 10 characters, as a REST API id
            generated["iam"] = {
                "service": "execute-api",
                "grants": [
                    {
                        "actions": ["execute-api:Invoke"],
                        "resources": [f"arn:aws:execute-api:{region}:{ACCOUNT}:{api}/prod/POST/mcp"],
                    }
                ],
            }
        return generated
    if kind == "lambda-built":
        source = workdir / name
        shutil.copytree(FUNCTION_FOLDER, source, ignore=shutil.ignore_patterns("__pycache__"))
        (source / "app.py").write_text((source / "app.py").read_text() + f"\n# {name}\n")
        return {"name": name, "kind": "lambda", "path": str(source), "toolSchemaFile": TOOL_SCHEMA_FILE}
    if kind == "lambda-arn":
        return {
            "name": name,
            "kind": "lambda",
            # The deployment's region: a function elsewhere needs crossAccountOrRegion (the dev environment names no
            # account, so the account is not compared).
            "functionArn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}-tools",
            "toolSchema": [
                {
                    "name": "quotePrice",
                    "description": "The price of a quantity of an item, in cents.",
                    "inputSchema": {
                        "type": "object",
                        "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer"}},
                        "required": ["sku", "quantity"],
                    },
                }
            ],
        }
    if kind.startswith("openapi-"):
        credentials = {"apiKey": _api_key(name)} if kind == "openapi-apikey" else {"oauth": _oauth(name)}
        return {"name": name, "kind": "openapi", "spec": OPENAPI_SPEC, **credentials}
    if kind == "smithy":
        return {
            "name": name,
            "kind": "smithy",
            "model": SMITHY_MODEL,
            "grants": [
                {"actions": ["lambda:ListFunctions"], "resources": ["*"]},
                {
                    "actions": ["lambda:GetFunctionConfiguration"],
                    "resources": [f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}-*"],
                },
            ],
        }
    assert kind == "apigateway"
    return {
        "name": name,
        "kind": "apiGateway",
        "restApiId": f"rest{index:06d}",
        "stage": "prod",
        "operations": [
            {"name": "getShipment", "method": "GET", "path": "/shipments/{id}", "description": "One shipment."},
            {"name": "listShipments", "method": "GET", "path": "/shipments", "description": "Every open shipment."},
        ],
    }


def entries(count: int, workdir: Path, region: str) -> list[dict[str, Any]]:
    return [entry(index, workdir, region) for index in range(count)]


def write_locks(targets_file: Path) -> dict[str, list[str]]:
    """Each declared entry's tool lock, beside the targets file (tool-locks/<name>.json), as `make tools-lock` writes
    it offline; and every entry's tool names (declared: its lock's), for the agents' grants."""
    from app_config.declared import declared_tools
    from app_config.model import TargetsFile
    from app_config.tool_locks import EXISTING_LOCKS_DIR, lock_document, render

    parsed = TargetsFile.model_validate(yaml.safe_load(targets_file.read_text()))
    folder = targets_file.parent / EXISTING_LOCKS_DIR
    folder.mkdir(exist_ok=True)
    tools: dict[str, list[str]] = {}
    for target in parsed.targets:
        declared = declared_tools(target)
        if declared is None:
            tools[target.name] = list(target.tools or [])
            continue
        (folder / f"{target.name}.json").write_text(render(lock_document(declared)))
        tools[target.name] = sorted(tool["name"] for tool in declared)
    return tools


def agents(count: int, tools: dict[str, list[str]]) -> dict[str, Any]:
    """`count` agents, each granted three targets whole and one single tool; every third with a limit of its own."""
    names = list(tools)
    generated = []
    for index in range(count):
        granted = [names[(index * 3 + k) % len(names)] for k in range(3)]
        target = names[index % len(names)]
        agent: dict[str, Any] = {
            "name": f"agent{index:03d}",
            "targets": sorted(set(granted)),
            "tools": [f"{target}___{tools[target][0]}"],
        }
        if index % 3 == 0:
            agent["rateLimit"] = {"requests": 10 + index, "per": "second"}
        generated.append(agent)
    return {"defaultRateLimit": {"requests": 600, "per": "minute"}, "agents": generated}


def measure(count: int, workdir: Path, agent_count: int | None = None) -> dict[str, Any]:
    """Synthesize `count` entries and `agent_count` agents (default: one per ten entries, at least one)."""
    agent_count = max(1, count // 10) if agent_count is None else agent_count
    label = f"{count}-{agent_count}"
    # One folder per size: its targets file, the tool locks beside it, the built entries' code, its cdk.out.
    folder = workdir / label
    folder.mkdir()
    targets_file, agents_file = write_config(count, agent_count, folder)
    outdir = folder / "cdk.out"
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", SYNTH, str(targets_file), str(outdir), str(agents_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        # A broken aws_rules rule lands here too, with the rule, the resource and the source.
        raise SystemExit(f"synth of {count} entries failed:\n{result.stderr[-3000:]}")
    return {"seconds": elapsed, **json.loads(result.stdout.strip().splitlines()[-1])}


def write_config(count: int, agent_count: int, folder: Path) -> tuple[Path, Path]:
    """The targets file of `count` entries of the mix, their tool locks, and the agents file, in `folder`."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    region = context["environments"][context.get("env", "dev")]["region"]
    targets_file, agents_file = folder / "targets.yaml", folder / "agents.yaml"
    targets_file.write_text(yaml.safe_dump({"targets": entries(count, folder / "code", region)}, sort_keys=False))
    agents_file.write_text(yaml.safe_dump(agents(agent_count, write_locks(targets_file)), sort_keys=False))
    return targets_file, agents_file


def built(count: int) -> int:
    """How many of `count` generated entries are Lambda functions built here."""
    return sum(1 for index in range(count) if MIX[index % len(MIX)] == "lambda-built")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50, 100])
    sizes = parser.parse_args(argv).sizes
    # In the repository: a hosted entry's folder must be (the app refuses to build an image from files outside it).
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".bench-scale-") as tmp:
        rows = {count: measure(count, Path(tmp)) for count in sizes}
        most_agents = measure(10, Path(tmp), agent_count=MAX_AGENTS)
    print(
        f"{'entries':>8}{'synth s':>9}{'stacks':>8}{'resources':>11}{'per entry':>11}{'Lambda':>8}{'tool fn':>9}"
        f"{'largest KB':>12}  worst use of a CloudFormation limit"
    )
    for count, row in rows.items():
        what, share = max(row["worst"].items(), key=lambda item: item[1])
        print(
            f"{count:>8}{row['seconds']:>9.2f}{row['stacks']:>8}{row['resources']:>11}"
            f"{row['resources'] / count:>11.2f}{row['functions']:>8}{row['tool_functions']:>9}"
            f"{row['largest_bytes'] / 1024:>12.1f}  {share:.0%} ({what})"
        )
    what, share = max(most_agents["worst"].items(), key=lambda item: item[1])
    print(
        f"10 entries and {MAX_AGENTS} agents (the most the config allows): {most_agents['resources']} resources in "
        f"{most_agents['seconds']:.2f} s, worst use of a CloudFormation limit {share:.0%} ({what})"
    )
    print("aws_rules: every rule holds at every size (app.synthesize refuses an assembly that breaks one)")
    measured: dict[str, float] = {
        "most agents: worst use of a limit": share,
        "state machines": max(row["state_machines"] for row in rows.values()),
        "worst use of a CloudFormation limit": max(s for row in rows.values() for s in row["worst"].values()),
    }
    if 1 in rows:
        measured["default app resources"] = rows[1]["resources"]
        measured["default app Lambda functions"] = rows[1]["functions"]
    if 100 in rows:
        measured["resources per entry at 100"] = rows[100]["resources"] / 100
        measured["Lambda functions at 100"] = rows[100]["functions"]
        measured["functions per built Lambda entry at 100"] = rows[100]["tool_functions"] / built(100)
    if 10 in rows and 100 in rows:
        measured["time of 100 entries / 10"] = rows[100]["seconds"] / rows[10]["seconds"]
    missed = []
    print(f"{'goal':<40}{'measured':>10}{'at most':>10}")
    for goal, limit in GOALS.items():
        if goal not in measured:
            continue
        value = measured[goal]
        ok = value <= limit
        missed += [] if ok else [goal]
        print(f"{goal:<40}{value:>10.2f}{limit:>10.2f}  {'ok' if ok else 'MISSED'}")
    if missed:
        print(f"MISSED: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
