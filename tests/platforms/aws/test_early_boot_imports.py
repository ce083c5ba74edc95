"""What early-boot-config and a whole boot on aws import and send (issue 20; the boot's
own guard is tests/kindling/test_boot_imports.py): the IMDS session speaks HTTP/1.1
itself, so neither `http.client` nor what it drags in (`email.*`, `ssl`) loads; the
netdog hostname generator does not load its IMDS reader when it has no address to
name, and when it has one it reuses the session's token: a boot sends one token PUT.
Structural, not timed: a fresh interpreter runs the command against the emulator
and the test reads its `sys.modules`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.imds_emulator import ImdsEmulator

REPO = Path(__file__).resolve().parents[3]
_RUN = """
import json, sys
from kindling.cli import main
code = main(sys.argv[3:] + ["--platform", "aws", "--root", sys.argv[1]])
with open(sys.argv[2], "w") as fh:
    json.dump(sorted(sys.modules), fh)
sys.exit(code)
"""

NOT_ON_EARLY_BOOT = ("http", "http.client", "email", "email.parser", "ssl", "_ssl", "netdog.imds_hostname")


def test_early_boot_config_on_aws_imports_no_http_client(tmp_path: Path) -> None:
    root, out = tmp_path / "root", tmp_path / "modules.json"
    root.mkdir()
    with ImdsEmulator() as imds:
        imds.identity("eu-west-1")
        imds.set("user-data", '[settings]\nmotd = "hi"\n[settings.kubernetes]\ncluster-name = "c"\n')
        env = {"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}
        done = subprocess.run([sys.executable, "-c", _RUN, str(root), str(out), "early-boot-config"], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert len(imds.requests) == 3  # token, identity document, user data
    modules = set(json.loads(out.read_text()))
    assert {"platforms.aws.imds", "netdog.generators"} <= modules  # the client and the generators ran
    assert "network.hostname not generated" in done.stdout  # no recorded address: the generator stopped early
    assert sorted(modules & set(NOT_ON_EARLY_BOOT)) == []


def test_a_boot_on_aws_sends_one_token(tmp_path: Path) -> None:
    """A whole `kindling boot` once the primary address is recorded: the user-data
    providers and the hostname generator share one IMDSv2 session, so the boot sends
    the four requests it needs — one token, identity document, user data, local
    hostname — and still imports no `http.client`. (No net.toml: no stage waits for a
    link; `current_ip` is planted as write-network-status would record it.)"""
    root, out = tmp_path / "root", tmp_path / "modules.json"
    shutil.copytree(REPO / "demo" / "root", root, symlinks=True)
    (root / "var/lib/kindling/net.toml").unlink()
    (root / "var/lib/kindling/user-data.toml").unlink()  # the metal demo's: user data comes from IMDS
    (root / "var/lib/kindling/netdog").mkdir()
    (root / "var/lib/kindling/netdog/current_ip").write_text("10.1.2.3\n")
    with ImdsEmulator() as imds:
        imds.identity("eu-west-1")
        imds.set("user-data", '[settings]\nmotd = "hi"\n')
        imds.set("meta-data/local-hostname", "ip-10-1-2-3.eu-west-1.compute.internal")
        env = {"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}
        done = subprocess.run([sys.executable, "-c", _RUN, str(root), str(out), "boot"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert [(r.method, r.path, r.status) for r in imds.requests] == [
            ("PUT", "/latest/api/token", 200),
            ("GET", "/2021-07-15/dynamic/instance-identity/document", 200),
            ("GET", "/2021-07-15/user-data", 200),
            ("GET", "/2021-07-15/meta-data/local-hostname", 200),
        ]
    assert "generated settings.network.hostname from imds local-hostname" in done.stdout
    assert (root / "etc/hostname").read_text().strip() == "ip-10-1-2-3.eu-west-1.compute.internal"
    modules = set(json.loads(out.read_text()))
    assert "netdog.imds_hostname" in modules
    assert sorted(modules & set(NOT_ON_EARLY_BOOT) - {"netdog.imds_hostname"}) == []
