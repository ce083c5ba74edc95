"""`write-primary-interface-status`, `node-ip`: the primary interface's address
(Bottlerocket's `cli/write_network_status.rs`, `networkd_status.rs`, `cli/node_ip.rs`).

The address comes from netlink (pyroute2, the current or the Host's namespace) — no
networkctl needed, so it works with the direct backend too — or from a
`networkctl status --json` capture (upstream's only source). Rule kept: the first
IPv4 address, else the first address. Deliberate deviation: link-local addresses
(169.254/16, fe80::/10) are passed over while a routable one exists, since
`current_ip` feeds the kubelet's node IP and the hostname; and the recorded primary
name is used as written (upstream lowercased it, but Linux names are case-sensitive).
"""



from __future__ import annotations

from kindling import jsonio
from kindling.errors import HostError, InputError
from kindling.host import Host
from netdog import paths
from netdog.errors import NetlinkError
from netdog.sysctl import apply_primary_sysctls, write_primary_sysctls

# netdog.model (its regexes, ~0.7 ms) loads only to parse a MAC; ipaddress (with the
# functools it imports, ~1 ms) only where an answer is parsed or checked: a later
# boot's write-network-status reads the address over netlink (netdog/addresses.py)
TYPE_CHECKING = False
if TYPE_CHECKING:  # (collections.abc too: importing it imports the collections package, ~0.8 ms)
    from collections.abc import Callable
    from typing import Protocol, TypeAlias

    from netdog.addresses import LinkAddress
    from netdog.model import IpAddr

    class Address(Protocol):
        """What choosing the primary address reads: `ipaddress`'s objects, `LinkAddress`."""

        @property
        def version(self) -> int: ...

        @property
        def is_link_local(self) -> bool: ...

    AddressReader: TypeAlias = Callable[[str], "list[IpAddr] | list[LinkAddress]"]


__all__ = [
    "choose_primary_address",
    "netlink_addresses",
    "node_ip",
    "parse_networkctl_json",
    "primary_interface_name",
    "write_primary_interface_status",
]



def primary_interface_name(host: Host) -> str:
    """The primary's name: its state file, else the link whose MAC is recorded."""
    name = host.read_optional(paths.PRIMARY_INTERFACE)
    if name is not None and name.strip():
        return name.strip()
    mac_text = host.read_optional(paths.PRIMARY_MAC_ADDRESS)
    if mac_text is None:
        raise HostError(
            f"{paths.PRIMARY_INTERFACE}: no primary interface recorded "
            "(run 'kindling netdog generate-net-config' first)"
        )
    try:
        from netdog.model import MacAddress

        mac = MacAddress.parse(mac_text.strip())
    except ValueError as exc:
        raise InputError(str(exc), source=paths.PRIMARY_MAC_ADDRESS) from None
    for link in host.listdir("/sys/class/net"):
        address = host.read_optional(f"/sys/class/net/{link}/address")
        if address is not None and address.strip().lower() == mac.value:
            return link
    raise HostError(f"{paths.PRIMARY_MAC_ADDRESS}: no interface has the recorded MAC address")


def parse_networkctl_json(text: str, source: str = "networkctl") -> list[IpAddr]:
    """`Addresses[].Address` byte arrays (4 or 16 long) of `networkctl status --json`."""
    import ipaddress

    try:
        doc = jsonio.loads(text)
        entries = doc.get("Addresses") or []
        out: list[IpAddr] = []
        for i, entry in enumerate(entries):
            raw = bytes(entry["Address"])
            if len(raw) not in (4, 16):
                raise InputError(f"Addresses[{i}].Address: must be 4 or 16 octets", source=source)
            out.append(ipaddress.ip_address(raw))
        return out
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InputError(f"not networkctl status JSON ({type(exc).__name__})",
                         source=source) from None


def choose_primary_address(addresses: list[IpAddr] | list[LinkAddress] | list[Address],
                           ifname: str) -> Address:
    routable = [a for a in addresses if not a.is_link_local] or addresses
    for a in routable:
        if a.version == 4:
            return a
    if not routable:
        raise HostError(f"interface {ifname}: has no IP address")
    return routable[0]


def netlink_addresses(ifname: str, netns: str | None = None) -> list[IpAddr] | list[LinkAddress]:
    """The link's addresses in kernel order (IPv4 first), over netlink.

    In the current namespace a stdlib rtnetlink dump answers (no pyroute2 import on
    the boot path); another namespace needs pyroute2's setns handling.
    """
    if not netns:
        from netdog.addresses import link_addresses

        return link_addresses(ifname)
    import ipaddress

    from pyroute2 import IPRoute

    with IPRoute(netns=netns) if netns else IPRoute() as ipr:
        idx = ipr.link_lookup(ifname=ifname)
        if not idx:
            raise NetlinkError(f"interface {ifname}: no such link")
        out: list[IpAddr] = []
        for msg in ipr.get_addr(index=idx[0]):
            value = msg.get("IFA_LOCAL") or msg.get("IFA_ADDRESS")
            if value:
                out.append(ipaddress.ip_address(value))
        return out


def write_primary_interface_status(host: Host, read_addresses: AddressReader) -> list[str]:
    """current_ip, the primary sysctls, and the resolv.conf link for consumers."""
    ifname = primary_interface_name(host)
    ip = choose_primary_address(read_addresses(ifname), ifname)
    done = []
    host.makedirs(paths.STATE_DIR, mode=0o700)
    if host.write_file(paths.CURRENT_IP, str(ip)):
        done.append(host.did("write", paths.CURRENT_IP))
    done += write_primary_sysctls(host, ifname)
    keys = apply_primary_sysctls(host)
    if keys:
        done.append(host.did("apply", f"{len(keys)} sysctls"))
    if host.symlink(paths.RESOLVED_RESOLV_CONF, paths.RESOLV_CONF_LINK):
        done.append(host.did("link", paths.RESOLV_CONF_LINK))
    return done


def node_ip(host: Host) -> str:
    """The recorded current IP, checked to be an IP address."""
    text = host.read_optional(paths.CURRENT_IP)
    if text is None:
        raise HostError(f"{paths.CURRENT_IP}: missing (no primary address recorded yet)")
    import ipaddress

    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise InputError("not an IP address", source=paths.CURRENT_IP) from None
