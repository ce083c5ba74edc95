"""The one retry loop: Fibonacci backoff, budget, Retry-After, on the Host clock."""

from __future__ import annotations

import itertools
import random

import pytest

from kindling.errors import KindlingError
from kindling.host import FakeClock
from kindling.retry import Retryable, RetryBudgetExceeded, RetryPolicy, fibonacci_delays, retry


def test_fibonacci_from_250ms_capped_at_10s() -> None:
    delays = list(itertools.islice(fibonacci_delays(0.25, 10.0), 10))
    assert delays == [0.25, 0.25, 0.5, 0.75, 1.25, 2.0, 3.25, 5.25, 8.5, 10.0]


def test_retries_until_success_without_waiting() -> None:
    clock = FakeClock()
    calls = iter([Retryable("503"), Retryable("503"), "ok"])

    def op() -> str:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    assert retry(op, clock=clock, what="x", policy=RetryPolicy(jitter=0)) == "ok"
    assert clock.sleeps == [0.25, 0.25]


def test_retry_after_overrides_backoff() -> None:
    clock = FakeClock()
    state = {"n": 0}

    def op() -> int:
        state["n"] += 1
        if state["n"] == 1:
            raise Retryable("429", retry_after=3.0)
        return state["n"]

    assert retry(op, clock=clock, what="x") == 2
    assert clock.sleeps == [3.0]


def test_budget_is_never_overrun() -> None:
    clock = FakeClock()

    def op() -> None:
        raise Retryable("connection refused")

    with pytest.raises(RetryBudgetExceeded, match=r"imds: gave up after \d+ attempts"):
        retry(op, clock=clock, what="imds", policy=RetryPolicy(budget=30, jitter=0))
    assert sum(clock.sleeps) <= 30
    assert max(clock.sleeps) <= 10


def test_other_errors_propagate_at_once() -> None:
    clock = FakeClock()

    def op() -> None:
        raise KindlingError("404 is an answer")

    with pytest.raises(KindlingError, match="404"):
        retry(op, clock=clock, what="x")
    assert clock.sleeps == []


def test_jitter_stays_within_its_fraction() -> None:
    clock = FakeClock()
    n = {"i": 0}

    def op() -> None:
        n["i"] += 1
        if n["i"] < 6:
            raise Retryable("x")

    retry(op, clock=clock, what="x", policy=RetryPolicy(jitter=0.1), rng=random.Random(7))
    for got, base in zip(clock.sleeps, fibonacci_delays(0.25, 10), strict=False):
        assert base * 0.9 <= got <= base * 1.1


def test_every_wait_says_what_for_how_long_and_each_retry_why() -> None:
    """One info line when the wait starts (what, at most how long), one per retry with
    the reason and the time left; nothing at all when the first try works."""
    import io

    from kindling import log

    stream = io.StringIO()
    log.configure(level="info", stream=stream)
    try:
        assert retry(lambda: 1, clock=FakeClock(), what="quiet") == 1
        assert stream.getvalue() == ""
        calls = iter([Retryable("HTTP 503"), Retryable("connection refused"), "ok"])

        def op() -> str:
            item = next(calls)
            if isinstance(item, Exception):
                raise item
            return item

        retry(op, clock=FakeClock(), what="imds user-data", policy=RetryPolicy(budget=30, jitter=0))
    finally:
        log.configure()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "retry: waiting for imds user-data (at most 30s) reason=HTTP 503"
    assert lines[1] == "retry: retrying imds user-data in 0.25s attempt=1 reason=HTTP 503 left=29.8s"
    assert lines[2] == "retry: retrying imds user-data in 0.25s attempt=2 reason=connection refused left=29.5s"
    assert len(lines) == 3


def test_a_plan_never_sleeps_it_reports_the_retry() -> None:
    from kindling.errors import PlanBoundary
    from kindling.host import RecordingHost

    host = RecordingHost("/nonexistent-root", clock=FakeClock())

    def op() -> str:
        raise Retryable("no address yet")

    with pytest.raises(PlanBoundary) as stop:
        retry(op, clock=host.clock, what="primary interface address", policy=RetryPolicy(budget=60))
    assert stop.value.what == "retry primary interface address for at most 60s (no address yet)"
