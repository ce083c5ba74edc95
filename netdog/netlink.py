"""The netlink seam of the direct backend: a few link/address/route operations over
the stdlib rtnetlink socket of netdog/rtnl.py (pyroute2 for bonds, VLANs and another
namespace), in the Host's namespace (`Host.netns`) or the current one (DESIGN §2: netlink
in the current namespace is a documented exception to "everything through Host").

Two implementations, one surface, as `Host`/`RecordingHost`: `RealNetlink` acts and
notes each change in `host.actions`; `RecordingNetlink` (`--plan`) reads the real
links but only records the changes. `open_netlink(host)` picks by the Host it is given,
so the applier never asks whether it is planning. Every change is idempotent: an
address or link that already exists is left alone, routes are replaced.
pyroute2 is imported here only, inside the functions, and only when needed (DESIGN §8).
"""



from __future__ import annotations

import errno
import ipaddress
from typing import Any

from kindling.host import Host
from kindling.record import record
from netdog.errors import NetlinkError
from netdog.model import ArpMon, Bond, IpNet

__all__ = ["Link", "RealNetlink", "RecordingNetlink", "open_netlink"]

_ARP_VALIDATE = {"none": 0, "active": 1, "backup": 2, "all": 3}
_BOND_ACTIVE_BACKUP = 1


@record(frozen=True)
class Link:
    index: int
    name: str
    mac: str
    perm_mac: str | None
    kind: str | None
    master: int | None
    up: bool


def _link(msg: Any) -> Link:
    info = msg.get("IFLA_LINKINFO")
    kind = info.get("IFLA_INFO_KIND") if info else None
    perm = msg.get("IFLA_PERM_ADDRESS")
    return Link(
        index=msg["index"],
        name=msg.get("IFLA_IFNAME"),
        mac=(msg.get("IFLA_ADDRESS") or "").lower(),
        perm_mac=perm.lower() if isinstance(perm, str) and perm else None,
        kind=kind,
        master=msg.get("IFLA_MASTER"),
        up=bool(msg["flags"] & 1),
    )


class RealNetlink:
    """Acts on the kernel: links, addresses, routes, up and MTU over the stdlib rtnetlink
    socket of netdog/rtnl.py (current namespace); bonds, VLANs and another namespace
    (`Host.netns`) through pyroute2, imported only then."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self._ipr: Any = None
        self.rtnl: Any = None
        if host.netns:
            self._pyroute()
        else:
            from netdog.rtnl import Rtnl

            self.rtnl = Rtnl()

    def _pyroute(self) -> Any:
        if self._ipr is None:
            from pyroute2 import IPRoute

            self._ipr = IPRoute(netns=self.host.netns) if self.host.netns else IPRoute()
        return self._ipr

    @property
    def ipr(self) -> Any:
        return self._pyroute()

    def close(self) -> None:
        if self._ipr is not None:
            self._ipr.close()
        if self.rtnl is not None:
            self.rtnl.close()

    def _note(self, action: str) -> None:
        self.host.actions.append("netlink " + action)

    def _call(self, what: str, fn: Any, *args: Any, ok: tuple[int, ...] = (),
              read: bool = False, **kwargs: Any) -> Any:
        from pyroute2.netlink.exceptions import NetlinkError as PyNetlinkError

        try:
            return fn(*args, **kwargs)
        except PyNetlinkError as exc:
            if exc.code in ok:
                return None
            raise NetlinkError(f"{what}: {errno.errorcode.get(exc.code, exc.code)}") from None

    def _act(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        """A change over the stdlib socket (a plan overrides this to do nothing)."""
        fn(*args, **kwargs)

    # -- reads ------------------------------------------------------------------------
    def links(self) -> list[Link]:
        if self.rtnl is None:
            return [_link(m) for m in self._call("list links", self.ipr.get_links, read=True)]
        return [Link(*row) for row in self.rtnl.links()]

    def addresses(self, index: int) -> list[str]:
        if self.rtnl is None:
            out = []
            for m in self._call("list addresses", self.ipr.get_addr, read=True, index=index):
                ip = m.get("IFA_LOCAL") or m.get("IFA_ADDRESS")
                out.append(f"{ipaddress.ip_address(ip)}/{m['prefixlen']}")
            return out
        return [f"{ipaddress.ip_address(raw)}/{plen}" for raw, plen in self.rtnl.addresses(index)]

    # -- changes ------------------------------------------------------------------------
    def create_vlan(self, name: str, parent: int, vlan_id: int) -> None:
        self._note(f"add vlan {name} id {vlan_id}")
        self._call(f"interface {name}: add vlan", self.ipr.link, "add", ifname=name,
                   kind="vlan", link=parent, vlan_id=vlan_id)

    def create_bond(self, bond: Bond) -> None:
        attrs: dict[str, Any] = {"bond_mode": _BOND_ACTIVE_BACKUP}
        mon = bond.monitoring
        if isinstance(mon, ArpMon):
            attrs["bond_arp_interval"] = mon.interval_ms
            attrs["bond_arp_ip_target"] = [str(t) for t in mon.targets]
            attrs["bond_arp_validate"] = _ARP_VALIDATE[mon.validate]
            attrs["bond_arp_all_targets"] = 0
        else:
            attrs["bond_miimon"] = mon.frequency_ms
            attrs["bond_updelay"] = mon.updelay_ms
            attrs["bond_downdelay"] = mon.downdelay_ms
        if bond.min_links is not None:
            attrs["bond_min_links"] = bond.min_links
        self._note(f"add bond {bond.name} active-backup")
        self._call(f"interface {bond.name}: add bond", self.ipr.link, "add",
                   ifname=str(bond.name), kind="bond", **attrs)

    def enslave(self, index: int, name: str, master: int, bond: str) -> None:
        self._note(f"enslave {name} to {bond}")
        self._call(f"interface {name}: down", self.ipr.link, "set", index=index, state="down")
        self._call(f"interface {name}: enslave to {bond}", self.ipr.link, "set", index=index,
                   master=master)

    def set_bond_primary(self, bond_index: int, bond: str, worker_index: int) -> None:
        self._note(f"bond {bond} primary")
        self._call(f"interface {bond}: set primary", self.ipr.link, "set", index=bond_index,
                   kind="bond", bond_primary=worker_index)

    def set_up(self, index: int, name: str) -> None:
        self._note(f"up {name}")
        if self.rtnl is None:
            self._call(f"interface {name}: up", self.ipr.link, "set", index=index, state="up")
            return
        self._act(self.rtnl.set_link, f"interface {name}: up", index, up=True)

    def set_mtu(self, index: int, name: str, mtu: int) -> None:
        self._note(f"mtu {name} {mtu}")
        if self.rtnl is None:
            self._call(f"interface {name}: mtu", self.ipr.link, "set", index=index, mtu=mtu)
            return
        self._act(self.rtnl.set_link, f"interface {name}: mtu", index, mtu=mtu)

    def add_address(self, index: int, name: str, net: IpNet,
                    lifetimes: tuple[int, int] | None = None, *, noprefixroute: bool = False,
                    route_metric: int | None = None) -> None:
        """Add an address; with (preferred, valid) lifetimes, replace it so a renewal
        extends them. `route_metric`: the metric of the prefix route the kernel adds for
        it (networkd gives a DHCPv4 address's prefix route the lease's route metric)."""
        self._note(f"address {name} {net}")
        broadcast = None
        if net.version == 4 and net.network.prefixlen < 31:
            broadcast = net.network.broadcast_address
        command = "add" if lifetimes is None else "replace"
        if self.rtnl is None:
            kwargs: dict[str, Any] = {}
            if broadcast is not None:
                kwargs["broadcast"] = str(broadcast)
            if lifetimes is not None:
                kwargs["preferred_lft"], kwargs["valid_lft"] = lifetimes
            if noprefixroute:
                kwargs["flags"] = 0x200
            self._call(f"interface {name}: add address", self.ipr.addr, command, index=index,
                       address=str(net.ip), prefixlen=net.network.prefixlen, ok=(errno.EEXIST,),
                       **kwargs)
            return
        family = 10 if net.version == 6 else 2
        self._act(self.rtnl.address, f"interface {name}: add address", index, family, net.ip.packed,
                  net.network.prefixlen, command=command,
                  broadcast=broadcast.packed if broadcast is not None else None, lifetimes=lifetimes,
                  noprefixroute=noprefixroute, route_metric=route_metric, ok=(errno.EEXIST,))

    def remove_address(self, index: int, name: str, net: IpNet) -> None:
        self._note(f"remove address {name} {net}")
        if self.rtnl is None:
            self._call(f"interface {name}: remove address", self.ipr.addr, "del", index=index,
                       address=str(net.ip), prefixlen=net.network.prefixlen,
                       ok=(errno.EADDRNOTAVAIL, errno.ENODEV))
            return
        self._act(self.rtnl.address, f"interface {name}: remove address", index, 10 if net.version == 6 else 2,
                  net.ip.packed, net.network.prefixlen, command="del", ok=(errno.EADDRNOTAVAIL, errno.ENODEV))

    def replace_route(self, index: int, name: str, dst: str, *, gateway: str | None,
                      metric: int | None, prefsrc: str | None, protocol: str = "boot") -> None:
        """Replace a route; `protocol` as `ip route ... proto` (boot, static, dhcp)."""
        self._note(f"route {name} {dst}" + (f" via {gateway}" if gateway else ""))
        net = ipaddress.ip_network(dst, strict=False)
        proto = {"boot": 3, "static": 4, "dhcp": 16}[protocol]
        if self.rtnl is None:
            kwargs: dict[str, Any] = {"oif": index, "dst": str(net.network_address),
                                      "dst_len": net.prefixlen, "family": 10 if net.version == 6 else 2,
                                      "proto": proto}
            if gateway:
                kwargs["gateway"] = gateway
            if metric is not None:
                kwargs["priority"] = metric
            if prefsrc:
                kwargs["prefsrc"] = prefsrc
            if not gateway:
                kwargs["scope"] = 253
            self._call(f"interface {name}: route", self.ipr.route, "replace", **kwargs)
            return
        self._act(self.rtnl.replace_route, f"interface {name}: route", index, 10 if net.version == 6 else 2,
                  net.network_address.packed, net.prefixlen,
                  gateway=ipaddress.ip_address(gateway).packed if gateway else None, metric=metric,
                  prefsrc=ipaddress.ip_address(prefsrc).packed if prefsrc else None, protocol=proto)


class RecordingNetlink(RealNetlink):
    """`--plan`: reads the real links, records every change, changes nothing."""

    def __init__(self, host: Host) -> None:
        super().__init__(host)
        self._virtual: list[Link] = []

    def links(self) -> list[Link]:
        return super().links() + self._virtual

    def addresses(self, index: int) -> list[str]:
        return [] if index < 0 else super().addresses(index)

    def _add_virtual(self, name: str, kind: str) -> None:
        index = -1 - len(self._virtual)
        self._virtual.append(Link(index, name, "", None, kind, None, True))

    def create_vlan(self, name: str, parent: int, vlan_id: int) -> None:
        super().create_vlan(name, parent, vlan_id)
        self._add_virtual(name, "vlan")

    def create_bond(self, bond: Bond) -> None:
        super().create_bond(bond)
        self._add_virtual(str(bond.name), "bond")

    def _call(self, what: str, fn: Any, *args: Any, ok: tuple[int, ...] = (),
              read: bool = False, **kwargs: Any) -> Any:
        return super()._call(what, fn, *args, ok=ok, read=read, **kwargs) if read else None

    def _act(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        return None


def open_netlink(host: Host) -> RealNetlink:
    """The implementation matching the Host: recording under `--plan`, else real."""
    return RecordingNetlink(host) if host.recording else RealNetlink(host)
