"""Modeled value types, as Bottlerocket's `modeled-types` (DESIGN §6).

Each checker takes a decoded value (from TOML or JSON) and returns the normalised
value or raises `Invalid(rule)`. The rule text names the rule broken and never the
value: settings carry credentials. The schema walker adds the dotted key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "Check",
    "Described",
    "Invalid",
    "base64_text",
    "boolean",
    "bootconfig_key",
    "bootconfig_value",
    "crashkernel",
    "described",
    "description",
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


class Described:
    """What `settings describe` and docs/settings.md say of a type: the rule a value
    must follow, in words, and a value that follows it (checked by the docs test)."""

    __slots__ = ("example", "rule")

    def __init__(self, rule: str, example: Any) -> None:
        self.rule = rule
        self.example = example


# checker -> its description; filled beside each checker, read only by the reference docs
_DESCRIBED: dict[Check, Described] = {}


_C = TypeVar("_C", bound=Check)


def described(rule: str, example: Any) -> Callable[[_C], _C]:
    """Record a checker's rule and example (a decorator; the checker is returned as is,
    so checking costs nothing more)."""

    def record(check: _C) -> _C:
        _DESCRIBED[check] = Described(rule, example)
        return check

    return record


def description(check: Check) -> Described | None:
    return _DESCRIBED.get(check)


def _positive(rule: str) -> str:
    """A refusal (`not a valid kernel module name`) as the rule it enforces."""
    return rule[4:] if rule.startswith("not ") else rule


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

# The patterns here are strings, compiled on first use (re caches them) as `pattern()`'s
# are: a boot compiles only those of the settings it has (~1 ms for all of them, DESIGN §8).
_LINE_BREAKS = "[\n\r\x0b\x0c\x85\u2028\u2029]"
_CONTROL = "[\x00-\x08\x0e-\x1f\x7f-\x9f]"


@described("any text without control characters (tabs and newlines allowed)", "Welcome to node-1!")
def text(value: Any) -> str:
    """Any string without NUL, other C0 controls, DEL and C1 controls (U+0080-U+009F:
    `\\x9b` is a terminal's CSI, as ESC [ is); tabs and newlines allowed."""
    s = _string(value)
    if not s.isprintable() and re.search(_CONTROL, s):  # every control is unprintable: most values skip re
        raise Invalid("contains control characters")
    return s


@described("one line of text, without control characters", "example")
def single_line(value: Any) -> str:
    """Bottlerocket's SingleLineString: no line terminators of any kind."""
    s = text(value)
    if not s.isprintable() and re.search(_LINE_BREAKS, s):  # as are all line breaks
        raise Invalid("must be a single line")
    return s


@described("true or false", True)
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

    return described(f"an integer from {lo} to {hi}", lo if lo > 0 else min(hi, 1))(check)


def enum(*choices: str) -> Check:
    def check(value: Any) -> str:
        s = _string(value)
        if s not in choices:
            raise Invalid("must be one of " + ", ".join(choices))
        return s

    return described("one of " + ", ".join(choices), choices[0])(check)


def pattern(regex: str, rule: str, *, max_len: int | None = None, example: str = "example") -> Check:
    """A string matching `regex` in full; `rule` is the human description (a refusal:
    `not a valid …`), `example` one that matches, for the reference docs.

    Compiled on first use (re caches it): building the model at import then costs
    nothing for the many patterns a given boot never checks (DESIGN §8).
    """

    def check(value: Any) -> str:
        s = _string(value)
        if (max_len is not None and len(s) > max_len) or not re.fullmatch(regex, s):
            raise Invalid(rule)
        return s

    return described(_positive(rule), example)(check)


_HOSTNAME = r"[0-9a-z.-]{1,253}"


@described("a Linux hostname: lowercase letters, digits, '-' and '.', labels of 1-63 characters, at most 253",
           "node-1.example.com")
def hostname(value: Any) -> str:
    """ValidLinuxHostname: `^[0-9a-z.-]{1,253}$`, labels 1-63, no leading `-` or `.`."""
    s = _string(value)
    if not re.fullmatch(_HOSTNAME, s) or s[0] in "-.":
        raise Invalid("not a valid Linux hostname")
    labels = s[:-1].split(".") if s.endswith(".") else s.split(".")
    for label in labels:
        if not 1 <= len(label) <= 63 or label.startswith("-"):
            raise Invalid("not a valid Linux hostname")
    return s


@described("a Linux hostname of at most 64 bytes, without a trailing dot", "node-1")
def kernel_hostname(value: Any) -> str:
    """A name the kernel takes as its hostname: a Linux hostname of at most 64 bytes
    (`__NEW_UTS_LEN`), without a trailing dot (`uname -n` would show it)."""
    s = hostname(value)
    if len(s.encode()) > 64:
        raise Invalid("not a valid kernel hostname: longer than 64 bytes")
    if s.endswith("."):
        raise Invalid("not a valid kernel hostname: ends with '.'")
    return s


_NO_PROXY = r"\*|\.?(\*\.)?[A-Za-z0-9_.-]{1,253}(:[0-9]{1,5})?|[0-9A-Fa-f.:\[\]]{2,45}(/[0-9]{1,3})?"


@described("a host or domain (.example.com, *.example.com) with an optional port, an IP address or CIDR, or *",
           ".example.com")
def no_proxy_entry(value: Any) -> str:
    """One `NO_PROXY` entry: `*`, a host or domain (`.example.com`, `*.example.com`),
    with an optional port, or an IP address or CIDR. Entries land unquoted in
    `/etc/network/proxy.env`, which shells and EnvironmentFile= read: no blanks, no
    `$`, quotes or `,` (the separator) ever."""
    s = single_line(value)
    if not re.fullmatch(_NO_PROXY, s):
        raise Invalid("not a valid no-proxy entry (a host, domain, IP address or CIDR)")
    return s


_SYSCTL_SEGMENT = r"[A-Za-z0-9_*:@+-]+"


@described("a sysctl name: dot-separated segments of letters, digits and _*:@+-, at most 255 characters",
           "vm.swappiness")
def sysctl_key(value: Any) -> str:
    """A sysctl name, `.`-separated segments of `[A-Za-z0-9_*:@+-]`, ≤ 255 characters.

    The key becomes a path below `/proc/sys` (dots as `/`): `/`, blanks, empty
    segments and `..` are refused, so no key steps out of it. The slash form of
    sysctl(8) is not accepted: one spelling, one path. Used by the model and by the
    sysctl applier before it writes (`kindling/kernel/sysctl.py`).
    """
    s = _string(value)
    if len(s) > 255 or not all(re.fullmatch(_SYSCTL_SEGMENT, p) for p in s.split(".")):
        raise Invalid("not a valid sysctl key (dot-separated names; no '/', blanks, empty segments or '..')")
    return s


_DOMAIN_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"


@described("a DNS domain: dot-separated labels of letters, digits and inner hyphens, at most 253", "example.com")
def dns_domain(value: Any) -> str:
    """DNSDomain: dot-separated labels of letters, digits and inner hyphens, ≤ 253."""
    s = _string(value)
    if not s or len(s) > 253 or not all(re.fullmatch(_DOMAIN_LABEL, p) for p in s.split(".")):
        raise Invalid("not a valid DNS domain")
    return s


_SCOPE_ID = r"[A-Za-z0-9_.:-]{1,15}"  # an interface name (IFNAMSIZ - 1) or index


@described("an IPv4 or IPv6 address", "10.0.0.2")
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
    if sep and not re.fullmatch(_SCOPE_ID, zone):
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


@described("a URL, or a host[:port] read as http://", "https://proxy.example.com:3128")
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


@described("base64 (standard alphabet, padded)", "aGVsbG8=")
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


_BOOT_WORD = r"[A-Za-z0-9_-]+"


@described("a bootconfig key: words of letters, digits, '_' and '-' joined by '.', under 256 bytes", "console")
def bootconfig_key(value: Any) -> str:
    """BootConfigKey: words of `[A-Za-z0-9_-]` joined by `.`, shorter than 256 bytes."""
    s = _string(value)
    if not s or len(s.encode()) >= 256 or not all(re.fullmatch(_BOOT_WORD, w) for w in s.split(".")):
        raise Invalid("not a valid bootconfig key")
    return s


@described("printable ASCII on one line, without double quotes", "ttyS0,115200n8")
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
_CRASH = (
    rf"(?:{_SIZE}(?:@{_SIZE})?|{_SIZE}-(?:{_SIZE})?:{_SIZE}(?:,{_SIZE}-(?:{_SIZE})?:{_SIZE})*"
    rf"(?:@{_SIZE})?)(?:,(?:high|low))?"
)


@described("a crashkernel= value: 256M, 256M@16M or ranges such as 1G-4G:192M,4G-:256M", "256M")
def crashkernel(value: Any) -> str:
    """A `crashkernel=` value: `256M`, `256M@16M`, or ranges `1G-4G:192M,4G-:256M`."""
    s = _string(value)
    if not re.fullmatch(_CRASH, s):
        raise Invalid("not a valid crashkernel value (e.g. 256M or 1G-4G:192M,4G-:256M)")
    return s


@described("a list of [address, [hostname, ...]] entries", [["10.0.0.10", ["db.internal"]]])
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


@described("a Kubernetes label key: an optional DNS-subdomain prefix and /, then a name of at most 63",
           "example.com/team")
def k8s_label_key(value: Any) -> str:
    """Kubernetes label key: optional DNS-subdomain prefix and `/`, then a name ≤ 63."""
    s = _string(value)
    prefix, sep, name = s.rpartition("/")
    if sep and (len(prefix) > 253 or not all(re.fullmatch(_DOMAIN_LABEL, p) for p in prefix.split("."))):
        raise Invalid("not a valid Kubernetes label key")
    if not re.fullmatch(_LABEL_NAME, name):
        raise Invalid("not a valid Kubernetes label key")
    return s


@described("a Kubernetes label value (empty, or a name of at most 63 characters)", "web")
def k8s_label_value(value: Any) -> str:
    s = _string(value)
    if s and not re.fullmatch(_LABEL_NAME, s):
        raise Invalid("not a valid Kubernetes label value")
    return s


@described("a Kubernetes taint: value:NoSchedule, value:PreferNoSchedule or value:NoExecute", "gpu:NoSchedule")
def k8s_taint_value(value: Any) -> str:
    """`value:Effect` (value may be empty), Effect one of the three Kubernetes effects."""
    s = _string(value)
    val, sep, effect = s.rpartition(":")
    if not sep or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
        raise Invalid("not a valid Kubernetes taint (value:NoSchedule|PreferNoSchedule|NoExecute)")
    if val and not re.fullmatch(_LABEL_NAME, val):
        raise Invalid("not a valid Kubernetes taint value")
    return s
