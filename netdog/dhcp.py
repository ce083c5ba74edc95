"""DHCPv4 for the direct backend, with pyroute2's `AsyncDHCPClient` (DESIGN §4 `apply`).

The client only *obtains* leases here; `apply.py` turns a lease into an address, a
route, an MTU and resolver entries through the netlink seam, so the same code path
serves static and DHCP configuration and `--plan` never touches the network. Leases
for several interfaces are requested concurrently; each has its own deadline, and the
caller decides what a missed deadline means (fatal if required, a warning if
optional). The client keeps its lease on exit (no DHCPRELEASE): the address stays
valid for the lease time and a later run asks for the same one.

The raw DHCP socket belongs to the namespace of the calling process, so the direct
backend runs in the namespace it configures (as systemd would start it; tests use
`ip netns exec`). The first retransmission comes after 1 s instead of pyroute2's 4 s:
at boot a DISCOVER sent before the peer was ready should not cost four seconds.
"""



from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Iterator, Sequence
from pathlib import Path
from typing import Any

from kindling.record import record
from netdog.dhcp6 import Lease6, acquire6
from netdog.errors import NetlinkError

__all__ = ["Lease4", "LeaseJob", "acquire_leases", "client_config", "to_lease4"]


@record(frozen=True)
class Lease4:
    interface: str
    ip: str
    prefixlen: int
    routers: tuple[str, ...]
    name_servers: tuple[str, ...]
    domain: str | None
    search: tuple[str, ...]
    mtu: int | None
    lease_time: int | None
    bound_at: float  # time.monotonic() when the ACK was processed


def _backoff() -> Iterator[float]:
    delay = 1.0
    while True:
        yield delay
        delay = min(random.uniform(delay, delay * 2), 16.0)


def _opt(lease: Any, name: str) -> Any:
    from pyroute2.dhcp.leases import MissingOptionError

    try:
        return getattr(lease, name)
    except MissingOptionError:
        return None


def to_lease4(lease: Any, bound_at: float) -> Lease4:
    search = _opt(lease, "domain_search") or []
    return Lease4(
        interface=lease.interface,
        ip=lease.ip,
        prefixlen=lease.prefixlen,
        routers=tuple(_opt(lease, "routers") or ()),
        name_servers=tuple(_opt(lease, "name_servers") or ()),
        domain=_opt(lease, "domain_name") or None,
        search=tuple(search if isinstance(search, list) else [search]),
        mtu=_opt(lease, "mtu"),
        lease_time=_opt(lease, "lease_time"),
        bound_at=bound_at,
    )


def client_config(ifname: str, lease_dir: Path | None, *, daemon: bool = False,
                  hooks: Sequence[Any] = ()) -> Any:
    """pyroute2 client settings. With `lease_dir`, leases are kept as JSON files there
    (`apply` writes them, `dhcp` reads them back and asks for the same address)."""
    from pyroute2.dhcp.client import ClientConfig
    from pyroute2.dhcp.enums import dhcp
    from pyroute2.dhcp.leases import JSONFileLease, JSONStdoutLease

    if lease_dir is None:
        class MemoryLease(JSONStdoutLease):  # type: ignore[misc]
            def dump(self) -> None:
                return None

        lease_type: type = MemoryLease
    else:
        directory: Path = lease_dir

        class FileLease(JSONFileLease):  # type: ignore[misc]
            @classmethod
            def _get_lease_dir(cls) -> Path:
                return directory

        lease_type = FileLease
    return ClientConfig(
        interface=ifname,
        lease_type=lease_type,
        hooks=tuple(hooks),
        requested_parameters=(
            dhcp.Option.SUBNET_MASK, dhcp.Option.ROUTER, dhcp.Option.NAME_SERVER,
            dhcp.Option.DOMAIN_NAME, dhcp.Option.DOMAIN_SEARCH, dhcp.Option.INTERFACE_MTU,
            dhcp.Option.LEASE_TIME, dhcp.Option.RENEWAL_TIME, dhcp.Option.REBINDING_TIME,
        ),
        retransmission=_backoff,
        release=False,
        handle_signals=daemon,
        write_pidfile=False,
        vendor_id="kindling",
        host_name=None,
    )


async def _acquire(ifname: str, timeout: float, lease_dir: Path | None) -> Lease4:
    from pyroute2.dhcp.client import AsyncDHCPClient
    from pyroute2.dhcp.fsm import State

    config = client_config(ifname, lease_dir)
    try:
        async with AsyncDHCPClient(config) as client:
            await client.bootstrap()
            await client.wait_for_state(State.BOUND, timeout=timeout)
            bound_at = time.monotonic()
            if client.lease is None:
                raise NetlinkError(f"interface {ifname}: dhcp4: bound without a lease")
            return to_lease4(client.lease, bound_at)
    except TimeoutError:
        raise NetlinkError(f"interface {ifname}: dhcp4: no lease within {timeout:g}s") from None
    except OSError as exc:
        raise NetlinkError(f"interface {ifname}: dhcp4: {exc.strerror or exc}") from None


@record(frozen=True)
class LeaseJob:
    """One lease to obtain: `family` 4 or 6; index and MAC are needed for DHCPv6."""

    ifname: str
    family: int
    required: bool
    index: int = 0
    mac: str = ""

    @property
    def key(self) -> str:
        return f"{self.ifname}/dhcp{self.family}"


def acquire_leases(
    jobs: Sequence[LeaseJob], timeout: float, grace: float = 3.0,
    lease_dir: Path | None = None,
) -> dict[str, Lease4 | Lease6 | NetlinkError]:
    """Every lease at once, keyed `ifname/dhcp4|6`; failures are returned, not raised.

    Required leases get `timeout`. Optional ones never hold the boot up: they get what
    is left of `grace` seconds (counted from the start) once the required ones are
    settled, then they are given up (networkd's `RequiredForOnline=no`)."""

    def start(job: LeaseJob) -> Awaitable[Lease4 | Lease6]:
        if job.family == 6:
            return acquire6(job.ifname, job.index, job.mac, timeout)
        return _acquire(job.ifname, timeout, lease_dir)

    async def run() -> dict[str, Lease4 | Lease6 | NetlinkError]:
        begin = time.monotonic()
        tasks = {job.key: asyncio.ensure_future(start(job)) for job in jobs}
        need = [tasks[j.key] for j in jobs if j.required]
        if need:
            await asyncio.wait(need)
        rest = [tasks[j.key] for j in jobs if not j.required]
        if rest:
            await asyncio.wait(rest, timeout=max(grace - (time.monotonic() - begin), 0.0))
        out: dict[str, Lease4 | Lease6 | NetlinkError] = {}
        for job in jobs:
            task = tasks[job.key]
            if not task.done():
                task.cancel()
                out[job.key] = NetlinkError(
                    f"interface {job.ifname}: dhcp{job.family}: no lease within {grace:g}s "
                    "(optional, not waited for)")
                continue
            exc = task.exception()
            if exc is None:
                out[job.key] = task.result()
            elif isinstance(exc, NetlinkError):
                out[job.key] = exc
            else:
                raise exc
        pending = [t for t in tasks.values() if not t.done()]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        return out

    if not jobs:
        return {}
    return asyncio.run(run())
