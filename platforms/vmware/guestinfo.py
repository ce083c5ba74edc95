"""VMware guestinfo user data (DESIGN §5), order 40, read through `vmware-rpctool`.

Bottlerocket talks to the VMware backdoor itself (an x86 I/O port, `iopl()`); here
the backdoor is open-vm-tools' `vmware-rpctool "info-get <key>"`, named by
`KINDLING_VMWARE_RPCTOOL` (tests use a stand-in script), run through `host.run`
with a timeout so a wedged tool fails the boot clearly instead of hanging it.

Keys: `guestinfo.userdata.encoding` then `guestinfo.userdata`. Encodings, with the
spellings Bottlerocket accepts: unset or `Raw`/`raw` = the text itself (a warning
for unset, as upstream); `base64`, `b64` (+ `Base64`, `B64`); `gzip+base64`,
`gz+b64` (+ `Gzip+Base64`, `Gz+B64`, `GzipBase64`). Base64 variants decode, then
gzip is sniffed as for every source. Anything else is an error naming the key.
A missing `guestinfo.userdata` ("No value found") is no user data.
"""

from __future__ import annotations

import base64
import binascii

from kindling import log
from kindling.errors import CommandError, InputError
from kindling.host import Host
from kindling.providers import UserDataProvider
from kindling.user_data import MAX_USER_DATA, UserData, parse_user_data

__all__ = [
    "DATA_KEY",
    "ENCODING_KEY",
    "GUESTINFO",
    "RPCTOOL_TIMEOUT",
    "decode_guestinfo",
    "read_guestinfo",
    "rpctool_get",
]

DATA_KEY = "guestinfo.userdata"
ENCODING_KEY = "guestinfo.userdata.encoding"
RPCTOOL_TIMEOUT = 10.0
_NO_VALUE = "No value found"
_RAW = frozenset({"Raw", "raw"})
_BASE64 = frozenset({"base64", "Base64", "b64", "B64"})
_GZIP_BASE64 = frozenset({"gzip+base64", "Gzip+Base64", "gz+b64", "Gz+B64", "GzipBase64"})
# base64 of gzip of 64 KiB is still well under this; beyond it is not user data.
_MAX_RAW = 4 * MAX_USER_DATA


def _timeout(host: Host) -> float:
    """`KINDLING_VMWARE_RPCTOOL_TIMEOUT` seconds, else 10 s (the backdoor answers in ms)."""
    raw = host.env.get("KINDLING_VMWARE_RPCTOOL_TIMEOUT", "").strip()
    try:
        value = float(raw) if raw else RPCTOOL_TIMEOUT
    except ValueError:
        raise InputError("not a number of seconds", source="KINDLING_VMWARE_RPCTOOL_TIMEOUT") from None
    return value if value > 0 else RPCTOOL_TIMEOUT


def rpctool_get(host: Host, key: str) -> str | None:
    """`info-get <key>` through the rpctool; None when the key has no value."""
    tool = host.env.get("KINDLING_VMWARE_RPCTOOL", "vmware-rpctool")
    timeout = _timeout(host)
    try:
        result = host.run([tool, f"info-get {key}"], timeout=timeout, check=False, read_only=True)
    except CommandError as exc:
        if exc.returncode is None:
            raise InputError(f"{tool} did not answer within {timeout:g}s", source=key) from exc
        hint = " (install open-vm-tools or set KINDLING_VMWARE_RPCTOOL)"
        raise InputError(f"cannot run {tool}: {exc.stderr.strip()[:200]}{hint}", source=key) from exc
    if result.returncode != 0:
        err = result.stderr.decode("utf-8", "replace").strip()
        if _NO_VALUE in err:
            return None
        detail = err.splitlines()[-1][:200] if err else "no message"
        raise InputError(f"{tool} exited {result.returncode}: {detail}", source=key)
    if len(result.stdout) > _MAX_RAW:
        raise InputError(f"value larger than {_MAX_RAW // 1024} KiB", source=key)
    try:
        value = result.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("value is not UTF-8 text", source=key) from None
    value = value[:-1] if value.endswith("\n") else value
    return value if value.strip() else None


def decode_guestinfo(value: str, encoding: str | None) -> bytes:
    """The user-data bytes of `value` under `encoding` (before the gzip sniff)."""
    if encoding is None or encoding in _RAW:
        return value.encode("utf-8")
    if encoding in _BASE64 or encoding in _GZIP_BASE64:
        try:
            return base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            raise InputError("not valid base64", source=DATA_KEY) from None
    accepted = ", ".join(sorted(_BASE64 | _GZIP_BASE64 | _RAW))
    raise InputError(f"unknown encoding (accepted: {accepted})", source=ENCODING_KEY)


def read_guestinfo(host: Host) -> UserData | None:
    """User data from guestinfo; None when `guestinfo.userdata` is not set."""
    encoding = rpctool_get(host, ENCODING_KEY)
    value = rpctool_get(host, DATA_KEY)
    if value is None:
        return None
    if encoding is None:
        log.get("vmware-guestinfo").warning(f"{ENCODING_KEY} not set, reading the value as raw")
    else:
        encoding = encoding.strip()
    return parse_user_data(decode_guestinfo(value, encoding), source=DATA_KEY)


GUESTINFO = UserDataProvider(
    name="vmware-guestinfo",
    order=40,
    read=read_guestinfo,
    platforms=("vmware",),
    description=DATA_KEY,
)
