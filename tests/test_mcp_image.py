"""The example MCP server's image, checked without a Docker engine beyond the contract every hosted folder keeps
(tests/test_hosted_folders.py: hadolint, the lock's hashes and linux/arm64 wheels, .dockerignore, /ping, its tools):
what mcp_server/ does as the full reference (slim stages, byte code, a non-root user, labels)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from tools.hosted import OCI_LABELS, local_command, stages

ROOT = Path(__file__).resolve().parent.parent
SERVER_DIR = ROOT / "mcp_server"
DOCKERFILE = SERVER_DIR / "Dockerfile"


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
    # CMD runs server.py from the WORKDIR, as `make serve` runs the image's command from mcp_server/.
    assert ("COPY", "server.py ./") in final
    recipe = re.search(r"^serve:.*\n\t(.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert recipe, "the Makefile has no serve target"
    assert shlex.split(recipe.group(1))[1:] == ["-m", "tools.hosted", "serve", "$(DIR)"]
    assert re.search(r"^DIR \?= mcp_server$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    program, *arguments = local_command(SERVER_DIR)
    assert [Path(program).name.rstrip("0123456789."), *arguments] == cmd == ["python", "server.py"]


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
