"""The example MCP server as a subprocess, started as its image starts it (`python server.py` in mcp_server/), for tests that drive it over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from tools.bench_mcp import free_port

ROOT = Path(__file__).resolve().parent.parent
SERVER_DIR = ROOT / "mcp_server"
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
START_TIMEOUT_S = 20


def wait_for(condition: Callable[[], bool], what: str, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def rpc(method: str, params: dict[str, Any] | None = None, request_id: int = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def json_rpc_reply(response: httpx2.Response) -> dict[str, Any]:
    """The JSON-RPC message in a streamable HTTP answer, whether sent as JSON or as one SSE event."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[len("data:") :].strip() for line in response.text.splitlines() if line.startswith("data:")]
        assert len(data) == 1, f"expected one SSE event, got: {response.text[:500]!r}"
        return json.loads(data[0])
    return response.json()


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    port: int
    stdout_path: Path
    stderr_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    @classmethod
    def start(cls, log_dir: Path, host: str | None = "127.0.0.1") -> ServerProcess:
        """Start the server on a free port; `host=None` leaves MCP_HOST unset, so the server binds its default."""
        port = free_port()
        env = {**os.environ, "MCP_PORT": str(port)}
        env.pop("MCP_HOST", None)
        if host is not None:
            env["MCP_HOST"] = host
        stdout_path, stderr_path = log_dir / "stdout.log", log_dir / "stderr.log"
        with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "server.py"], cwd=SERVER_DIR, env=env, stdout=stdout, stderr=stderr
            )
        server = cls(process, port, stdout_path, stderr_path)
        try:
            wait_for(server.answers_tools_list, "the server to answer tools/list")
        except AssertionError:
            server.stop()
            raise
        return server

    def answers_tools_list(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"server.py exited with {self.process.returncode}:\n{self.output()[-3000:]}")
        try:
            response = httpx2.post(self.url, json=rpc("tools/list"), headers=MCP_HEADERS, timeout=2)
        except httpx2.TransportError:
            return False
        return response.status_code == 200 and "tools" in json_rpc_reply(response).get("result", {})

    def stdout(self) -> str:
        return self.stdout_path.read_text()

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def output(self) -> str:
        return self.stdout() + self.stderr()

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode
