"""`kindling netdog dhcp`: keep the direct backend's DHCPv4 leases alive.

`apply` obtains the first leases and exits; this long-running service (its own unit,
after `kindling-netdog-apply.service`) runs one pyroute2 client per DHCPv4 interface,
starting from the lease files `apply` left in the state directory (INIT-REBOOT: it
asks for the same address), and re-applies address, MTU, route and resolv.conf on
every BOUND / RENEWED / REBOUND, removing the address when a lease EXPIRES. SIGTERM
stops it without releasing the leases (the addresses stay until they expire), SIGUSR1
renews now (pyroute2's signal handling).
"""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import time
from typing import Any

from kindling import log
from kindling.host import Host
from netdog import paths
from netdog.apply import configure_lease, render_lease_resolv_conf, resolve_links
from netdog.dhcp import Lease4, client_config, to_lease4
from netdog.errors import NetlinkError
from netdog.netlink import RealNetlink, open_netlink
from netdog.resolv import DnsSettings
from netdog.source import load_net_config

__all__ = ["keep_leases"]

_LOG = log.get("netdog")


def keep_leases(host: Host, *, dns: DnsSettings | None = None,
                netlink: RealNetlink | None = None) -> int:
    """Run until SIGTERM/SIGINT; returns the number of interfaces served."""
    config = load_net_config(host)
    if config is None:
        return 0
    wanted = [d for d in config.devices if d.dhcp4 is not None and d.dhcp4.enabled]
    if not wanted:
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

        await asyncio.gather(*(one(d, names[d.name]) for d in wanted))

    try:
        asyncio.run(serve())
    except OSError as exc:
        raise NetlinkError(f"dhcp4: {exc.strerror or exc}") from None
    finally:
        if netlink is None:
            nl.close()
    return len(wanted)
