"""`kindling netdog apply`: the direct backend — the same model applied over netlink,
with DHCPv4 (pyroute2's client) and DHCPv6 (netdog/dhcp6.py), for nodes without
systemd-networkd (DESIGN §1, §4).

Order: every needed link is checked to exist; then links (bonds with their members,
VLANs on their devices), static addresses and routes; the primary state files; then
all DHCP leases at once; then `/etc/resolv.conf` under the root and `current_ip`.
A DHCPv4 lease becomes the address (with broadcast), the MTU when offered (networkd's
`UseMTU=true`), a default route via the first router (with `route-metric`), and DNS;
a DHCPv6 lease a /128 with its lifetimes, and DNS (routes come from RAs).

Failure rules: everything is parsed and checked before the first change; a missing
link fails with a message naming the interface. A required lease that does not
arrive within `timeout` fails the command (after the others are configured); an
optional one is reported and skipped without holding the boot up. DNS from
`settings.dns` overrides the leases', item by item, as Bottlerocket's wicked backend.
Leases are kept in the state directory for `kindling netdog dhcp` to renew.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Sequence
from typing import Any

from kindling import log
from kindling.host import Host
from kindling.record import field, record
from netdog import paths
from netdog.dhcp import Lease4, LeaseJob, acquire_leases
from netdog.dhcp6 import Lease6, lease6_json
from netdog.errors import NetlinkError
from netdog.generate import write_primary_state
from netdog.model import Bond, Device, InterfaceId, MacAddress, NetConfig, Vlan
from netdog.netlink import Link, RealNetlink, open_netlink
from netdog.resolv import DnsSettings, render_resolv_conf
from netdog.source import load_net_config
from netdog.status import choose_primary_address

__all__ = [
    "ApplyReport",
    "LeaseSource",
    "apply_config",
    "configure_lease",
    "configure_lease6",
    "render_lease_resolv_conf",
    "resolve_links",
]

AnyLease = Lease4 | Lease6
OnLease = Callable[[LeaseJob, "AnyLease | NetlinkError"], None]
LeaseSource = Callable[[Sequence[LeaseJob], float, OnLease], dict[str, AnyLease | NetlinkError]]
_LOG = log.get("netdog")


@record
class ApplyReport:
    source: str | None = None
    primary: str | None = None
    leases: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    current_ip: str | None = None
    lease_to_configured_ms: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def summary(self) -> str:
        if self.source is None:
            return "No network interfaces were configured"
        parts = [f"source {self.source}", f"primary {self.primary}"]
        parts += [f"{k} leased {v}" for k, v in self.leases.items()]
        parts += self.skipped
        if self.current_ip:
            parts.append(f"current_ip {self.current_ip}")
        return "; ".join(parts)


def _planned_leases(host: Host) -> LeaseSource:
    def plan(jobs: Sequence[LeaseJob], _timeout: float, _on: OnLease) -> dict[str, AnyLease | NetlinkError]:
        host.actions.extend(f"dhcp{j.family} {j.ifname}" for j in jobs)
        return {}

    return plan


def _leases_kept_under(host: Host) -> LeaseSource:
    """Real DHCP, leases kept in the state directory for `netdog dhcp` to renew."""

    def real(jobs: Sequence[LeaseJob], timeout: float, on: OnLease) -> dict[str, AnyLease | NetlinkError]:
        host.waiting("DHCP leases on " + ", ".join(f"{j.ifname} (dhcp{j.family})" for j in jobs), timeout)
        host.makedirs(paths.LEASE_DIR, mode=0o700)
        def save(name: str, text: str) -> None:  # atomic, as every file the Host writes
            host.write_file(f"{paths.LEASE_DIR}/{name}", text, mode=0o600)

        return acquire_leases(jobs, timeout, save=save, on_result=on)

    return real


class _Links:
    """Name → Link, refreshed after links are created."""

    def __init__(self, nl: RealNetlink) -> None:
        self.nl = nl
        self.by_name: dict[str, Link] = {}
        self.refresh()

    def refresh(self) -> None:
        self.by_name = {link.name: link for link in self.nl.links()}

    def get(self, name: str, why: str) -> Link:
        link = self.by_name.get(name)
        if link is None:
            raise NetlinkError(f"interface {name}: no such link ({why})")
        return link

    def by_mac(self, mac: MacAddress) -> Link:
        for link in self.by_name.values():
            if mac.value in (link.perm_mac, link.mac) and link.kind not in ("vlan", "bond"):
                return link
        raise NetlinkError(f"interface {mac}: no link has this MAC address")


def _lease_jobs(config: NetConfig, names: dict[InterfaceId, str], links: _Links
                ) -> list[LeaseJob]:
    jobs = []
    for d in config.devices:
        link = links.by_name[names[d.name]]
        if d.dhcp4 is not None and d.dhcp4.enabled:
            jobs.append(LeaseJob(link.name, 4, d.dhcp4.required, link.index, link.mac))
        if d.dhcp6 is not None and d.dhcp6.enabled:
            jobs.append(LeaseJob(link.name, 6, d.dhcp6.required, link.index, link.mac))
    return jobs


def _precheck(config: NetConfig, links: _Links) -> None:
    """Every link the configuration needs exists (or is one it creates): checked before
    the first change, so a typo in one table does not leave half a network behind."""
    created = {str(d.name) for d in config.devices if isinstance(d, Bond | Vlan)}
    for d in config.devices:
        if isinstance(d.name, MacAddress):
            links.by_mac(d.name)
        elif str(d.name) not in created:
            links.get(str(d.name), "configured interface")
        if isinstance(d, Bond):
            for worker in d.workers:
                links.get(str(worker), f"member of bond {d.name}")
        if isinstance(d, Vlan) and str(d.device) not in created:
            links.get(str(d.device), f"device of vlan {d.name}")


def _links(nl: RealNetlink, config: NetConfig, links: _Links) -> dict[InterfaceId, str]:
    """Create bonds and VLANs, enslave members, bring everything up; id → ifname."""
    names: dict[InterfaceId, str] = {}
    for d in config.devices:
        if isinstance(d, Bond):
            if str(d.name) not in links.by_name:
                nl.create_bond(d)
                links.refresh()
            bond = links.get(str(d.name), "bond")
            for worker in d.workers:
                w = links.get(str(worker), f"member of bond {d.name}")
                if w.master != bond.index:
                    nl.enslave(w.index, w.name, bond.index, bond.name)
            links.refresh()
            first = links.get(str(d.workers[0]), f"member of bond {d.name}")
            nl.set_bond_primary(bond.index, bond.name, first.index)
            for worker in d.workers:
                nl.set_up(links.by_name[str(worker)].index, str(worker))
    for d in config.devices:
        if isinstance(d, Vlan):
            parent = links.get(str(d.device), f"device of vlan {d.name}")
            nl.set_up(parent.index, parent.name)
            if str(d.name) not in links.by_name:
                nl.create_vlan(str(d.name), parent.index, d.vlan_id.value)
                links.refresh()
    for d in config.devices:
        link = links.by_mac(d.name) if isinstance(d.name, MacAddress) else links.get(
            str(d.name), "configured interface")
        names[d.name] = link.name
        if not link.up:
            nl.set_up(link.index, link.name)
            links.by_name[link.name] = Link(link.index, link.name, link.mac, link.perm_mac, link.kind,
                                            link.master, True)
    return names


def resolve_links(nl: RealNetlink, config: NetConfig) -> tuple[_Links, dict[InterfaceId, str]]:
    """Links created and up; the link table and each configured id's name. The table is
    dumped once more only after a bond or VLAN is created or a member enslaved (there,
    in `_links`); bringing a link up changes only its flag, set in the table: one link
    dump, not two, before a plain node's lease."""
    links = _Links(nl)
    _precheck(config, links)
    names = _links(nl, config, links)
    return links, names


def _static(nl: RealNetlink, d: Device, link: Link) -> None:
    for net in d.addresses:
        nl.add_address(link.index, link.name, net)
    for route in d.routes or ():
        nl.replace_route(link.index, link.name, route.destination,
                         gateway=str(route.via) if route.via else None, metric=route.metric,
                         prefsrc=str(route.from_) if route.from_ else None)


DHCP_ROUTE_METRIC = 1024  # systemd-networkd's default for DHCPv4 routes


def configure_lease(nl: RealNetlink, d: Device, link: Link, lease: Lease4) -> None:
    """The lease's address, MTU and routes as systemd-networkd sets them: the prefix
    route (added by the kernel) and the default route both carry the route metric
    (`route-metric`, else 1024) and the leased address as preferred source; the routes
    from the lease are `proto dhcp`, with a link route to the router as networkd adds."""
    if lease.mtu:
        nl.set_mtu(link.index, link.name, int(lease.mtu))
    metric = d.dhcp4.route_metric if d.dhcp4 is not None and d.dhcp4.route_metric is not None else None
    metric = DHCP_ROUTE_METRIC if metric is None else metric
    nl.add_address(link.index, link.name, ipaddress.ip_interface(f"{lease.ip}/{lease.prefixlen}"),
                   route_metric=metric)
    if lease.routers:
        router = lease.routers[0]
        nl.replace_route(link.index, link.name, f"{router}/32", gateway=None, metric=metric,
                         prefsrc=lease.ip, protocol="dhcp")
        nl.replace_route(link.index, link.name, "0.0.0.0/0", gateway=router, metric=metric,
                         prefsrc=lease.ip, protocol="dhcp")


def configure_lease6(host: Host, nl: RealNetlink, link: Link, lease: Lease6) -> None:
    """/128 with the lease's lifetimes (the prefix and routes come from RAs); the lease
    is kept, with its wall-clock start, for `netdog dhcp` to renew."""
    nl.add_address(link.index, link.name, ipaddress.ip_interface(f"{lease.address}/128"),
                   lifetimes=(lease.preferred, lease.valid))
    host.makedirs(paths.LEASE_DIR, mode=0o700)
    host.write_file(f"{paths.LEASE_DIR}/{link.name}.lease6.json",
                    lease6_json(lease, host.clock.time()), mode=0o600)


def render_lease_resolv_conf(dns: DnsSettings | None, leases: Sequence[AnyLease]) -> str:
    servers = dns.name_servers if dns and dns.name_servers is not None else tuple(
        dict.fromkeys(s for lease in leases for s in lease.name_servers))
    search: tuple[str, ...] | None = dns.search if dns and dns.search is not None else None
    if search is None:
        found: list[str] = []
        for lease in leases:
            domain = lease.domain if isinstance(lease, Lease4) else None
            found += lease.search or ((domain,) if domain else ())
        search = tuple(dict.fromkeys(found))
    return render_resolv_conf(search, servers)


def apply_config(
    host: Host,
    *,
    timeout: float = 30.0,
    dns: DnsSettings | None = None,
    netlink: RealNetlink | None = None,
    lease_source: LeaseSource | None = None,
) -> ApplyReport:
    """Apply the configuration in effect. The files it writes (primary state, sysctl
    drop-in, resolv.conf, current_ip: rewritten on every boot) are made durable by one
    barrier before it returns, or fails, not two fsyncs each (docs/CONTRACT-NOTES.md)."""
    with host.deferred_sync():  # its end is a barrier, also when it fails
        return _apply_config(host, timeout, dns, netlink, lease_source)


def _apply_config(host: Host, timeout: float, dns: DnsSettings | None, netlink: RealNetlink | None,
                  lease_source: LeaseSource | None) -> ApplyReport:
    config = load_net_config(host)
    report = ApplyReport()
    if config is None:
        return report
    report.source, report.primary = config.source, str(config.primary)
    nl = netlink or open_netlink(host)
    get_leases = lease_source or (_planned_leases(host) if host.recording else
                                  _leases_kept_under(host))
    failed: list[NetlinkError] = []
    try:
        links, names = resolve_links(nl, config)
        for d in config.devices:
            _static(nl, d, links.by_name[names[d.name]])
        jobs = _lease_jobs(config, names, links)
        report.written += write_primary_state(host, config)  # lease-independent: before
        device_of = {names[d.name]: d for d in config.devices}
        configured: set[str] = set()

        def on_lease(job: LeaseJob, result: AnyLease | NetlinkError) -> None:
            """An IPv4 lease is configured the moment it is bound: the node is reachable
            while an optional DHCPv6 (or another interface) is still being asked."""
            if isinstance(result, Lease4):
                configure_lease(nl, device_of[job.ifname], links.by_name[job.ifname], result)
                configured.add(job.key)

        results = get_leases(jobs, timeout, on_lease)
        got: list[tuple[Device, AnyLease]] = []
        for job in jobs:
            d, link, result = device_of[job.ifname], links.by_name[job.ifname], results.get(
                job.key)
            if isinstance(result, Lease4):
                if job.key not in configured:
                    configure_lease(nl, d, link, result)
                report.leases[job.key] = f"{result.ip}/{result.prefixlen}"
            elif isinstance(result, Lease6):
                configure_lease6(host, nl, link, result)
                report.leases[job.key] = f"{result.address}/128"
            elif isinstance(result, NetlinkError):
                if job.required:
                    failed.append(result)
                else:
                    report.skipped.append(f"{d.name}: optional dhcp{job.family}: {result}")
                continue
            else:
                continue
            got.append((d, result))
        primary_first = sorted(got, key=lambda pair: pair[0].name != config.primary)
        text = render_lease_resolv_conf(dns, [lease for _d, lease in primary_first])
        if text and host.write_file(paths.RESOLV_CONF, text):
            report.written.append(host.did("write", paths.RESOLV_CONF))
        primary = links.by_name[names[config.primary]]
        addresses = [a.split("/")[0] for a in nl.addresses(primary.index)]
        # The primary's own required lease missing fails the run: publish no node IP
        # then (only a link-local fallback is left, which the kubelet must not take as
        # the node's address; found by tests/reliability/test_faults_dhcp.py).
        primary_failed = any(job.ifname == primary.name and job.required
                             and isinstance(results.get(job.key), NetlinkError) for job in jobs)
        if addresses and not primary_failed:
            ip = choose_primary_address([ipaddress.ip_address(a) for a in addresses],
                                        primary.name)
            report.current_ip = str(ip)
            host.makedirs(paths.STATE_DIR, mode=0o700)
            if host.write_file(paths.CURRENT_IP, str(ip)):
                report.written.append(host.did("write", paths.CURRENT_IP))
        now = time.monotonic()
        for _d, lease in got:
            family = 4 if isinstance(lease, Lease4) else 6
            report.lease_to_configured_ms[f"{lease.interface}/dhcp{family}"] = (
                now - lease.bound_at) * 1000
    finally:
        if netlink is None:
            nl.close()
    if failed:
        raise NetlinkError("; ".join(str(e) for e in failed))
    _LOG.info("applied network configuration", source=config.source,
              leases=len(report.leases))
    return report
