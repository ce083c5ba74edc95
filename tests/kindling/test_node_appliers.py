"""The ntp, pki and aws-config appliers on a temp root, each read back by its real
consumer: `chronyd -p` parses the chrony drop-in, `systemd-analyze cat-config --root`
shows the timesyncd one, `update-ca-certificates` rebuilds a copy of the trust store
inside the root and `openssl verify` trusts (then distrusts) a leaf signed by a test
CA made with `openssl req -x509`."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from kindling.aws_files import apply_aws_files
from kindling.ntp import CHRONY_DROPIN, TIMESYNCD_DROPIN, apply_ntp
from kindling.trust_store import DEBIAN_DIR, RHEL_ANCHORS, RHEL_BLOCKLIST, apply_pki
from tests.kindling.appliers_rig import host_with_path, kindling, live, plant_node, systemd_root, tree_bytes

NTP = {"ntp": {"time-servers": ["169.254.169.123", "ntp://time.example.com", "pool.ntp.org"],
               "options": ["iburst", "minpoll 4", "maxpoll 8"]}}


def _chrony_root(tmp_path: Path) -> Path:
    root = plant_node(tmp_path / "root")
    conf = root / "etc/chrony/chrony.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(f"confdir {root}/etc/chrony/conf.d\n")  # Debian's line, aimed into the root
    return root


@pytest.mark.skipif(shutil.which("chronyd") is None, reason="needs chrony (apt: chrony)")
def test_chrony_drop_in_parsed_by_chronyd(tmp_path: Path) -> None:
    root = _chrony_root(tmp_path)
    log = systemd_root(root, tmp_path / "bin")
    host = host_with_path(root, tmp_path / "bin")
    assert apply_ntp(host, NTP) == [f"wrote {CHRONY_DROPIN}", "reloaded chronyd.service"]
    out = subprocess.run(["chronyd", "-p", "-f", str(root / "etc/chrony/chrony.conf")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "server 169.254.169.123 iburst minpoll 4 maxpoll 8",
        "server time.example.com iburst minpoll 4 maxpoll 8",
        "server pool.ntp.org iburst minpoll 4 maxpoll 8",
    ]
    assert not (root / TIMESYNCD_DROPIN.lstrip("/")).exists()
    # unchanged settings: nothing written, nothing reloaded
    assert apply_ntp(host, NTP) == []
    assert log.read_text().splitlines() == ["try-reload-or-restart --no-block chronyd.service"]


@pytest.mark.skipif(shutil.which("chronyd") is None, reason="needs chrony (apt: chrony)")
def test_chrony_default_option_is_iburst(tmp_path: Path) -> None:
    root = _chrony_root(tmp_path)
    apply_ntp(host_with_path(root), {"ntp": {"time-servers": ["a.example"]}})
    out = subprocess.run(["chronyd", "-p", "-f", str(root / "etc/chrony/chrony.conf")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.splitlines() == ["server a.example iburst"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_timesyncd_drop_in_without_chrony(tmp_path: Path) -> None:
    root = plant_node(tmp_path / "root")
    log = systemd_root(root, tmp_path / "bin")
    host = host_with_path(root, tmp_path / "bin")
    done = apply_ntp(host, NTP)
    assert done[:2] == [f"wrote {TIMESYNCD_DROPIN}", "reloaded systemd-timesyncd.service"]
    assert "ntp.options not used" in done[2]
    out = subprocess.run(["systemd-analyze", "cat-config", f"--root={root}", "systemd/timesyncd.conf"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert f"# {root}{TIMESYNCD_DROPIN}" in out.stdout
    assert "NTP=169.254.169.123 time.example.com pool.ntp.org" in out.stdout.splitlines()
    assert log.read_text().splitlines() == ["try-reload-or-restart --no-block systemd-timesyncd.service"]
    assert apply_ntp(host, {}) == [f"removed {TIMESYNCD_DROPIN}", "reloaded systemd-timesyncd.service"]


def test_daemons_untouched_on_a_root_without_systemd(tmp_path: Path) -> None:
    root = plant_node(tmp_path / "root")
    bindir = tmp_path / "bin"
    systemd_root(tmp_path / "other", bindir)  # the stand-in exists, but this root has no systemd
    assert apply_ntp(host_with_path(root, bindir), NTP)[0] == f"wrote {TIMESYNCD_DROPIN}"
    assert not (bindir / "systemctl.log").exists()


@pytest.mark.parametrize("servers", [["a b.example"], ["time.example com"], [" "]])
def test_ntp_server_with_blanks_refused_and_stores_nothing(tmp_path: Path, servers: list[str]) -> None:
    root = plant_node(tmp_path / "root")
    before = tree_bytes(root)
    doc = json.dumps({"settings": {"ntp": {"time-servers": servers}}})
    out = kindling("apiclient", "set", "--json", doc, root=root)
    assert out.returncode == 1 and "settings.ntp.time-servers" in out.stderr, out.stderr
    assert live(root) == {} and tree_bytes(root) == before


# -- pki -------------------------------------------------------------------------------

def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture
def test_ca(tmp_path: Path) -> Path:
    """A CA and a leaf it signed, made by `openssl req -x509` / `openssl x509 -req`."""
    d = tmp_path / "ca"
    d.mkdir()
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Kindling Test CA", cwd=d)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "ca2.key", "-out", "ca2.pem", "-days", "2", "-subj", "/CN=Kindling Second CA", cwd=d)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=leaf.example", cwd=d)
    _openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "leaf.pem", "-days", "1", cwd=d)
    return d


def _debian_store(root: Path, distro: int = 2) -> None:
    """A copy of a few of this machine's Debian CA certificates and their config."""
    src = Path("/usr/share/ca-certificates/mozilla")
    dst = root / "usr/share/ca-certificates/mozilla"
    dst.mkdir(parents=True)
    names = sorted(p.name for p in src.glob("*.crt"))[:distro]
    for name in names:
        shutil.copy(src / name, dst / name)
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc/ca-certificates.conf").write_text("".join(f"mozilla/{n}\n" for n in names))


def _verify(bundle: Path, leaf: Path) -> bool:
    out = subprocess.run(["openssl", "verify", "-CAfile", str(bundle), str(leaf)],
                         capture_output=True, text=True, timeout=30)
    return out.returncode == 0


def _b64(*pems: Path) -> str:
    return base64.b64encode("".join(p.read_text() for p in pems).encode()).decode()


@pytest.mark.rig
@pytest.mark.skipif(shutil.which("update-ca-certificates") is None
                    or not Path("/usr/share/ca-certificates/mozilla").is_dir(), reason="needs Debian's ca-certificates")
def test_update_ca_certificates_trusts_then_distrusts_the_bundle(tmp_path: Path, test_ca: Path) -> None:
    root = plant_node(tmp_path / "root")
    _debian_store(root)
    data = _b64(test_ca / "ca.pem", test_ca / "ca2.pem")
    out = kindling("apiclient", "set", f"pki.corp.data={data}", "pki.corp.trusted=true", root=root)
    assert out.returncode == 0, out.stderr
    assert sorted(os.listdir(root / DEBIAN_DIR.lstrip("/"))) == ["corp-0.crt", "corp-1.crt"]
    bundle = root / "etc/ssl/certs/ca-certificates.crt"
    assert bundle.read_text().count("BEGIN CERTIFICATE") == 4  # 2 distro + 2 of ours
    assert _verify(bundle, test_ca / "leaf.pem")
    assert (root / "etc/ssl/certs/corp-0.pem").is_symlink()
    # trusted=false takes them out of trust and out of the bundle
    out = kindling("apiclient", "set", "pki.corp.trusted=false", root=root)
    assert out.returncode == 0, out.stderr
    assert os.listdir(root / DEBIAN_DIR.lstrip("/")) == []
    assert bundle.read_text().count("BEGIN CERTIFICATE") == 2
    assert not _verify(bundle, test_ca / "leaf.pem")
    # unchanged settings: update-ca-certificates is not run again
    assert apply_pki(host_with_path(root), live(root)) == []


def test_rhel_layout_anchors_and_blocklist(tmp_path: Path, test_ca: Path) -> None:
    root = plant_node(tmp_path / "root")
    (root / "etc/pki/ca-trust/source/anchors").mkdir(parents=True)
    host = host_with_path(root)
    settings = {"pki": {"good": {"data": _b64(test_ca / "ca.pem"), "trusted": True},
                        "bad": {"data": _b64(test_ca / "ca2.pem")}}}  # trusted defaults to false
    done = apply_pki(host, settings)
    assert (root / RHEL_ANCHORS.lstrip("/") / "kindling-good-0.pem").read_text().startswith("-----BEGIN CERTIFICATE")
    assert (root / RHEL_BLOCKLIST.lstrip("/") / "kindling-bad-0.pem").exists()
    assert done[-1].startswith("update-ca-trust not run")  # no root option: never on this machine
    # the bundle leaves the settings: its files go
    del settings["pki"]["good"]
    assert f"removed {RHEL_ANCHORS}/kindling-good-0.pem" in apply_pki(host, settings)


@pytest.mark.parametrize("data", [
    "not base64!",
    base64.b64encode(b"hello, not a certificate").decode(),
    base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode(),
    base64.b64encode(b"-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n").decode(),
])
def test_bad_pem_refused_naming_the_key_and_stores_nothing(tmp_path: Path, data: str) -> None:
    root = plant_node(tmp_path / "root")
    _debian_store(root, distro=0)
    before = tree_bytes(root)
    out = kindling("apiclient", "set", f"pki.corp.data={data}", "pki.corp.trusted=true", root=root)
    assert out.returncode == 1 and "settings.pki.corp.data" in out.stderr, out.stderr
    assert data not in out.stderr and "Traceback" not in out.stderr
    assert live(root) == {} and tree_bytes(root) == before


# -- aws-config ------------------------------------------------------------------------------

def test_aws_files_decoded_0600(tmp_path: Path) -> None:
    root = plant_node(tmp_path / "root")
    config = "[default]\nregion = us-west-2\n"
    creds = "[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = c2VjcmV0\n"
    settings = {"aws": {"config": base64.b64encode(config.encode()).decode(),
                        "credentials": base64.b64encode(creds.encode()).decode()}}
    host = host_with_path(root)
    assert apply_aws_files(host, settings) == ["wrote /root/.aws/config (0600)", "wrote /root/.aws/credentials (0600)"]
    assert (root / "root/.aws/config").read_text() == config
    assert (root / "root/.aws/credentials").read_text() == creds
    for name in ("config", "credentials"):
        assert stat.S_IMODE((root / "root/.aws" / name).stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "root/.aws").stat().st_mode) == 0o700
    assert apply_aws_files(host, settings) == []
    # unset: an operator's own file is never deleted
    assert apply_aws_files(host, {}) == [] and (root / "root/.aws/credentials").exists()


def test_aws_credentials_plan_shows_no_secret(tmp_path: Path) -> None:
    from kindling.host import RecordingHost

    root = plant_node(tmp_path / "root")
    plan = RecordingHost(root, env={"PATH": os.environ.get("PATH", "")})
    secret = base64.b64encode(b"aws_secret_access_key = TOPSECRET\n").decode()
    apply_aws_files(plan, {"aws": {"credentials": secret}})
    assert plan.actions == ["mkdir /root/.aws", "write /root/.aws/credentials (34 bytes, mode 0600)"]
    assert plan.diffs == {} and not (root / "root").exists()
