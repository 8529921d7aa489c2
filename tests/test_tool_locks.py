"""Tool contracts: each hosted server lists exactly its lock, a lock is written by `make tools-lock` and checked
against its hashes and its entry, a lock's change updates its gateway target, and bad locks are one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from app import create_app, synthesize
from app_config import ConfigError, HostedEntry, load_config
from app_config.rules import sync_revision
from app_config.targets import load_targets
from app_config.tool_locks import (
    HOSTED_LOCK_FILE,
    lock_document,
    read_lock,
    render,
    static_schema,
)
from tests.cdk_helpers import FIXTURES, ROOT, Assembly, load_context, shipped_context
from tests.conftest import write_config
from tests.mcp_fixtures import SERVER_DIR
from tools import tools_lock
from tools.contracts import compare, contracts_of, word_diff

EXAMPLE_LOCKS = ROOT / "config" / "examples" / "three-targets" / "tool-locks"
# The targets files whose hosted folders the folder checks cover (tests/test_hosted_folders.py): shipped, examples,
# the tests' fixtures.
TARGETS_FILES = [
    ROOT / shipped_context()["targetsFile"],
    *sorted((ROOT / "config" / "examples").glob("*/targets.yaml")),
    *sorted((ROOT / FIXTURES).glob("*/targets.yaml")),
]


def hosted_folders() -> list[Path]:
    """Every hosted folder of the shipped targets files, once each."""
    folders: list[Path] = []
    for path in TARGETS_FILES:
        for entry in load_targets(path, max_targets=10_000):
            if isinstance(entry, HostedEntry) and entry.folder not in folders:
                folders.append(entry.folder)
    return folders


def lock_differences(folder: Path, served: list[dict[str, Any]]) -> list[str]:
    """What the server lists that its lock does not say, one line per tool and field."""
    lock = read_lock(folder / HOSTED_LOCK_FILE, shown=f"{folder.name}/{HOSTED_LOCK_FILE}", entry=folder.name)
    entries = sorted(
        {
            e.name
            for path in TARGETS_FILES
            for e in load_targets(path, max_targets=10_000)
            if getattr(e, "folder", None) == folder
        }
    ) or [folder.name]
    before = {tool.name: dict(tool.fields) for tool in lock.tools}
    return [change.line(", ".join(entries)) for change in compare(before, contracts_of(served))]


@pytest.fixture(scope="session")
def served_tools(local_url: str) -> dict[Path, list[dict[str, Any]]]:
    """What each hosted folder's server lists, each started once per test process (the example's is local_url)."""
    listed = {}
    for folder in hosted_folders():
        if folder == SERVER_DIR:
            listed[folder] = tools_lock.list_tools(local_url, None, 30.0)
        else:
            with tools_lock.serving(folder) as url:
                listed[folder] = tools_lock.list_tools(url, None, 30.0)
    return listed


# --- make test: every hosted server lists exactly its lock ---------------------------------------------------------------


def test_the_example_entry_has_a_committed_lock_naming_its_declared_tools() -> None:
    config = load_config(load_context(env="dev"))
    assert config.tool_locks["orders"].path == SERVER_DIR / HOSTED_LOCK_FILE
    assert config.tool_locks["orders"].names == ("getOrder", "updateOrder")
    assert config.targets[0].tools == ["getOrder", "updateOrder"]
    assert not config.unpinned


@pytest.mark.parametrize("folder", hosted_folders(), ids=lambda folder: folder.name)
def test_each_hosted_server_lists_exactly_its_locked_tools(
    folder: Path, served_tools: dict[Path, list[dict[str, Any]]]
) -> None:
    differences = lock_differences(folder, served_tools[folder])
    assert not differences, (
        f"{folder.name}'s server no longer lists what {folder.name}/{HOSTED_LOCK_FILE} says; if the change is meant, "
        "run `make tools-lock` and commit the lock for review:\n" + "\n".join(differences)
    )


def test_one_word_of_a_description_changed_fails_naming_the_tool_and_the_words(tmp_path: Path) -> None:
    copy = tmp_path / "mcp_server"
    shutil.copytree(SERVER_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    server = copy / "server.py"
    # The locked description of getOrder, as the server's source holds it; one of its words changed.
    locked = read_lock(copy / HOSTED_LOCK_FILE, shown="x", entry="orders").tool("getOrder")
    assert locked is not None
    description = str(locked.fields["description"])
    assert server.read_text().count(description) == 1
    words = description.split(" ")
    changed = " ".join([words[0], "really", *words[2:]])
    server.write_text(server.read_text().replace(description, changed))
    with tools_lock.serving(copy) as url:
        served = tools_lock.list_tools(url, None, 30.0)
    assert lock_differences(copy, served) == [
        "mcp_server: tool getOrder, field description (changes what agents are told): "
        f"{words[0]} [-{words[1]}-]{{+really+}} {' '.join(words[2:])}"
    ]
    # `make tools-lock` writes the new contract, which the server then matches; the lock's hash changes with it.
    before = read_lock(copy / HOSTED_LOCK_FILE, shown="x", entry="orders")
    assert tools_lock.write_lock(copy / HOSTED_LOCK_FILE, served, [], check=False)
    after = read_lock(copy / HOSTED_LOCK_FILE, shown="x", entry="orders")
    assert lock_differences(copy, served) == []
    assert after.sha256 != before.sha256
    assert after.tool("updateOrder") == before.tool("updateOrder")


def test_tools_lock_check_reports_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock = tmp_path / "tools.lock.json"
    shutil.copy(SERVER_DIR / HOSTED_LOCK_FILE, lock)
    text = lock.read_text()
    served = [dict(tool.fields) for tool in read_lock(lock, shown="x", entry="orders").tools]
    served[1] = {**served[1], "inputSchema": {**served[1]["inputSchema"], "required": []}}
    assert tools_lock.write_lock(lock, served, [], check=True) is False
    assert lock.read_text() == text
    out, err = capsys.readouterr()
    assert "tool updateOrder, field inputSchema: " in out and "run `make tools-lock`" in err


def test_tools_lock_reads_any_url_for_one_entry(local_url: str, tmp_path: Path) -> None:
    # An existing entry, recorded offline from a local server (--url --no-auth): its lock goes beside the targets file.
    files = write_config(tmp_path, [existing()])
    argv = ["--targets-file", files["targetsFile"], "--target", "billing", "--url", local_url, "--no-auth"]
    assert tools_lock.main(argv) == 0
    written = tmp_path / "tool-locks" / "billing.json"
    assert read_lock(written, shown="x", entry="billing").names == ("getOrder", "updateOrder")
    assert tools_lock.main([*argv, "--check"]) == 0


def test_an_existing_entry_is_read_through_its_own_oauth_client_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app_config.model import ExistingEntry

    entry = ExistingEntry.model_validate(existing())

    class NoSecret:
        def get_secret_value(self, SecretId: str) -> dict[str, str]:
            raise PermissionError("AccessDenied")

    with pytest.raises(
        tools_lock.LockToolError, match=r"^billing: cannot read secret 'teams/billing/mcp': PermissionError$"
    ):
        tools_lock.oauth_token(entry, 5.0, secrets=NoSecret())
    assert "secretsmanager:GetSecretValue" in capsys.readouterr().err


# --- reading a lock: its hashes, its entry, its agents ------------------------------------------------------------------


def existing(name: str = "billing", **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "existing",
        "endpoint": f"https://{name}.example.com/mcp",
        "oauth": {
            "discoveryUrl": "https://login.example.com/.well-known/openid-configuration",
            "clientId": "gateway",
            "scopes": [f"{name}/invoke"],
            "clientSecretName": f"teams/{name}/mcp",
        },
        **fields,
    }


def billing_lock(directory: Path, text: str | None = None) -> Path:
    path = directory / "tool-locks" / "billing.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else (EXAMPLE_LOCKS / "billing.json").read_text())
    return path


def config_error(tmp_path: Path, entries: list[dict[str, Any]], agents: dict[str, Any] | None = None) -> str:
    with pytest.raises(ConfigError) as raised:
        load_config(load_context(**write_config(tmp_path, entries, agents)))
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_an_existing_entry_without_a_lock_is_unpinned_and_keeps_its_declared_tools(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_config(tmp_path, [existing(tools=["getInvoice"])])
    config = load_config(load_context(**files))
    assert config.unpinned == {"billing": str(tmp_path / "tool-locks" / "billing.json")}
    assert config.targets[0].tools == ["getInvoice"]
    create_app(load_context(**files))
    assert capsys.readouterr().err.count("is unpinned") == 1


def test_a_lock_gives_an_entry_without_tools_its_names(tmp_path: Path) -> None:
    billing_lock(tmp_path)
    agents = {"defaultRateLimit": {"requests": 1, "per": "minute"}, "agents": [{"name": "a", "targets": ["billing"]}]}
    config = load_config(load_context(**write_config(tmp_path, [existing()], agents)))
    assert config.targets[0].tools == ["getInvoice", "getPaymentStatus"]
    assert config.agents.allowed("a") == ("billing___getInvoice", "billing___getPaymentStatus")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(lambda text: text[:-20], "billing.json (entry billing): not valid JSON (line", id="not-json"),
        pytest.param(
            lambda text: text.replace("Get one invoice", "Get any invoice"),
            "billing.json (entry billing), tool getInvoice: its sha256 does not match its fields (edited by hand?)",
            id="description-edited-by-hand",
        ),
        pytest.param(
            lambda text: json.dumps({**json.loads(text), "tools": json.loads(text)["tools"][:1]}),
            "billing.json (entry billing): its top sha256 does not match its tools",
            id="tool-removed-by-hand",
        ),
        pytest.param(lambda text: "[]", "billing.json (entry billing): not a tool lock", id="not-a-lock"),
    ],
)
def test_a_broken_lock_is_one_line_naming_file_entry_and_tool(tmp_path: Path, edit: Any, expected: str) -> None:
    billing_lock(tmp_path, edit((EXAMPLE_LOCKS / "billing.json").read_text()))
    assert expected in config_error(tmp_path, [existing()])


def test_declared_tools_must_agree_with_the_lock(tmp_path: Path) -> None:
    billing_lock(tmp_path)
    extra = config_error(tmp_path, [existing(tools=["getInvoice", "getPaymentStatus", "refund"])])
    assert (
        "targets[0] billing: tools lists 'refund', which its lock " in extra
        and "tool-locks/billing.json lacks" in extra
    )
    missing = config_error(tmp_path, [existing(tools=["getInvoice"])])
    assert (
        "targets[0] billing: its lock " in missing
        and "has tool 'getPaymentStatus', which tools: does not list" in missing
    )


def test_a_tool_granted_to_an_agent_that_the_lock_lacks_names_the_lock(tmp_path: Path) -> None:
    billing_lock(tmp_path)
    agents = {
        "defaultRateLimit": {"requests": 1, "per": "minute"},
        "agents": [{"name": "a", "tools": ["billing___pay"]}],
    }
    message = config_error(tmp_path, [existing()], agents)
    assert "agents[0].tools[0] 'billing___pay': billing's lock " in message
    assert "tool-locks/billing.json has no tool 'pay' (its tools: getInvoice, getPaymentStatus)" in message


def test_a_hosted_entry_needs_its_lock(tmp_path: Path, repo_tmp_path: Path) -> None:
    folder = repo_tmp_path / "server"  # a hosted folder is in the repository
    folder.mkdir()
    (folder / "Dockerfile").write_text('FROM scratch\nCMD ["python", "server.py"]\n')
    message = config_error(tmp_path, [{"name": "orders", "kind": "hosted", "path": str(folder)}])
    shown = (folder / HOSTED_LOCK_FILE).relative_to(ROOT)
    assert f"{shown} (entry orders): no such lock: run `make tools-lock`" in message


def test_a_static_tool_schema_needs_a_lock(tmp_path: Path) -> None:
    message = config_error(tmp_path, [existing(tools=["getInvoice"], staticToolSchema=True)])
    assert "targets[0] billing: staticToolSchema serves the locked tools, and there is no lock" in message


def test_a_lock_diffs_readably_one_field_per_line() -> None:
    text = (SERVER_DIR / HOSTED_LOCK_FILE).read_text()
    document = json.loads(text)
    assert render(lock_document(document["tools"])) == text  # canonical: rewriting it changes nothing
    description = document["tools"][0]["description"]
    assert f'      "description": {json.dumps(description)},' in text.splitlines()


def test_word_diff_marks_only_the_changed_words() -> None:
    assert word_diff("Get the current order", "Get the latest order") == "Get the [-current-]{+latest+} order"
    assert word_diff("a b", "a b c") == "a b{+ c+}"


# --- deployed as reviewed: a lock's change updates its target ------------------------------------------------------------


@pytest.fixture(scope="module")
def relocked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Assembly, str, Path]:
    """The three-targets example again, its billing lock re-recorded with one word changed and served statically."""
    directory = tmp_path_factory.mktemp("relocked")
    entries = yaml.safe_load((ROOT / "config" / "examples" / "three-targets" / "targets.yaml").read_text())["targets"]
    billing = next(entry for entry in entries if entry["name"] == "billing")
    billing["staticToolSchema"] = True
    (directory / "targets.yaml").write_text(yaml.safe_dump({"targets": entries}))
    tools = [dict(tool.fields) for tool in read_lock(EXAMPLE_LOCKS / "billing.json", shown="x", entry="billing").tools]
    tools[0]["description"] = tools[0]["description"].replace("Get one invoice", "Get a single invoice")
    lock = billing_lock(directory, render(lock_document(tools)))
    assembly = Assembly.from_cdk_assembly(
        synthesize(create_app(load_context(env="dev", targetsFile=str(directory / "targets.yaml"))))
    )
    return assembly, static_schema(read_lock(lock, shown="x", entry="billing")), lock


def targets_of(assembly: Assembly) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for stack in assembly.templates.values()
        for name, resource in stack["Resources"].items()
        if resource["Type"] == "AWS::BedrockAgentCore::GatewayTarget"
    }


def test_a_changed_lock_updates_its_existing_entrys_target(
    example_three_targets: Assembly, relocked: tuple[Assembly, str, Path]
) -> None:
    assembly, _, lock = relocked
    before, after = targets_of(example_three_targets), targets_of(assembly)
    old, new = before["BillingTarget"]["Description"], after["BillingTarget"]["Description"]
    locked = read_lock(EXAMPLE_LOCKS / "billing.json", shown="x", entry="billing")
    relocked_sha = read_lock(lock, shown="x", entry="billing").sha256
    # The sync revision follows the lock (its sha256 stands for the tools), with the entry's syncToken (none here).
    assert old.endswith(f"(sync {sync_revision(list(locked.names), None, locked.sha256)})")
    assert new == old.rsplit(" (sync ", 1)[0] + f" (sync {sync_revision(list(locked.names), None, relocked_sha)})"
    # Nothing else of any other target changes.
    assert {k: v for k, v in before.items() if k != "BillingTarget"} == {
        k: v for k, v in after.items() if k != "BillingTarget"
    }
    # An unpinned entry's revision follows its declared tools (none here) and syncToken, as before it had a lock.
    assert after["TicketsTarget"]["Description"].endswith(f"(sync {sync_revision(None, None)})")


def test_an_entry_may_serve_exactly_its_locked_tools(
    example_three_targets: Assembly, relocked: tuple[Assembly, str, Path]
) -> None:
    assembly, payload, _ = relocked
    server = targets_of(assembly)["BillingTarget"]["TargetConfiguration"]["Mcp"]["McpServer"]
    assert server["McpToolSchema"] == {"InlinePayload": payload}
    tools = json.loads(payload)["tools"]
    assert [tool["name"] for tool in tools] == ["getInvoice", "getPaymentStatus"]
    assert tools[0]["description"].startswith("Get a single invoice")
    assert "McpToolSchema" not in json.dumps(targets_of(example_three_targets))


def test_the_static_tool_schema_passes_cfn_lint(relocked: tuple[Assembly, str, Path]) -> None:
    from cfnlint.api import ManualArgs, lint

    assembly, _, _ = relocked
    (stack,) = [s for s, t in assembly.templates.items() if "BillingTarget" in t["Resources"]]
    matches = lint(
        json.dumps(assembly.templates[stack]), regions=["us-east-1"], config=ManualArgs(ignore_checks=["W3005"])
    )
    assert not matches, [f"{m.rule.id} {m.message}" for m in matches]


# --- reviewed in the pull request: make diff and the PR comment ------------------------------------------------------------


def test_the_diff_shows_a_changed_description_word_by_word(tmp_path: Path) -> None:
    import subprocess

    from tools import contract_diff

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    lock = tmp_path / "mcp_server" / HOSTED_LOCK_FILE
    lock.parent.mkdir()
    shutil.copy(SERVER_DIR / HOSTED_LOCK_FILE, lock)
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "lock")
    assert contract_diff.report(root=tmp_path) == "tool contracts: no change against HEAD\n"

    tools = [dict(tool.fields) for tool in read_lock(lock, shown="x", entry="orders").tools]
    tools[1]["description"] = tools[1]["description"].replace("an existing", "any")
    tools[1]["inputSchema"]["properties"]["orderId"]["minimum"] = 0
    lock.write_text(render(lock_document(tools)))
    assert contract_diff.report(root=tmp_path).splitlines() == [
        "tool contracts against HEAD (1 change(s) to what agents are told):",
        "mcp_server/tools.lock.json (changed):",
        "  mcp_server: tool updateOrder, field description (changes what agents are told): Update [-an existing-]{+any+} "
        "customer order, identified by its order id, and return the updated order's id.",
        '  mcp_server: tool updateOrder, field inputSchema: -"minimum": 1,; +"minimum": 0,',
    ]
    assert contract_diff.report(base="no-such-rev", root=tmp_path).startswith("tool contracts: not compared (git ")


def test_the_pr_comment_shows_the_tool_contracts_before_the_template_diff() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("comment", ROOT / ".github" / "scripts" / "cdk_diff_comment.py")
    assert spec is not None and spec.loader is not None
    helper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper)
    contracts = "tool contracts against HEAD^1 (1 change(s) to what agents are told):\n  orders: tool getOrder, ..."
    body = helper.render("Stack x\nThere were no differences", 0, "a" * 40, "https://x", contracts=contracts)
    assert body.index("#### Tool contracts (what agents are told)") < body.index(contracts) < body.index("Output")
    assert helper.render("x", 0, "a" * 40, "https://x").count("Tool contracts") == 0
    # However long both are, the body still fits a comment.
    huge = helper.render("y\n" * 50_000, 0, "a" * 40, "https://x", contracts="z\n" * 50_000)
    assert len(huge) < 65_536


def test_a_hosted_folder_whose_image_cannot_be_started_locally_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCMD node server.js\n")
    with pytest.raises(tools_lock.LockToolError, match=r"Dockerfile: CMD node server.js is not in exec form"):
        with tools_lock.serving(tmp_path):
            pass
    (tmp_path / "Dockerfile").write_text('FROM scratch\nCMD ["python", "-c", "raise SystemExit(3)"]\n')
    with pytest.raises(tools_lock.LockToolError, match=r"start: exited with 3"):
        with tools_lock.serving(tmp_path):
            pass


def test_tools_lock_skips_existing_entries_unless_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = write_config(tmp_path, [existing(tools=["getInvoice"])])
    assert tools_lock.main(["--targets-file", files["targetsFile"]]) == 0
    assert (
        "billing: existing entry, skipped: `make tools-lock TARGET=billing` reads its server" in capsys.readouterr().out
    )
    assert tools_lock.main(["--targets-file", files["targetsFile"], "--target", "nobody"]) == 1
    assert "no entry 'nobody' (entries: billing)" in capsys.readouterr().err


def test_a_re_recorded_lock_does_not_churn_the_snapshots() -> None:
    from tools.snapshots import normalize

    one = normalize({"Description": "Orders (image 0123456789ab, sync 0123abcd)", "Other": "Billing (sync 0123abcd)"})
    other = normalize({"Description": "Orders (image ba9876543210, sync dcba3210)", "Other": "Billing (sync dcba3210)"})
    assert one == other and "(image <asset-hash>, sync <revision>)" in one and "Billing (sync <revision>)" in one


def test_the_diff_workflow_compares_the_locks_with_the_prs_base() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "diff.yml").read_text())
    steps = workflow["jobs"]["diff"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    # A pull_request run checks out the merge commit: its first parent is the base, so two commits are enough.
    assert checkout["with"]["fetch-depth"] == 2
    script = next(s for s in steps if "make diff-live" in s.get("run", ""))["run"]
    assert "python -m tools.contract_diff --base HEAD^1 > tool-contracts.txt" in script
    assert script.index("tool-contracts.txt") < script.index("make diff-live")
    assert "--contracts-file tool-contracts.txt" in script


# --- declared kinds (lambda, openapi, smithy, apiGateway): locks written offline from the declaration --------------------

EVERY_KIND = ROOT / "config" / "examples" / "every-kind"


@pytest.fixture
def hosted_served_locally(local_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hosted folder's server, already running (the session's local_url), instead of a fresh start per test."""
    from contextlib import contextmanager

    @contextmanager
    def serving(folder: Path) -> Any:
        assert folder == SERVER_DIR
        yield local_url

    monkeypatch.setattr(tools_lock, "serving", serving)


def every_kind_copy(tmp_path: Path, edit: Any = None) -> Path:
    """The every-kind example's targets file and its locks, copied (its paths stay relative to the repository root),
    with `edit` applied to its entries by name."""
    document = yaml.safe_load((EVERY_KIND / "targets.yaml").read_text())
    if edit:
        edit({entry["name"]: entry for entry in document["targets"]})
    (tmp_path / "targets.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    shutil.copytree(EVERY_KIND / "tool-locks", tmp_path / "tool-locks")
    return tmp_path / "targets.yaml"


@pytest.mark.usefixtures("hosted_served_locally")
def test_tools_lock_check_passes_on_the_every_kind_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert tools_lock.main(["--targets-file", str(EVERY_KIND / "targets.yaml"), "--check"]) == 0
    out = capsys.readouterr().out
    # Every declared entry's lock is checked offline against its declaration, whatever its kind.
    for name, count in (("inventory", 2), ("pricing", 1), ("pets", 3), ("lambda-api", 2), ("shipping", 2)):
        assert f"config/examples/every-kind/tool-locks/{name}.json: up to date ({count} tools; {name})" in out, out
    assert "mcp_server/tools.lock.json: up to date" in out


@pytest.mark.parametrize(
    ("edit", "entry", "change"),
    [
        pytest.param(
            lambda e: e["pricing"]["toolSchema"][0].update(description="The price of an item, in euros."),
            "pricing",
            "pricing: tool quotePrice, field description (changes what agents are told): The price[- of a "
            "quantity-] of an item, in [-cents.-]{+euros.+}",
            id="lambda-tool-schema",
        ),
        pytest.param(
            lambda e: e["shipping"]["operations"].pop(),
            "shipping",
            "shipping: tool listShipments removed",
            id="apigateway-operations",
        ),
    ],
)
def test_tools_lock_check_fails_naming_the_entry_whose_declaration_changed(
    tmp_path: Path, edit: Any, entry: str, change: str, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = every_kind_copy(tmp_path, edit)
    lock = tmp_path / "tool-locks" / f"{entry}.json"
    text = lock.read_text()
    assert tools_lock.main(["--targets-file", str(targets), "--target", entry, "--check"]) == 1
    out, err = capsys.readouterr()
    assert f"  {change}" in out.splitlines(), out
    assert err.splitlines()[-1] == (
        f"{lock}: differs from what its declaration says ({entry}): run `make tools-lock TARGET={entry}`"
    )
    assert lock.read_text() == text  # --check writes nothing
    # The app refuses the stale lock too, naming the entry and the command (app_config.tool_locks).
    with pytest.raises(ConfigError, match=rf"targets\[\d\] {entry}: its lock .* is stale .*TARGET={entry}"):
        load_config(shipped_context(targetsFile=str(targets), agentsFile=str(EVERY_KIND / "agents.yaml")))
    # Written, the lock says the declaration again, and the check passes.
    assert tools_lock.main(["--targets-file", str(targets), "--target", entry]) == 0
    assert tools_lock.main(["--targets-file", str(targets), "--target", entry, "--check"]) == 0


S3_SPEC = {"uri": "s3://team-specs/pets/openapi.yaml"}


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        pytest.param(
            {
                "name": "pets",
                "kind": "openapi",
                "specS3": S3_SPEC,
                "tools": ["getPet"],
                "apiKey": {"secretName": "mcp-gateway/pets/api-key", "parameterName": "x-api-key"},
            },
            f"its OpenAPI description is in S3 ({S3_SPEC['uri']}), which only the gateway reads",
            id="openapi-s3",
        ),
        pytest.param(
            {
                "name": "weather",
                "kind": "smithy",
                "modelS3": {"uri": "s3://team-specs/weather.json"},
                "tools": ["GetForecast"],
                "grants": [
                    {
                        "actions": ["execute-api:Invoke"],
                        "resources": ["arn:aws:execute-api:us-east-1:111122223333:w1/prod/*"],
                    }
                ],
            },
            "its Smithy model is in S3 (s3://team-specs/weather.json), which only the gateway reads",
            id="smithy-s3",
        ),
        pytest.param(
            {
                "name": "catalog",
                "kind": "existing",
                "endpoint": "https://catalog.example.com/mcp",
                "tools": ["searchProducts"],
                "apiKey": {"secretName": "mcp-gateway/catalog/api-key", "parameterName": "x-api-key"},
            },
            "its server is called with an API key, which this tool does not hold",
            id="existing-api-key",
        ),
        pytest.param(
            {
                "name": "reports",
                "kind": "existing",
                "endpoint": "https://abcde12345.execute-api.us-east-1.amazonaws.com/prod/mcp",
                "tools": ["salesReport"],
                "iam": {
                    "service": "execute-api",
                    "grants": [
                        {
                            "actions": ["execute-api:Invoke"],
                            "resources": ["arn:aws:execute-api:us-east-1:111122223333:abcde12345/prod/POST/mcp"],
                        }
                    ],
                },
            },
            "its server is called with IAM (SigV4), which this tool does not hold",
            id="existing-iam",
        ),
    ],
)
def test_what_this_tool_cannot_read_is_skipped_and_refused_unless_told_where(
    tmp_path: Path, local_url: str, entry: dict[str, Any], why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = write_config(tmp_path, [entry])["targetsFile"]
    name = entry["name"]
    # Without TARGET: skipped, saying why and what to run.
    assert tools_lock.main(["--targets-file", targets]) == 0
    assert capsys.readouterr().out == (
        f"{name}: {entry['kind']} entry, skipped: {why}: `make tools-lock TARGET={name} TOOLS_LOCK_ARGS=--from-gateway` "
        "records it\n"
    )
    # With TARGET alone: refused in one line, naming the entry, why, and the two ways that work.
    assert tools_lock.main(["--targets-file", targets, "--target", name]) == 1
    err = capsys.readouterr().err
    assert err == f"{tools_lock.PROG}: error: {name}: {why}: {tools_lock.THROUGH_GATEWAY}\n"
    assert "api-key" not in err and not (tmp_path / "tool-locks").exists()
    # With --url: read from that MCP endpoint (here the local example server, as a stand-in), and written.
    argv = ["--targets-file", targets, "--target", name, "--url", local_url, "--no-auth"]
    assert tools_lock.main(argv) == 0
    assert read_lock(tmp_path / "tool-locks" / f"{name}.json", shown="x", entry=name).names == (
        "getOrder",
        "updateOrder",
    )


@pytest.fixture
def fresh_specs() -> Any:
    """Specs are read once per process (app_config.declared caches them by path): a test that edits one reads it anew."""
    from app_config import declared

    declared._spec.cache_clear()
    yield
    declared._spec.cache_clear()


@pytest.mark.usefixtures("fresh_specs")
def test_a_description_changed_in_an_openapi_spec_shows_as_a_change_to_what_agents_are_told(
    tmp_path: Path, repo_tmp_path: Path
) -> None:
    import subprocess

    from app_config import declared
    from tools import contract_diff

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    # The spec lives in the repository (a spec path is relative to its root); the targets file and its locks in a
    # repository of the test's own, which contract_diff compares with its HEAD.
    spec = repo_tmp_path / "pets.openapi.yaml"
    operation = {"operationId": "getPet", "responses": {"200": {"description": "ok"}}}

    def write_spec(text: str) -> None:
        # Summary and description alike: whichever a reader takes is the tool's description.
        document = {
            "openapi": "3.0.3",
            "info": {"title": "Pets", "version": "1"},
            "servers": [{"url": "https://api.example.com/v1"}],
            "paths": {"/pets/{id}": {"get": {**operation, "summary": text, "description": text}}},
        }
        spec.write_text(yaml.safe_dump(document))

    write_spec("Get a pet by its id.")
    pets = {
        "name": "pets",
        "kind": "openapi",
        "spec": str(spec.relative_to(ROOT)),
        "apiKey": {"secretName": "mcp-gateway/pets/api-key", "parameterName": "x-api-key"},
    }
    config = tmp_path / "config"
    config.mkdir()
    agents = {"defaultRateLimit": {"requests": 600, "per": "minute"}, "agents": [{"name": "a", "targets": ["pets"]}]}
    targets = write_config(config, [pets], agents)["targetsFile"]
    assert tools_lock.main(["--targets-file", targets]) == 0  # offline: every declared entry's lock
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "lock")
    assert contract_diff.report(root=tmp_path) == "tool contracts: no change against HEAD\n"

    write_spec("Get one pet by its id.")
    declared._spec.cache_clear()
    assert tools_lock.main(["--targets-file", targets, "--target", "pets"]) == 0
    lines = contract_diff.report(root=tmp_path).splitlines()
    assert lines[0] == "tool contracts against HEAD (1 change(s) to what agents are told):"
    assert lines[1] == "config/tool-locks/pets.json (changed):"
    assert lines[2].startswith("  pets: tool getPet, field description (changes what agents are told): Get ")
    assert "[-a-]{+one+}" in lines[2] and len(lines) == 3
