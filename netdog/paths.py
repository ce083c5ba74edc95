"""Where netdog reads and writes, all under the Host's root prefix (DESIGN §3).

Bottlerocket's names are kept where Kindling's layout has no reason to differ
(`/etc/sysctl.d/90-primary_interface.conf`, `/etc/systemd/resolved.conf.d/10-resolv.conf`);
state moves from `/var/lib/netdog` to `/var/lib/kindling/netdog` and the runtime
directory from `/run/netdog` to `/run/kindling/netdog`.
"""

from __future__ import annotations

__all__ = [
    "CURRENT_IP",
    "KERNEL_CMDLINE",
    "KERNEL_HOSTNAME",
    "LEASE_DIR",
    "NET_TOML",
    "NET_TOML_OVERRIDE",
    "PRIMARY_INTERFACE",
    "PRIMARY_MAC_ADDRESS",
    "PRIMARY_SYSCTL_CONF",
    "PROXY_ENV",
    "RESOLVED_DROPIN",
    "RESOLVED_RESOLV_CONF",
    "RESOLV_CONF",
    "RESOLV_CONF_LINK",
    "RUN_DIR",
    "STATE_DIR",
    "SYSCTL_MARKER",
]

NET_TOML_OVERRIDE = "/etc/kindling/net.toml"
NET_TOML = "/var/lib/kindling/net.toml"
KERNEL_CMDLINE = "/proc/cmdline"
KERNEL_HOSTNAME = "/proc/sys/kernel/hostname"

STATE_DIR = "/var/lib/kindling/netdog"
PRIMARY_INTERFACE = f"{STATE_DIR}/primary_interface"
PRIMARY_MAC_ADDRESS = f"{STATE_DIR}/primary_mac_address"
CURRENT_IP = f"{STATE_DIR}/current_ip"
LEASE_DIR = f"{STATE_DIR}/leases"

RUN_DIR = "/run/kindling/netdog"
SYSCTL_MARKER = f"{RUN_DIR}/primary_sysctls_set"
RESOLV_CONF_LINK = f"{RUN_DIR}/resolv.conf"
RESOLVED_RESOLV_CONF = "/run/systemd/resolve/resolv.conf"

PRIMARY_SYSCTL_CONF = "/etc/sysctl.d/90-primary_interface.conf"
RESOLVED_DROPIN = "/etc/systemd/resolved.conf.d/10-resolv.conf"
RESOLV_CONF = "/etc/resolv.conf"
PROXY_ENV = "/etc/network/proxy.env"
