"""A real `dbus-daemon` with a stand-in systemd Manager on it (RIGS.md: D-Bus bus).

The daemon runs with the session configuration on a unix socket in the test's
temporary directory; its address is what the code under test gets as
`DBUS_SYSTEM_BUS_ADDRESS`. `FakeSystemd` owns `org.freedesktop.systemd1` on that bus
from a thread with its own event loop and serves what Kindling reads: the
`SystemState` property (with `PropertiesChanged` when the test changes it),
`StartupFinished`, and `ListUnitsFiltered` for failed units. The test drives it.
"""

import asyncio
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from dbus_fast import PropertyAccess
from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, dbus_property, method
from dbus_fast.service import signal as dbus_signal

__all__ = ["DbusDaemon", "FakeSystemd"]


class DbusDaemon:
    """`dbus-daemon --session --nofork` on `<dir>/bus.sock`; `stop()` ends that one process."""

    def __init__(self, directory: Path) -> None:
        self.socket = directory / "bus.sock"
        self.address = f"unix:path={self.socket}"
        self.proc = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", f"--address={self.address}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while not self.socket.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("dbus-daemon did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


class _Manager(ServiceInterface):
    def __init__(self) -> None:
        super().__init__("org.freedesktop.systemd1.Manager")
        self.state = "starting"
        self.failed: list[str] = []
        self.calls: list[str] = []

    @dbus_property(access=PropertyAccess.READ)
    def SystemState(self) -> "s":  # noqa: F821
        self.calls.append("Get SystemState")
        return self.state

    @method()
    def ListUnitsFiltered(self, states: "as") -> "a(ssssssouso)":  # noqa: F821, F722
        self.calls.append("ListUnitsFiltered")
        if "failed" not in states:
            return []
        return [
            [name, "a unit", "loaded", "failed", "failed", "", f"/org/freedesktop/systemd1/unit/{i}", 0, "", "/"]
            for i, name in enumerate(self.failed)
        ]

    @dbus_signal()
    def StartupFinished(self) -> "tttttt":  # noqa: F821
        return [0, 0, 0, 0, 0, 0]


class FakeSystemd:
    """`org.freedesktop.systemd1` on the rig's bus; `set_state` emits the signals."""

    def __init__(self, address: str, *, state: str = "starting", emit_property_changes: bool = True) -> None:
        self.address = address
        self.manager = _Manager()
        self.manager.state = state
        self.emit_property_changes = emit_property_changes
        self._loop = asyncio.new_event_loop()
        self._bus: Any = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._submit(self._start())
        self.manager.calls.clear()  # exporting reads the properties once

    def _submit(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _start(self) -> None:
        self._bus = await MessageBus(bus_address=self.address).connect()
        self._bus.export("/org/freedesktop/systemd1", self.manager)
        await self._bus.request_name("org.freedesktop.systemd1")

    def set_state(self, state: str, *, failed: list[str] | None = None, startup_finished: bool = False) -> None:
        async def change() -> None:
            self.manager.state = state
            if failed is not None:
                self.manager.failed = list(failed)
            if self.emit_property_changes:
                self.manager.emit_properties_changed({"SystemState": state})
            if startup_finished:
                self.manager.StartupFinished()

        self._submit(change())

    def set_state_later(self, delay: float, state: str, **kwargs: Any) -> threading.Timer:
        timer = threading.Timer(delay, self.set_state, args=(state,), kwargs=kwargs)
        timer.daemon = True
        timer.start()
        return timer

    def stop(self) -> None:
        async def close() -> None:
            if self._bus is not None:
                self._bus.disconnect()

        self._submit(close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
