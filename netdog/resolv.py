"""DNS: `write-resolv-conf` for networkd, and `/etc/resolv.conf` for the direct backend
(Bottlerocket's `dns.rs`, `cli/write_resolv_conf.rs`; settings `dns.name-servers`,
`dns.search-list`, DESIGN §6).

networkd: each configured interface gets `10-<name>.network.d/10-dns.conf`. Only the
primary may take DNS from DHCP/RA, and only for what the settings leave unset
(`UseDNS = no name-servers set`, `UseDomains = no search-list set`,
`DNSDefaultRoute = UseDNS`); every other interface gets `false` throughout. The
global `/etc/systemd/resolved.conf.d/10-resolv.conf` carries the settings.

Deliberate deviation: upstream sorts then *shuffles* the name servers on every run;
Kindling keeps the order the user gave (duplicates dropped), so output is
reproducible and a second run changes nothing (DESIGN §7 idempotence). The
conformance tests accept either order, as upstream's do.
"""

from __future__ import annotations

from typing import Any

from kindling.errors import InputError
from kindling.host import Host
from kindling.nesting import TomlError, loads_toml
from kindling.record import record
from netdog import paths
from netdog.model import InterfaceId, NetConfig, parse_ip
from netdog.source import load_net_config

__all__ = [
    "DnsSettings",
    "apply_dns",
    "dns_from_settings",
    "parse_dns_toml",
    "render_interface_dropin",
    "render_resolv_conf",
    "render_resolved_dropin",
    "write_networkd_dns",
]


@record(frozen=True)
class DnsSettings:
    """None means "not set" (DHCP may fill it); an empty tuple is set-but-empty."""

    name_servers: tuple[str, ...] | None = None
    search: tuple[str, ...] | None = None


def _dedup(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def dns_from_settings(tree: dict[str, Any], source: str = "settings") -> DnsSettings:
    """From the live settings tree (no outer `settings` key), already validated."""
    dns = tree.get("dns") or {}
    servers = dns.get("name-servers")
    search = dns.get("search-list")
    for i, s in enumerate(servers or []):
        try:
            parse_ip(str(s))
        except ValueError:
            raise InputError(f"settings.dns.name-servers[{i}]: not an IP address",
                             source=source) from None
    return DnsSettings(
        name_servers=None if servers is None else _dedup([str(parse_ip(s)) for s in servers]),
        search=None if search is None else _dedup([str(s) for s in search]),
    )


def parse_dns_toml(text: str, source: str) -> DnsSettings:
    """Bottlerocket's `/etc/netdog.toml` (empty file: nothing set)."""
    if not text.strip():
        return DnsSettings()
    try:
        doc = loads_toml(text, source=source)
    except TomlError as exc:
        raise InputError(f"not valid TOML: {exc}", source=source) from None
    return dns_from_settings({"dns": doc}, source)


def _b(v: bool) -> str:
    return "true" if v else "false"


def render_interface_dropin(dns: DnsSettings, is_primary: bool) -> str:
    use_dns = is_primary and dns.name_servers is None
    use_domains = is_primary and dns.search is None
    lines = ["[Network]", f"DNSDefaultRoute={_b(use_dns)}"]
    for section in ("DHCPv4", "DHCPv6", "IPv6AcceptRA"):
        lines += [f"[{section}]", f"UseDNS={_b(use_dns)}", f"UseDomains={_b(use_domains)}"]
    return "".join(line + "\n" for line in lines)


def render_resolved_dropin(dns: DnsSettings) -> str:
    out = "[Resolve]\n"
    if dns.name_servers:
        out += "DNS=" + " ".join(dns.name_servers) + "\n"
    if dns.search:
        out += "Domains=" + " ".join(dns.search) + "\n"
    return out


def render_resolv_conf(search: tuple[str, ...] | None, servers: tuple[str, ...] | None) -> str:
    out = ""
    if search:
        out += "search " + " ".join(search) + "\n"
    for s in servers or ():
        out += f"nameserver {s}\n"
    return out


def _dropin_path(ident: InterfaceId) -> str:
    from netdog.render_networkd import NETWORKD_DIR, network_file_stem  # not for `apply`'s resolv.conf

    return f"{NETWORKD_DIR}/10-{network_file_stem(ident)}.network.d/10-dns.conf"


def write_networkd_dns(
    host: Host, dns: DnsSettings, config: NetConfig | None, *, reload: bool
) -> list[str]:
    """Drop-ins for every configured interface and resolved; then reload both daemons.

    The primary is matched by its configured id, so a MAC-keyed primary gets its DHCP
    DNS too (upstream compared the MAC with the resolved name and never matched)."""
    files: dict[str, str] = {}
    if config is not None:
        for ident in config.ids():
            files[_dropin_path(ident)] = render_interface_dropin(dns, ident == config.primary)
    files[paths.RESOLVED_DROPIN] = render_resolved_dropin(dns)
    done = [host.did("write", p) for p, text in files.items() if host.write_file(p, text)]
    if done and reload:
        for unit in ("systemd-networkd", "systemd-resolved"):
            host.run(["systemctl", "try-reload-or-restart", "--no-block", unit])
        done.append(host.did("reload", "systemd-networkd, systemd-resolved"))
    return done


def apply_dns(host: Host, settings: dict[str, Any]) -> list[str]:
    """The `dns` applier (Bottlerocket runs `netdog write-resolv-conf` when `settings.dns`
    changes). Daemons are reloaded only where systemd runs (`/run/systemd/system`)."""
    dns = dns_from_settings(settings)
    reload = host.exists("/run/systemd/system")
    return write_networkd_dns(host, dns, load_net_config(host), reload=reload)
