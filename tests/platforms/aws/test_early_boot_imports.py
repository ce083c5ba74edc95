"""What early-boot-config on aws imports (issue 20; the boot's own guard is
tests/kindling/test_boot_imports.py): the IMDS client speaks HTTP/1.1 itself, so
neither `http.client` nor what it drags in (`email.*`, `ssl`) loads, and the netdog
hostname generator does not load its IMDS reader when it has no address to name.
Structural, not timed: a fresh interpreter runs the command against the emulator
and the test reads its `sys.modules`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.imds_emulator import ImdsEmulator

_RUN = """
import json, sys
from kindling.cli import main
code = main(["early-boot-config", "--platform", "aws", "--root", sys.argv[1]])
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
        done = subprocess.run([sys.executable, "-c", _RUN, str(root), str(out)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert len(imds.requests) == 3  # token, identity document, user data
    modules = set(json.loads(out.read_text()))
    assert {"platforms.aws.imds", "netdog.generators"} <= modules  # the client and the generators ran
    assert "network.hostname not generated" in done.stdout  # no recorded address: the generator stopped early
    assert sorted(modules & set(NOT_ON_EARLY_BOOT)) == []
