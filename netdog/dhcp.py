"""Leases for the direct backend (DESIGN §4 `apply`): DHCPv4 with the stdlib client of
netdog/dhcp4.py, DHCPv6 with netdog/dhcp6.py; pyroute2's client settings for the
renewing daemon (`netdog dhcp`, netdog/keep_leases.py).

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

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from kindling.record import record
from netdog.errors import NetlinkError

TYPE_CHECKING = False  # typing, asyncio and pyroute2 load only where they are used
if TYPE_CHECKING:
    from typing import Any

    from netdog.dhcp4 import Ack
    from netdog.dhcp6 import Lease6

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
    import random

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


def lease4_from_ack(ifname: str, ack: Ack, bound_at: float) -> Lease4:
    """A lease from the stdlib client's ACK (netdog/dhcp4.py)."""
    o = ack.options
    mask = o.get("subnet_mask")
    prefixlen = sum(bin(int(x)).count("1") for x in str(mask).split(".")) if mask else 32
    search = o.get("domain_search") or []
    mtu, lease_time = o.get("interface_mtu"), o.get("lease_time")
    return Lease4(
        interface=ifname,
        ip=ack.yiaddr,
        prefixlen=prefixlen,
        routers=tuple(str(r) for r in o.get("router") or ()),  # type: ignore[attr-defined]
        name_servers=tuple(str(r) for r in o.get("name_server") or ()),  # type: ignore[attr-defined]
        domain=str(o["domain_name"]) if o.get("domain_name") else None,
        search=tuple(str(x) for x in search) if isinstance(search, list) else (str(search),),
        mtu=mtu if isinstance(mtu, int) else None,
        lease_time=lease_time if isinstance(lease_time, int) else None,
        bound_at=bound_at,
    )


SaveLease = Callable[[str, str], None]  # (file name, JSON text): kept through the Host by the caller


def _acquire4(job: LeaseJob, timeout: float, save: SaveLease | None) -> Lease4:
    from netdog.dhcp4 import acquire4, lease_json

    mac = bytes.fromhex(job.mac.replace(":", "")) if job.mac else None
    ack, bound_at = acquire4(job.ifname, timeout, mac)
    if save is not None:  # for `netdog dhcp` (pyroute2's JSONFileLease format)
        save(f"{job.ifname}.lease.json", lease_json(job.ifname, ack, time.time()))
    return lease4_from_ack(job.ifname, ack, bound_at)


def _acquire6(job: LeaseJob, timeout: float) -> Lease6:
    import asyncio

    from netdog.dhcp6 import acquire6

    return asyncio.run(acquire6(job.ifname, job.index, job.mac, timeout))


@record(frozen=True)
class LeaseJob:
    """One lease to obtain: `family` 4 or 6; index and MAC are needed for DHCPv6, and
    the MAC from the link dump spares DHCPv4 reading it from sysfs."""

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
    save: SaveLease | None = None,
    on_result: Callable[[LeaseJob, Lease4 | Lease6 | NetlinkError], None] | None = None,
) -> dict[str, Lease4 | Lease6 | NetlinkError]:
    """Every lease at once, keyed `ifname/dhcp4|6`; failures are returned, not raised.

    Each lease is handed to `on_result` the moment it is bound, so a required IPv4
    address is configured while an optional DHCPv6 is still being asked (networkd
    does the same). Required leases get `timeout`. Optional ones never hold the boot
    up: they get what is left of `grace` seconds (counted from the start) once the
    required ones are settled, then they are given up (networkd's
    `RequiredForOnline=no`). One thread per lease: the DHCPv4 client is a plain
    select loop, DHCPv6 runs its own event loop (asyncio is imported only then).
    A single required lease (the common node) is obtained on the calling thread:
    there is nothing to wait for beside it, so no thread and no queue."""
    if not jobs:
        return {}

    def obtain(job: LeaseJob) -> Lease4 | Lease6 | NetlinkError:
        try:
            return _acquire6(job, timeout) if job.family == 6 else _acquire4(job, timeout, save)
        except TimeoutError:
            return NetlinkError(f"interface {job.ifname}: dhcp{job.family}: no lease within {timeout:g}s")
        except NetlinkError as exc:
            return exc
        except OSError as exc:
            return NetlinkError(f"interface {job.ifname}: dhcp{job.family}: {exc.strerror or exc}")

    if len(jobs) == 1 and jobs[0].required:
        result = obtain(jobs[0])
        if on_result is not None:
            on_result(jobs[0], result)
        return {jobs[0].key: result}
    import queue
    import threading

    begin = time.monotonic()
    done: queue.Queue[tuple[LeaseJob, Lease4 | Lease6 | NetlinkError]] = queue.Queue()

    def work(job: LeaseJob) -> None:
        done.put((job, obtain(job)))

    for job in jobs:
        threading.Thread(target=work, args=(job,), name=f"dhcp-{job.key}", daemon=True).start()
    out: dict[str, Lease4 | Lease6 | NetlinkError] = {}
    required = {j.key for j in jobs if j.required}
    while len(out) < len(jobs):
        if required - out.keys():
            wait = None
        else:
            wait = grace - (time.monotonic() - begin)
            if wait <= 0:
                break
        try:
            job, result = done.get(timeout=wait)
        except queue.Empty:
            break
        out[job.key] = result
        if on_result is not None:
            on_result(job, result)
    for job in jobs:
        if job.key not in out:
            out[job.key] = NetlinkError(
                f"interface {job.ifname}: dhcp{job.family}: no lease within {grace:g}s "
                "(optional, not waited for)")
    return out
