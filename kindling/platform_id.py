"""Which platform is this node on? Positive identity only (DESIGN §7, issue 3).

Order: kernel argument `kindling.platform=aws|vmware|metal`, then DMI under
`/sys/class/dmi/id/` (EC2: `sys_vendor` "Amazon EC2", or `product_uuid` starting
`ec2` in either byte order, as Xen-era instances show; VMware: `sys_vendor` or
`product_name` naming VMware), else metal. Never a probe of 169.254.169.254: a
network answer proves nothing (something answers there on these very machines).
"""

from __future__ import annotations

from kindling.errors import UsageError
from kindling.host import Host

__all__ = ["PLATFORMS", "detect_platform", "resolve_platform"]

PLATFORMS = ("aws", "vmware", "metal")


def _dmi(host: Host, name: str) -> str:
    try:
        return (host.read_optional(f"/sys/class/dmi/id/{name}") or "").strip()
    except Exception:
        return ""


def _uuid_is_ec2(uuid: str) -> bool:
    u = uuid.lower()
    if u.startswith("ec2"):
        return True
    # Little-endian rendering of the first field: "ec2" lands as "xx2ec..." bytes swapped.
    first = u.split("-", 1)[0]
    if len(first) == 8:
        swapped = "".join(reversed([first[i : i + 2] for i in range(0, 8, 2)]))
        return swapped.startswith("ec2")
    return False


def detect_platform(host: Host) -> str:
    """The platform from the kernel command line or DMI; metal when nothing says."""
    cmdline = host.read_optional("/proc/cmdline") or ""
    for token in cmdline.split():
        if token.startswith("kindling.platform="):
            value = token.split("=", 1)[1]
            if value in PLATFORMS:
                return value
            raise UsageError(f"/proc/cmdline: kindling.platform must be one of {', '.join(PLATFORMS)}")
    vendor = _dmi(host, "sys_vendor")
    product = _dmi(host, "product_name")
    if vendor == "Amazon EC2" or _uuid_is_ec2(_dmi(host, "product_uuid")):
        return "aws"
    if "vmware" in vendor.lower() or "vmware" in product.lower():
        return "vmware"
    return "metal"


def resolve_platform(host: Host, requested: str | None) -> str:
    """`--platform` wins; `auto` or nothing means detect."""
    if requested and requested != "auto":
        if requested not in PLATFORMS:
            raise UsageError(f"--platform must be one of auto, {', '.join(PLATFORMS)}")
        return requested
    return detect_platform(host)
