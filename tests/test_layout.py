"""The design's top level, and the mechanism that lets our constructs live in `constructs/` beside the library.

`constructs/` has no `__init__.py`: it is a portion of the jsii `constructs` library's package, which extends its own
path (`pkgutil.extend_path`) when first imported (constructs/README.md). Each test below fails on one way to break it.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import constructs

ROOT = Path(__file__).resolve().parent.parent
OURS = ROOT / "constructs"
# The design's layout (DEVELOPERS.md): the top level a reader meets first.
DESIGN = ("app.py", "cdk.json", "stacks", "constructs", "mcp_server", "custom_resources", "tests", "requirements.txt")


def _library_dir() -> Path:
    spec = importlib.util.find_spec("constructs")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent


def test_the_top_level_is_the_designs() -> None:
    assert [name for name in DESIGN if not (ROOT / name).exists()] == []
    assert not (ROOT / "gateway_constructs").exists()


def test_our_constructs_folder_has_no_init_file() -> None:
    # With one, `constructs` would be our package: the library (and every aws-cdk-lib module) would be shadowed.
    assert not (OURS / "__init__.py").exists(), "constructs/__init__.py shadows the constructs library: delete it"


def test_constructs_construct_is_the_librarys_and_our_folder_a_portion_of_its_package() -> None:
    library = _library_dir()
    assert Path(constructs.__file__ or "").parent == library != OURS
    assert constructs.Construct.__module__ == "constructs"
    assert Path(sys.modules[constructs.Construct.__module__].__file__ or "").parent == library
    # The library's own folder first (its modules win), ours after it.
    paths = [Path(p).resolve() for p in constructs.__path__]
    assert paths[0] == library.resolve() and OURS.resolve() in paths[1:]


def test_no_module_of_ours_shadows_one_of_the_librarys_or_a_name_it_exports() -> None:
    library = {m.name for m in pkgutil.iter_modules([str(_library_dir())])}
    ours = {p.stem for p in OURS.glob("*.py")} | {
        p.name for p in OURS.iterdir() if p.is_dir() and p.name != "__pycache__"
    }
    assert library, "the library's modules could not be listed"
    assert sorted(ours & library) == []
    # `from constructs import X` gives the library's attribute X over a module constructs/X.py: no such names either.
    assert sorted(ours & set(constructs.__all__)) == []


def test_the_handlers_never_import_our_constructs() -> None:
    # The Lambda bundle holds custom_resources/ only; the library is not there to extend.
    for source in sorted((ROOT / "custom_resources").glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not [n for n in names if n.split(".")[0] == "constructs"], f"{source.name} imports constructs"


PROBE = (
    "import constructs, constructs.mcp_entry, constructs.naming; "
    "assert constructs.Construct.__module__ == 'constructs'; print('ok')"
)


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # The venv's bin first, as make sets it: jsii then runs on the pinned Node.js, not whatever the machine has.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_python_dash_m_from_the_root_sees_both(tmp_path: Path) -> None:
    # `python -m tools.<name>` and `python -c` put the working directory first on sys.path, as make runs them.
    result = _run([sys.executable, "-c", PROBE], cwd=ROOT)
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr


def test_app_py_started_from_anywhere_sees_both(tmp_path: Path) -> None:
    # `cdk synth` runs `python3 app.py`: the script's folder (the root) is on sys.path before anything is imported.
    # Without the CLI's context the app stops at the config, after every import, with a one-line error.
    result = _run([sys.executable, str(ROOT / "app.py")], cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: Invalid configuration environments"), result.stderr


def test_the_root_must_be_on_the_path_when_the_library_is_first_imported(tmp_path: Path) -> None:
    # The mechanism's one subtlety, shown: the path is extended at the library's first import, from the sys.path of
    # that moment. Added later, the root is too late (entry points must not import aws_cdk before it is there).
    late = f"import constructs, sys; sys.path.insert(0, {str(ROOT)!r}); import constructs.naming"
    result = _run([sys.executable, "-c", late], cwd=tmp_path)
    assert result.returncode != 0 and "No module named 'constructs.naming'" in result.stderr
