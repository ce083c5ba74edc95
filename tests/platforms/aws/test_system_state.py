"""System state over a real dbus-daemon, from a stand-in systemd the test drives."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kindling.host import Host
from platforms.aws.errors import SystemStateError
from platforms.aws.system_state import SystemStatus, bus_address, read_system, wait_for_system
from tests.platforms.aws.dbus_rig import DbusDaemon, FakeSystemd


def bus_host(root: Path, address: str) -> Host:
    return Host(root, env={"DBUS_SYSTEM_BUS_ADDRESS": address})


def test_starting_then_running_is_success_woken_by_the_signal(root: Path, systemd: FakeSystemd) -> None:
    systemd.set_state_later(0.3, "running", startup_finished=True)
    t0 = time.monotonic()
    status = wait_for_system(bus_host(root, systemd.address), timeout=20)
    elapsed = time.monotonic() - t0
    assert status == SystemStatus("running")
    assert status.healthy
    # Woken by the signal, not by the 15 s safety re-read.
    assert 0.25 < elapsed < 3


def test_startup_finished_alone_wakes_the_wait(root: Path, dbus_daemon: DbusDaemon) -> None:
    """Real systemd does not announce SystemState changes; StartupFinished must suffice."""
    fake = FakeSystemd(dbus_daemon.address, state="starting", emit_property_changes=False)
    try:
        fake.set_state_later(0.3, "running", startup_finished=True)
        t0 = time.monotonic()
        status = wait_for_system(bus_host(root, dbus_daemon.address), timeout=20)
        assert status.state == "running"
        assert time.monotonic() - t0 < 3
    finally:
        fake.stop()


def test_degraded_is_failure_and_lists_failed_units(root: Path, systemd: FakeSystemd) -> None:
    systemd.set_state_later(0.2, "degraded", failed=["kindling-early-boot-config.service", "kubelet.service"])
    status = wait_for_system(bus_host(root, systemd.address), timeout=10)
    assert status.state == "degraded"
    assert not status.healthy
    assert status.failed_units == ("kindling-early-boot-config.service", "kubelet.service")
    assert "kubelet.service" in status.describe()


def test_maintenance_is_failure(root: Path, systemd: FakeSystemd) -> None:
    systemd.set_state("maintenance")
    status = wait_for_system(bus_host(root, systemd.address), timeout=5)
    assert status.state == "maintenance" and not status.healthy


def test_timeout_is_failure_bounded_and_ticks(root: Path, systemd: FakeSystemd) -> None:
    ticks: list[str] = []
    t0 = time.monotonic()
    status = wait_for_system(bus_host(root, systemd.address), timeout=0.6, tick=0.2, on_tick=ticks.append)
    elapsed = time.monotonic() - t0
    assert status.timed_out and status.state == "starting" and not status.healthy
    assert "timed out" in status.describe()
    assert 0.55 < elapsed < 2.5
    assert ticks and set(ticks) == {"starting"}


def test_snapshot_does_not_wait(root: Path, systemd: FakeSystemd) -> None:
    t0 = time.monotonic()
    status = read_system(bus_host(root, systemd.address))
    assert time.monotonic() - t0 < 1
    assert status.state == "starting" and status.snapshot and status.healthy
    systemd.set_state("starting", failed=["x.service"])
    assert not read_system(bus_host(root, systemd.address)).healthy


def test_unreachable_bus_is_a_clear_bounded_error(root: Path, tmp_path: Path) -> None:
    address = f"unix:path={tmp_path / 'no-such-bus.sock'}"
    t0 = time.monotonic()
    with pytest.raises(SystemStateError, match=r"D-Bus system bus .*no-such-bus.sock: unreachable"):
        wait_for_system(bus_host(root, address), timeout=30)
    assert time.monotonic() - t0 < 2


def test_bus_without_systemd_is_named(root: Path, dbus_daemon: DbusDaemon) -> None:
    with pytest.raises(SystemStateError, match=r"systemd \(org.freedesktop.systemd1\) is not on this bus"):
        wait_for_system(bus_host(root, dbus_daemon.address), timeout=5)


def test_default_address_is_the_system_socket_under_the_root(root: Path) -> None:
    assert bus_address(Host(root, env={})) == f"unix:path={root}/run/dbus/system_bus_socket"
    assert bus_address(Host(root, env={"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/x"})) == "unix:path=/x"
