"""`ntp.time-servers` and `ntp.options` → the node's NTP client (Bottlerocket's chrony
template, DESIGN §10).

Where chrony is installed under the root (its `chrony.conf` or `chronyd`), a conf.d
drop-in `/etc/chrony/conf.d/90-kindling.conf` gets one `server <host> <options>` line
per server (options default to `iburst`, as upstream); otherwise systemd-timesyncd's
`/etc/systemd/timesyncd.conf.d/90-kindling.conf` gets `NTP=` (timesyncd has no
per-server options, so `ntp.options` is reported as unused there). The daemon is
reloaded only when its file changed. The drop-in adds servers beside the
distribution's own `pool` line rather than editing the distribution's file.

Servers are URLs in the model (`pool.ntp.org`, `ntp://time.example`); the host part is
what the daemons take. A server or option with a blank or anything outside
`[A-Za-z0-9._:-]` is refused naming the key, before anything is written.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from kindling.dotted import format_key
from kindling.errors import SettingsError
from kindling.host import Host
from kindling.unit_restart import restart_units

__all__ = ["CHRONY_DROPIN", "TIMESYNCD_DROPIN", "apply_ntp", "chrony_installed", "ntp_servers", "render_chrony",
           "render_timesyncd"]

CHRONY_DROPIN = "/etc/chrony/conf.d/90-kindling.conf"
TIMESYNCD_DROPIN = "/etc/systemd/timesyncd.conf.d/90-kindling.conf"
_CHRONY_MARKERS = ("/etc/chrony/chrony.conf", "/etc/chrony.conf", "/usr/sbin/chronyd", "/sbin/chronyd")
_TOKEN = r"[A-Za-z0-9._:-]+"
_HEADER = "# Written by Kindling from settings.ntp; edit the settings, not this file.\n"


def _key(*segments: str) -> str:
    return format_key(("settings", "ntp", *segments))


def ntp_servers(settings: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(server hosts, option tokens), checked; raises `SettingsError` naming the key."""
    ntp = settings.get("ntp") or {}
    servers: list[str] = []
    for index, raw in enumerate(ntp.get("time-servers") or []):
        text = str(raw)
        try:
            host = urlsplit(text if "://" in text else "ntp://" + text).hostname or ""
        except ValueError:
            host = ""
        if not host or any(c.isspace() for c in text) or not re.fullmatch(_TOKEN, host):
            raise SettingsError(_key("time-servers", str(index)), "not a usable NTP server (a host name or address)")
        servers.append(host)
    options: list[str] = []
    for index, raw in enumerate(ntp.get("options") or []):
        words = str(raw).split()
        if not words or not all(re.fullmatch(_TOKEN, w) for w in words):
            raise SettingsError(_key("options", str(index)), "not a valid chrony source option")
        options += words
    return servers, options


def chrony_installed(host: Host) -> bool:
    return any(host.exists(p) for p in _CHRONY_MARKERS)


def render_chrony(servers: list[str], options: list[str]) -> str:
    opts = " ".join(options or ["iburst"])
    return _HEADER + "".join(f"server {s} {opts}\n" for s in servers)


def render_timesyncd(servers: list[str]) -> str:
    return _HEADER + "[Time]\nNTP=" + " ".join(servers) + "\n"


def apply_ntp(host: Host, settings: dict[str, Any]) -> list[str]:
    servers, options = ntp_servers(settings)
    chrony = chrony_installed(host)
    path, unit = (CHRONY_DROPIN, "chronyd.service") if chrony else (TIMESYNCD_DROPIN, "systemd-timesyncd.service")
    done: list[str] = []
    if not servers:
        if host.remove(path):
            done += [f"removed {path}", *restart_units(host, [unit])]
        return done
    text = render_chrony(servers, options) if chrony else render_timesyncd(servers)
    if host.write_file(path, text):
        done += [f"wrote {path}", *restart_units(host, [unit])]
    if options and not chrony:
        done.append("ntp.options not used: systemd-timesyncd takes no per-server options")
    return done
