"""The drift check (`make drift`, tools/drift.py), offline: against the local example server, against a recorded
gateway answer (tests/recorded/: a deployment the tests own, one existing entry pinned by its lock, and the gateway's
tools/list answer for it), and through the faked deployment as an agent; and its scheduled workflow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
import yaml

from tests.fake_deployment import Deployed, aws_with
from tools import drift

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ROOT / "tests" / "recorded"
ANSWER = RECORDED / "gateway-tools-list.json"
CONFIG = ["--targets-file", str(RECORDED / "targets.yaml"), "--agents-file", str(RECORDED / "agents.yaml")]
LOCK = "tests/recorded/tool-locks/billing.json"
WORKFLOW = ROOT / ".github" / "workflows" / "drift.yml"


def answer(edit: Any, tmp_path: Path) -> Path:
    recorded = json.loads(ANSWER.read_text())
    edit(recorded["result"]["tools"])
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(recorded))
    return path


def tool(tools: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(t for t in tools if t["name"] == name)


def served_from_lock(entry: str = "orders") -> list[dict[str, Any]]:
    """The example's locked tools as a gateway lists them: prefixed with the entry's name."""
    lock = json.loads((ROOT / "mcp_server" / "tools.lock.json").read_text())
    return [{**{k: v for k, v in t.items() if k != "sha256"}, "name": f"{entry}___{t['name']}"} for t in lock["tools"]]


def test_the_local_server_matches_its_lock(local_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert drift.main(["--url", local_url, "--no-auth", "--entry", "orders"]) == 0
    assert "no drift: 1 locked entry match" in capsys.readouterr().out


def test_the_recorded_gateway_answer_matches_the_locks(capsys: pytest.CaptureFixture[str]) -> None:
    assert drift.main([*CONFIG, "--recorded", str(ANSWER)]) == 0
    out = capsys.readouterr().out
    assert "no drift: 1 locked entry match the recorded answer" in out
    # The recorded answer has no titles: a gateway that does not pass a field on is noted, not taken for drift.
    assert "note: the gateway does not list the field title of some locked tools: not compared" in out


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(
            lambda tools: tool(tools, "billing___getInvoice").update(
                description="Get one invoice by its id: amount, currency, due date and status."
            ),
            "DRIFT billing: tool getInvoice, field description (changes what agents are told): "
            "Get one invoice by its [-number:-]{+id:+} amount, currency, due date and status.",
            id="description",
        ),
        pytest.param(
            lambda tools: tool(tools, "billing___getPaymentStatus")["inputSchema"].update(required=[]),
            "DRIFT billing: tool getPaymentStatus, field inputSchema: ",
            id="input-schema",
        ),
        pytest.param(
            lambda tools: tool(tools, "billing___getInvoice")["annotations"].update(readOnlyHint=False),
            'DRIFT billing: tool getInvoice, field annotations: -"readOnlyHint": true; +"readOnlyHint": false',
            id="annotations",
        ),
        pytest.param(
            lambda tools: tools.append({"name": "billing___refund", "description": "x", "inputSchema": {}}),
            f"DRIFT billing: tool refund: listed by the gateway, not in its lock {LOCK} (a new tool no review saw)",
            id="new-tool",
        ),
        pytest.param(
            lambda tools: tools.remove(tool(tools, "billing___getPaymentStatus")),
            f"DRIFT billing: tool getPaymentStatus: in its lock {LOCK}, not listed by the gateway",
            id="tool-gone",
        ),
    ],
)
def test_a_difference_fails_naming_entry_tool_and_field(
    tmp_path: Path, edit: Any, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert drift.main([*CONFIG, "--recorded", str(answer(edit, tmp_path))]) == 1
    out, err = capsys.readouterr()
    assert expected in out, out
    assert [line for line in out.splitlines() if line.startswith("DRIFT")] == [
        line for line in out.splitlines() if expected in line
    ], "only the difference made is reported"
    assert "1 difference(s) between the recorded answer" in err and '"Tool contracts"' in err


def test_a_recorded_file_that_is_no_answer_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"result": {}}')
    assert drift.main(["--recorded", str(bad)]) == 1
    assert "could not list the tools: " in capsys.readouterr().err


@pytest.mark.usefixtures("fixture_config")
def test_the_deployed_gateway_is_listed_as_an_agent(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    # The faked gateway (the tests' agents, tests/fixtures/default/) serves the example's locked tools; drift reads the
    # same configuration, not the shipped config/ that teams change.
    def listed(edit: Any = None) -> list[types.Tool]:
        served = served_from_lock()
        if edit:
            edit(served)
        return [types.Tool.model_validate(t) for t in served]

    deployed.fake.state.order_tools = listed  # type: ignore[method-assign]
    deployed.outputs_file.write_text(json.dumps(deployed.outputs))
    argv = ["--outputs-file", str(deployed.outputs_file)]
    assert drift.main(argv, aws=aws_with({})) == 0
    assert "no drift: 1 locked entry match the gateway of dev, as platform-smoke" in capsys.readouterr().out
    # Only platform-smoke's client got a token: the fewest agents whose grants cover every granted tool.
    assert {r["client_id"] for r in deployed.fake.state.token_requests} == {deployed.client_id("platform-smoke")}

    deployed.fake.state.order_tools = lambda: listed(  # type: ignore[method-assign]
        lambda served: tool(served, "orders___getOrder").update(description="Get any order.")
    )
    assert drift.main(argv, aws=aws_with({})) == 1
    out = capsys.readouterr().out
    assert "DRIFT orders: tool getOrder, field description (changes what agents are told): " in out
    for secret in deployed.world.secrets.values():
        assert secret not in out


def test_an_enforcing_gateway_hides_what_no_listing_agent_may_call() -> None:
    from app_config import load_config
    from tests.cdk_helpers import load_context

    config = load_config(load_context(env="dev"))
    findings = drift.compare_listing(config, [], visible={"orders___getOrder"})
    assert findings.drift == [
        "orders: tool getOrder: in its lock mcp_server/tools.lock.json, not listed by the gateway"
    ]
    assert findings.notes == ["orders: tool updateOrder: granted to none of the agents listed as, not checked"]


def test_the_covering_agents_are_the_fewest_that_see_every_granted_tool() -> None:
    from app_config import load_config
    from tests.cdk_helpers import load_context

    assert drift.covering_agents(load_config(load_context(env="dev"))) == ("platform-smoke",)


# --- the scheduled workflow (the checks every workflow passes are in tests/test_workflows.py) -----------------------------


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def test_drift_runs_on_a_schedule_and_by_hand_only(workflow: dict[Any, Any]) -> None:
    on = workflow["on"] if "on" in workflow else workflow[True]  # YAML 1.1 reads a bare `on` as True
    assert set(on) == {"schedule", "workflow_dispatch"}
    assert on["schedule"][0]["cron"].split()[2:] == ["*", "*", "*"], "daily"


def test_drift_checks_every_environment_with_a_read_only_role(workflow: dict[Any, Any]) -> None:
    (job,) = workflow["jobs"].values()
    assert job["strategy"]["matrix"]["env"] == ["dev", "prod"] and job["strategy"]["fail-fast"] is False
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert {"vars.AWS_DRIFT_ROLE_ARN != ''", "github.event.repository.fork != true"} == {
        clause.strip() for clause in job["if"].split("&&")
    }
    steps = job["steps"]
    assume = next(i for i, s in enumerate(steps) if "configure-aws-credentials" in s.get("uses", ""))
    assert steps[assume]["with"]["role-to-assume"] == "${{ vars.AWS_DRIFT_ROLE_ARN }}"
    setup = next(i for i, s in enumerate(steps) if s.get("run", "").strip() == "make setup")
    check = next(i for i, s in enumerate(steps) if "make drift" in s.get("run", ""))
    assert setup < assume < check == len(steps) - 1
    assert 'DRIFT_ARGS="--env ${DRIFT_ENV}"' in steps[check]["run"]
    assert job["env"] == {"DRIFT_ENV": "${{ matrix.env }}"}


def test_tools_lock_reads_an_entry_from_the_deployed_gateway(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    from tools import tools_lock

    served = served_from_lock()
    deployed.fake.state.order_tools = lambda: [types.Tool.model_validate(t) for t in served]  # type: ignore[method-assign]
    deployed.outputs_file.write_text(json.dumps(deployed.outputs))
    argv = ["--target", "orders", "--from-gateway", "--outputs-file", str(deployed.outputs_file), "--check"]
    lock = ROOT / "mcp_server" / "tools.lock.json"
    before = lock.read_text()
    assert tools_lock.main(argv) == 0, capsys.readouterr()
    assert "mcp_server/tools.lock.json: up to date (2 tools; orders)" in capsys.readouterr().out

    served[0] = {**served[0], "description": "Get any order."}
    assert tools_lock.main(argv) == 1
    out, err = capsys.readouterr()
    assert "orders: tool getOrder, field description (changes what agents are told): " in out
    assert "differs from what the server lists (orders): run `make tools-lock TARGET=orders`" in err
    assert lock.read_text() == before


def test_tools_lock_reads_an_existing_entry_through_its_own_oauth_client(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    # Offline stand-ins for an existing entry's world: its identity provider's discovery document (loopback), whose
    # token endpoint is the faked Cognito's, the entry's client and secret (Secrets Manager stubbed), and its server
    # (the faked gateway's MCP endpoint, which checks the bearer token).
    import http.server
    import threading

    from app_config.model import ExistingEntry, OAuthClient
    from tests.fake_deployment import SCOPE
    from tools import tools_lock

    token_endpoint = deployed.outputs["mcpgw-dev-cognito"]["GatewayTokenEndpoint"]

    class Discovery(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"token_endpoint": token_endpoint}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Discovery)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client_id = deployed.client_id("platform-smoke")
    secret = deployed.world.secrets["platform-smoke"]

    class Secrets:
        def get_secret_value(self, SecretId: str) -> dict[str, str]:
            assert SecretId == "teams/billing/mcp"
            return {"SecretString": secret}

    oauth = OAuthClient.model_construct(
        discovery_url=f"http://127.0.0.1:{server.server_address[1]}/.well-known/openid-configuration",
        client_id=client_id,
        scopes=[SCOPE],
        client_secret_name="teams/billing/mcp",
    )
    entry = ExistingEntry.model_construct(name="billing", kind="existing", endpoint="", oauth=oauth, tools=None)
    try:
        token = tools_lock.oauth_token(entry, 5.0, secrets=Secrets())
    finally:
        server.shutdown()
    listed = tools_lock.list_tools(deployed.outputs["mcpgw-dev-gateway"]["GatewayUrl"], token, 5.0)
    assert "orders___getOrder" in {t["name"] for t in listed}
    assert deployed.fake.state.token_requests[-1] == {
        "grant_type": "client_credentials",
        "scope": SCOPE,
        "client_id": client_id,
        "secret_ok": True,
    }
    out, err = capsys.readouterr()
    assert "reading the client secret from Secrets Manager secret 'teams/billing/mcp'" in err
    assert secret not in out + err and token not in out + err


# --- every kind: a declared entry's lock holds what its declaration says, the gateway builds the rest ---------------------

EVERY_KIND = ROOT / "config" / "examples" / "every-kind"
# The every-kind example's gateway, as recorded: every locked entry's tools as their locks say (no titles), an OpenAPI,
# Smithy or API Gateway tool with the inputSchema the gateway builds from its operation, the unpinned entries' tools.
EVERY_KIND_ANSWER = RECORDED / "every-kind-tools-list.json"
EVERY_KIND_CONFIG = [
    "--targets-file",
    str(EVERY_KIND / "targets.yaml"),
    "--agents-file",
    str(EVERY_KIND / "agents.yaml"),
]


def every_kind_answer(edit: Any, tmp_path: Path) -> Path:
    recorded = json.loads(EVERY_KIND_ANSWER.read_text())
    edit(recorded["result"]["tools"])
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(recorded))
    return path


def test_a_field_the_gateway_builds_for_a_declared_tool_is_no_drift(capsys: pytest.CaptureFixture[str]) -> None:
    assert drift.main([*EVERY_KIND_CONFIG, "--recorded", str(EVERY_KIND_ANSWER)]) == 0
    out = capsys.readouterr().out
    assert "no drift: 7 locked entries match the recorded answer" in out
    # The locks of openapi, smithy and apiGateway entries hold name and description: the gateway's inputSchema is
    # said once per entry, not compared.
    for entry, kind in (("pets", "openapi"), ("lambda-api", "smithy"), ("shipping", "apiGateway")):
        assert (
            f"note: {entry}: the gateway lists inputSchema of its {kind} tools, which it builds itself and the lock "
            f"config/examples/every-kind/tool-locks/{entry}.json (from the declaration) does not hold: not compared"
        ) in out
    assert "note: inventory" not in out  # a Lambda tool's inputSchema is declared, locked and compared
    assert "note: catalog: unpinned (no tool lock): its tools are not compared" in out


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(
            lambda tools: tool(tools, "pets___getPet").update(description="Get any pet"),
            "DRIFT pets: tool getPet, field description (changes what agents are told): Get [-one-]{+any+} pet[- by its id-]",
            id="openapi-description",
        ),
        pytest.param(
            lambda tools: tool(tools, "inventory___getStock")["inputSchema"].update(required=[]),
            'DRIFT inventory: tool getStock, field inputSchema: -"required": [; -"sku"; -],; +"required": [],',
            id="lambda-input-schema",
        ),
        pytest.param(
            lambda tools: tools.append({"name": "shipping___cancelShipment", "description": "x", "inputSchema": {}}),
            "DRIFT shipping: tool cancelShipment: listed by the gateway, not in its lock "
            "config/examples/every-kind/tool-locks/shipping.json (a new tool no review saw)",
            id="apigateway-new-tool",
        ),
        pytest.param(
            lambda tools: tools.remove(tool(tools, "lambda-api___GetFunctionConfiguration")),
            "DRIFT lambda-api: tool GetFunctionConfiguration: in its lock config/examples/every-kind/tool-locks/lambda-api.json, not "
            "listed by the gateway",
            id="smithy-tool-gone",
        ),
    ],
)
def test_a_declared_entrys_locked_fields_still_drift(
    tmp_path: Path, edit: Any, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert drift.main([*EVERY_KIND_CONFIG, "--recorded", str(every_kind_answer(edit, tmp_path))]) == 1
    drifted = [line for line in capsys.readouterr().out.splitlines() if line.startswith("DRIFT")]
    assert drifted == [expected]


def test_the_gateways_input_schema_of_an_openapi_tool_may_change_without_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The gateway's own rendering of the operation (its lock does not hold it) is not the entry's contract.
    def edit(tools: list[dict[str, Any]]) -> None:
        tool(tools, "pets___getPet")["inputSchema"]["properties"]["id"]["description"] = "The pet's id."

    assert drift.main([*EVERY_KIND_CONFIG, "--recorded", str(every_kind_answer(edit, tmp_path))]) == 0
    assert "DRIFT" not in capsys.readouterr().out
