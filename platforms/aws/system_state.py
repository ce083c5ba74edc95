"""How did the boot go? systemd's own answer, read over D-Bus (issue 8, item 1).

Bottlerocket's cfsignal runs `systemctl --wait is-system-running` and signals SUCCESS
iff it exits 0. Kindling asks the same question without a child process: the
`SystemState` property of `org.freedesktop.systemd1.Manager` on the system bus.

- `initializing` / `starting` are transitional: wait. The wait is signal-driven
  (`StartupFinished`, and `PropertiesChanged` on the Manager, which stand-ins and
  future systemd versions emit; today's systemd does not announce `SystemState`
  changes, so `StartupFinished` is the event that matters), with a slow re-read as
  a safety net and an overall timeout, so a lost signal costs seconds, not a hang.
- `running` is success. `degraded`, `maintenance`, `stopping`, anything else, or the
  timeout is failure; the failed units (`ListUnitsFiltered(["failed"])`) are listed
  so the journal says *why* the node signalled FAILURE.
- The bus is `DBUS_SYSTEM_BUS_ADDRESS` from the Host environment (DESIGN §2), else
  the system bus socket under the Host root. Connecting is bounded too: an
  unreachable bus is an error naming the address, never a hang.

dbus-fast (and asyncio) are imported inside the functions: `kindling --help` and
every other command must not pay for them (DESIGN §8).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kindling.record import record
from platforms.aws.errors import SystemStateError

if TYPE_CHECKING:
    import asyncio

    from kindling.host import Host

__all__ = [
    "DEFAULT_TIMEOUT",
    "TRANSITIONAL",
    "SystemMonitor",
    "SystemStatus",
    "bus_address",
    "read_system",
    "wait_for_system",
]

SYSTEMD = "org.freedesktop.systemd1"
MANAGER_PATH = "/org/freedesktop/systemd1"
MANAGER = "org.freedesktop.systemd1.Manager"
PROPERTIES = "org.freedesktop.DBus.Properties"
TRANSITIONAL = frozenset({"initializing", "starting"})
DEFAULT_TIMEOUT = 900.0  # systemd's own default job timeouts add up to minutes
CONNECT_TIMEOUT = 5.0
CALL_TIMEOUT = 10.0
REREAD_INTERVAL = 15.0


@record(frozen=True)
class SystemStatus:
    """The verdict: the last state seen, the failed units, whether we gave up waiting."""

    state: str
    failed_units: tuple[str, ...] = ()
    timed_out: bool = False
    snapshot: bool = False  # read once, not waited for: "starting" with nothing failed is fine

    @property
    def healthy(self) -> bool:
        if self.timed_out or self.failed_units:
            return False
        return self.state == "running" or (self.snapshot and self.state in TRANSITIONAL)

    def describe(self) -> str:
        if self.snapshot and self.state in TRANSITIONAL:
            text = f"{self.state} (not waited for)"
        elif self.timed_out:
            text = f"still {self.state} when the wait timed out"
        else:
            text = self.state
        if self.failed_units:
            text += f"; failed units: {', '.join(self.failed_units)}"
        return text


def bus_address(host: Host) -> str:
    """`DBUS_SYSTEM_BUS_ADDRESS`, else the system bus socket beneath the Host root."""
    explicit = host.env.get("DBUS_SYSTEM_BUS_ADDRESS", "").strip()
    if explicit:
        return explicit
    return f"unix:path={host.path('/run/dbus/system_bus_socket')}"


class SystemMonitor:
    """One connection to the system bus, used synchronously (it owns an event loop).

    Use as a context manager; `wait_settled(t)` returns the state after at most `t`
    seconds (a transitional state if it did not settle in time).
    """

    def __init__(self, address: str, *, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.address = address
        self.connect_timeout = connect_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bus: Any = None
        self._changed: asyncio.Event | None = None

    # -- lifecycle ------------------------------------------------------------------
    def __enter__(self) -> SystemMonitor:
        import asyncio

        self._loop = asyncio.new_event_loop()
        try:
            self._run(self._open())
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._loop is None:
            return
        import asyncio

        if self._bus is not None:
            self._bus.disconnect()
            self._bus = None
            self._loop.run_until_complete(asyncio.sleep(0))  # let the reader see EOF
        self._loop.close()
        self._loop = None

    def _run(self, coro: Any) -> Any:
        assert self._loop is not None
        return self._loop.run_until_complete(coro)

    # -- public, synchronous --------------------------------------------------------
    def state(self) -> str:
        return str(self._run(self._state()))

    def failed_units(self) -> tuple[str, ...]:
        return tuple(self._run(self._failed_units()))

    def wait_settled(self, timeout: float) -> str:
        return str(self._run(self._wait_settled(timeout)))

    # -- async internals ------------------------------------------------------------
    async def _open(self) -> None:
        import asyncio

        from dbus_fast import Message, MessageType
        from dbus_fast.aio import MessageBus
        from dbus_fast.errors import DBusFastError

        self._changed = asyncio.Event()
        try:
            bus = MessageBus(bus_address=self.address)
            await asyncio.wait_for(bus.connect(), self.connect_timeout)
        except (OSError, TimeoutError, DBusFastError, ValueError) as exc:
            raise SystemStateError(
                f"D-Bus system bus {self.address}: unreachable ({type(exc).__name__}); "
                "set DBUS_SYSTEM_BUS_ADDRESS or start dbus"
            ) from exc
        self._bus = bus
        changed = self._changed

        def on_message(msg: Any) -> None:
            if msg.message_type != MessageType.SIGNAL or msg.path != MANAGER_PATH:
                return
            if msg.interface == MANAGER and msg.member == "StartupFinished":
                changed.set()
            elif msg.interface == PROPERTIES and msg.member == "PropertiesChanged":
                body = msg.body
                if body and body[0] == MANAGER:
                    changed.set()

        bus.add_message_handler(on_message)
        for rule in (
            f"type='signal',sender='{SYSTEMD}',path='{MANAGER_PATH}',interface='{MANAGER}',"
            "member='StartupFinished'",
            f"type='signal',sender='{SYSTEMD}',path='{MANAGER_PATH}',interface='{PROPERTIES}',"
            f"member='PropertiesChanged',arg0='{MANAGER}'",
        ):
            await self._call(
                Message(
                    destination="org.freedesktop.DBus",
                    path="/org/freedesktop/DBus",
                    interface="org.freedesktop.DBus",
                    member="AddMatch",
                    signature="s",
                    body=[rule],
                ),
                "AddMatch",
            )

    async def _call(self, message: Any, what: str) -> list[Any]:
        import asyncio

        from dbus_fast import MessageType

        try:
            reply = await asyncio.wait_for(self._bus.call(message), CALL_TIMEOUT)
        except (OSError, TimeoutError, EOFError) as exc:
            raise SystemStateError(
                f"D-Bus {self.address}: {what}: no answer ({type(exc).__name__})"
            ) from exc
        if reply.message_type == MessageType.ERROR:
            name = reply.error_name or "error"
            if name in ("org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner"):
                raise SystemStateError(f"D-Bus {self.address}: systemd ({SYSTEMD}) is not on this bus")
            raise SystemStateError(f"D-Bus {self.address}: {what}: {name}")
        return list(reply.body)

    async def _state(self) -> str:
        from dbus_fast import Message, MessageFlag

        body = await self._call(
            Message(
                destination=SYSTEMD,
                flags=MessageFlag.NO_AUTOSTART,
                path=MANAGER_PATH,
                interface=PROPERTIES,
                member="Get",
                signature="ss",
                body=[MANAGER, "SystemState"],
            ),
            "Get SystemState",
        )
        value = getattr(body[0], "value", None) if body else None
        if not isinstance(value, str):
            raise SystemStateError(f"D-Bus {self.address}: SystemState is not a string")
        return value

    async def _failed_units(self) -> list[str]:
        from dbus_fast import Message, MessageFlag

        body = await self._call(
            Message(
                destination=SYSTEMD,
                flags=MessageFlag.NO_AUTOSTART,
                path=MANAGER_PATH,
                interface=MANAGER,
                member="ListUnitsFiltered",
                signature="as",
                body=[["failed"]],
            ),
            "ListUnitsFiltered",
        )
        units = body[0] if body else []
        return sorted(str(u[0]) for u in units if u)

    async def _wait_settled(self, timeout: float) -> str:
        import asyncio

        assert self._changed is not None
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            # Clear before reading: a signal that lands after the read still wakes us.
            self._changed.clear()
            state = await self._state()
            remaining = deadline - time.monotonic()
            if state not in TRANSITIONAL or remaining <= 0:
                return state
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, REREAD_INTERVAL))
            except TimeoutError:
                pass


def wait_for_system(
    host: Host,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    tick: float | None = None,
    on_tick: Callable[[str], None] | None = None,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> SystemStatus:
    """Wait until the system settles (or `timeout`), then give the verdict.

    With `tick`, `on_tick(state)` is called every `tick` seconds while the system is
    still starting (the lifecycle-hook heartbeat rides on this).
    """
    host.waiting("systemd to settle (running, degraded or failed)", timeout)
    deadline = time.monotonic() + timeout
    with SystemMonitor(bus_address(host), connect_timeout=connect_timeout) as monitor:
        while True:
            remaining = deadline - time.monotonic()
            step = remaining if tick is None else min(tick, remaining)
            state = monitor.wait_settled(max(step, 0.0))
            timed_out = state in TRANSITIONAL and time.monotonic() >= deadline
            if state not in TRANSITIONAL or timed_out:
                failed = () if state == "running" else monitor.failed_units()
                return SystemStatus(state, failed, timed_out)
            if on_tick is not None:
                on_tick(state)


def read_system(host: Host, *, connect_timeout: float = CONNECT_TIMEOUT) -> SystemStatus:
    """The state now, without waiting, and the units failed so far.

    For callers that are themselves part of the boot transaction (`kindling boot`, or a
    warm-pool warm-up boot held open on purpose): waiting for `running` would wait on
    themselves.
    """
    with SystemMonitor(bus_address(host), connect_timeout=connect_timeout) as monitor:
        return SystemStatus(monitor.state(), monitor.failed_units(), snapshot=True)
