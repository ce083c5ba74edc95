"""Modeled value types, as Bottlerocket's `modeled-types` (DESIGN §6).

Each checker takes a decoded value (from TOML or JSON) and returns the normalised
value or raises `Invalid(rule)`. The rule text names the rule broken and never the
value: settings carry credentials. The schema walker adds the dotted key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = [
    "Check",
    "Invalid",
    "base64_text",
    "boolean",
    "bootconfig_key",
    "bootconfig_value",
    "crashkernel",
    "dns_domain",
    "enum",
    "etc_hosts_entries",
    "hostname",
    "integer",
    "ip_address",
    "k8s_label_key",
    "k8s_label_value",
    "k8s_taint_value",
    "kernel_hostname",
    "no_proxy_entry",
    "pattern",
    "single_line",
    "sysctl_key",
    "text",
    "url",
]

Check = Callable[[Any], Any]


class Invalid(ValueError):
    """A value breaks `rule`; carries no part of the value."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        super().__init__(rule)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f"expected a string, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    if value is None:
        return "null"
    return type(value).__name__


kind_of = _kind

_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x85\u2028\u2029]")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def text(value: Any) -> str:
    """Any string without NUL, other C0 controls, DEL and C1 controls (U+0080-U+009F:
    `\\x9b` is a terminal's CSI, as ESC [ is); tabs and newlines allowed."""
    s = _string(value)
    if _CONTROL.search(s):
        raise Invalid("contains control characters")
    return s


def single_line(value: Any) -> str:
    """Bottlerocket's SingleLineString: no line terminators of any kind."""
    s = text(value)
    if _LINE_BREAKS.search(s):
        raise Invalid("must be a single line")
    return s


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"expected a boolean, got {_kind(value)}")
    return value


def integer(lo: int, hi: int) -> Check:
    """An integer in [lo, hi] (booleans are not integers here)."""

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"expected an integer, got {_kind(value)}")
        if not lo <= value <= hi:
            raise Invalid(f"must be between {lo} and {hi}")
        return value

    return check


def enum(*choices: str) -> Check:
    def check(value: Any) -> str:
        s = _string(value)
        if s not in choices:
            raise Invalid("must be one of " + ", ".join(choices))
        return s

    return check


def pattern(regex: str, rule: str, *, max_len: int | None = None) -> Check:
    """A string matching `regex` in full; `rule` is the human description.

    Compiled on first use (re caches it): building the model at import then costs
    nothing for the many patterns a given boot never checks (DESIGN §8).
    """

    def check(value: Any) -> str:
        s = _string(value)
        if (max_len is not None and len(s) > max_len) or not re.fullmatch(regex, s):
            raise Invalid(rule)
        return s

    return check


_HOSTNAME = re.compile(r"[0-9a-z.-]{1,253}")


def hostname(value: Any) -> str:
    """ValidLinuxHostname: `^[0-9a-z.-]{1,253}$`, labels 1-63, no leading `-` or `.`."""
    s = _string(value)
    if not _HOSTNAME.fullmatch(s) or s[0] in "-.":
        raise Invalid("not a valid Linux hostname")
    labels = s[:-1].split(".") if s.endswith(".") else s.split(".")
    for label in labels:
        if not 1 <= len(label) <= 63 or label.startswith("-"):
            raise Invalid("not a valid Linux hostname")
    return s


def kernel_hostname(value: Any) -> str:
    """A name the kernel takes as its hostname: a Linux hostname of at most 64 bytes
    (`__NEW_UTS_LEN`), without a trailing dot (`uname -n` would show it)."""
    s = hostname(value)
    if len(s.encode()) > 64:
        raise Invalid("not a valid kernel hostname: longer than 64 bytes")
    if s.endswith("."):
        raise Invalid("not a valid kernel hostname: ends with '.'")
    return s


_NO_PROXY = re.compile(r"\*|\.?(\*\.)?[A-Za-z0-9_.-]{1,253}(:[0-9]{1,5})?|[0-9A-Fa-f.:\[\]]{2,45}(/[0-9]{1,3})?")


def no_proxy_entry(value: Any) -> str:
    """One `NO_PROXY` entry: `*`, a host or domain (`.example.com`, `*.example.com`),
    with an optional port, or an IP address or CIDR. Entries land unquoted in
    `/etc/network/proxy.env`, which shells and EnvironmentFile= read: no blanks, no
    `$`, quotes or `,` (the separator) ever."""
    s = single_line(value)
    if not _NO_PROXY.fullmatch(s):
        raise Invalid("not a valid no-proxy entry (a host, domain, IP address or CIDR)")
    return s


_SYSCTL_SEGMENT = re.compile(r"[A-Za-z0-9_*:@+-]+")


def sysctl_key(value: Any) -> str:
    """A sysctl name, `.`-separated segments of `[A-Za-z0-9_*:@+-]`, ≤ 255 characters.

    The key becomes a path below `/proc/sys` (dots as `/`): `/`, blanks, empty
    segments and `..` are refused, so no key steps out of it. The slash form of
    sysctl(8) is not accepted: one spelling, one path. Used by the model and by the
    sysctl applier before it writes (`kindling/kernel/sysctl.py`).
    """
    s = _string(value)
    if len(s) > 255 or not all(_SYSCTL_SEGMENT.fullmatch(p) for p in s.split(".")):
        raise Invalid("not a valid sysctl key (dot-separated names; no '/', blanks, empty segments or '..')")
    return s


_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def dns_domain(value: Any) -> str:
    """DNSDomain: dot-separated labels of letters, digits and inner hyphens, ≤ 253."""
    s = _string(value)
    if not s or len(s) > 253 or not all(_DOMAIN_LABEL.fullmatch(p) for p in s.split(".")):
        raise Invalid("not a valid DNS domain")
    return s


_SCOPE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,15}")  # an interface name (IFNAMSIZ - 1) or index


def ip_address(value: Any) -> str:
    """An IPv4 or IPv6 address; an IPv6 zone (`fe80::1%eth0`) must be an interface
    name or index: `ipaddress` takes any text after `%`, and a newline there would
    be committed and break every later resolv.conf / networkd file."""
    import ipaddress

    s = _string(value)
    try:
        ipaddress.ip_address(s)
    except ValueError:
        raise Invalid("not a valid IP address") from None
    _, sep, zone = s.partition("%")
    if sep and not _SCOPE_ID.fullmatch(zone):
        raise Invalid("not a valid IP address: the scope id must be an interface name or index")
    return s


def _valid_host(host: str) -> bool:
    import ipaddress

    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return True
    if not host or len(host) > 253:
        return False
    try:
        ipaddress.IPv4Address(host)
        return True
    except ValueError:
        pass
    return all(re.fullmatch(r"[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?", p) for p in host.split("."))


def _parses_as_url(s: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(s)
        port = parts.port
    except ValueError:
        return False
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme or ""):
        return False
    if port is not None and not 0 < port < 65536:
        return False
    netloc = parts.netloc.rsplit("@", 1)[-1]
    host = netloc
    if netloc.startswith("["):
        host = netloc[: netloc.find("]") + 1]
    elif ":" in netloc:
        host = netloc.rsplit(":", 1)[0]
    return _valid_host(host)


def url(value: Any) -> str:
    """Bottlerocket's Url: parses as a URL, or does after prefixing `http://`."""
    s = single_line(value)
    if not s or any(c.isspace() for c in s):
        raise Invalid("not a valid URL")
    # Stricter than Bottlerocket in one edge: with an explicit scheme the text must
    # parse as given ("http://" alone would otherwise pass as host "http").
    if "://" in s:
        if _parses_as_url(s):
            return s
    elif _parses_as_url("http://" + s):
        return s
    raise Invalid("not a valid URL")


def base64_text(value: Any) -> str:
    """ValidBase64: standard alphabet, padded; decodes cleanly."""
    import base64
    import binascii

    s = _string(value)
    try:
        base64.b64decode(s.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise Invalid("not valid base64") from None
    return s


_BOOT_WORD = re.compile(r"[A-Za-z0-9_-]+")


def bootconfig_key(value: Any) -> str:
    """BootConfigKey: words of `[A-Za-z0-9_-]` joined by `.`, shorter than 256 bytes."""
    s = _string(value)
    if not s or len(s.encode()) >= 256 or not all(_BOOT_WORD.fullmatch(w) for w in s.split(".")):
        raise Invalid("not a valid bootconfig key")
    return s


def bootconfig_value(value: Any) -> str:
    """BootConfigValue: printable ASCII, one line, and no `"`.

    Bottlerocket allows one kind of quote. Stricter here: these values become kernel
    and init command-line words, the kernel wraps a value holding blanks in `"` when it
    builds the command line (`xbc_snprint_cmdline`), and its parser has no escape for
    `"` — a quote in a value would end it early and let user data add parameters.
    """
    s = single_line(value)
    if not s.isascii():
        raise Invalid("not a valid bootconfig value: not ASCII")
    if '"' in s:
        raise Invalid("not a valid bootconfig value: holds '\"', which the kernel command line cannot carry")
    if not s.isprintable():
        raise Invalid("not a valid bootconfig value: not printable")
    return s


_SIZE = r"[0-9]+[KMGT]?"
_CRASH = re.compile(
    rf"(?:{_SIZE}(?:@{_SIZE})?|{_SIZE}-(?:{_SIZE})?:{_SIZE}(?:,{_SIZE}-(?:{_SIZE})?:{_SIZE})*"
    rf"(?:@{_SIZE})?)(?:,(?:high|low))?"
)


def crashkernel(value: Any) -> str:
    """A `crashkernel=` value: `256M`, `256M@16M`, or ranges `1G-4G:192M,4G-:256M`."""
    s = _string(value)
    if not _CRASH.fullmatch(s):
        raise Invalid("not a valid crashkernel value (e.g. 256M or 1G-4G:192M,4G-:256M)")
    return s


def etc_hosts_entries(value: Any) -> list[list[Any]]:
    """EtcHostsEntries: `[[ip, [hostname, …]], …]`, order kept."""
    if not isinstance(value, list):
        raise Invalid(f"expected a list of [address, [names]] entries, got {_kind(value)}")
    out: list[list[Any]] = []
    for index, entry in enumerate(value):
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], list)):
            raise Invalid(f"entry {index}: expected [address, [names]]")
        try:
            address = ip_address(entry[0])
            names = [hostname(n) for n in entry[1]]
        except Invalid as exc:
            raise Invalid(f"entry {index}: {exc.rule}") from None
        out.append([address, names])
    return out


_LABEL_NAME = r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?"
_LABEL_NAME_RE = re.compile(_LABEL_NAME)


def k8s_label_key(value: Any) -> str:
    """Kubernetes label key: optional DNS-subdomain prefix and `/`, then a name ≤ 63."""
    s = _string(value)
    prefix, sep, name = s.rpartition("/")
    if sep and (len(prefix) > 253 or not all(_DOMAIN_LABEL.fullmatch(p) for p in prefix.split("."))):
        raise Invalid("not a valid Kubernetes label key")
    if not _LABEL_NAME_RE.fullmatch(name):
        raise Invalid("not a valid Kubernetes label key")
    return s


def k8s_label_value(value: Any) -> str:
    s = _string(value)
    if s and not _LABEL_NAME_RE.fullmatch(s):
        raise Invalid("not a valid Kubernetes label value")
    return s


def k8s_taint_value(value: Any) -> str:
    """`value:Effect` (value may be empty), Effect one of the three Kubernetes effects."""
    s = _string(value)
    val, sep, effect = s.rpartition(":")
    if not sep or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
        raise Invalid("not a valid Kubernetes taint (value:NoSchedule|PreferNoSchedule|NoExecute)")
    if val and not _LABEL_NAME_RE.fullmatch(val):
        raise Invalid("not a valid Kubernetes taint value")
    return s
