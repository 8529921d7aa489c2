"""`make bench-mcp`: the MCP server's start-up, tools/call latency and throughput next to the tutorial's server, and the image's size.

Both servers run as the image runs them (`python <file>` in their own folder, MCP_HOST/MCP_PORT set) on loopback,
one process each; the client is this process, speaking raw JSON-RPC over keep-alive HTTP so that its own overhead
stays small next to the server's. Rounds alternate between the servers, so background load affects both alike.
The image's size is the locked wheels for linux/aarch64 (downloaded to a temp dir), unpacked.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx2

ROOT = Path(__file__).resolve().parent.parent
SERVERS = {"baseline": ROOT / "tools" / "bench_baseline_server.py", "mcp_server": ROOT / "mcp_server" / "server.py"}
LOCK = ROOT / "mcp_server" / "requirements.txt"
# The wheels python:3.12-slim-bookworm (glibc 2.36) can run on linux/arm64.
AARCH64_PLATFORMS = ["manylinux2014_aarch64", *(f"manylinux_2_{minor}_aarch64" for minor in range(17, 37))]
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
TOOLS_CALL = {
    "jsonrpc": "2.0",
    "id": 2,
    "method": "tools/call",
    "params": {"name": "updateOrder", "arguments": {"orderId": 7}},
}
PIP_DOWNLOAD = [
    "pip",
    "download",
    "--quiet",
    "--no-deps",
    "--require-hashes",
    "--only-binary=:all:",
    "--python-version",
    "3.12",
]
STARTUP_GOAL_S = 1.0
SIZE_GOAL_MB = 60.0
# The image ships byte code (Dockerfile): a start with it takes at most this share of one without.
BYTECODE_SHARE_GOAL = 0.6


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers_tools_list(url: str) -> bool:
    try:
        response = httpx2.post(url, json=TOOLS_LIST, headers=HEADERS, timeout=2)
    except httpx2.TransportError:
        return False
    return response.status_code == 200 and b"updateOrder" in response.content


@contextmanager
def running(script: Path, *, bytecode: bool = True) -> Iterator[tuple[str, float]]:
    """Start `python <script>` as the image does; yield its URL and the seconds to its first answered tools/list.

    Without `bytecode`, every module is compiled from source (an empty byte-code cache, none written): what a
    start costs in an image without the Dockerfile's compileall step."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    env = {**os.environ, "MCP_HOST": "127.0.0.1", "MCP_PORT": str(port)}
    if not bytecode:
        env.update(PYTHONPYCACHEPREFIX=tempfile.mkdtemp(prefix="no-bytecode-"), PYTHONDONTWRITEBYTECODE="1")
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, script.name], cwd=script.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while not _answers_tools_list(url):
            if process.poll() is not None:
                raise RuntimeError(f"{script} exited with {process.returncode} before answering tools/list")
            if time.perf_counter() - start > 30:
                raise RuntimeError(f"{script} did not answer tools/list within 30 s")
            time.sleep(0.005)
        yield url, time.perf_counter() - start
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Load:
    latencies_ms: list[float] = field(default_factory=list)
    calls_per_s: list[float] = field(default_factory=list)

    def percentile(self, p: int) -> float:
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[p - 1]


async def _client(url: str, calls: int, latencies_ms: list[float]) -> None:
    async with httpx2.AsyncClient(timeout=30) as client:
        for _ in range(calls):
            start = time.perf_counter()
            response = await client.post(url, json=TOOLS_CALL, headers=HEADERS)
            latencies_ms.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200 or b'"result":456' not in response.content:
                raise RuntimeError(f"unexpected tools/call answer: {response.status_code} {response.text[:200]}")


async def _load(url: str, clients: int, calls_per_client: int, load: Load) -> None:
    await _client(url, 20, [])  # warm-up: imports, first connection, lazily built validators
    start = time.perf_counter()
    async with anyio.create_task_group() as group:
        for _ in range(clients):
            group.start_soon(_client, url, calls_per_client, load.latencies_ms)
    load.calls_per_s.append(clients * calls_per_client / (time.perf_counter() - start))


def image_size() -> tuple[int, int, int]:
    """(wheel count, bytes downloaded, bytes unpacked) of the locked dependencies for the image's platform."""
    platforms = [arg for platform in AARCH64_PLATFORMS for arg in ("--platform", platform)]
    with tempfile.TemporaryDirectory() as dest:
        subprocess.run(
            [sys.executable, "-m", *PIP_DOWNLOAD, *platforms, "-r", str(LOCK), "-d", dest],
            check=True,
            capture_output=True,
        )
        wheels = sorted(Path(dest).glob("*.whl"))
        unpacked = 0
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as archive:
                unpacked += sum(info.file_size for info in archive.infolist())
        return len(wheels), sum(wheel.stat().st_size for wheel in wheels), unpacked


def row(label: str, baseline: float, ours: float, fmt: str, lower_is_better: bool) -> str:
    better_or_equal = ours <= baseline if lower_is_better else ours >= baseline
    goal = "<= baseline" if lower_is_better else ">= baseline"
    return f"{label:<34}{baseline:>12{fmt}}{ours:>12{fmt}}   {goal:<24}{'ok' if better_or_equal else 'SLOWER'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per figure (default 3)")
    parser.add_argument("--calls", type=int, default=400, help="tools/call per client per round (default 400)")
    args = parser.parse_args(argv)

    startup: dict[str, list[float]] = {name: [] for name in SERVERS}
    cold: dict[str, list[float]] = {name: [] for name in SERVERS}
    for _ in range(args.rounds):
        for name, script in SERVERS.items():
            with running(script) as (_, seconds):
                startup[name].append(seconds)
            with running(script, bytecode=False) as (_, seconds):
                cold[name].append(seconds)

    loads = {(name, clients): Load() for name in SERVERS for clients in (1, 16)}
    with running(SERVERS["baseline"]) as (baseline_url, _), running(SERVERS["mcp_server"]) as (our_url, _):
        urls = {"baseline": baseline_url, "mcp_server": our_url}
        for clients in (1, 16):
            calls = args.calls if clients == 1 else max(1, args.calls // 4)
            for _ in range(args.rounds):
                for name, url in urls.items():
                    anyio.run(_load, url, clients, calls, loads[name, clients])

    count, downloaded, unpacked = image_size()

    print(f"MCP server benchmark: tools/call updateOrder over loopback, median/pooled over {args.rounds} rounds")
    print(f"{'':<34}{'baseline':>12}{'mcp_server':>12}   {'goal':<24}")
    lines: list[str] = []
    base_start, our_start = statistics.median(startup["baseline"]), statistics.median(startup["mcp_server"])
    start_ok = our_start < STARTUP_GOAL_S and our_start <= base_start
    lines.append(
        f"{'start to first tools/list (s)':<34}{base_start:>12.3f}{our_start:>12.3f}   "
        f"{'< 1 s and <= baseline':<24}{'ok' if start_ok else 'MISSED'}"
    )
    base_cold, our_cold = statistics.median(cold["baseline"]), statistics.median(cold["mcp_server"])
    # What the Dockerfile's compileall step is for: the image starts at the first row's figure, not this one.
    cold_ok = our_start <= BYTECODE_SHARE_GOAL * our_cold
    lines.append(
        f"{'  same, without byte code (s)':<34}{base_cold:>12.3f}{our_cold:>12.3f}   "
        f"{f'first row <= {BYTECODE_SHARE_GOAL:.0%} of it':<24}{'ok' if cold_ok else 'MISSED'}"
    )
    for clients in (1, 16):
        base, ours = loads["baseline", clients], loads["mcp_server", clients]
        label = f"{clients} client{'s' if clients > 1 else ''}"
        lines.append(row(f"tools/call p50, {label} (ms)", base.percentile(50), ours.percentile(50), ".2f", True))
        lines.append(row(f"tools/call p99, {label} (ms)", base.percentile(99), ours.percentile(99), ".2f", True))
        lines.append(
            row(
                f"calls/s, {label}",
                statistics.median(base.calls_per_s),
                statistics.median(ours.calls_per_s),
                ".0f",
                False,
            )
        )
    size_mb = unpacked / 1e6
    lines.append(
        f"{'image size, linux/aarch64 (MB)':<34}{'':>12}{size_mb:>12.1f}   {'< 60 MB':<24}"
        f"{'ok' if size_mb < SIZE_GOAL_MB else 'MISSED'}"
    )
    print("\n".join(lines))
    print(
        f"  ({count} locked wheels: {downloaded / 1e6:.1f} MB downloaded, {size_mb:.1f} MB unpacked, before bytecode)"
    )
    missed = [line.split("  ")[0].strip() for line in lines if line.endswith(("MISSED", "SLOWER"))]
    if missed:
        print(f"MISSED: {'; '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
