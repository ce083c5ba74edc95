"""guestinfo through a stand-in vmware-rpctool script run by the real Host runner."""

from __future__ import annotations

import base64
import gzip
import json
import os
import stat
from pathlib import Path

import pytest

from early_boot.errors import ProviderError
from early_boot.runner import run_early_boot
from kindling.errors import InputError
from kindling.host import FakeClock, Host
from platforms.vmware.guestinfo import read_guestinfo
from tests.early_boot_helpers import live, marker_exists, seed, state

CONTRACT = "bottlerocket/early-boot-config/derived/provider_contract.json"
TOML = b'[settings]\nmotd = "from guestinfo"\n'

# Behaves as open-vm-tools' vmware-rpctool: the value on stdout, or "No value found"
# on stderr with exit 1; keys are files in $GUESTINFO_DIR.
RPCTOOL = """#!/bin/sh
case "$1" in "info-get "*) ;; *) echo "bad request" >&2; exit 2;; esac
key="${1#info-get }"
if [ -f "$GUESTINFO_DIR/$key" ]; then cat "$GUESTINFO_DIR/$key"; echo; exit 0; fi
echo "No value found" >&2
exit 1
"""


def _tool(tmp_path: Path, body: str) -> str:
    path = tmp_path / "vmware-rpctool"
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def guestinfo(tmp_path: Path) -> Path:
    d = tmp_path / "guestinfo"
    d.mkdir()
    return d


@pytest.fixture
def vm_host(root: Path, clock: FakeClock, tmp_path: Path, guestinfo: Path) -> Host:
    env = {
        "PATH": os.environ["PATH"],
        "KINDLING_VMWARE_RPCTOOL": _tool(tmp_path, RPCTOOL),
        "GUESTINFO_DIR": str(guestinfo),
    }
    return Host(root, clock=clock, env=env)


def put(guestinfo: Path, value: str | bytes, encoding: str | None = None) -> None:
    (guestinfo / "guestinfo.userdata").write_bytes(value.encode() if isinstance(value, str) else value)
    if encoding is not None:
        (guestinfo / "guestinfo.userdata.encoding").write_text(encoding)


def _encodings(conformance: Path) -> dict[str, list[str]]:
    values: dict[str, list[str]] = json.loads((conformance / CONTRACT).read_text())["guestinfo_encoding_values"]
    return values


def test_every_upstream_encoding_spelling(vm_host: Host, guestinfo: Path, conformance: Path) -> None:
    enc = _encodings(conformance)
    for spelling in enc["Base64"]:
        put(guestinfo, base64.b64encode(TOML).decode(), spelling)
        found = read_guestinfo(vm_host)
        assert found is not None and found.settings == {"motd": "from guestinfo"}, spelling
    for spelling in enc["GzipBase64"]:
        put(guestinfo, base64.b64encode(gzip.compress(TOML)).decode(), spelling)
        found = read_guestinfo(vm_host)
        assert found is not None and found.settings == {"motd": "from guestinfo"}, spelling
    for spelling in [*enc["Raw"], "raw"]:
        put(guestinfo, TOML.decode(), spelling)
        found = read_guestinfo(vm_host)
        assert found is not None and found.source == "guestinfo.userdata"


def test_unset_encoding_is_raw(vm_host: Host, guestinfo: Path) -> None:
    put(guestinfo, TOML.decode())
    found = read_guestinfo(vm_host)
    assert found is not None and found.settings == {"motd": "from guestinfo"}


def test_base64_with_line_breaks(vm_host: Host, guestinfo: Path) -> None:
    long = b'[settings]\nmotd = "' + b"x" * 300 + b'"\n'
    encoded = base64.encodebytes(long).decode()
    assert encoded.count("\n") > 3
    put(guestinfo, encoded, "base64")
    found = read_guestinfo(vm_host)
    assert found is not None and found.settings == {"motd": "x" * 300}


def test_missing_userdata_is_none(vm_host: Host, guestinfo: Path) -> None:
    assert read_guestinfo(vm_host) is None
    (guestinfo / "guestinfo.userdata.encoding").write_text("base64")
    assert read_guestinfo(vm_host) is None


BAD = [
    (
        "unknown encoding",
        "c2V0dGluZ3M=",
        "base32",
        "(guestinfo.userdata.encoding): unknown encoding",
    ),
    (
        "base64 that does not decode",
        "not*base64!",
        "base64",
        "(guestinfo.userdata): not valid base64",
    ),
    (
        "gzip that does not decompress",
        base64.b64encode(b"\x1f\x8bxx").decode(),
        "gz+b64",
        "(guestinfo.userdata): gzip data does not decompress",
    ),
    (
        "bomb",
        base64.b64encode(gzip.compress(b"#" * (1 << 21))).decode(),
        "gzip+base64",
        "larger than 64 KiB after decompression",
    ),
    ("invalid TOML", "settings: {motd: 1}", None, "(guestinfo.userdata): invalid TOML"),
    ("unknown key", '[settings]\nmotdd = "x"\n', "raw", "settings.motdd: unknown key"),
]


@pytest.mark.parametrize("case", BAD, ids=[b[0] for b in BAD])
def test_bad_guestinfo_commits_nothing(vm_host: Host, guestinfo: Path, case: tuple[str, str, str | None, str]) -> None:
    _, value, encoding, rule = case
    seed(vm_host)
    put(guestinfo, value, encoding)
    before = state(vm_host)
    with pytest.raises(ProviderError) as info:
        run_early_boot(vm_host, "vmware")
    assert str(info.value).startswith("provider vmware-guestinfo ("), str(info.value)
    assert rule in str(info.value)
    assert state(vm_host) == before and not marker_exists(vm_host)


@pytest.mark.parametrize(
    "body, rule",
    [
        (
            "#!/bin/sh\necho 'must be run inside a virtual machine' >&2\nexit 255\n",
            "exited 255: must be run inside a virtual machine",
        ),
        ("#!/bin/sh\nexec sleep 5\n", "did not answer within 0.3s"),
    ],
)
def test_rpctool_failures_are_clear(root: Path, tmp_path: Path, body: str, rule: str) -> None:
    host = Host(
        root,
        env={
            "PATH": os.environ["PATH"],
            "KINDLING_VMWARE_RPCTOOL": _tool(tmp_path, body),
            "KINDLING_VMWARE_RPCTOOL_TIMEOUT": "0.3",
        },
    )
    seed(host)
    before = state(host)
    with pytest.raises(ProviderError, match=rule):
        run_early_boot(host, "vmware")
    assert state(host) == before and not marker_exists(host)


def test_rpctool_missing(root: Path) -> None:
    host = Host(root, env={"PATH": "/nonexistent", "KINDLING_VMWARE_RPCTOOL": "vmware-rpctool-none"})
    with pytest.raises(InputError, match="cannot run vmware-rpctool-none"):
        read_guestinfo(host)


def test_guestinfo_wins_over_cdrom_and_defaults(vm_host: Host, guestinfo: Path) -> None:
    defaults = vm_host.path("/etc/kindling/user-data-defaults.toml")
    defaults.parent.mkdir(parents=True)
    defaults.write_text('[settings]\nmotd = "defaults"\n[settings.ntp]\ntime-servers = ["https://a.example"]\n')
    put(guestinfo, base64.b64encode(TOML).decode(), "base64")
    report = run_early_boot(vm_host, "vmware")
    assert live(vm_host) == {
        "motd": "from guestinfo",
        "ntp": {"time-servers": ["https://a.example"]},
    }
    assert [p.name for p in report.providers] == [
        "local-defaults",
        "local-user-data",
        "vmware-cd-rom",
        "vmware-guestinfo",
        "local-overrides",
    ]


def test_kindling_boot_vmware_runs_the_stage(root: Path, tmp_path: Path, guestinfo: Path) -> None:
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[3]
    put(guestinfo, base64.b64encode(TOML).decode(), "base64")
    env = {
        **os.environ,
        "KINDLING_VMWARE_RPCTOOL": _tool(tmp_path, RPCTOOL),
        "GUESTINFO_DIR": str(guestinfo),
    }
    done = subprocess.run(
        [sys.executable, "-m", "kindling.cli", "boot", "--root", str(root), "--platform", "vmware", "--json"],
        capture_output=True,
        text=True,
        cwd=repo,
        env=env,
        timeout=120,
        check=False,
    )
    stages = {s["name"]: s for s in json.loads(done.stdout)["stages"]}
    assert stages["early-boot-config"]["status"] == "ok", done.stdout + done.stderr
    assert (root / "etc/motd").read_text().startswith("from guestinfo")
