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

ONE_BUCKET = """
import sys
from aws_cdk import App, Stack, aws_s3 as s3
app = App(outdir=sys.argv[1])
s3.Bucket(Stack(app, "OneBucket"), "Bucket")
app.synth()
"""


def time_synth(script: str) -> float:
    with tempfile.TemporaryDirectory() as outdir:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", script, outdir], cwd=ROOT, check=True, capture_output=True)
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args(argv).runs
    # Interleaved, so background load affects both sides alike.
    app_times, bucket_times = [], []
    for _ in range(runs):
        bucket_times.append(time_synth(ONE_BUCKET))
        app_times.append(time_synth(WHOLE_APP))
    app, bucket = statistics.median(app_times), statistics.median(bucket_times)
    print(f"{'synth (median of ' + str(runs) + ')':<28}{'seconds':>10}")
    print(f"{'one-bucket app':<28}{bucket:>10.2f}")
    print(f"{'whole app (12 stacks + nag)':<28}{app:>10.2f}")
    print(f"{'ratio':<28}{app / bucket:>9.2f}x   (goal: <= 2.00x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
