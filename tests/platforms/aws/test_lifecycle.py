"""lifecycle complete: DescribeAutoScalingInstances, heartbeats while the boot settles,
CompleteLifecycleAction CONTINUE / ABANDON — against the SigV4-verifying endpoint."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kindling.errors import NotFoundError, PlanBoundary
from kindling.host import Host, RecordingHost
from platforms.aws.lifecycle import run_lifecycle_complete
from tests.imds_emulator import ImdsEmulator
from tests.platforms.aws.aws_endpoint import AwsEndpoint
from tests.platforms.aws.conftest import INSTANCE_ID, commit
from tests.platforms.aws.dbus_rig import FakeSystemd

HOOK = {"autoscaling": {"lifecycle-hook-name": "launch-hook"}}


def test_continue_after_a_good_boot_with_heartbeats(
    rig_host: Host, systemd: FakeSystemd, endpoint: AwsEndpoint
) -> None:
    commit(rig_host, HOOK)
    systemd.set_state_later(0.7, "running", startup_finished=True)
    report = run_lifecycle_complete(rig_host, timeout=20, heartbeat=0.2)
    assert report.completed and report.result == "CONTINUE" and report.group == "node-asg"
    actions = endpoint.actions()
    assert actions[0] == "DescribeAutoScalingInstances" and actions[-1] == "CompleteLifecycleAction"
    beats = actions.count("RecordLifecycleActionHeartbeat")
    assert beats >= 2 and beats == report.heartbeats
    done = endpoint.calls[-1].params
    assert done == {"LifecycleHookName": "launch-hook", "AutoScalingGroupName": "node-asg",
                    "InstanceId": INSTANCE_ID, "LifecycleActionResult": "CONTINUE"}
    assert endpoint.state.instances[INSTANCE_ID]["state"] == "Pending:Proceed"
    # A rerun finds no pending action and changes nothing.
    again = run_lifecycle_complete(rig_host, timeout=5)
    assert not again.completed and "no lifecycle action pending (state Pending:Proceed)" in again.detail
    assert endpoint.actions()[-1] == "DescribeAutoScalingInstances"


def test_abandon_after_a_failed_boot(rig_host: Host, systemd: FakeSystemd, endpoint: AwsEndpoint) -> None:
    commit(rig_host, HOOK)
    systemd.set_state("degraded", failed=["kubelet.service"])
    report = run_lifecycle_complete(rig_host, timeout=5)
    assert report.result == "ABANDON" and report.failed_units == ("kubelet.service",)
    assert endpoint.calls[-1].params["LifecycleActionResult"] == "ABANDON"


def test_warmed_pending_wait_on_a_warm_up_boot(
    rig_host: Host, systemd: FakeSystemd, aws_imds: ImdsEmulator, endpoint: AwsEndpoint
) -> None:
    commit(rig_host, {"autoscaling": {"lifecycle-hook-name": "launch-hook", "should-wait": True}})
    endpoint.state.instances[INSTANCE_ID]["state"] = "Warmed:Pending:Wait"
    aws_imds.set("meta-data/autoscaling/target-lifecycle-state", "Warmed:Stopped")
    t0 = time.monotonic()
    report = run_lifecycle_complete(rig_host, timeout=60)
    assert time.monotonic() - t0 < 3  # judged without waiting for `running`
    assert report.result == "CONTINUE"
    assert endpoint.state.instances[INSTANCE_ID]["state"] == "Warmed:Pending:Proceed"


def test_no_hook_name_does_nothing(rig_host: Host, aws_imds: ImdsEmulator, endpoint: AwsEndpoint) -> None:
    report = run_lifecycle_complete(rig_host)
    assert not report.completed and "lifecycle-hook-name is unset" in report.detail
    assert endpoint.calls == [] and aws_imds.requests == []


def test_instance_outside_any_group_is_an_error(rig_host: Host, endpoint: AwsEndpoint) -> None:
    commit(rig_host, HOOK)
    endpoint.state.instances.clear()
    with pytest.raises(NotFoundError, match=r"is in no Auto Scaling group, but settings\.autoscaling"):
        run_lifecycle_complete(rig_host, result="CONTINUE")


def test_wrong_hook_name_surfaces_the_aws_refusal(rig_host: Host, endpoint: AwsEndpoint) -> None:
    from platforms.aws.errors import AwsApiError

    commit(rig_host, {"autoscaling": {"lifecycle-hook-name": "other-hook"}})
    with pytest.raises(AwsApiError, match="CompleteLifecycleAction: HTTP 400 ValidationError: No Lifecycle Hook"):
        run_lifecycle_complete(rig_host, result="CONTINUE")


def test_throttled_complete_is_retried(rig_host: Host, endpoint: AwsEndpoint) -> None:
    commit(rig_host, HOOK)
    endpoint.fail("CompleteLifecycleAction", 400, "Throttling", times=2)
    assert run_lifecycle_complete(rig_host, result="CONTINUE").completed
    assert endpoint.actions() == ["DescribeAutoScalingInstances", "CompleteLifecycleAction"]


def test_plan_describes_but_does_not_complete(root: Path, rig_host: Host, endpoint: AwsEndpoint) -> None:
    commit(rig_host, HOOK)
    plan = RecordingHost(root, clock=rig_host.clock, env=dict(rig_host.env))
    with pytest.raises(PlanBoundary) as stop:
        run_lifecycle_complete(plan, result="ABANDON")
    assert stop.value.what.startswith("GET imds ")
    assert stop.value.then[-1].startswith("complete lifecycle hook launch-hook with ABANDON")
    assert endpoint.received == 0
    assert endpoint.state.instances[INSTANCE_ID]["state"] == "Pending:Wait"


def test_failed_heartbeats_do_not_stop_the_completion(
    rig_host: Host, systemd: FakeSystemd, endpoint: AwsEndpoint
) -> None:
    commit(rig_host, HOOK)
    endpoint.fail("RecordLifecycleActionHeartbeat", 400, "ValidationError", times=100)
    systemd.set_state_later(0.5, "running", startup_finished=True)
    report = run_lifecycle_complete(rig_host, timeout=20, heartbeat=0.2)
    assert report.result == "CONTINUE" and report.heartbeats == 0
    assert endpoint.actions()[-1] == "CompleteLifecycleAction"
