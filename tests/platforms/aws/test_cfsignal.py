"""cfsignal end to end: settings in the real datastore, IMDS emulator, the stand-in
systemd on a real dbus-daemon, and the SigV4-verifying CloudFormation endpoint."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kindling import log
from kindling.errors import InputError, PlanBoundary, SettingsError
from kindling.host import Host, RecordingHost
from platforms.aws.cfsignal import MARKER, run_cfsignal
from platforms.aws.errors import AwsApiError, CredentialsError, SystemStateError
from tests.imds_emulator import ImdsEmulator
from tests.platforms.aws.aws_endpoint import AwsEndpoint
from tests.platforms.aws.conftest import INSTANCE_ID, SIGNAL, commit
from tests.platforms.aws.dbus_rig import FakeSystemd


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    log.configure(stream=stream)
    try:
        yield stream
    finally:
        log.configure()


def test_running_signals_success_once(rig_host: Host, systemd: FakeSystemd, endpoint: AwsEndpoint) -> None:
    commit(rig_host, SIGNAL)
    systemd.set_state_later(0.2, "running", startup_finished=True)
    report = run_cfsignal(rig_host, timeout=20)
    assert report.sent and report.status == "SUCCESS" and report.system_state == "running"
    (call,) = endpoint.calls
    assert call.action == "SignalResource"
    assert call.params == {"StackName": "node-stack", "LogicalResourceId": "NodeGroup", "Status": "SUCCESS",
                           "UniqueId": INSTANCE_ID}
    assert rig_host.path(MARKER).read_text() == "SUCCESS\n"
    again = run_cfsignal(rig_host, timeout=20)  # idempotent: marker says done
    assert not again.sent and "already signalled" in again.detail
    assert len(endpoint.calls) == 1


def test_degraded_signals_failure_and_logs_failed_units(
    rig_host: Host, systemd: FakeSystemd, endpoint: AwsEndpoint, logs: io.StringIO
) -> None:
    commit(rig_host, SIGNAL)
    systemd.set_state_later(0.2, "degraded", failed=["kindling-early-boot-config.service"])
    report = run_cfsignal(rig_host, timeout=20)
    assert report.status == "FAILURE"
    assert report.failed_units == ("kindling-early-boot-config.service",)
    assert endpoint.calls[0].params["Status"] == "FAILURE"
    assert "failed_units=kindling-early-boot-config.service" in logs.getvalue()
    assert rig_host.path(MARKER).read_text() == "FAILURE\n"


def test_timeout_signals_failure(rig_host: Host, systemd: FakeSystemd, endpoint: AwsEndpoint) -> None:
    commit(rig_host, SIGNAL)
    t0 = time.monotonic()
    report = run_cfsignal(rig_host, timeout=0.5)
    assert time.monotonic() - t0 < 3
    assert report.status == "FAILURE" and endpoint.calls[0].params["Status"] == "FAILURE"


def test_should_signal_false_does_nothing(rig_host: Host, aws_imds: ImdsEmulator, endpoint: AwsEndpoint) -> None:
    report = run_cfsignal(rig_host)
    assert not report.sent and "should-signal is false" in report.detail
    assert endpoint.calls == [] and aws_imds.requests == []
    assert not rig_host.exists(MARKER)


@pytest.mark.parametrize("missing", ["stack-name", "logical-resource-id"])
def test_missing_stack_fails_fast_naming_the_key(
    rig_host: Host, systemd: FakeSystemd, endpoint: AwsEndpoint, missing: str
) -> None:
    tree = {"cloudformation": dict(SIGNAL["cloudformation"])}
    del tree["cloudformation"][missing]
    commit(rig_host, tree)
    t0 = time.monotonic()
    with pytest.raises(SettingsError, match=rf"settings.cloudformation.{missing}: required when "
                                            r"settings.cloudformation.should-signal is true"):
        run_cfsignal(rig_host, timeout=30)
    assert time.monotonic() - t0 < 1  # before any wait
    assert endpoint.calls == [] and not rig_host.exists(MARKER)
    assert "Get SystemState" not in systemd.manager.calls


def test_no_credentials_fails_before_the_wait(
    rig_host: Host, systemd: FakeSystemd, aws_imds: ImdsEmulator, endpoint: AwsEndpoint
) -> None:
    commit(rig_host, SIGNAL)
    aws_imds.remove("meta-data/iam/security-credentials/")
    t0 = time.monotonic()
    with pytest.raises(CredentialsError, match="no AWS credentials found"):
        run_cfsignal(rig_host, timeout=30)
    assert time.monotonic() - t0 < 2
    assert endpoint.calls == [] and not rig_host.exists(MARKER)


def test_endpoint_down_fails_without_marker(
    root: Path, rig_host: Host, systemd: FakeSystemd, endpoint: AwsEndpoint
) -> None:
    commit(rig_host, SIGNAL)
    systemd.set_state("running")
    with AwsEndpoint() as dead:
        dead_url = dead.url
    host = Host(root, clock=rig_host.clock, env={**rig_host.env, "AWS_ENDPOINT_URL_CLOUDFORMATION": dead_url})
    with pytest.raises(AwsApiError, match=r"cloudformation SignalResource: gave up .* cannot reach"):
        run_cfsignal(host, timeout=5)
    assert not host.exists(MARKER)


def test_throttling_is_retried(rig_host: Host, systemd: FakeSystemd, endpoint: AwsEndpoint) -> None:
    commit(rig_host, SIGNAL)
    systemd.set_state("running")
    endpoint.fail("SignalResource", 400, "Throttling", times=2)
    assert run_cfsignal(rig_host, timeout=5).status == "SUCCESS"
    assert endpoint.actions() == ["SignalResource"]


def test_dbus_unreachable_fails_clearly(root: Path, rig_host: Host, endpoint: AwsEndpoint, tmp_path: Path) -> None:
    commit(rig_host, SIGNAL)
    host = Host(root, clock=rig_host.clock,
                env={**rig_host.env, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/gone.sock"})
    t0 = time.monotonic()
    with pytest.raises(SystemStateError, match="unreachable"):
        run_cfsignal(host, timeout=60)
    assert time.monotonic() - t0 < 3
    assert endpoint.calls == [] and not host.exists(MARKER)


def test_forced_status_needs_no_dbus(root: Path, rig_host: Host, endpoint: AwsEndpoint) -> None:
    commit(rig_host, SIGNAL)
    host = Host(root, clock=rig_host.clock, env={**rig_host.env, "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent"})
    assert run_cfsignal(host, status="FAILURE").status == "FAILURE"
    assert endpoint.calls[0].params["Status"] == "FAILURE"


def test_plan_sends_nothing_and_writes_nothing(
    root: Path, rig_host: Host, systemd: FakeSystemd, endpoint: AwsEndpoint
) -> None:
    commit(rig_host, SIGNAL)
    systemd.set_state("running")
    plan = RecordingHost(root, clock=rig_host.clock, env=dict(rig_host.env))
    with pytest.raises(PlanBoundary) as stop:
        run_cfsignal(plan, timeout=5)
    # the plan stops before the first request (IMDS) and says what would follow
    assert stop.value.what == "GET imds meta-data/instance-id"
    assert stop.value.then == ["wait for the boot to settle (at most 5s)",
                               "signal SUCCESS if the boot settled running, else FAILURE to node-stack/NodeGroup",
                               f"write {MARKER}"]
    assert endpoint.received == 0 and not plan.exists(MARKER)


def test_region_falls_back_to_settings_then_fails_clearly(
    rig_host: Host, systemd: FakeSystemd, aws_imds: ImdsEmulator, endpoint: AwsEndpoint
) -> None:
    aws_imds.remove("dynamic/instance-identity/document")
    commit(rig_host, SIGNAL)
    with pytest.raises(InputError, match=r"imds: no region: .*settings\.aws\.region is unset"):
        run_cfsignal(rig_host, status="SUCCESS")
    commit(rig_host, {"aws": {"region": "us-west-2"}})
    assert run_cfsignal(rig_host, status="SUCCESS").sent


def test_warm_up_boot_is_judged_without_waiting(
    rig_host: Host, systemd: FakeSystemd, aws_imds: ImdsEmulator, endpoint: AwsEndpoint
) -> None:
    """warm-pool-wait holds a warm-up boot open: waiting for `running` would never end."""
    commit(rig_host, {**SIGNAL, "autoscaling": {"should-wait": True}})
    aws_imds.set("meta-data/autoscaling/target-lifecycle-state", "Warmed:Stopped")
    t0 = time.monotonic()
    report = run_cfsignal(rig_host, timeout=60)
    assert time.monotonic() - t0 < 3
    assert report.status == "SUCCESS" and report.system_state == "starting"


def test_instance_id_absent_is_named(rig_host: Host, aws_imds: ImdsEmulator, endpoint: AwsEndpoint) -> None:
    aws_imds.remove("meta-data/instance-id")
    commit(rig_host, SIGNAL)
    with pytest.raises(InputError, match=r"imds: meta-data/instance-id is absent"):
        run_cfsignal(rig_host, status="SUCCESS")
    assert endpoint.calls == [] and not rig_host.exists(MARKER)


ROLE_ARN = "arn:aws:iam::123456789012:role/node-signaller"


@pytest.mark.parametrize("source", ["credential_source = Ec2InstanceMetadata", "source_profile = base"])
def test_role_profile_in_settings_aws_config_is_assumed_through_sts(
    rig_host: Host, systemd: FakeSystemd, endpoint: AwsEndpoint, source: str
) -> None:
    import base64

    from tests.platforms.aws.conftest import ROLE_KEY

    base_key, base_secret = "AKIABASEPROFILE00001", "base-profile-secret-000000001"
    endpoint.add_key(base_key, base_secret)
    endpoint.add_role(ROLE_ARN, ROLE_KEY, base_key)
    config = f"[profile signaller]\nrole_arn = {ROLE_ARN}\n{source}\n"
    creds = f"[base]\naws_access_key_id = {base_key}\naws_secret_access_key = {base_secret}\n"
    commit(rig_host, {**SIGNAL, "aws": {"config": base64.b64encode(config.encode()).decode(),
                                         "credentials": base64.b64encode(creds.encode()).decode(),
                                         "profile": "signaller"}})
    assert run_cfsignal(rig_host, status="SUCCESS").sent
    assume, signal = endpoint.calls
    assert assume.action == "AssumeRole" and assume.params["RoleArn"] == ROLE_ARN
    assert assume.params["RoleSessionName"] == f"kindling-{INSTANCE_ID}"
    assert assume.access_key == (ROLE_KEY if "Ec2" in source else base_key)
    assert signal.action == "SignalResource" and signal.access_key.startswith("ASIA")
    assert signal.access_key not in (ROLE_KEY, base_key)  # signed with the assumed role's keys


def test_role_not_assumable_is_an_aws_refusal(rig_host: Host, endpoint: AwsEndpoint) -> None:
    import base64

    config = f"[profile signaller]\nrole_arn = {ROLE_ARN}\ncredential_source = Ec2InstanceMetadata\n"
    commit(rig_host, {**SIGNAL, "aws": {"config": base64.b64encode(config.encode()).decode(),
                                         "profile": "signaller"}})
    with pytest.raises(AwsApiError, match="sts AssumeRole: HTTP 403 AccessDenied"):
        run_cfsignal(rig_host, status="SUCCESS")
    assert endpoint.actions() == ["AssumeRole"] and not rig_host.exists(MARKER)  # no SignalResource
