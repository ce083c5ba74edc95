"""Platform identity (kindling/platform_id.py): kernel argument, then DMI, else metal."""

from __future__ import annotations

import pytest

from kindling.errors import UsageError
from kindling.host import Host
from kindling.platform_id import detect_platform, resolve_platform


def plant(host: Host, rel: str, text: str) -> None:
    path = host.path(rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(
    "files, expected",
    [
        ({}, "metal"),
        ({"/sys/class/dmi/id/sys_vendor": "Amazon EC2\n"}, "aws"),
        ({"/sys/class/dmi/id/product_uuid": "EC2E1916-9099-7CAF-FD21-012345678902\n"}, "aws"),
        ({"/sys/class/dmi/id/product_uuid": "2DE32AEC-1C38-4CCA-B1B6-0123456789AB\n"}, "aws"),
        ({"/sys/class/dmi/id/product_uuid": "4C4C4544-0042-3510-8052-B4C04F4E4C31\n"}, "metal"),
        ({"/sys/class/dmi/id/sys_vendor": "VMware, Inc.\n"}, "vmware"),
        ({"/sys/class/dmi/id/product_name": "VMware7,1\n"}, "vmware"),
        ({"/sys/class/dmi/id/sys_vendor": "Dell Inc.\n"}, "metal"),
        (
            {
                "/proc/cmdline": "BOOT_IMAGE=/vmlinuz kindling.platform=metal quiet\n",
                "/sys/class/dmi/id/sys_vendor": "Amazon EC2\n",
            },
            "metal",
        ),
        ({"/proc/cmdline": "console=ttyS0 kindling.platform=vmware\n"}, "vmware"),
    ],
)
def test_detect(host: Host, files: dict[str, str], expected: str) -> None:
    for rel, text in files.items():
        plant(host, rel, text)
    assert detect_platform(host) == expected


def test_bad_kernel_argument_is_an_error(host: Host) -> None:
    plant(host, "/proc/cmdline", "kindling.platform=azure\n")
    with pytest.raises(UsageError, match=r"/proc/cmdline: kindling.platform must be one of"):
        detect_platform(host)


def test_flag_overrides_detection(host: Host) -> None:
    plant(host, "/sys/class/dmi/id/sys_vendor", "Amazon EC2\n")
    assert resolve_platform(host, "vmware") == "vmware"
    assert resolve_platform(host, "auto") == "aws"
    assert resolve_platform(host, None) == "aws"
    with pytest.raises(UsageError):
        resolve_platform(host, "gcp")
