"""`kindling netdog dhcp`: keep the direct backend's DHCPv4 leases alive.

`apply` obtains the first leases and exits; this long-running service (its own unit,
after `kindling-netdog-apply.service`) runs one pyroute2 client per DHCPv4 interface,
starting from the lease files `apply` left in the state directory (INIT-REBOOT: it
asks for the same address), and re-applies address, MTU, route and resolv.conf on
every BOUND / RENEWED / REBOUND, removing the address when a lease EXPIRES. DHCPv6
leases (netdog/dhcp6.py) are renewed at T1 (rebound from T2) from the lease files
`apply` kept, with their lifetimes extended on the /128; an expired one is dropped and
solicited afresh. SIGTERM
stops it without releasing the leases (the addresses stay until they expire), SIGUSR1
renews now (pyroute2's signal handling).
"""



from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import time
from typing import Any

from kindling import log
from kindling.host import Host
from netdog import paths
from netdog.apply import (
    configure_lease,
    configure_lease6,
    render_lease_resolv_conf,
    resolve_links,
)
from netdog.dhcp import Lease4, client_config, to_lease4
from netdog.dhcp6 import Lease6, acquire6, lease6_from_json, renew6
from netdog.errors import NetlinkError
from netdog.netlink import RealNetlink, open_netlink
from netdog.resolv import DnsSettings
from netdog.source import load_net_config

__all__ = ["keep_leases"]

_LOG = log.get("netdog")


def _kept_lease6(host: Host, path: str) -> tuple[Lease6 | None, float]:
    text = host.read_optional(path)
    if text is None:
        return None, 0.0
    try:
        return lease6_from_json(text)
    except (ValueError, KeyError, TypeError):
        _LOG.warning("dhcp6 lease file unreadable; asking for a new lease", path=path)
        return None, 0.0


def keep_leases(host: Host, *, dns: DnsSettings | None = None,
                netlink: RealNetlink | None = None) -> int:
    """Run until SIGTERM/SIGINT; returns the number of interfaces served."""
    config = load_net_config(host)
    if config is None:
        return 0
    wanted = [d for d in config.devices if d.dhcp4 is not None and d.dhcp4.enabled]
    wanted6 = [d for d in config.devices if d.dhcp6 is not None and d.dhcp6.enabled]
    if not wanted and not wanted6:
        return 0
    nl = netlink or open_netlink(host)
    links, names = resolve_links(nl, config)
    host.makedirs(paths.LEASE_DIR, mode=0o700)
    lease_dir = host.path(paths.LEASE_DIR)
    current: dict[str, Lease4] = {}

    async def serve() -> None:
        from pyroute2.dhcp.client import AsyncDHCPClient
        from pyroute2.dhcp.hooks import Trigger, hook

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)

        async def one(device: Any, ifname: str) -> None:
            link = links.by_name[ifname]

            async def bound(lease: Any) -> None:
                lease4 = to_lease4(lease, time.monotonic())
                # pyroute2's synchronous IPRoute must not run on the DHCP client's loop
                await asyncio.to_thread(configure_lease, nl, device, link, lease4)
                current[ifname] = lease4
                text = render_lease_resolv_conf(dns, list(current.values()))
                if text:
                    host.write_file(paths.RESOLV_CONF, text)
                _LOG.info("dhcp4 lease in place", interface=ifname, address=lease4.ip)

            async def lost(lease: Any) -> None:
                current.pop(ifname, None)
                net = ipaddress.ip_interface(f"{lease.ip}/{lease.prefixlen}")
                await asyncio.to_thread(nl.remove_address, link.index, ifname, net)
                _LOG.warning("dhcp4 lease lost", interface=ifname)

            hooks = [hook(Trigger.BOUND, Trigger.RENEWED, Trigger.REBOUND)(bound),
                     hook(Trigger.EXPIRED)(lost)]
            async with AsyncDHCPClient(client_config(ifname, lease_dir, daemon=True,
                                                     hooks=hooks)) as client:
                await client.bootstrap()
                await stop.wait()

        async def one6(ifname: str) -> None:
            link = links.by_name[ifname]
            path = f"{paths.LEASE_DIR}/{ifname}.lease6.json"
            while not stop.is_set():
                lease, obtained = _kept_lease6(host, path)
                now = host.clock.time()
                wait = 0.0
                try:
                    if lease is None or now >= obtained + lease.valid:
                        if lease is not None:  # expired: drop the address, start over
                            net = ipaddress.ip_interface(f"{lease.address}/128")
                            await asyncio.to_thread(nl.remove_address, link.index, ifname, net)
                            host.remove(path)
                        fresh = await acquire6(ifname, link.index, link.mac, 30.0)
                        await asyncio.to_thread(configure_lease6, host, nl, link, fresh)
                        _LOG.info("dhcp6 lease in place", interface=ifname)
                        continue
                    t1 = obtained + (lease.t1 or lease.preferred // 2)
                    t2 = obtained + (lease.t2 or lease.preferred * 4 // 5)
                    if now < t1:
                        wait = t1 - now
                    else:
                        renewed = await renew6(lease, link.index, link.mac,
                                               max(min(t2 - now, 10.0), 1.0), rebind=now >= t2)
                        await asyncio.to_thread(configure_lease6, host, nl, link, renewed)
                        _LOG.info("dhcp6 lease renewed", interface=ifname)
                        continue
                except NetlinkError as exc:
                    _LOG.warning("dhcp6", interface=ifname, error=str(exc))
                    wait = 5.0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)

        await asyncio.gather(*(one(d, names[d.name]) for d in wanted),
                             *(one6(names[d.name]) for d in wanted6))

    try:
        asyncio.run(serve())
    except OSError as exc:
        raise NetlinkError(f"dhcp4: {exc.strerror or exc}") from None
    finally:
        if netlink is None:
            nl.close()
    return len(wanted) + len(wanted6)
