"""`make bench`: synth time of the whole app next to a one-bucket CDK app, same interpreter, same run.

Each synth runs in a fresh process, as `cdk synth` does, so Python, jsii and node start-up are counted for both.
The whole app runs what `cdk synth` runs (app.py: config, stacks, cdk-nag, aws_rules). The ratios are the
figures that matter; absolute times depend on the machine. Exits non-zero when a goal is missed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Goal: the whole app at most 2.5x a one-bucket app with the same App settings (issue "Lean deploy machinery").
GOAL_SAME_SETTINGS = 2.5

# What the CDK CLI runs (cdk.json "app": python3 app.py), with cdk.json's context as the CLI passes it.
WHOLE_APP = """
import json, os, runpy, sys
os.environ["CDK_OUTDIR"] = sys.argv[1]
os.environ["CDK_CONTEXT_JSON"] = json.dumps(json.load(open("cdk.json"))["context"])
sys.argv = ["app.py"]
runpy.run_path("app.py", run_name="__main__")
"""

# A one-bucket app with CDK's defaults, and the same with our App settings (app.py turns CDK's built-in
# CloudFormation validator off, cfn-lint covering it in make test): the second ratio compares like with like.
ONE_BUCKET = """
import sys
from aws_cdk import App, Stack, aws_s3 as s3
app = App(outdir=sys.argv[1], builtin_cloud_formation_validation=sys.argv[2] == "default")
s3.Bucket(Stack(app, "OneBucket"), "Bucket")
app.synth()
"""


def time_synth(script: str, *args: str) -> float:
    with tempfile.TemporaryDirectory() as outdir:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", script, outdir, *args], cwd=ROOT, check=True, capture_output=True)
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args(argv).runs
    time_synth(WHOLE_APP)  # warm the file cache and byte code, as a second `cdk synth` would find them
    # Interleaved, so background load affects every side alike.
    times: dict[str, list[float]] = {"default": [], "same": [], "app": []}
    for _ in range(runs):
        times["default"].append(time_synth(ONE_BUCKET, "default"))
        times["same"].append(time_synth(ONE_BUCKET, "same"))
        times["app"].append(time_synth(WHOLE_APP))
    default, same, app = (statistics.median(times[k]) for k in ("default", "same", "app"))
    ratio = app / same
    print(f"{'synth (median of ' + str(runs) + ')':<48}{'seconds':>8}")
    print(f"{'one-bucket app, CDK defaults':<48}{default:>8.2f}")
    print(f"{'one-bucket app, our App settings':<48}{same:>8.2f}")
    print(f"{'whole app (cdk-nag and aws_rules included)':<48}{app:>8.2f}")
    print(f"{'ratio to the one-bucket app, CDK defaults':<48}{app / default:>7.2f}x")
    print(f"{'ratio with the same App settings':<48}{ratio:>7.2f}x  goal <= {GOAL_SAME_SETTINGS}x")
    if ratio > GOAL_SAME_SETTINGS:
        print(f"MISSED: {ratio:.2f}x > {GOAL_SAME_SETTINGS}x", file=sys.stderr)
        return 1
    print("goal met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
