"""`make bench`: synth time of the whole app next to a one-bucket CDK app, same interpreter, same run.

Each synth runs in a fresh process, as `cdk synth` does, so jsii/node start-up is counted for both.
The ratio is the figure that matters (goal: at most 2x); absolute times depend on the machine.
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

WHOLE_APP = """
import json, os, sys
os.environ["CDK_OUTDIR"] = sys.argv[1]
from app import create_app
create_app(json.load(open("cdk.json"))["context"]).synth()
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
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args(argv).runs
    # Interleaved, so background load affects every side alike.
    times: dict[str, list[float]] = {"default": [], "same": [], "app": []}
    for _ in range(runs):
        times["default"].append(time_synth(ONE_BUCKET, "default"))
        times["same"].append(time_synth(ONE_BUCKET, "same"))
        times["app"].append(time_synth(WHOLE_APP))
    default, same, app = (statistics.median(times[k]) for k in ("default", "same", "app"))
    print(f"{'synth (median of ' + str(runs) + ')':<44}{'seconds':>8}")
    print(f"{'one-bucket app, CDK defaults':<44}{default:>8.2f}")
    print(f"{'one-bucket app, our App settings':<44}{same:>8.2f}")
    print(f"{'whole app (12 stacks, cdk-nag)':<44}{app:>8.2f}")
    print(f"{'ratio to the one-bucket app (goal <= 2x)':<44}{app / default:>7.2f}x")
    print(f"{'ratio with the same App settings':<44}{app / same:>7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
