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

import socket
from collections.abc import Callable, Sequence

from kindling import log
from kindling.errors import InputError, KindlingError
from kindling.host import Host
from kindling.retry import Retryable, RetryBudgetExceeded, RetryPolicy, retry
from kindling.settings import types
from netdog import paths

__all__ = ["HostnameSource", "generate_hostname", "reverse_dns", "set_hostname"]

HostnameSource = Callable[[], str | None]
_LOG = log.get("netdog")


def reverse_dns(host: Host, ip: str) -> str | None:
    """PTR name of `ip`, retried briefly (the resolver may not be up yet)."""

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
