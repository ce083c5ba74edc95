"""First-boot markers that know which machine wrote them (DESIGN §3: `/var/lib/kindling/<service>.ran`).

A service that runs once per node (early-boot-config, cfsignal, warm-pool-wait) writes
a marker when it is done, and skips while the marker exists. An image captured from a
booted node carries those markers along, and every clone would then skip its first
boot: Bottlerocket's cloning trap (bottlerocket-os/bottlerocket#4586). So each marker
records the identity of the machine that wrote it, and a marker written by another
machine counts as absent — with a warning that says so.

The identity must be known before the network is up and must differ between clones:
the DMI product UUID (unique per VM and per EC2 instance; `/sys/class/dmi/id/product_uuid`),
else `/etc/machine-id` (copied by a careless image build, but better than nothing).
A marker without an identity (written before this existed) is trusted as it is.

`kindling clean --first-boot` removes the markers (and the pending launch transaction)
so an image can be captured deliberately without them.
"""

from __future__ import annotations

from kindling import jsonio, log
from kindling.errors import HostError
from kindling.host import Host

TYPE_CHECKING = False  # typing costs ~3 ms to import: annotations only
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "MARKER_DIR",
    "instance_identity",
    "marker_done",
    "marker_identity",
    "marker_state",
    "markers",
    "write_marker",
]

MARKER_DIR = "/var/lib/kindling"
_DMI_UUID = "/sys/class/dmi/id/product_uuid"
_MACHINE_ID = "/etc/machine-id"


def instance_identity(host: Host) -> str | None:
    """`dmi:<uuid>` or `machine-id:<id>` of this machine; None when neither is readable."""
    for prefix, path in (("dmi", _DMI_UUID), ("machine-id", _MACHINE_ID)):
        try:
            text = (host.read_optional(path) or "").strip().lower()
        except HostError:  # an unreadable identity is no identity: never fail a boot for it
            text = ""
        if text and text.strip("0-") and len(text) <= 128:
            return f"{prefix}:{text}"
    return None


def marker_identity(text: str) -> str | None:
    """The identity recorded in a marker's text: JSON `instance`, or an `instance=` line."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            body = jsonio.loads(stripped)
        except ValueError:  # jsonio: any refusal, too deep included
            return None
        value = body.get("instance") if isinstance(body, dict) else None
        return value if isinstance(value, str) else None
    for line in stripped.splitlines():
        if line.startswith("instance="):
            return line.partition("=")[2].strip() or None
    return None


def marker_state(host: Host, path: str) -> tuple[str, str]:
    """("absent"|"done"|"foreign", detail) for the marker at `path`."""
    text = host.read_optional(path)
    if text is None:
        return "absent", f"{path} does not exist"
    written_by = marker_identity(text)
    here = instance_identity(host)
    if written_by and here and written_by != here:
        return "foreign", (f"{path} was written by another machine ({written_by}, this is {here}): "
                           "treated as absent (an image cloned from a booted node)")
    return "done", f"{path} exists"


def marker_done(host: Host, path: str, component: str) -> bool:
    """True when this machine's marker exists; a foreign marker is logged and ignored."""
    state, detail = marker_state(host, path)
    if state == "foreign":
        log.get(component).warning(detail)
    return state == "done"


def write_marker(host: Host, path: str, body: str | dict[str, Any]) -> None:
    """Write a marker with this machine's identity (JSON key or `instance=` line), after
    a barrier: within a `kindling boot` the marked work's writes are made durable first."""
    ident = instance_identity(host)
    if isinstance(body, dict):
        text = jsonio.dumps({**body, **({"instance": ident} if ident else {})}, indent=1) + "\n"
    else:
        text = body if body.endswith("\n") else body + "\n"
        if ident:
            text += f"instance={ident}\n"
    host.barrier()  # what the marked run did is on disk before the marker that says it is done
    host.makedirs(MARKER_DIR, mode=0o700)
    with host.synced_now():
        host.write_file(path, text, mode=0o644)


def markers(host: Host) -> list[str]:
    """Every first-boot marker present under the root, as absolute paths."""
    return [f"{MARKER_DIR}/{name}" for name in host.listdir(MARKER_DIR) if name.endswith(".ran")]
