"""Every hosted folder keeps the contract (tools/hosted.py), checked as mcp_server/ is: the `path` of each `kind: hosted`
entry of the shipped config/, of the examples and of the tests' configurations. A folder that breaks a rule fails with
one line naming the folder and the rule. Each folder's server is started once per test process."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from app_config.model import HostedEntry
from app_config.targets import load_targets
from app_config.tool_locks import HOSTED_LOCK_FILE, read_lock
from tests.cdk_helpers import FIXTURES, ROOT, shipped_context
from tools import hosted, new_server, tools_lock
from tools.bench_mcp import free_port
from tools.contracts import compare, contracts_of


def targets_files() -> list[Path]:
    shipped = ROOT / shipped_context()["targetsFile"]
    return [
        shipped,
        *sorted((ROOT / "config" / "examples").glob("*/targets.yaml")),
        *(ROOT / FIXTURES).glob("*/targets.yaml"),
    ]


def hosted_entries() -> tuple[dict[Path, dict[str, list[str]]], dict[Path, dict[str, str]]]:
    """Each hosted folder -> the tools each entry using it declares (an entry declaring none is not compared), and
    each entry's smokeTool."""
    folders: dict[Path, dict[str, list[str]]] = {}
    smoke_tools: dict[Path, dict[str, str]] = {}
    for path in targets_files():
        for entry in load_targets(path, max_targets=1000):
            if isinstance(entry, HostedEntry):
                declared = folders.setdefault(entry.folder, {})
                where = f"{path.relative_to(ROOT)}:{entry.name}"
                if entry.tools:
                    declared[where] = list(entry.tools)
                if entry.smoke_tool:
                    smoke_tools.setdefault(entry.folder, {})[where] = entry.smoke_tool
    return folders, smoke_tools


HOSTED, SMOKE_TOOLS = hosted_entries()
FOLDERS = sorted(HOSTED)


def fail_on(problems: list[str]) -> None:
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Path], str]]:
    """A folder's /mcp URL, its server started (once per test process) with its image's command."""
    running: dict[Path, tuple[object, str]] = {}

    def url(folder: Path) -> str:
        if folder not in running:
            port = free_port()
            log = tmp_path_factory.mktemp("served") / "server.log"
            try:
                process = hosted.start_local(folder, port, log)
            except RuntimeError as error:
                pytest.fail(str(error), pytrace=False)
            running[folder] = (process, f"http://127.0.0.1:{port}/mcp")
        return running[folder][1]

    yield url
    for process, _ in running.values():
        hosted.stop(process)  # type: ignore[arg-type]


def test_every_shipped_hosted_folder_is_checked() -> None:
    shipped = load_targets(ROOT / shipped_context()["targetsFile"], max_targets=1000)
    assert {e.folder for e in shipped if isinstance(e, HostedEntry)} <= set(FOLDERS)
    assert ROOT / "mcp_server" in FOLDERS


@pytest.mark.parametrize("folder", FOLDERS, ids=hosted.display)
def test_the_dockerfile_keeps_the_runtime_contract(folder: Path) -> None:
    fail_on(hosted.dockerfile_problems(folder))


@pytest.mark.parametrize("folder", FOLDERS, ids=hosted.display)
def test_hadolint_finds_nothing(folder: Path) -> None:
    fail_on(hosted.hadolint_problems(folder))


@pytest.mark.parametrize("folder", FOLDERS, ids=hosted.display)
def test_dockerignore_keeps_virtualenvs_and_caches_out(folder: Path) -> None:
    fail_on(hosted.dockerignore_problems(folder))


@pytest.mark.parametrize("folder", FOLDERS, ids=hosted.display)
def test_the_lock_pins_every_package_with_a_hash(folder: Path) -> None:
    fail_on(hosted.lock_problems(folder))


@pytest.mark.parametrize("folder", FOLDERS, ids=hosted.display)
def test_every_locked_package_has_a_linux_arm64_wheel_and_is_needed(folder: Path) -> None:
    fail_on(hosted.lock_problems(folder))
    wheels, problems = hosted.download_wheels(folder)
    fail_on(problems or hosted.lock_need_problems(folder, wheels))


@pytest.mark.parametrize("folder", FOLDERS, ids=hosted.display)
def test_the_server_answers_the_runtimes_health_probe(folder: Path, serve: Callable[[Path], str]) -> None:
    fail_on(hosted.ping_problems(folder, serve(folder)))


@pytest.mark.parametrize("folder", FOLDERS, ids=hosted.display)
def test_the_server_answers_mcp_and_lists_its_declared_tools(folder: Path, serve: Callable[[Path], str]) -> None:
    fail_on(hosted.served_problems(folder, serve(folder), HOSTED[folder], SMOKE_TOOLS.get(folder), ping=False))


# --- the checks themselves, on folders that break one rule each -------------------------------------------------------


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder as `make new-server` creates it."""
    folder = tmp_path_factory.mktemp("new-server") / "fresh"
    new_server.create(folder, "fresh")
    return folder


def test_a_new_server_passes_every_check_as_created(fresh: Path, serve: Callable[[Path], str]) -> None:
    wheels, problems = hosted.download_wheels(fresh)
    assert problems == [] and hosted.lock_need_problems(fresh, wheels) == []
    for check in (
        hosted.dockerfile_problems,
        hosted.hadolint_problems,
        hosted.dockerignore_problems,
        hosted.lock_problems,
    ):
        assert check(fresh) == [], check.__name__
    assert hosted.served_problems(fresh, serve(fresh), {"fresh": [new_server.TOOL]}, {"fresh": new_server.TOOL}) == []
    # Its tool lock is written and lists exactly what the server lists (the check `make test` runs on every hosted
    # folder: tests/test_tool_locks.py), so an entry using the folder synthesizes as created.
    lock = read_lock(fresh / HOSTED_LOCK_FILE, shown="fresh", entry="fresh")
    assert lock.names == (new_server.TOOL,)
    served = contracts_of(tools_lock.list_tools(serve(fresh), None, 30.0))
    assert compare({tool.name: dict(tool.fields) for tool in lock.tools}, served) == []
    # Its printed entry is a valid hosted entry declaring exactly what it lists, with a smoke tool among them.
    (entry,) = yaml.safe_load(new_server.entry("fresh", str(fresh)))
    assert HostedEntry.model_validate(entry).tools == [new_server.TOOL] == [entry["smokeTool"]]


def test_a_server_listing_an_undeclared_tool_is_named(fresh: Path, serve: Callable[[Path], str]) -> None:
    problems = hosted.served_problems(fresh, serve(fresh), {"fresh": ["lookup"]})
    assert problems == [f"{fresh}/: declared tools of fresh: lists undeclared echo; lacks declared lookup"]


def test_a_smoke_tool_the_server_does_not_mark_read_only_is_named(serve: Callable[[Path], str]) -> None:
    # mcp_server/'s updateOrder changes an order: annotated readOnlyHint false.
    folder = ROOT / "mcp_server"
    assert hosted.served_problems(folder, serve(folder), {}, {"e": "getOrder"}) == []
    assert hosted.served_problems(folder, serve(folder), {}, {"e": "updateOrder"}) == [
        "mcp_server/: smokeTool of e: updateOrder is not annotated readOnlyHint: true"
    ]


def test_a_server_without_ping_is_named(fresh: Path, tmp_path: Path) -> None:
    folder = tmp_path / "noping"
    shutil.copytree(fresh, folder)
    server = folder / "server.py"
    server.write_text(server.read_text().replace('@mcp.custom_route("/ping"', '@mcp.custom_route("/health"'))
    port = free_port()
    process = hosted.start_local(folder, port, tmp_path / "server.log")
    try:
        problems = hosted.served_problems(folder, f"http://127.0.0.1:{port}/mcp", {"noping": [new_server.TOOL]})
    finally:
        hosted.stop(process)
    assert problems == [f"{folder}/: GET /ping: GET /ping answered 404"]


def test_a_folder_without_dockerignore_or_one_admitting_a_venv_is_named(fresh: Path, tmp_path: Path) -> None:
    folder = tmp_path / "noignore"
    shutil.copytree(fresh, folder)
    (folder / ".dockerignore").unlink()
    assert hosted.dockerignore_problems(folder) == [
        f"{folder}/: .dockerignore: missing: it must keep virtualenvs and caches out of the image"
    ]
    (folder / ".dockerignore").write_text("*.md\n")
    (problem,) = hosted.dockerignore_problems(folder)
    assert problem.startswith(f"{folder}/: .dockerignore: admits .venv/bin/python, venv/bin/python, __pycache__/")
    # A list of what to leave out works too, if it leaves out every virtualenv and cache.
    (folder / ".dockerignore").write_text(".venv\nvenv\n**/__pycache__\n**/*.pyc\n.*_cache\n")
    assert hosted.dockerignore_problems(folder) == []
    (folder / ".dockerignore").write_text("*\n!server.py\n!.venv\n")
    assert "admits .venv/bin/python" in hosted.dockerignore_problems(folder)[0]


def test_an_unhashed_lock_and_a_shell_form_cmd_are_named(fresh: Path, tmp_path: Path) -> None:
    folder = tmp_path / "loose"
    shutil.copytree(fresh, folder)
    (folder / "requirements.txt").write_text("mcp==2.3.0\n")
    assert hosted.lock_problems(folder) == [
        f"{folder}/: lock: no --hash for mcp==2.3.0 (pip --require-hashes refuses it)"
    ]
    dockerfile = folder / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace('CMD ["python", "server.py"]', "CMD python server.py"))
    assert hosted.dockerfile_problems(folder) == [
        f'{folder}/: Dockerfile: CMD python server.py is not in exec form (["python", "server.py"])'
    ]
