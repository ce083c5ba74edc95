"""The real metadata address, inside a network namespace this test creates (RIGS.md).

The emulator owns 169.254.169.254:80 on the namespace's loopback; the real CLI runs
in the same namespace, so no packet can reach the 169.254.169.254 that answers in the
main namespace of these machines. Proves the default port and plain-address URL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import need_root

REPO = Path(__file__).resolve().parents[3]
ADDRESS = "169.254.169.254"


@pytest.fixture
def netns() -> Iterator[str]:
    need_root()
    if shutil.which("ip") is None:
        pytest.skip("iproute2 not installed")
    name = f"kimds{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "-n", name, "addr", "add", f"{ADDRESS}/32", "dev", "lo"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.mark.rig
def test_cli_against_the_real_address_in_a_namespace(netns: str, tmp_path: Path) -> None:
    user_data = tmp_path / "ud.toml"
    user_data.write_text('[settings]\nmotd = "from the namespace"\n')
    server = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            netns,
            sys.executable,
            "-m",
            "tests.imds_emulator",
            "--host",
            ADDRESS,
            "--port",
            "80",
            "--region",
            "ap-northeast-1",
            "--user-data",
            str(user_data),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == f"http://{ADDRESS}:80"
        root = tmp_path / "root"
        root.mkdir()
        env = {**os.environ, "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://{ADDRESS}", "KINDLING_IMDS_BUDGET": "5"}
        done = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                netns,
                sys.executable,
                "-m",
                "kindling.cli",
                "early-boot-config",
                "--root",
                str(root),
                "--platform",
                "aws",
                "--json",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert (root / "etc/motd").read_text().startswith("from the namespace")
    finally:
        server.terminate()
        server.wait(timeout=10)
