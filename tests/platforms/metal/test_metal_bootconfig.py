"""Metal: /proc/bootconfig planted under the root, parsed by kindling.bootconfig."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from early_boot.errors import ProviderError
from early_boot.runner import run_early_boot
from kindling.bootconfig import BootConfig, render_proc
from kindling.errors import InputError
from kindling.host import Host
from platforms.metal.bootconfig import read_bootconfig, settings_from_bootconfig
from tests.early_boot_helpers import live, marker_exists, seed, state

REPO = Path(__file__).resolve().parents[3]


def plant(host: Host, text: str | bytes, rel: str = "/proc/bootconfig") -> None:
    path = host.path(rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)


def test_proc_format_as_the_kernel_renders_it(host: Host) -> None:
    cfg = BootConfig(
        {
            "kernel.console": ["ttyS0"],
            "kindling.settings.motd": ["hi"],
            "kindling.settings.kernel.sysctl.net.ipv4.ip_forward": ["1"],
            "kindling.settings.dns.name-servers": ["1.1.1.1", "9.9.9.9"],
            "kindling.settings.kdump.enabled": ["true"],
            "kindling.settings.kdump.keep": ["3"],
            "kindling.settings.kernel.modules.sctp.allowed": ["false"],
            "init.systemd.unit": ["multi-user.target"],
        }
    )
    plant(host, render_proc(cfg))
    found = read_bootconfig(host)
    assert found is not None and found.source == "/proc/bootconfig"
    assert found.settings == {
        "motd": "hi",
        "kernel": {"sysctl": {"net.ipv4.ip_forward": "1"}, "modules": {"sctp": {"allowed": False}}},
        "dns": {"name-servers": ["1.1.1.1", "9.9.9.9"]},
        "kdump": {"enabled": True, "keep": 3},
    }


def test_braces_and_comments() -> None:
    text = """# from the boot loader
kindling.settings {
    motd = "braces"   # trailing comment
    network.hostname = node-7
    kubernetes.node-labels.role = "worker"
}
"""
    assert settings_from_bootconfig(text, source="t") == {
        "motd": "braces",
        "network": {"hostname": "node-7"},
        "kubernetes": {"node-labels": {"role": "worker"}},
    }


def test_absent_empty_or_no_kindling_keys_is_none(host: Host) -> None:
    assert read_bootconfig(host) is None
    plant(host, "")
    assert read_bootconfig(host) is None
    plant(host, 'kernel.console = "ttyS0"\n')
    assert read_bootconfig(host) is None


def test_metal_order_local_file_bootconfig_overrides(host: Host) -> None:
    plant(
        host,
        '[settings]\nmotd = "file"\n[settings.ntp]\ntime-servers = ["https://a"]\n',
        "/var/lib/kindling/user-data.toml",
    )
    plant(host, 'kindling.settings.motd = "bootconfig"\n')
    report = run_early_boot(host, "metal")
    assert [p.name for p in report.providers] == [
        "local-defaults",
        "local-user-data",
        "metal-bootconfig",
        "local-overrides",
    ]
    assert live(host) == {"motd": "bootconfig", "ntp": {"time-servers": ["https://a"]}}


BAD = [
    ("syntax", 'kindling.settings.motd = "unterminated\n', "/proc/bootconfig"),
    ("unknown key", 'kindling.settings.motdd = "x"\n', "settings.motdd: unknown key"),
    ("boolean", 'kindling.settings.kdump.enabled = "yes"\n', "kindling.settings.kdump.enabled: expected true or false"),
    ("integer", 'kindling.settings.kdump.keep = "many"\n', "expected an integer"),
    ("two values for one", 'kindling.settings.motd = "a", "b"\n', "expected exactly one value"),
    ("wrong type", 'kindling.settings.network.hostname = "not a host!"\n', "settings.network.hostname"),
]


@pytest.mark.parametrize("case", BAD, ids=[b[0] for b in BAD])
def test_bad_bootconfig_commits_nothing(host: Host, case: tuple[str, str, str]) -> None:
    _, text, rule = case
    seed(host)
    plant(host, text)
    before = state(host)
    with pytest.raises(ProviderError) as info:
        run_early_boot(host, "metal")
    assert str(info.value).startswith("provider metal-bootconfig (/proc/bootconfig)"), info.value
    assert rule in str(info.value)
    assert state(host) == before and not marker_exists(host)


def test_pure_parser_refuses_bad_input() -> None:
    with pytest.raises(InputError):
        settings_from_bootconfig(b"\xff", source="t")


def test_boot_on_the_demo_root_runs_the_stage(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "demo"
    shutil.copytree(REPO / "demo" / "root", root)
    done = subprocess.run(
        [sys.executable, "-m", "kindling.cli", "boot", "--root", str(root), "--platform", "metal"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("early-boot-config"))
    assert line.split()[1].startswith("ok"), done.stdout + done.stderr
    get = subprocess.run(
        [sys.executable, "-m", "kindling.cli", "apiclient", "--root", str(root), "get", "settings.motd"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert "set from /proc/bootconfig" in get.stdout, get.stdout + get.stderr
