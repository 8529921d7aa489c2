"""The gateway-target sync handlers: Create / Update / Delete, replays, retries, every status, deadlines."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.moto_api import state_manager

from custom_resources.target_sync import handler

REGION = "us-east-1"
GATEWAY = "mcpgw-dev-gateway-abcdefghij"
TARGET = "ABCDEFGHIJ"
T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 11, 1, 12, 5, tzinfo=dt.UTC)
SYNC_PARAMS = {"gatewayIdentifier": GATEWAY, "targetIdList": [TARGET]}
GET_PARAMS = {"gatewayIdentifier": GATEWAY, "targetId": TARGET}


class FakeClock:
    """Time that passes only when the handler sleeps or the test says so."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class LambdaContext:
    def __init__(self, clock: FakeClock, timeout_seconds: float) -> None:
        self._end = clock.now + timeout_seconds
        self._clock = clock

    def get_remaining_time_in_millis(self) -> int:
        return int((self._end - self._clock.now) * 1000)


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Fake credentials so nothing here could ever reach a real account; the bounds the deployed Lambda gets.
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "WAIT_TIMEOUT_SECONDS": "900",
        "SETTLE_SECONDS": "15",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("bedrock-agentcore-control", region_name=REGION)
    stubber = Stubber(client)
    with stubber:
        yield client, stubber
        # Every response queued by a test was asked for: no call the test expected went missing.
        stubber.assert_no_pending_responses()


def event(
    request_type: str, *, trigger: str = "image-1", old_trigger: str | None = None, **extra: Any
) -> dict[str, Any]:
    props = {
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:framework",
        "GatewayIdentifier": GATEWAY,
        "TargetId": TARGET,
        "Trigger": trigger,
    }
    body: dict[str, Any] = {
        "RequestType": request_type,
        "RequestId": "req-1",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "LogicalResourceId": "TargetSync",
        "ResourceType": "Custom::GatewayTargetSync",
        "ResponseURL": "https://cloudformation-custom-resource-response.example/presigned?X-Amz-Signature=secret",
        "ResourceProperties": props,
    }
    if request_type != "Create":
        body["PhysicalResourceId"] = f"{GATEWAY}/{TARGET}"
    if request_type == "Update":
        body["OldResourceProperties"] = {**props, "Trigger": old_trigger if old_trigger is not None else trigger}
    return {**body, **extra}


def target(status: str, *, reasons: list[str] | None = None, synced: dt.datetime | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "gatewayArn": f"arn:aws:bedrock-agentcore:{REGION}:123456789012:gateway/{GATEWAY}",
        "targetId": TARGET,
        "createdAt": T0,
        "updatedAt": T0,
        "status": status,
        "name": "mcp-server",
        "targetConfiguration": {"mcp": {"mcpServer": {"endpoint": "https://example.com/mcp"}}},
        "credentialProviderConfigurations": [
            {
                "credentialProviderType": "OAUTH",
                "credentialProvider": {
                    "oauthCredentialProvider": {
                        "providerArn": f"arn:aws:bedrock-agentcore:{REGION}:123456789012:token-vault/default/"
                        "oauth2credentialprovider/runtime-pool",
                        "scopes": ["runtime/invoke"],
                        "grantType": "CLIENT_CREDENTIALS",
                    }
                },
            }
        ],
    }
    if reasons is not None:
        response["statusReasons"] = reasons
    if synced is not None:
        response["lastSynchronizedAt"] = synced
    return response


def sync_accepted() -> dict[str, Any]:
    return {"targets": [target("SYNCHRONIZING", synced=T0)]}


def expect_sync(stubber: Stubber, *, before: dt.datetime | None = T0) -> None:
    stubber.add_response("get_gateway_target", target("READY", synced=before), GET_PARAMS)
    stubber.add_response("synchronize_gateway_targets", sync_accepted(), SYNC_PARAMS)


def expect_sync_error(stubber: Stubber, code: str, status: int) -> None:
    stubber.add_response("get_gateway_target", target("SYNCHRONIZING", synced=T0), GET_PARAMS)
    stubber.add_client_error(
        "synchronize_gateway_targets",
        service_error_code=code,
        service_message=f"{code} from the service",
        http_status_code=status,
        expected_params=SYNC_PARAMS,
    )


def run_on_event(evt: dict[str, Any], client: Any, clock: FakeClock, context: Any = None) -> dict[str, Any]:
    return handler.on_event(evt, context, client_factory=lambda: client, clock=clock, sleep=clock.sleep)


def run_is_complete(evt: dict[str, Any], client: Any, clock: FakeClock) -> dict[str, Any]:
    return handler.is_complete(evt, None, client_factory=lambda: client, clock=clock)


def merged(evt: dict[str, Any], on_event_result: dict[str, Any]) -> dict[str, Any]:
    # What CDK's provider framework hands to is_complete: the event with on_event's result laid over it.
    return {**evt, **on_event_result}


# --- on_event --------------------------------------------------------------------------------------------------


def test_create_requests_one_sync_for_the_one_target(stubbed: tuple[Any, Stubber], clock: FakeClock) -> None:
    client, stubber = stubbed
    expect_sync(stubber)
    result = run_on_event(event("Create"), client, clock)
    assert result == {
        "PhysicalResourceId": f"{GATEWAY}/{TARGET}",
        "Deadline": clock.now + 900,
        "SyncRequestedAt": clock.now,
        "LastSynchronizedBefore": T0.isoformat(),
    }
    assert clock.sleeps == []


def test_update_with_a_new_image_syncs_and_keeps_the_physical_id(
    stubbed: tuple[Any, Stubber], clock: FakeClock
) -> None:
    client, stubber = stubbed
    expect_sync(stubber, before=None)
    result = run_on_event(event("Update", trigger="image-2", old_trigger="image-1"), client, clock)
    assert result["PhysicalResourceId"] == f"{GATEWAY}/{TARGET}"
    assert result["LastSynchronizedBefore"] is None


def test_update_that_changes_no_sync_input_does_not_sync(stubbed: tuple[Any, Stubber], clock: FakeClock) -> None:
    client, _ = stubbed  # nothing queued: any call would raise UnStubbedResponseError
    evt = event("Update", trigger="image-1", old_trigger="image-1")
    evt["OldResourceProperties"]["ServiceToken"] = "arn:aws:lambda:us-east-1:123456789012:function:old-framework"
    result = run_on_event(evt, client, clock)
    assert result == {"PhysicalResourceId": f"{GATEWAY}/{TARGET}", "SyncSkipped": True}
    assert run_is_complete(merged(evt, result), client, clock) == {"IsComplete": True}


def test_delete_calls_nothing_and_keeps_the_physical_id_even_when_replayed(
    stubbed: tuple[Any, Stubber], clock: FakeClock
) -> None:
    client, _ = stubbed
    evt = event("Delete", PhysicalResourceId="some-other-gateway/XYZXYZXYZX")
    for _ in range(2):
        result = run_on_event(evt, client, clock)
        assert result == {"PhysicalResourceId": "some-other-gateway/XYZXYZXYZX"}
        assert run_is_complete(merged(evt, result), client, clock) == {"IsComplete": True}


def test_delete_succeeds_even_with_no_client_at_all(clock: FakeClock) -> None:
    def no_client() -> Any:
        raise AssertionError("Delete must not call AWS")

    evt = event("Delete")
    result = handler.on_event(evt, None, client_factory=no_client, clock=clock, sleep=clock.sleep)
    assert handler.is_complete(merged(evt, result), None, client_factory=no_client, clock=clock)["IsComplete"] is True


def test_replayed_create_while_its_sync_runs_retries_the_conflict(
    stubbed: tuple[Any, Stubber], clock: FakeClock
) -> None:
    client, stubber = stubbed
    expect_sync(stubber)
    first = run_on_event(event("Create"), client, clock)
    # The replay arrives while the first sync still runs: the service answers 409 once.
    expect_sync_error(stubber, "ConflictException", 409)
    stubber.add_response("get_gateway_target", target("READY", synced=T1), GET_PARAMS)
    stubber.add_response("synchronize_gateway_targets", sync_accepted(), SYNC_PARAMS)
    second = run_on_event(event("Create"), client, clock)
    assert second["PhysicalResourceId"] == first["PhysicalResourceId"]
    assert clock.sleeps == [handler.FIRST_BACKOFF_SECONDS]
    # The baseline is the one read right before the accepted request, after the conflicting sync ended.
    assert second["LastSynchronizedBefore"] == T1.isoformat()


def test_throttling_and_conflicts_back_off_exponentially_up_to_a_cap(
    stubbed: tuple[Any, Stubber], clock: FakeClock
) -> None:
    client, stubber = stubbed
    for _ in range(3):
        expect_sync_error(stubber, "ThrottlingException", 429)
    for _ in range(3):
        expect_sync_error(stubber, "ConflictException", 409)
    expect_sync(stubber)
    run_on_event(event("Create"), client, clock)
    assert clock.sleeps == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_throttled_read_before_the_sync_is_retried_too(stubbed: tuple[Any, Stubber], clock: FakeClock) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "get_gateway_target", service_error_code="ThrottlingException", http_status_code=429, expected_params=GET_PARAMS
    )
    expect_sync(stubber)
    assert run_on_event(event("Create"), client, clock)["PhysicalResourceId"] == f"{GATEWAY}/{TARGET}"
    assert clock.sleeps == [2.0]


def test_a_conflict_that_outlasts_the_deadline_fails_with_the_service_message(
    stubbed: tuple[Any, Stubber], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAIT_TIMEOUT_SECONDS", "20")
    client, stubber = stubbed
    for _ in range(4):  # sleeps 2 + 4 + 8 = 14 s; the next 16 s would pass the 20 s deadline
        expect_sync_error(stubber, "ConflictException", 409)
    with pytest.raises(handler.SyncFailed) as failure:
        run_on_event(event("Create"), client, clock)
    assert clock.sleeps == [2.0, 4.0, 8.0]
    assert sum(clock.sleeps) <= 20
    message = str(failure.value)
    assert "ConflictException after 4 attempts" in message
    assert "ConflictException from the service" in message
    assert TARGET in message and GATEWAY in message


def test_conflict_retries_stop_before_the_lambda_times_out(stubbed: tuple[Any, Stubber], clock: FakeClock) -> None:
    client, stubber = stubbed
    for _ in range(2):
        expect_sync_error(stubber, "ConflictException", 409)
    # 13 s left in the Lambda, 10 s kept back: 2 s of backoff fit, the next 4 s do not.
    context = LambdaContext(clock, timeout_seconds=13)
    with pytest.raises(handler.SyncFailed, match="after 2 attempts"):
        run_on_event(event("Create"), client, clock, context)
    assert clock.sleeps == [2.0]


@pytest.mark.parametrize(
    ("operation", "code", "status", "expected"),
    [
        ("get_gateway_target", "ResourceNotFoundException", 404, "not found"),
        ("synchronize_gateway_targets", "ResourceNotFoundException", 404, "not found"),
        ("synchronize_gateway_targets", "AccessDeniedException", 403, "AccessDeniedException"),
        ("synchronize_gateway_targets", "ValidationException", 400, "ValidationException"),
    ],
)
def test_errors_that_waiting_cannot_fix_fail_at_once(
    stubbed: tuple[Any, Stubber], clock: FakeClock, operation: str, code: str, status: int, expected: str
) -> None:
    client, stubber = stubbed
    if operation == "synchronize_gateway_targets":
        stubber.add_response("get_gateway_target", target("READY", synced=T0), GET_PARAMS)
    stubber.add_client_error(
        operation, service_error_code=code, service_message="said the service", http_status_code=status
    )
    with pytest.raises(handler.SyncFailed) as failure:
        run_on_event(event("Create"), client, clock)
    assert expected in str(failure.value) and "said the service" in str(failure.value)
    assert clock.sleeps == []


@pytest.mark.parametrize("props", [{}, {"GatewayIdentifier": GATEWAY}, {"TargetId": TARGET}])
def test_missing_properties_fail_clearly(clock: FakeClock, props: dict[str, str]) -> None:
    evt = event("Create")
    evt["ResourceProperties"] = props
    with pytest.raises(handler.SyncFailed, match="GatewayIdentifier and TargetId"):
        handler.on_event(evt, None, client_factory=lambda: None, clock=clock, sleep=clock.sleep)


# --- is_complete -----------------------------------------------------------------------------------------------


def requested(clock: FakeClock, *, before: dt.datetime | None = T0) -> dict[str, Any]:
    """An is_complete event for a sync requested now, as on_event would have handed it over."""
    return merged(
        event("Update", trigger="image-2", old_trigger="image-1"),
        {
            "PhysicalResourceId": f"{GATEWAY}/{TARGET}",
            "Deadline": clock.now + 900,
            "SyncRequestedAt": clock.now,
            "LastSynchronizedBefore": before.isoformat() if before else None,
        },
    )


@pytest.mark.parametrize("status", sorted(handler.FAILED))
def test_every_terminal_failure_status_fails_with_the_status_reasons(
    stubbed: tuple[Any, Stubber], clock: FakeClock, status: str
) -> None:
    client, stubber = stubbed
    evt = requested(clock)
    clock.now += 15  # past the settle time: the status is the one our sync led to
    reasons = ["tools/list returned 401 from the MCP server", "second reason"]
    stubber.add_response("get_gateway_target", target(status, reasons=reasons), GET_PARAMS)
    with pytest.raises(handler.SyncFailed) as failure:
        run_is_complete(evt, client, clock)
    message = str(failure.value)
    assert f"is {status}" in message
    assert "tools/list returned 401 from the MCP server; second reason" in message


def test_the_failure_statuses_are_exactly_the_services_unsuccessful_and_pending_auth_ones() -> None:
    model = boto3.client("bedrock-agentcore-control", region_name=REGION).meta.service_model
    statuses = set(model.shape_for("TargetStatus").enum)
    expected = {s for s in statuses if s.endswith(("_UNSUCCESSFUL", "_PENDING_AUTH"))} | {"FAILED", "DELETING"}
    assert handler.FAILED == expected
    # Every status of the service model is classified: none falls through to "keep polling" by accident.
    assert statuses == handler.FAILED | handler.IN_PROGRESS | {"READY"}


def test_a_failure_without_reasons_says_so(stubbed: tuple[Any, Stubber], clock: FakeClock) -> None:
    client, stubber = stubbed
    stubber.add_response("get_gateway_target", target("SYNCHRONIZE_UNSUCCESSFUL", synced=T1), GET_PARAMS)
    with pytest.raises(handler.SyncFailed, match="SYNCHRONIZE_UNSUCCESSFUL: no status reasons given"):
        run_is_complete(requested(clock, before=T0), client, clock)


def test_a_long_reason_is_truncated_for_cloudformation(stubbed: tuple[Any, Stubber], clock: FakeClock) -> None:
    client, stubber = stubbed
    stubber.add_response("get_gateway_target", target("FAILED", reasons=["x" * 5000], synced=T1), GET_PARAMS)
    with pytest.raises(handler.SyncFailed) as failure:
        run_is_complete(requested(clock, before=T0), client, clock)
    assert len(str(failure.value)) == handler.MAX_REASON_CHARS
    assert str(failure.value).endswith("...")


@pytest.mark.parametrize("status", sorted(handler.IN_PROGRESS))
def test_in_progress_statuses_keep_polling(stubbed: tuple[Any, Stubber], clock: FakeClock, status: str) -> None:
    client, stubber = stubbed
    stubber.add_response("get_gateway_target", target(status, synced=T0), GET_PARAMS)
    assert run_is_complete(requested(clock), client, clock) == {"IsComplete": False}


def test_ready_with_a_newer_sync_time_completes_at_once(stubbed: tuple[Any, Stubber], clock: FakeClock) -> None:
    client, stubber = stubbed
    stubber.add_response("get_gateway_target", target("READY", synced=T1), GET_PARAMS)
    assert run_is_complete(requested(clock, before=T0), client, clock) == {"IsComplete": True}


def test_ready_from_before_the_sync_counts_only_after_the_settle_time(
    stubbed: tuple[Any, Stubber], clock: FakeClock
) -> None:
    client, stubber = stubbed
    evt = requested(clock, before=T0)
    stubber.add_response("get_gateway_target", target("READY", synced=T0), GET_PARAMS)
    assert run_is_complete(evt, client, clock) == {"IsComplete": False}
    clock.now += 15
    stubber.add_response("get_gateway_target", target("READY", synced=T0), GET_PARAMS)
    assert run_is_complete(evt, client, clock) == {"IsComplete": True}


def test_a_failure_left_from_before_the_request_does_not_fail_the_new_sync_at_once(
    stubbed: tuple[Any, Stubber], clock: FakeClock
) -> None:
    client, stubber = stubbed
    evt = requested(clock, before=T0)
    # The first read still shows the previous deployment's failed sync (same lastSynchronizedAt).
    stale = target("SYNCHRONIZE_UNSUCCESSFUL", reasons=["old image crashed"], synced=T0)
    stubber.add_response("get_gateway_target", stale, GET_PARAMS)
    assert run_is_complete(evt, client, clock) == {"IsComplete": False}
    stubber.add_response("get_gateway_target", target("SYNCHRONIZING", synced=T0), GET_PARAMS)
    clock.now += 10
    assert run_is_complete(evt, client, clock) == {"IsComplete": False}
    # Our own sync fails too: it moved lastSynchronizedAt, so that failure is final.
    stubber.add_response(
        "get_gateway_target", target("SYNCHRONIZE_UNSUCCESSFUL", reasons=["new"], synced=T1), GET_PARAMS
    )
    with pytest.raises(handler.SyncFailed, match="SYNCHRONIZE_UNSUCCESSFUL: new"):
        run_is_complete(evt, client, clock)


def test_still_synchronizing_at_the_deadline_fails_with_the_last_status(
    stubbed: tuple[Any, Stubber], clock: FakeClock
) -> None:
    client, stubber = stubbed
    evt = requested(clock)
    clock.now += 899
    stubber.add_response("get_gateway_target", target("SYNCHRONIZING", reasons=["listing tools"]), GET_PARAMS)
    assert run_is_complete(evt, client, clock) == {"IsComplete": False}
    clock.now += 1
    stubber.add_response("get_gateway_target", target("SYNCHRONIZING", reasons=["listing tools"]), GET_PARAMS)
    with pytest.raises(handler.SyncFailed, match="not READY within 900 s; last status SYNCHRONIZING: listing tools"):
        run_is_complete(evt, client, clock)


def test_a_throttled_poll_polls_again_until_the_deadline(stubbed: tuple[Any, Stubber], clock: FakeClock) -> None:
    client, stubber = stubbed
    evt = requested(clock)
    stubber.add_client_error("get_gateway_target", service_error_code="ThrottlingException", http_status_code=429)
    assert run_is_complete(evt, client, clock) == {"IsComplete": False}
    clock.now += 900
    stubber.add_client_error("get_gateway_target", service_error_code="ThrottlingException", http_status_code=429)
    with pytest.raises(handler.SyncFailed, match="throttled"):
        run_is_complete(evt, client, clock)


def test_a_target_deleted_meanwhile_fails_the_poll(stubbed: tuple[Any, Stubber], clock: FakeClock) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "get_gateway_target",
        service_error_code="ResourceNotFoundException",
        service_message="Target not found",
        http_status_code=404,
    )
    with pytest.raises(handler.SyncFailed, match="not found: Target not found"):
        run_is_complete(requested(clock), client, clock)


# --- the whole lifecycle, against moto ---------------------------------------------------------------------------


class MotoWithStubbedSync:
    """moto answers the gateway and target calls; SynchronizeGatewayTargets (which moto lacks) goes to a Stubber.

    Both are real botocore clients, so every call is checked against the service model either way.
    """

    def __init__(self, moto_client: Any) -> None:
        self.moto = moto_client
        self.sync_client = boto3.client("bedrock-agentcore-control", region_name=REGION)
        self.stubber = Stubber(self.sync_client)
        self.stubber.activate()

    def synchronize_gateway_targets(self, **params: Any) -> Any:
        return self.sync_client.synchronize_gateway_targets(**params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.moto, name)


def drive(evt: dict[str, Any], client: Any, clock: FakeClock, interval: float = 10.0) -> dict[str, Any]:
    """Run one CloudFormation event the way CDK's provider framework does: on_event, then is_complete polls."""
    result = run_on_event(evt, client, clock)
    resource_event = merged(evt, result)
    for _ in range(200):
        if run_is_complete(resource_event, client, clock)["IsComplete"]:
            return result
        clock.now += interval
    raise AssertionError("is_complete never completed")


def test_create_update_replay_delete_against_moto(clock: FakeClock) -> None:
    with mock_aws():
        moto = boto3.client("bedrock-agentcore-control", region_name=REGION)
        gateway = moto.create_gateway(
            name="mcpgw-dev", roleArn="arn:aws:iam::123456789012:role/gw", protocolType="MCP", authorizerType="AWS_IAM"
        )
        created = moto.create_gateway_target(
            gatewayIdentifier=gateway["gatewayId"],
            name="mcp-server",
            targetConfiguration={"mcp": {"mcpServer": {"endpoint": "https://example.com/mcp"}}},
        )
        gateway_id, target_id = gateway["gatewayId"], created["targetId"]
        # The target stays CREATING for two reads, so the first polls must wait for it.
        state_manager.set_transition("bedrock-agentcore-control::gateway_target", {"progression": "manual", "times": 2})
        client = MotoWithStubbedSync(moto)
        sync_params = {"gatewayIdentifier": gateway_id, "targetIdList": [target_id]}

        def evt(request_type: str, trigger: str, old: str | None = None) -> dict[str, Any]:
            e = event(request_type, trigger=trigger, old_trigger=old)
            for props in (e["ResourceProperties"], e.get("OldResourceProperties")):
                if props is not None:
                    props.update(GatewayIdentifier=gateway_id, TargetId=target_id)
            if "PhysicalResourceId" in e:
                e["PhysicalResourceId"] = f"{gateway_id}/{target_id}"
            return e

        try:
            physical_ids = []
            for request in (evt("Create", "image-1"), evt("Create", "image-1"), evt("Update", "image-2", "image-1")):
                client.stubber.add_response("synchronize_gateway_targets", {"targets": []}, sync_params)
                started = clock.now
                physical_ids.append(drive(request, client, clock)["PhysicalResourceId"])
                # It waited: at least until moto's target left CREATING, or for the settle time.
                assert clock.now - started >= 10
            assert physical_ids == [f"{gateway_id}/{target_id}"] * 3
            client.stubber.assert_no_pending_responses()

            delete = drive(evt("Delete", "image-2"), client, clock)
            assert delete["PhysicalResourceId"] == f"{gateway_id}/{target_id}"
            # Delete left the target alone: removing it is CloudFormation's job.
            assert moto.get_gateway_target(gatewayIdentifier=gateway_id, targetId=target_id)["targetId"] == target_id
        finally:
            state_manager.unset_transition("bedrock-agentcore-control::gateway_target")
            client.stubber.deactivate()


def test_create_for_a_target_moto_does_not_know_fails_clearly(clock: FakeClock) -> None:
    with mock_aws():
        moto = boto3.client("bedrock-agentcore-control", region_name=REGION)
        gateway = moto.create_gateway(
            name="mcpgw-dev", roleArn="arn:aws:iam::123456789012:role/gw", protocolType="MCP", authorizerType="AWS_IAM"
        )
        evt = event("Create")
        evt["ResourceProperties"]["GatewayIdentifier"] = gateway["gatewayId"]
        with pytest.raises(handler.SyncFailed, match=f"Gateway target {TARGET} of gateway .* not found"):
            run_on_event(evt, moto, clock)
