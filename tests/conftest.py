"""Shared fixtures: a Host on a temporary root, the fake clock, conformance fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kindling.host import FakeClock, Host, RecordingHost

REPO = Path(__file__).resolve().parent.parent

# Fixtures shared across suites: the namespace `rig` (netdog and reliability tests).
pytest_plugins = ["tests.netdog.rig"]


def conformance_dir() -> Path | None:
    """`KINDLING_CONFORMANCE_DIR`, else ../shared/conformance beside the checkout."""
    env = os.environ.get("KINDLING_CONFORMANCE_DIR")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared" / "conformance", REPO.parent.parent / "shared" / "conformance"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture
def conformance() -> Path:
    """The upstream fixtures; skips (saying why) where they are not present."""
    found = conformance_dir()
    if found is None:
        pytest.skip("conformance fixtures not found: set KINDLING_CONFORMANCE_DIR or "
                    "place shared/conformance beside the checkout")
    return found


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    return r


@pytest.fixture
def host(root: Path, clock: FakeClock) -> Host:
    """A real Host on a temporary root with an instant clock."""
    return Host(root, clock=clock, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})


@pytest.fixture
def plan_host(root: Path, clock: FakeClock) -> RecordingHost:
    return RecordingHost(root, clock=clock, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root for this rig")


@pytest.fixture
def tree_snapshot() -> Iterator[object]:
    """Call with a directory; returns {relative path: bytes} to compare before/after."""

    def snap(directory: Path) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for p in sorted(directory.rglob("*")):
            if p.is_file() and not p.name.endswith(("-shm",)):
                out[str(p.relative_to(directory))] = p.read_bytes()
        return out

    yield snap


@pytest.fixture
def imds() -> Iterator[object]:
    """A running IMDSv2 emulator on 127.0.0.1 (tests/imds_emulator.py); stopped after."""
    from tests.imds_emulator import ImdsEmulator

    emulator = ImdsEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()


TRACEBACK = "Traceback (most recent call last)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """No test may pass while its output shows a traceback: Kindling never prints one
    (fail closed: one line, exit 1), so a traceback in what a test printed, logged, or let
    a child process write to the captured descriptors is a bug even if the test's own
    assertions held."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when != "call" or not report.passed:
        return
    printed = report.capstdout + report.capstderr + report.caplog
    if TRACEBACK in printed:
        report.outcome = "failed"
        start = printed.index(TRACEBACK)
        report.longrepr = f"a traceback was printed during the test:\n{printed[start:start + 3000]}"
