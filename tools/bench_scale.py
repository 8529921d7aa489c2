"""`make bench-scale`: synth time, stacks, resources, Lambda functions and template sizes for 1, 10, 50 and 100
targets (with one agent per ten targets), and 10 targets with the most agents the config allows, with AWS's
deploy-time rules (aws_rules) checked at every size.

Entries are generated in a temp dir, alternately hosted (each its own copy of mcp_server/, so its own image
asset) and existing. Each size is synthesized in a fresh process, as `cdk synth` would; `app.synthesize`
refuses an assembly that breaks a rule of aws_rules, which fails the size. Exits non-zero when a goal is missed.
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
    "resources per entry at 100": 5.0,  # half hosted, half existing; shared resources included
    "Lambda functions at 100": 12,
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
# 50 existing entries need 51 OAuth2 credential providers: over AgentCore Identity's default quota of 50, which an
# account with 100 entries has raised (the config refuses the file otherwise, naming the quota).
context["maxOAuthCredentialProviders"] = 100
assembly = synthesize(create_app(context))  # raises aws_rules.RulesError on any broken rule
templates, sizes, _ = read_assembly(assembly.directory)
worst = {}
for name, template in templates.items():
    for what, value in usage(template, sizes[name]).items():
        worst[what] = max(worst.get(what, 0), value / LIMITS[what])
types = [r["Type"] for t in templates.values() for r in t.get("Resources", {}).values()]
print(json.dumps({
    "stacks": len(templates),
    "resources": len(types),
    "functions": types.count("AWS::Lambda::Function"),
    "state_machines": types.count("AWS::StepFunctions::StateMachine"),
    "largest_bytes": max(sizes.values()),
    "worst": worst,
}))
"""


def entries(count: int, workdir: Path) -> list[dict[str, Any]]:
    generated: list[dict[str, Any]] = []
    for index in range(count):
        name = f"team{index:03d}"
        if index % 2 == 0:
            source = workdir / name
            shutil.copytree(ROOT / "mcp_server", source, ignore=shutil.ignore_patterns("__pycache__"))
            (source / "server.py").write_text((source / "server.py").read_text() + f"\n# {name}\n")
            generated.append(
                {"name": name, "kind": "hosted", "path": str(source), "tools": ["getOrder", "updateOrder"]}
            )
        else:
            generated.append(
                {
                    "name": name,
                    "kind": "existing",
                    "endpoint": f"https://{name}.example.com/mcp",
                    "oauth": {
                        "discoveryUrl": f"https://login.example.com/{name}/.well-known/openid-configuration",
                        "clientId": name,
                        "scopes": [f"{name}/invoke"],
                        "clientSecretName": f"mcp-gateway/{name}",
                    },
                    "tools": ["search", "fetch"],
                }
            )
    return generated


def agents(count: int, targets: list[dict[str, Any]]) -> dict[str, Any]:
    """`count` agents, each granted three targets whole and one single tool; every third with a limit of its own."""
    names = [t["name"] for t in targets]
    generated = []
    for index in range(count):
        granted = [names[(index * 3 + k) % len(names)] for k in range(3)]
        single = f"{names[index % len(names)]}___{targets[index % len(targets)]['tools'][0]}"
        agent: dict[str, Any] = {"name": f"agent{index:03d}", "targets": sorted(set(granted)), "tools": [single]}
        if index % 3 == 0:
            agent["rateLimit"] = {"requests": 10 + index, "per": "second"}
        generated.append(agent)
    return {"defaultRateLimit": {"requests": 600, "per": "minute"}, "agents": generated}


def measure(count: int, workdir: Path, agent_count: int | None = None) -> dict[str, Any]:
    """Synthesize `count` entries and `agent_count` agents (default: one per ten entries, at least one)."""
    agent_count = max(1, count // 10) if agent_count is None else agent_count
    label = f"{count}-{agent_count}"
    generated = entries(count, workdir / f"servers-{label}")
    targets_file, agents_file = workdir / f"targets-{label}.yaml", workdir / f"agents-{label}.yaml"
    targets_file.write_text(yaml.safe_dump({"targets": generated}))
    agents_file.write_text(yaml.safe_dump(agents(agent_count, generated)))
    outdir = workdir / f"cdk.out-{label}"
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50, 100])
    sizes = parser.parse_args(argv).sizes
    # In the repository: a hosted entry's folder must be (the app refuses to build an image from files outside it).
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".bench-scale-") as tmp:
        rows = {count: measure(count, Path(tmp)) for count in sizes}
        most_agents = measure(10, Path(tmp), agent_count=MAX_AGENTS)
    print(
        f"{'entries':>8}{'synth s':>9}{'stacks':>8}{'resources':>11}{'per entry':>11}{'Lambda':>8}{'largest KB':>12}"
        "  worst use of a CloudFormation limit"
    )
    for count, row in rows.items():
        what, share = max(row["worst"].items(), key=lambda item: item[1])
        print(
            f"{count:>8}{row['seconds']:>9.2f}{row['stacks']:>8}{row['resources']:>11}"
            f"{row['resources'] / count:>11.2f}{row['functions']:>8}{row['largest_bytes'] / 1024:>12.1f}  {share:.0%} ({what})"
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
