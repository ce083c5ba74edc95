"""The CLI end to end as users run it: apiclient, boot, analyze, units, --help."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kindling.apiserver_rig import live_apiserver

REPO = Path(__file__).resolve().parents[2]
SECRET = "QUtJQUNBTkFSWVNFQ1JFVDEyMzQ1Njc4OTA="


def kindling(*args: str, root: Path | None = None, stdin: str | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    argv = [sys.executable, "-m", "kindling.cli", *args]
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)  # --root must name an existing directory
        argv += ["--root", str(root)]
    return subprocess.run(argv, capture_output=True, text=True, input=stdin, env=full_env, timeout=120)


def test_help_imports_no_service_package() -> None:
    code = ("import sys; from kindling.cli import main; main(['--help']); "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('netdog','growpart','gpu','kdump','early_boot','platforms','sqlite3','argparse')]; "
            "print('LOADED', bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(REPO)), check=True).stdout
    assert "usage: kindling <command>" in out
    assert out.strip().endswith("LOADED []")


def test_usage_errors_exit_2() -> None:
    assert kindling("frobnicate").returncode == 2
    assert kindling().returncode == 2
    assert kindling("boot", "--platform", "mars").returncode == 2


@pytest.mark.parametrize("server", [False, True], ids=["direct", "socket"])
def test_apiclient_set_get_apply(tmp_path: Path, server: bool) -> None:
    root = tmp_path / "root"
    root.mkdir()
    doc = tmp_path / "u.toml"
    doc.write_text('[settings]\nmotd = "from a file"\n[settings.kernel.sysctl]\n"vm.swappiness" = "10"\n')

    def scenario() -> None:
        r = kindling("apiclient", "set", "motd=hi", "kdump.keep=4", "settings.kdump.enabled=true",
                     'settings.kernel.sysctl."net.ipv4.ip_forward"=1', 'dns.name-servers=["1.1.1.1"]',
                     root=root)
        assert r.returncode == 0, r.stderr
        got = json.loads(kindling("apiclient", "get", "settings.kdump", "motd", root=root).stdout)
        assert got == {"settings": {"kdump": {"keep": 4, "enabled": True}, "motd": "hi"}}
        assert (root / "etc/motd").read_text() == "hi\n"
        assert kindling("apiclient", "apply", str(doc), root=root).returncode == 0
        assert kindling("apiclient", "set", "--json", '{"settings": {"kdump": {"keep": 2}}}',
                        root=root).returncode == 0
        full = json.loads(kindling("apiclient", "get", root=root).stdout)["settings"]
        assert full["motd"] == "from a file"
        assert full["kernel"]["sysctl"] == {"net.ipv4.ip_forward": "1", "vm.swappiness": "10"}
        assert full["kdump"]["keep"] == 2
        r = kindling("apiclient", "raw", "-m", "GET", "-u", "/settings?prefix=settings.dns", root=root)
        assert json.loads(r.stdout) == {"dns": {"name-servers": ["1.1.1.1"]}}
        assert kindling("apiclient", "raw", "-u", "/tx?tx=none", root=root).returncode == 1
        assert kindling("apiclient", "apply", "-", root=root, stdin='{"settings": {"motd": "stdin"}}').returncode == 0
        assert json.loads(kindling("apiclient", "get", "motd", root=root).stdout)["settings"]["motd"] == "stdin"

    if server:
        with live_apiserver(root):
            scenario()
    else:
        scenario()


@pytest.mark.parametrize(
    ("args", "stdin", "needle"),
    [
        (["set", "network.hostname=-bad"], None, "settings.network.hostname: not a valid Linux hostname"),
        (["set", "nope=1"], None, "settings.nope: unknown key"),
        (["set", "kdump.keep=many"], None, "settings.kdump.keep: expected an integer"),
        (["set", "kdump.enabled=yes"], None, "settings.kdump.enabled: expected true or false"),
        (["set", f"aws.credentials={SECRET}!"], None, "settings.aws.credentials: not valid base64"),
        (["set", "--json", "{oops"], None, "malformed JSON"),
        (["apply", "-"], "[settings\nmotd = 1", "malformed TOML"),
        (["apply", "-"], '{"motd": "no settings table"}', "top-level 'settings' table"),
        (["apply", "-"], '{"settings": {"motd": 7}}', "settings.motd: expected a string"),
    ],
)
def test_apiclient_bad_input_exit_1_and_change_nothing(tmp_path: Path, args: list[str],
                                                       stdin: str | None, needle: str) -> None:
    root = tmp_path / "root"
    assert kindling("apiclient", "set", "motd=before", root=root).returncode == 0
    db = root / "var/lib/kindling/datastore.sqlite3"
    before = db.read_bytes()
    r = kindling("apiclient", *args, root=root, stdin=stdin)
    assert r.returncode == 1, r.stderr
    assert needle in r.stderr
    assert SECRET not in r.stderr + r.stdout
    assert db.read_bytes() == before
    assert json.loads(kindling("apiclient", "get", root=root).stdout) == {"settings": {"motd": "before"}}


def test_boot_plan_json_timeline_and_analyze(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    shutil.copytree(REPO / "demo/root", root)
    plan = kindling("boot", "--plan", "--json", root=root)
    assert plan.returncode in (0, 1), plan.stderr
    report = json.loads(plan.stdout)
    assert report["plan"] is True and report["platform"] == "metal"
    assert not (root / "run/kindling/timeline.json").exists()
    assert not (root / "var/lib/kindling/datastore.sqlite3").exists()
    run = kindling("boot", root=root)
    assert "apply-settings" in run.stdout
    timeline = json.loads((root / "run/kindling/timeline.json").read_text())
    assert [s["name"] for s in timeline["stages"]] == [s["name"] for s in report["stages"]]
    svg = tmp_path / "boot.svg"
    out = kindling("analyze", "--svg", str(svg), root=root)
    assert out.returncode == 0 and "apply-settings" in out.stdout
    assert svg.read_text().startswith("<svg") and "apply-settings" in svg.read_text()
    second = json.loads(kindling("boot", "--json", root=root).stdout)
    assert [s["name"] for s in second["stages"]] == [s["name"] for s in timeline["stages"]]
    assert second["ok"] is (run.returncode == 0)


def test_analyze_without_a_boot(tmp_path: Path) -> None:
    r = kindling("analyze", root=tmp_path)
    assert r.returncode == 1 and "no timeline yet" in r.stderr


def test_units_install_and_verify(tmp_path: Path) -> None:
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed")
    r = kindling("units", "install", root=tmp_path)
    assert r.returncode == 0, r.stderr
    unit_dir = tmp_path / "etc/systemd/system"
    units = sorted(p.name for p in unit_dir.iterdir())
    assert {"kindling-apiserver.service", "kindling-preconfigured.target"} <= set(units)
    for p in unit_dir.iterdir():
        text = p.read_text()
        assert "@KINDLING@" not in text
    verify = subprocess.run(["systemd-analyze", "verify", *units], cwd=unit_dir, capture_output=True,
                            text=True, env=dict(os.environ, SYSTEMD_UNIT_PATH=f"{unit_dir}:"))
    assert verify.returncode == 0 and verify.stderr.strip() == "", verify.stderr
    again = kindling("units", "install", root=tmp_path)
    assert "already up to date" in again.stdout
