"""`make bench-scale`: synth time, stacks, resources and the largest template for 1, 10, 50 and 100 targets.

Entries are generated in a temp dir, alternately hosted (each its own copy of mcp_server/, so its own image
asset) and existing. Each size is synthesized in a fresh process, as `cdk synth` would. Goals: time grows
linearly (100 entries under 4x the time of 10) and no template passes 50% of any CloudFormation limit.
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

import yaml

ROOT = Path(__file__).resolve().parent.parent

SYNTH = """
import json, os, sys
os.environ["CDK_OUTDIR"] = sys.argv[2]
from app import create_app, synthesize
from aws_rules.limits import LIMITS, usage
context = json.load(open("cdk.json"))["context"]
context["targetsFile"] = sys.argv[1]
assembly = synthesize(create_app(context))
worst = {}
for stack in assembly.stacks:
    path = os.path.join(assembly.directory, stack.template_file)
    for what, value in usage(stack.template, os.path.getsize(path)).items():
        worst[what] = max(worst.get(what, 0), value / LIMITS[what])
print(json.dumps({
    "stacks": len(assembly.stacks),
    "resources": sum(len(s.template.get("Resources", {})) for s in assembly.stacks),
    "largest_bytes": max(os.path.getsize(os.path.join(assembly.directory, s.template_file)) for s in assembly.stacks),
    "worst": worst,
}))
"""


def entries(count: int, workdir: Path) -> list[dict]:
    generated = []
    for index in range(count):
        name = f"team{index:03d}"
        if index % 2 == 0:
            source = workdir / name
            shutil.copytree(ROOT / "mcp_server", source, ignore=shutil.ignore_patterns("__pycache__"))
            (source / "server.py").write_text((source / "server.py").read_text() + f"\n# {name}\n")
            generated.append({"name": name, "kind": "hosted", "path": str(source)})
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
                }
            )
    return generated


def measure(count: int, workdir: Path) -> dict:
    targets_file = workdir / f"targets-{count}.yaml"
    targets_file.write_text(yaml.safe_dump({"targets": entries(count, workdir / f"servers-{count}")}))
    outdir = workdir / f"cdk.out-{count}"
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", SYNTH, str(targets_file), str(outdir)], cwd=ROOT, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"synth of {count} entries failed:\n{result.stderr[-3000:]}")
    return {"seconds": elapsed, **json.loads(result.stdout.strip().splitlines()[-1])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50, 100])
    sizes = parser.parse_args(argv).sizes
    with tempfile.TemporaryDirectory() as tmp:
        rows = {count: measure(count, Path(tmp)) for count in sizes}
    print(
        f"{'entries':>8}{'synth s':>9}{'stacks':>8}{'resources':>11}{'largest KB':>12}  worst use of a CloudFormation limit"
    )
    for count, row in rows.items():
        what, share = max(row["worst"].items(), key=lambda item: item[1])
        print(
            f"{count:>8}{row['seconds']:>9.2f}{row['stacks']:>8}{row['resources']:>11}"
            f"{row['largest_bytes'] / 1024:>12.1f}  {share:.0%} ({what})"
        )
    if 10 in rows and 100 in rows:
        ratio = rows[100]["seconds"] / rows[10]["seconds"]
        print(f"100 entries take {ratio:.2f}x the time of 10 (goal: < 4x)")
    worst = max(share for row in rows.values() for share in row["worst"].values())
    print(f"worst use of any limit: {worst:.0%} (goal: <= 50%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
