"""warm-pool-wait against the IMDS emulator; the poll clock drives the emulator between polls."""

from __future__ import annotations

from pathlib import Path

import pytest

from kindling.errors import PlanBoundary
from kindling.host import Host, RecordingHost
from platforms.aws.imds import ImdsError
from platforms.aws.warm_pool import MARKER, WarmPoolTimeout, run_warm_pool_wait
from tests.imds_emulator import ImdsEmulator
from tests.platforms.aws.conftest import PollClock, commit

STATE = "meta-data/autoscaling/target-lifecycle-state"


@pytest.fixture
def waiting(rig_host: Host) -> Host:
    commit(rig_host, {"autoscaling": {"should-wait": True}})
    return rig_host


def test_polls_every_5s_until_in_service_refreshing_the_token_on_401(
    waiting: Host, poll_clock: PollClock, aws_imds: ImdsEmulator
) -> None:
    aws_imds.set(STATE, "Warmed:Running")
    poll_clock.hooks[1] = lambda: aws_imds.remove(STATE)  # absent state keeps polling
    poll_clock.hooks[2] = aws_imds.expire_tokens  # the 60 s token ran out mid-wait: 401
    poll_clock.hooks[3] = lambda: aws_imds.set(STATE, "Warmed:Stopped")
    poll_clock.hooks[4] = lambda: aws_imds.set(STATE, "InService")
    report = run_warm_pool_wait(waiting)
    assert report.waited and report.polls == 5
    assert [s for s in poll_clock.sleeps if s == 5.0] == [5.0] * 4
    assert aws_imds.count("PUT", "api/token") == 2  # refreshed once, after the 401
    statuses = [r.status for r in aws_imds.requests if r.path.endswith(STATE)]
    assert statuses == [200, 404, 401, 404, 200, 200]  # poll 3: 401, new token, still absent
    assert waiting.path(MARKER).read_text() == "InService\n"
    # Second run: the marker says done, IMDS is not asked.
    before = len(aws_imds.requests)
    assert not run_warm_pool_wait(waiting).waited
    assert len(aws_imds.requests) == before


def test_in_service_at_once(waiting: Host, aws_imds: ImdsEmulator, poll_clock: PollClock) -> None:
    aws_imds.set(STATE, "InService")
    assert run_warm_pool_wait(waiting).polls == 1
    assert poll_clock.sleeps == []


def test_should_wait_false_asks_nothing(rig_host: Host, aws_imds: ImdsEmulator) -> None:
    report = run_warm_pool_wait(rig_host)
    assert not report.waited and "should-wait is false" in report.detail
    assert aws_imds.requests == [] and not rig_host.exists(MARKER)


def test_optional_timeout_is_honoured(waiting: Host, aws_imds: ImdsEmulator, poll_clock: PollClock) -> None:
    aws_imds.set(STATE, "Warmed:Stopped")
    with pytest.raises(WarmPoolTimeout, match=r"not InService after 20s \(timeout 22s; last state Warmed:Stopped\)"):
        run_warm_pool_wait(waiting, timeout=22)
    assert not waiting.exists(MARKER)


def test_imds_down_fails_within_the_client_budget(root: Path, waiting: Host, poll_clock: PollClock) -> None:
    with ImdsEmulator() as dead:
        url = dead.url
    host = Host(root, clock=poll_clock, env={**waiting.env, "AWS_EC2_METADATA_SERVICE_ENDPOINT": url})
    with pytest.raises(ImdsError, match="gave up"):
        run_warm_pool_wait(host)
    assert sum(poll_clock.sleeps) <= 3  # KINDLING_IMDS_BUDGET in the rig
    assert not host.exists(MARKER)


def test_plan_stops_before_the_first_poll(root: Path, waiting: Host, aws_imds: ImdsEmulator) -> None:
    aws_imds.set(STATE, "InService")
    plan = RecordingHost(root, clock=waiting.clock, env=dict(waiting.env))
    sent = len(aws_imds.requests)
    with pytest.raises(PlanBoundary) as stop:
        run_warm_pool_wait(plan)
    assert stop.value.what == f"GET imds {STATE}"
    assert stop.value.then[-1] == f"write {MARKER}"
    assert len(aws_imds.requests) == sent and not plan.exists(MARKER)
