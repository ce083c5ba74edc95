"""`pki.<bundle>.{data,trusted}` → the distribution's CA trust store (Bottlerocket's
certdog, DESIGN §10).

Each bundle's data (base64 of one or more PEM certificates) is checked block by block
(`kindling.settings.pem`) before any file is written. A trusted bundle's certificates
become one file each:

    Debian  /usr/local/share/ca-certificates/kindling/<bundle>-<n>.crt, then update-ca-certificates
    RHEL    /etc/pki/ca-trust/source/anchors/kindling-<bundle>-<n>.pem, then update-ca-trust

`trusted = false` (Bottlerocket's default when unset) takes the bundle's certificates
out of trust: Kindling's anchor files for it are removed, and on RHEL each certificate
is also put in `/etc/pki/ca-trust/source/blocklist/` so even a copy shipped by the
distribution stops being trusted. Files of bundles no longer in the settings are
removed. The store is rebuilt only when a file changed; the rebuild program is
started, not waited for (`start_pki`), so the boot's other appliers run while it
works (kindling/appliers.py `overlaps`) and its outcome is collected after them.

Under a root prefix, update-ca-certificates runs with its directory options aimed at
the prefix (it never touches this machine's store); update-ca-trust has no such
options, so there it is not run and the report says so.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from kindling.appliers import Pending
from kindling.dotted import format_key
from kindling.errors import SettingsError
from kindling.host import Host, Started

__all__ = [
    "DEBIAN_DIR",
    "RHEL_ANCHORS",
    "RHEL_BLOCKLIST",
    "apply_pki",
    "bundle_certificates",
    "start_pki",
    "store_layout",
]

DEBIAN_DIR = "/usr/local/share/ca-certificates/kindling"
RHEL_ANCHORS = "/etc/pki/ca-trust/source/anchors"
RHEL_BLOCKLIST = "/etc/pki/ca-trust/source/blocklist"
_BUNDLE = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"


def _key(*segments: str) -> str:
    return format_key(("settings", "pki", *segments))


def _pem(der: bytes) -> str:
    body = base64.b64encode(der).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def bundle_certificates(name: str, data: Any) -> list[str]:
    """The bundle's certificates, each as normalised PEM; `SettingsError` names the key."""
    import binascii

    from kindling.settings.pem import pem_certificates
    from kindling.settings.types import Invalid

    if not re.fullmatch(_BUNDLE, name):
        raise SettingsError(_key(name), "not a valid bundle name")
    if not data:
        return []
    try:
        text = base64.b64decode(str(data).encode("ascii"), validate=True).decode("ascii")
        return [_pem(der) for der in pem_certificates(text)]
    except (binascii.Error, UnicodeError):
        raise SettingsError(_key(name, "data"), "not base64 of a PEM certificate bundle") from None
    except Invalid as exc:
        raise SettingsError(_key(name, "data"), exc.rule) from None


def store_layout(host: Host) -> str | None:
    """"debian", "rhel", or None when the root has neither trust store."""
    if any(host.exists(p) for p in ("/etc/ca-certificates.conf", "/usr/share/ca-certificates",
                                    "/usr/sbin/update-ca-certificates")):
        return "debian"
    if any(host.exists(p) for p in ("/etc/pki/ca-trust", "/usr/bin/update-ca-trust")):
        return "rhel"
    return None


def _wanted(settings: dict[str, Any], layout: str) -> dict[str, str]:
    """Every file Kindling should own, path → PEM, for this layout."""
    files: dict[str, str] = {}
    for name, entry in sorted((settings.get("pki") or {}).items()):
        certs = bundle_certificates(name, (entry or {}).get("data"))
        trusted = (entry or {}).get("trusted") is True
        for n, pem in enumerate(certs):
            if layout == "debian" and trusted:
                files[f"{DEBIAN_DIR}/{name}-{n}.crt"] = pem
            elif layout == "rhel":
                files[f"{RHEL_ANCHORS if trusted else RHEL_BLOCKLIST}/kindling-{name}-{n}.pem"] = pem
    return files


def _owned(host: Host, layout: str) -> list[str]:
    if layout == "debian":
        return [f"{DEBIAN_DIR}/{f}" for f in host.listdir(DEBIAN_DIR) if f.endswith(".crt")]
    return [f"{d}/{f}" for d in (RHEL_ANCHORS, RHEL_BLOCKLIST) for f in host.listdir(d)
            if f.startswith("kindling-") and f.endswith(".pem")]


def _rebuild(host: Host, layout: str) -> tuple[str, Started] | str:
    """The program that rebuilds the store, started, with its line; or why none runs."""
    if layout == "rhel":
        if host.prefixed:
            return "update-ca-trust not run: it has no root option (run it inside the root)"
        return "ran update-ca-trust", host.start(["update-ca-trust", "extract"], timeout=120)
    argv = ["update-ca-certificates"]
    if host.prefixed:
        r = host.path
        argv += ["--certsconf", str(r("/etc/ca-certificates.conf")),
                 "--certsdir", str(r("/usr/share/ca-certificates")),
                 "--localcertsdir", str(r("/usr/local/share/ca-certificates")),
                 "--etccertsdir", str(r("/etc/ssl/certs")),
                 "--hooksdir", str(r("/etc/ca-certificates/update.d"))]
        host.makedirs("/etc/ssl/certs")
    return "ran update-ca-certificates", host.start(argv, timeout=120)


def start_pki(host: Host, settings: dict[str, Any]) -> list[str] | Pending:
    """Write the trust anchors; a changed store's rebuild is left running (`Pending`)."""
    if not settings.get("pki") and not any(_owned(host, lay) for lay in ("debian", "rhel")):
        return []
    layout = store_layout(host)
    if layout is None:
        if settings.get("pki"):
            raise SettingsError("settings.pki", "no CA trust store under this root "
                                "(neither Debian's ca-certificates nor RHEL's ca-trust)")
        return []
    wanted = _wanted(settings, layout)  # every bundle checked before a file is touched
    done: list[str] = []
    for path in _owned(host, layout):
        if path not in wanted and host.remove(path):
            done.append(f"removed {path}")
    for path, pem in wanted.items():
        if host.write_file(path, pem, mode=0o644):
            done.append(f"wrote {path}")
    if not done:
        return done
    rebuild = _rebuild(host, layout)
    if isinstance(rebuild, str):
        return [*done, rebuild]
    line, started = rebuild

    def finish() -> list[str]:
        started.wait()
        return [line]

    return Pending(done, finish, line.removeprefix("ran "))


def apply_pki(host: Host, settings: dict[str, Any]) -> list[str]:
    """`start_pki`, waited for: everything it did once the store is rebuilt."""
    result = start_pki(host, settings)
    return result.wait() if isinstance(result, Pending) else result
