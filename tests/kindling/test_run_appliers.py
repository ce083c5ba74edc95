"""run_appliers: outcomes in name order, and an overlapping applier's program runs
while the others do their work, is always collected, and its failure is its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kindling.appliers import Applier, Pending, collect_in_flight, run_appliers
from kindling.errors import SettingsError
from kindling.host import Host


@pytest.fixture(autouse=True)
def _collected(host: Host) -> Iterator[None]:
    """A failed assertion never leaves a test's program running (its deadline ends it)."""
    yield
    if host.in_flight:
        collect_in_flight(host)


def _plain(name: str, calls: list[str], fail: bool = False) -> Applier:
    def apply(host: Host, settings: dict[str, Any]) -> list[str]:
        calls.append(name)
        if fail:
            raise SettingsError(f"settings.{name}", "refused")
        return [f"{name} done"]

    return Applier(name=name, prefixes=(name,), apply=apply)


def _overlapping(calls: list[str], script: str) -> Applier:
    """Starts `script` and leaves it running; its output is collected by `finish`."""

    def apply(h: Host, settings: dict[str, Any]) -> Pending:
        calls.append("slow")
        started = h.start(["sh", "-c", script], timeout=10)

        def finish() -> list[str]:
            calls.append("slow finished")
            return [started.wait().text.strip()]

        return Pending(["wrote anchors"], finish, "sh")

    return Applier(name="m-slow", prefixes=("slow",), apply=apply, overlaps=True)


def test_overlapping_applier_starts_first_and_is_collected_last(host: Host, root: Path) -> None:
    calls: list[str] = []
    flag = root / "z-wrote"

    def z_apply(h: Host, settings: dict[str, Any]) -> list[str]:
        calls.append("z")
        flag.write_text("")
        return ["z done"]

    appliers = [
        _plain("a", calls),
        _overlapping(calls, f"while [ ! -e {flag} ]; do sleep 0.01; done; echo rebuilt"),
        Applier(name="z", prefixes=("z",), apply=z_apply),
    ]
    outcomes = run_appliers(host, {}, None, appliers)
    # the program saw the file the last applier wrote: it ran while the others did
    assert calls == ["slow", "a", "z", "slow finished"]
    assert [(o.name, o.ok, o.detail) for o in outcomes] == [
        ("a", True, "a done"),
        ("m-slow", True, "wrote anchors; rebuilt"),
        ("z", True, "z done"),
    ]


def test_overlapping_program_failure_is_that_appliers_outcome(host: Host) -> None:
    calls: list[str] = []
    appliers = [_plain("a", calls), _overlapping(calls, "echo cannot rebuild >&2; exit 4")]
    outcomes = run_appliers(host, {}, None, appliers)
    assert [(o.name, o.ok) for o in outcomes] == [("a", True), ("m-slow", False)]
    assert "exited 4: cannot rebuild" in outcomes[1].detail


def test_a_crashing_applier_never_leaves_the_program_unwaited(host: Host) -> None:
    calls: list[str] = []

    def crash(h: Host, settings: dict[str, Any]) -> list[str]:
        raise RuntimeError("a bug")

    appliers = [Applier(name="a", prefixes=("a",), apply=crash), _overlapping(calls, "echo ok")]
    with pytest.raises(RuntimeError, match="a bug"):
        run_appliers(host, {}, None, appliers)
    assert calls == ["slow", "slow finished"]


def test_plain_failures_do_not_stop_the_others(host: Host) -> None:
    calls: list[str] = []
    outcomes = run_appliers(host, {}, ["settings.b", "settings.c"],
                            [_plain("a", calls), _plain("b", calls, fail=True), _plain("c", calls)])
    assert calls == ["b", "c"]  # only the affected ones
    assert [(o.name, o.ok, o.detail) for o in outcomes] == [
        ("b", False, "settings.b: refused"),
        ("c", True, "c done"),
    ]


def test_inside_a_boot_the_program_runs_on_and_the_next_run_collects_it_first(host: Host, root: Path) -> None:
    """`host.in_flight` (set by the boot runner): the commit does not wait; the same
    applier's next run waits for the earlier program before it runs again."""
    calls: list[str] = []
    gate = root / "gate"
    host.in_flight = {}
    slow = _overlapping(calls, f"while [ ! -e {gate} ]; do sleep 0.01; done; echo rebuilt")
    first = run_appliers(host, {}, None, [_plain("a", calls), slow])
    # returned while the program still waits for the gate: nothing collected it
    assert calls == ["slow", "a"]
    assert [(o.name, o.ok) for o in first] == [("a", True), ("m-slow", True)]
    assert first[1].detail == ("wrote anchors; sh left running "
                               "(collected by its next run or at the end of the boot)")
    assert list(host.in_flight) == ["m-slow"]
    gate.write_text("")
    second = run_appliers(host, {}, None, [slow, _plain("b", calls)])
    # the other applier ran first; the earlier program was collected before slow ran
    # again, and a rebuild right after a collected one is waited for, not left running
    assert calls == ["slow", "a", "b", "slow finished", "slow", "slow finished"]
    assert [(o.name, o.ok, o.detail) for o in second] == [("m-slow", True, "rebuilt; wrote anchors; rebuilt"),
                                                         ("b", True, "b done")]
    assert host.in_flight == {}
    run_appliers(host, {}, None, [slow])
    assert list(host.in_flight) == ["m-slow"]
    assert [(o.name, o.ok, o.detail) for o in collect_in_flight(host)] == [("m-slow", True, "rebuilt")]
    assert host.in_flight == {}


def test_an_earlier_programs_failure_is_the_next_runs_outcome(host: Host) -> None:
    calls: list[str] = []
    host.in_flight = {}
    failing = _overlapping(calls, "echo cannot rebuild >&2; exit 3")
    run_appliers(host, {}, None, [failing])
    unchanged = Applier(name="m-slow", prefixes=("slow",), apply=lambda h, s: [], overlaps=True)
    outcomes = run_appliers(host, {}, None, [unchanged])
    assert [(o.name, o.ok) for o in outcomes] == [("m-slow", False)]
    assert "exited 3: cannot rebuild" in outcomes[0].detail
    assert host.in_flight == {}


def test_outside_a_boot_nothing_is_left_running(host: Host) -> None:
    calls: list[str] = []
    assert host.in_flight is None
    outcomes = run_appliers(host, {}, None, [_overlapping(calls, "echo rebuilt")])
    assert calls == ["slow", "slow finished"]
    assert outcomes[0].detail == "wrote anchors; rebuilt"
