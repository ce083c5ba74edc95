"""The primary interface's sysctls (Bottlerocket's `write_interface_sysctl`).

Loose reverse-path filtering (`rp_filter = 2`) so replies on a secondary interface are
not dropped, and networkd rather than the kernel handling router advertisements. The
file is written once (an admin may edit it afterwards) and applied once per boot,
marked by a file in the runtime directory. Applying writes `/proc/sys/...` through
the Host instead of running `systemd-sysctl`, so a root prefix keeps it off this
machine; a leading `-` means a missing key is skipped, as systemd-sysctl does.
"""

from __future__ import annotations

from kindling.host import Host
from netdog import paths

__all__ = ["apply_primary_sysctls", "render_primary_sysctls", "write_primary_sysctls"]

_IPV6_KEYS = ("accept_ra", "accept_ra_defrtr", "accept_ra_pinfo", "accept_ra_rtr_pref",
              "accept_ra_mtu")


def render_primary_sysctls(ifname: str) -> str:
    lines = [f"-net.ipv4.conf.{ifname}.rp_filter = 2"]
    lines += [f"-net.ipv6.conf.{ifname}.{k} = 0" for k in _IPV6_KEYS]
    return "".join(line + "\n" for line in lines)


def write_primary_sysctls(host: Host, ifname: str) -> list[str]:
    """Write the sysctl.d file unless it exists already."""
    if host.exists(paths.PRIMARY_SYSCTL_CONF):
        return []
    host.write_file(paths.PRIMARY_SYSCTL_CONF, render_primary_sysctls(ifname))
    return [host.did("write", paths.PRIMARY_SYSCTL_CONF)]


def apply_primary_sysctls(host: Host) -> list[str]:
    """Apply the sysctl.d file once per boot; returns the keys set."""
    if host.exists(paths.SYSCTL_MARKER):
        return []
    text = host.read_optional(paths.PRIMARY_SYSCTL_CONF) or ""
    done = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        optional = line.startswith("-")
        key, _, value = line.lstrip("-").partition("=")
        key = key.strip()
        proc = "/proc/sys/" + key.replace(".", "/")
        if optional and not host.exists(proc):
            continue
        host.write_in_place(proc, value.strip() + "\n")
        done.append(key)
    host.write_file(paths.SYSCTL_MARKER, "")
    return done
