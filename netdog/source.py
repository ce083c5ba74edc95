"""Which network configuration applies: `/etc/kindling/net.toml`, else
`/var/lib/kindling/net.toml`, else the kernel cmdline (DESIGN §3; Bottlerocket's
`fetch_net_config`). The first file that exists wins even when it is invalid: a bad
override must fail loudly, not fall back silently to something else."""

from __future__ import annotations

from kindling.host import Host
from netdog import paths
from netdog.model import NetConfig
from netdog.parse import parse_cmdline, parse_net_toml

__all__ = ["load_net_config", "net_toml_path"]

_TOML_LIMIT = 1 << 20  # also the limit of `netdog validate` (netdog.cli)


def net_toml_path(host: Host) -> str | None:
    """The net.toml in effect (the override first), or None when neither exists."""
    for path in (paths.NET_TOML_OVERRIDE, paths.NET_TOML):
        if host.exists(path):
            return path
    return None


def load_net_config(host: Host) -> NetConfig | None:
    """The validated configuration, or None when nothing configures an interface."""
    path = net_toml_path(host)
    if path is not None:
        return parse_net_toml(host.read_text(path, limit=_TOML_LIMIT), path)
    cmdline = host.read_optional(paths.KERNEL_CMDLINE)
    if cmdline is None:
        return None
    return parse_cmdline(cmdline, paths.KERNEL_CMDLINE)
