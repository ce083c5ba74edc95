"""The VMware CD-ROM provider on real ISO9660 images (xorriso and pycdlib built),
planted as `dev/sr0` under the root, and both Bottlerocket OVF fixtures."""

from __future__ import annotations

import base64
import gzip
import io
import shutil
import subprocess
from pathlib import Path

import pycdlib
import pytest

from early_boot.errors import ProviderError
from early_boot.runner import run_early_boot
from kindling.errors import InputError
from kindling.host import FakeClock, Host
from platforms.vmware.cdrom import read_cdrom
from platforms.vmware.ovf import ovf_user_data
from tests.early_boot_helpers import live, marker_exists, seed, state

FIXTURES = "bottlerocket/early-boot-config/vmware-cd-rom/test_data"
EXPECTED = b'settings.motd = "hello"'


def ovf(user_data: bytes | None, *, namespaced: bool = True) -> bytes:
    """An OVF environment as VMware writes it (oe: namespace)."""
    prop = ""
    if user_data is not None:
        value = base64.b64encode(user_data).decode()
        prop = (
            f'<Property oe:key="user-data" oe:value="{value}"/>'
            if namespaced
            else f'<Property key="user-data" value="{value}"/>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" '
        'xmlns:oe="http://schemas.dmtf.org/ovf/environment/1">\n'
        "<PlatformSection><Kind>VMware ESXi</Kind></PlatformSection>\n"
        f'<PropertySection><Property oe:key="hostname" oe:value="node1"/>{prop}'
        "</PropertySection>\n</Environment>\n"
    ).encode()


def xorriso_iso(out: Path, files: dict[str, bytes]) -> Path:
    """An ISO with Rock Ridge and Joliet, as `xorriso -as mkisofs -J -R` makes it."""
    if shutil.which("xorriso") is None:
        pytest.skip("xorriso not installed (apt package xorriso)")
    src = out.parent / (out.name + ".src")
    src.mkdir()
    for name, data in files.items():
        (src / name).write_bytes(data)
    subprocess.run(
        [
            "xorriso",
            "-as",
            "mkisofs",
            "-quiet",
            "-J",
            "-R",
            "-V",
            "OVFENV",
            "-o",
            str(out),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    return out


def pycdlib_iso(out: Path, files: dict[str, bytes], *, joliet: bool = False) -> Path:
    """A plain ISO9660 level-1 image (8.3 upper-case names), optionally with Joliet."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1, joliet=3 if joliet else None)
    for name, data in files.items():
        stem, _, ext = name.upper().replace("-", "_").partition(".")
        iso_name = f"/{stem[:8]}.{ext[:3]};1"
        kwargs = {"joliet_path": "/" + name} if joliet else {}
        iso.add_fp(io.BytesIO(data), len(data), iso_name, **kwargs)
    iso.write(str(out))
    iso.close()
    return out


def plant(host: Host, image: Path, device: str = "/dev/sr0") -> None:
    target = host.path(device)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(image, target)


@pytest.mark.parametrize("fixture", ["ovf-env.xml", "namespaced_keys.xml"])
def test_bottlerocket_ovf_fixtures(conformance: Path, fixture: str) -> None:
    doc = (conformance / FIXTURES / fixture).read_bytes()
    assert ovf_user_data(doc, source="t") == EXPECTED


@pytest.mark.parametrize("fixture", ["ovf-env.xml", "namespaced_keys.xml"])
def test_bottlerocket_fixtures_from_a_real_iso(host: Host, tmp_path: Path, conformance: Path, fixture: str) -> None:
    doc = (conformance / FIXTURES / fixture).read_bytes()
    plant(host, xorriso_iso(tmp_path / "env.iso", {"ovf-env.xml": doc}))
    found = read_cdrom(host)
    assert found is not None and found.settings == {"motd": "hello"}
    assert found.source == "CD-ROM /dev/sr0:ovf-env.xml property user-data"


NO_GUESTINFO = "#!/bin/sh\necho 'No value found' >&2\nexit 1\n"


def test_end_to_end_plain_iso9660_on_dev_cdrom(root: Path, tmp_path: Path) -> None:
    tool = tmp_path / "rpctool"
    tool.write_text(NO_GUESTINFO)
    tool.chmod(0o755)
    host = Host(root, clock=FakeClock(), env={"KINDLING_VMWARE_RPCTOOL": str(tool)})
    image = pycdlib_iso(
        tmp_path / "p.iso",
        {"ovf_env.xml": ovf(gzip.compress(b'[settings]\nmotd = "cd"\n[settings.network]\nhostname = "node-1"\n'))},
    )
    plant(host, image, "/dev/cdrom")
    report = run_early_boot(host, "vmware")
    assert live(host) == {"motd": "cd", "network": {"hostname": "node-1"}}
    cd = next(p for p in report.providers if p.name == "vmware-cd-rom")
    assert cd.source == "CD-ROM /dev/cdrom:ovf_env.xml property user-data" and cd.keys == 2
    assert marker_exists(host)


def test_joliet_only_user_data_file(host: Host, tmp_path: Path) -> None:
    plant(
        host,
        pycdlib_iso(
            tmp_path / "j.iso",
            {"user-data": gzip.compress(b'[settings]\nmotd = "j"\n')},
            joliet=True,
        ),
    )
    found = read_cdrom(host)
    assert found is not None and found.settings == {"motd": "j"}


def test_gzipped_ovf_file_and_no_user_data_property(host: Host, tmp_path: Path) -> None:
    plant(host, xorriso_iso(tmp_path / "g.iso", {"OVF-ENV.XML": gzip.compress(ovf(None))}))
    assert read_cdrom(host) is None


def test_disc_without_candidates_and_no_device(host: Host, tmp_path: Path) -> None:
    assert read_cdrom(host) is None
    plant(host, xorriso_iso(tmp_path / "n.iso", {"readme.txt": b"hello"}))
    assert read_cdrom(host) is None


def test_mounted_media_cdrom_fallback(host: Host, conformance: Path) -> None:
    mnt = host.path("/media/cdrom")
    mnt.mkdir(parents=True)
    shutil.copyfile(conformance / FIXTURES / "namespaced_keys.xml", mnt / "ovf-env.xml")
    found = read_cdrom(host)
    assert found is not None and found.settings == {"motd": "hello"}
    assert found.source == "/media/cdrom/ovf-env.xml property user-data"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Environment><PropertySection><Property key="user-data" value="&lol2;"/></PropertySection>
</Environment>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/shadow">]>
<Environment><PropertySection><Property key="user-data" value="&x;"/></PropertySection>
</Environment>"""
DTD_ONLY = b"""<?xml version="1.0"?>
<!DOCTYPE Environment SYSTEM "http://example.com/ovf.dtd">
<Environment/>"""

BAD_CD = [
    (
        "two CD-ROM files",
        {"user-data": b"[settings]\n", "ovf-env.xml": ovf(b"[settings]\n")},
        "found 2 user data files (user-data, ovf-env.xml), expected 1",
    ),
    (
        "OVF that is not XML",
        {"ovf-env.xml": b"<Environment><PropertySection>"},
        "not well-formed XML",
    ),
    ("OVF with entities", {"ovf-env.xml": BILLION_LAUGHS}, "refused"),
    ("OVF with an external entity", {"ovf-env.xml": EXTERNAL}, "refused"),
    ("OVF with a DTD", {"ovf-env.xml": DTD_ONLY}, "OVF uses a DTD: refused"),
    (
        "base64 that does not decode",
        {"ovf-env.xml": ovf(b"x").replace(b'oe:value="eA=="', b'oe:value="e$A=="')},
        "property user-data: not valid base64",
    ),
    (
        "gzip that does not decompress",
        {"ovf-env.xml": ovf(b"\x1f\x8b\x08junk")},
        "does not decompress",
    ),
    (
        "bomb",
        {"user-data": gzip.compress(b" " * (8 << 20))},
        "larger than 64 KiB after decompression",
    ),
    (
        "unknown key",
        {"ovf-env.xml": ovf(b"[settings.kernel]\nlockdwn = 'none'\n")},
        "settings.kernel.lockdwn: unknown key",
    ),
    ("missing settings", {"user-data": b'motd = "x"\n'}, "did not contain a 'settings' table"),
]


@pytest.mark.parametrize("case, files, rule", BAD_CD, ids=[c[0] for c in BAD_CD])
def test_bad_cdrom_commits_nothing(host: Host, tmp_path: Path, case: str, files: dict[str, bytes], rule: str) -> None:
    seed(host)
    plant(host, xorriso_iso(tmp_path / "bad.iso", files))
    before = state(host)
    with pytest.raises(ProviderError) as info:
        run_early_boot(host, "vmware")
    message = str(info.value)
    assert message.startswith("provider vmware-cd-rom (") and "/dev/sr0" in message, message
    assert rule in message
    assert state(host) == before and not marker_exists(host)


def test_device_that_is_not_iso9660(host: Host) -> None:
    host.path("/dev").mkdir()
    host.path("/dev/sr0").write_bytes(b"\0" * 70000)
    with pytest.raises(InputError, match=r"/dev/sr0: not an ISO9660 image"):
        read_cdrom(host)


def test_huge_ovf_is_refused_before_reading(host: Host, tmp_path: Path) -> None:
    big = b"<Environment>" + b" " * (2 << 20) + b"</Environment>"
    plant(host, xorriso_iso(tmp_path / "big.iso", {"ovf-env.xml": big}))
    with pytest.raises(InputError, match="larger than 1024 KiB"):
        read_cdrom(host)


def test_truncated_image_is_refused(host: Host, tmp_path: Path, conformance: Path) -> None:
    doc = (conformance / FIXTURES / "ovf-env.xml").read_bytes()
    image = xorriso_iso(tmp_path / "t.iso", {"ovf-env.xml": doc})
    plant(host, image)
    with open(host.path("/dev/sr0"), "r+b") as fh:
        fh.truncate(40000)
    with pytest.raises(InputError, match=r"/dev/sr0: (not an ISO9660 image|damaged|cannot read)"):
        read_cdrom(host)
