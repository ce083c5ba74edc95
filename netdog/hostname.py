"""`generate-hostname` and `set-hostname` (Bottlerocket's dogtag and `cli/set_hostname.rs`).

Sources in order, first valid answer wins: IMDS `local-hostname` (AWS only), reverse
DNS of `current_ip` with a short retry (3 tries, Fibonacci from 50 ms, as dogtag's
`10-reverse-dns`), then the IP itself with `:` → `-`. Answers are lowercased and one
trailing dot is trimmed; an answer that is not a valid Linux hostname (the hub's
`kindling.settings.types.hostname`, Bottlerocket's ValidLinuxHostname), or a source
that fails outright (IMDS unreachable within its retry budget), is passed over with a
warning instead of failing the boot — dogtag moves on to the next detector likewise.
Sources are injected functions, so tests run the real logic without a cloud or a
resolver.
"""

from __future__ import annotations

# The C module, not the `socket` wrapper (~1.2 ms of a first boot's imports, with
# `selectors`, for one lookup): gethostbyaddr and herror are the same objects (netdog/rtnl.py).
import _socket as socket
from collections.abc import Callable, Sequence
from typing import Any

from kindling import log
from kindling.errors import InputError, KindlingError, SettingsError
from kindling.host import Host
from kindling.retry import Retryable, RetryBudgetExceeded, RetryPolicy, retry
from kindling.settings import types
from netdog import paths

__all__ = [
    "ETC_HOSTNAME",
    "KERNEL_HOSTNAME_MAX",
    "HostnameSource",
    "apply_hostname_setting",
    "check_hostname_setting",
    "generate_hostname",
    "reverse_dns",
    "set_hostname",
    "usable_hostname",
]

ETC_HOSTNAME = "/etc/hostname"
KERNEL_HOSTNAME_MAX = 64  # HOST_NAME_MAX: the kernel refuses longer names (EINVAL)
_KEY = "settings.network.hostname"

HostnameSource = Callable[[], str | None]
_LOG = log.get("netdog")


def reverse_dns(host: Host, ip: str) -> str | None:
    """PTR name of `ip`, retried briefly (the resolver may not be up yet)."""
    host.network(f"look up the PTR name of {ip} (reverse DNS)")

    def lookup() -> str | None:
        try:
            return socket.gethostbyaddr(ip)[0]
        except socket.herror:
            raise Retryable("reverse dns: no answer") from None
        except OSError as exc:
            raise Retryable(f"reverse dns: {exc.strerror or exc}") from None

    try:
        return retry(lookup, clock=host.clock, what="reverse dns",
                     policy=RetryPolicy(first=0.05, cap=0.2, budget=0.3, jitter=0.1))
    except RetryBudgetExceeded:
        return None


def _clean(candidate: str) -> str:
    name = candidate.strip().lower()
    return name[:-1] if name.endswith(".") else name


def generate_hostname(ip: str, sources: Sequence[tuple[str, HostnameSource]]) -> tuple[str, str]:
    """(hostname, which source gave it); the IP-derived name is the last resort."""
    for label, source in sources:
        try:
            found = source()
        except KindlingError as exc:  # e.g. IMDS retry budget spent: try the next source
            _LOG.warning("hostname source failed", source=label, error=str(exc))
            continue
        if not found:
            continue
        name = _clean(found)
        try:
            return types.hostname(name), label
        except types.Invalid as exc:
            _LOG.warning("hostname source gave an invalid name", source=label, rule=exc.rule)
    return ip.replace(":", "-"), "ip"


def set_hostname(host: Host, name: str) -> bool:
    """Validate and write the kernel hostname; False when it already had that name."""
    try:
        types.kernel_hostname(name)
    except types.Invalid as exc:
        raise InputError(f"hostname: {exc.rule}", source="set-hostname") from None
    current = host.read_optional(paths.KERNEL_HOSTNAME)
    if current is not None and current.strip() == name:
        return False
    host.write_in_place(paths.KERNEL_HOSTNAME, name + "\n")
    return True


def usable_hostname(value: str) -> str:
    """The setting as the kernel takes it: one trailing dot trimmed, at most 64 bytes.

    Bottlerocket's model accepts names up to 253 characters, but sethostname(2) stops
    at 64 bytes: a longer name would be stored and never become the hostname, so it is
    refused by name instead (`SettingsError`)."""
    name = value[:-1] if value.endswith(".") else value
    try:
        types.hostname(name)
    except types.Invalid as exc:
        raise SettingsError(_KEY, exc.rule) from None
    if len(name.encode()) > KERNEL_HOSTNAME_MAX:
        raise SettingsError(_KEY, f"longer than the kernel's {KERNEL_HOSTNAME_MAX}-byte hostname limit")
    return name


def _setting(settings: dict[str, Any]) -> str | None:
    value = (settings.get("network") or {}).get("hostname")
    return usable_hostname(value) if isinstance(value, str) and value else None


def check_hostname_setting(host: Host, before: dict[str, Any], after: dict[str, Any]) -> None:
    """Commit check: a hostname the kernel cannot take is never stored."""
    _setting(after)


def apply_hostname_setting(host: Host, settings: dict[str, Any]) -> list[str]:
    """`network.hostname` → `/etc/hostname` and the kernel hostname (DESIGN §10).

    Under a root prefix without a `/proc/sys/kernel/hostname` (a tree that is not a
    running system), only the file is written, and the report says so."""
    name = _setting(settings)
    if name is None:
        return []
    done: list[str] = []
    if host.write_file(ETC_HOSTNAME, name + "\n"):
        done.append(f"wrote {ETC_HOSTNAME}")
    if not host.exists(paths.KERNEL_HOSTNAME):
        done.append(f"kernel hostname not set: no {paths.KERNEL_HOSTNAME} under this root")
    elif set_hostname(host, name):
        done.append(f"set kernel hostname {name}")
    return done
