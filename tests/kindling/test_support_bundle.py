"""`kindling support-bundle`: the expected members, nothing secret, absent pieces recorded.

The node is booted for real (`kindling boot` on a copy of the demo node) with the secret
canary of tests/reliability/test_secret_canary.py in its user data, plus a registry
password (a sensitive key inside a list). Where systemd is needed, `systemctl` and
`journalctl` are stand-ins on PATH, run through the Host runner as the real ones are,
and the journal stand-in prints the canary: the bundle must redact it.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from kindling.redact import REDACTED, forms, redact_settings, secret_values
from tests.reliability.test_secret_canary import FORMS, RAW, USER_DATA

KINDLING = str(Path(sys.executable).with_name("kindling"))
DEMO_ROOT = Path(__file__).resolve().parents[2] / "demo" / "root"
PASSWORD = f"pw-{RAW}"
CANARIES = (*FORMS, PASSWORD)
REGISTRY = f'''
[[settings.container-registry.credentials]]
registry = "docker.io"
password = "{PASSWORD}"
'''


def kindling(root: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": path or os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([KINDLING, *args, "--root", str(root)], capture_output=True, text=True, timeout=120,
                          env=env)


def members(bundle: Path) -> dict[str, bytes]:
    """name below the bundle's top folder -> bytes, for every file in the tar.gz."""
    out: dict[str, bytes] = {}
    with tarfile.open(bundle, "r:gz") as tar:
        tops = {m.name.split("/", 1)[0] for m in tar.getmembers()}
        assert len(tops) == 1 and next(iter(tops)).startswith("kindling-support-")
        for m in tar.getmembers():
            assert m.isfile() and ".." not in m.name.split("/"), m.name
            handle = tar.extractfile(m)
            assert handle is not None
            out[m.name.split("/", 1)[1]] = handle.read()
    return out


def leaks(files: dict[str, bytes]) -> dict[str, list[str]]:
    found = {name: [c[:12] for c in CANARIES if c.encode() in data] for name, data in files.items()}
    return {name: hits for name, hits in found.items() if hits}


@pytest.fixture
def booted(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(DEMO_ROOT, root, symlinks=True)
    (root / "var/lib/kindling/user-data.toml").write_text(USER_DATA + REGISTRY)
    boot = kindling(root, "boot", "--platform", "metal")
    assert boot.returncode == 0, boot.stdout + boot.stderr
    return root


def fake_systemd(root: Path, tmp_path: Path) -> tuple[str, Path]:
    """systemd and journald "running" under the root; stand-ins for their clients on PATH."""
    (root / "run/systemd/system").mkdir(parents=True)
    (root / "run/systemd/journal").mkdir(parents=True)
    bin_dir, log = tmp_path / "bin", tmp_path / "argv.log"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text(f"""#!/bin/sh
echo "systemctl $*" >> {log}
case "$1" in
  list-units) echo "kindling-boot.service loaded active exited Kindling boot";;
  show) printf 'Id=kindling-boot.service\\nActiveState=active\\nResult=success\\n';;
esac
""")
    (bin_dir / "journalctl").write_text(f"""#!/bin/sh
echo "journalctl $*" >> {log}
echo "2026-12-03T17:00:00+0000 node kindling[1]: boot ok"
echo "2026-12-03T17:00:01+0000 node podman[9]: aws_secret_access_key={RAW}"
""")
    for tool in ("systemctl", "journalctl"):
        (bin_dir / tool).chmod(0o755)
    return f"{bin_dir}:{os.environ.get('PATH', '')}", log


def test_bundle_has_the_members_and_no_secret(booted: Path, tmp_path: Path) -> None:
    path, log = fake_systemd(booted, tmp_path)
    (booted / "etc/motd").write_text(f"motd that a consumer broke: {RAW}\n")  # a 0644 file holding a secret
    out_file = tmp_path / "bundle.tar.gz"
    run = kindling(booted, "support-bundle", "-o", str(out_file), path=path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"wrote {out_file} (" in run.stdout and out_file.stat().st_mode & 0o777 == 0o600
    files = members(out_file)
    assert leaks(files) == {}
    assert not any(c in run.stdout + run.stderr for c in CANARIES)
    for name in ("MANIFEST", "status.json", "timeline.json", "boot-progress.json", "settings.json",
                 "kdump-status.txt", "units.txt", "journal.txt", "files/etc/motd", "files/etc/hostname",
                 "files/etc/hosts", "files/etc/systemd/network/10-eth0.network",
                 "files/var/lib/kindling/netdog/primary_interface", "files/var/lib/kindling/netdog/current_ip"):
        assert name in files, name
    assert json.loads(files["status.json"])["state"] == "done"
    timeline = json.loads(files["timeline.json"])
    assert timeline == json.loads((booted / "run/kindling/timeline.json").read_text())
    settings = json.loads(files["settings.json"])["settings"]
    assert settings["aws"]["credentials"] == REDACTED and settings["aws"]["region"] == "us-west-2"
    assert settings["bootstrap-containers"]["boot"]["user-data"] == REDACTED
    assert settings["container-registry"]["credentials"] == [{"registry": "docker.io", "password": REDACTED}]
    assert settings["network"]["hostname"] == "node-1"  # what is not sensitive stays
    assert files["files/etc/motd"] == f"motd that a consumer broke: {REDACTED}\n".encode()
    assert files["files/etc/hostname"] == (booted / "etc/hostname").read_bytes()
    assert b"reserved:" in files["kdump-status.txt"]
    assert b"Id=kindling-boot.service" in files["units.txt"]
    assert files["journal.txt"].splitlines()[1].endswith(f"podman[9]: {REDACTED}".encode())  # the decoded line
    manifest = files["MANIFEST"].decode()
    for line in ("files/root/.aws/credentials", "files/root/.aws/config"):
        assert f"{line}" in manifest
    creds = next(x for x in manifest.splitlines() if x.startswith("files/root/.aws/credentials "))
    assert "absent: mode 0600, readable by its owner only" in creds
    assert "journal.txt" in manifest and "sensitive values redacted" in manifest
    argv = log.read_text().splitlines()
    assert "journalctl --no-pager -q -u kindling-* -o short-iso -n 5000" in argv
    assert argv[0].startswith("systemctl list-units --all") and argv[1].startswith("systemctl show --no-pager")


def test_a_bare_root_still_gets_a_bundle_with_the_reasons(tmp_path: Path) -> None:
    root = tmp_path / "bare"
    root.mkdir()
    run = kindling(root, "support-bundle", "--json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["ok"] is True and doc["path"].startswith("/var/lib/kindling/support/kindling-support-")
    bundle = root / doc["path"].lstrip("/")
    assert bundle.parent.stat().st_mode & 0o777 == 0o700 and bundle.stat().st_mode & 0o777 == 0o600
    files = members(bundle)
    assert set(files) == {"MANIFEST", "status.json", "kdump-status.txt"}
    assert json.loads(files["status.json"])["state"] == "not-started"
    why = {a["name"]: a["why"] for a in doc["absent"]}
    assert why["timeline.json"] == "no /run/kindling/timeline.json: no boot since /run was mounted"
    assert why["settings.json"].startswith("no settings datastore")
    assert why["units.txt"].startswith("systemd is not running under this root")
    assert why["journal.txt"].startswith("journald is not running under this root")
    assert "settings.json" in files["MANIFEST"].decode() and "absent: no settings datastore" in files[
        "MANIFEST"].decode()


def test_plan_says_what_it_would_collect_and_writes_nothing(booted: Path, tmp_path: Path,
                                                           tree_snapshot: object) -> None:
    snap = tree_snapshot  # type: ignore[assignment]
    before = snap(booted)  # type: ignore[operator]
    out_file = tmp_path / "planned.tar.gz"
    run = kindling(booted, "support-bundle", "--plan", "-o", str(out_file))
    assert run.returncode == 0, run.stderr
    assert "would add settings.json (" in run.stdout and f"would write {out_file} (" in run.stdout
    assert "added" not in run.stdout.replace("would add", "") and "wrote" not in run.stdout
    assert not out_file.exists() and snap(booted) == before  # type: ignore[operator]
    assert not any(c in run.stdout for c in CANARIES)


def test_redaction_walks_lists_and_decodes_base64() -> None:
    secret = base64.b64encode(b"[default]\naws_secret_access_key=abcdef123456\n").decode()
    tree = {"aws": {"credentials": secret, "region": "eu-west-1"},
            "container-registry": {"credentials": [{"registry": "r", "username": "someone", "auth": "c2VjcmV0"}]},
            "host-containers": {"admin": {"user-data": "dXNlcmRhdGE=", "source": "img"}}}
    assert sorted(secret_values(tree)) == sorted([secret, "someone", "c2VjcmV0", "dXNlcmRhdGE="])
    redacted = redact_settings(tree)
    assert redacted["aws"] == {"credentials": REDACTED, "region": "eu-west-1"}
    assert redacted["container-registry"]["credentials"] == [{"registry": "r", "username": REDACTED,
                                                              "auth": REDACTED}]
    assert redacted["host-containers"]["admin"] == {"user-data": REDACTED, "source": "img"}
    assert {"aws_secret_access_key=abcdef123456", "abcdef123456"} <= forms(secret)
    assert "[default]" not in forms(secret) or len("[default]") >= 6  # short forms are dropped
    assert forms("short") == set()


def test_bundle_reads_back_into_a_stream(booted: Path, tmp_path: Path) -> None:
    """The default path lies under the root; the bundle is a valid gzip'd tar stream."""
    run = kindling(booted, "support-bundle")
    assert run.returncode == 0, run.stderr
    support = booted / "var/lib/kindling/support"
    (bundle,) = support.iterdir()
    with tarfile.open(fileobj=io.BytesIO(bundle.read_bytes()), mode="r:gz") as tar:
        names = tar.getnames()
    assert names[0].endswith("/MANIFEST") and any(n.endswith("/settings.json") for n in names)


def test_every_applier_and_writing_stage_declares_its_outputs() -> None:
    """The bundle's file list comes from these declarations: they must name the files the
    modules write (the registration modules stay import-light, so they repeat the paths)."""
    from kindling.appliers import load_appliers
    from kindling.aws_files import FILES
    from kindling.boot import load_stages
    from kindling.kernel.modules import MODPROBE_CONF, MODULES_LOAD_CONF
    from kindling.kernel.sysctl import DROPIN
    from kindling.motd import MOTD_PATH
    from kindling.ntp import CHRONY_DROPIN, TIMESYNCD_DROPIN
    from kindling.trust_store import DEBIAN_DIR, RHEL_ANCHORS

    outputs = {a.name: a.outputs for a in load_appliers(None)}
    assert {name for name, out in outputs.items() if not out} == {"lockdown"}  # /sys only
    assert outputs["motd"] == (MOTD_PATH,) and outputs["sysctl"] == (DROPIN,)
    assert outputs["kernel-modules"] == (MODPROBE_CONF, MODULES_LOAD_CONF)
    assert outputs["ntp"] == (CHRONY_DROPIN, TIMESYNCD_DROPIN)
    assert outputs["aws-config"] == tuple(FILES.values())
    assert outputs["pki"] == (f"{DEBIAN_DIR}/*.crt", f"{RHEL_ANCHORS}/kindling-*.pem")
    assert "/etc/kubernetes/static-pods/*" in outputs["kubelet"]  # an `each` path as a pattern
    from kdump.arming import PANIC_ON_OOPS_CONF
    from netdog.paths import PRIMARY_SYSCTL_CONF, RUN_DIR, STATE_DIR
    from netdog.render_networkd import NETWORKD_DIR

    stages = {s.name: s.outputs for s in load_stages()}
    assert {f"{NETWORKD_DIR}/10-*.network", PRIMARY_SYSCTL_CONF, f"{STATE_DIR}/*"} <= set(
        stages["generate-network-config"])
    assert f"{RUN_DIR}/*" in stages["write-network-status"]
    assert stages["kdump-load"] == (PANIC_ON_OOPS_CONF,)


def test_odd_trees_are_recorded_not_fatal(tmp_path: Path) -> None:
    """A link where an output belongs is named, not followed; a file where a pattern expects
    a directory is passed over; a file the last boot wrote is collected though undeclared."""
    from kindling.bundle_sources import collect
    from kindling.host import Host

    root = tmp_path / "odd"
    (root / "etc/systemd/system/kindling-configured.target.wants").mkdir(parents=True)
    (root / "etc/systemd/system/kindling-configured.target.x").write_text("a file, not a directory\n")
    (root / "etc/elsewhere").write_text("not Kindling's\n")
    (root / "etc/motd").symlink_to("/etc/elsewhere")
    (root / "etc/weird.conf").write_text("written at boot\n")
    (root / "run/kindling").mkdir(parents=True)
    stage = {"name": "custom", "status": "ok", "detail": "", "start_ms": 0.0, "duration_ms": 1.0,
             "actions": ["write /etc/weird.conf (16 bytes, mode 0644)", "run true"]}
    (root / "run/kindling/timeline.json").write_text(json.dumps(
        {"platform": "metal", "plan": False, "started": 1.0, "ok": True, "stages": [stage]}))
    parts = {p.name: p for p in collect(Host(root))}
    assert parts["files/etc/motd"].data is None
    assert parts["files/etc/motd"].note == "absent: a symbolic link to /etc/elsewhere (applier motd)"
    assert "files/etc/elsewhere" not in parts
    assert parts["files/etc/weird.conf"].data == b"written at boot\n"
    assert parts["files/etc/weird.conf"].note == "/etc/weird.conf (written by stage custom at the last boot)"
    assert parts["status.json"].data is not None and json.loads(parts["status.json"].data)["state"] == "done"
