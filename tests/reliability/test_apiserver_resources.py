"""The apiserver keeps no per-request resources (issue 10, reliability): a node's API
serves for months, one thread per connection; a connection that ends must give back
its datastore connection (2 descriptors) at once, not when the GC gets round to it."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.bad_inputs.corpus import api_request
from tests.kindling.apiserver_rig import live_apiserver


def _server_pid(root: Path) -> int:
    out = subprocess.run(["pgrep", "-f", f"apiserver --root {root}"], capture_output=True, text=True).stdout
    (pid,) = out.split()
    return int(pid)


def test_descriptors_do_not_grow_with_requests(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with live_apiserver(root) as sock:
        pid = _server_pid(root)
        for _ in range(5):
            api_request(sock, "GET", "/settings", b"")
        time.sleep(0.2)
        baseline = len(os.listdir(f"/proc/{pid}/fd"))
        for i in range(200):
            api_request(sock, "GET", "/settings", b"")
            if i % 50 == 0:
                assert api_request(sock, "PATCH", f"/settings?tx=r{i}", b'{"motd": "x"}')[0] == 200
                assert api_request(sock, "POST", f"/tx/commit?tx=r{i}", b"")[0] == 200
        deadline = time.monotonic() + 3  # the last threads may still be finishing
        while (after := len(os.listdir(f"/proc/{pid}/fd"))) > baseline + 6 and time.monotonic() < deadline:
            time.sleep(0.05)
    # without the release, ~2 descriptors per request stay open until a GC pass: +80 or more
    assert after <= baseline + 6, (baseline, after)
