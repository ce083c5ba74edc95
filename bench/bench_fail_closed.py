"""Benchmark: what containment under --root and the IMDS deadlines cost a first boot.

Two mechanisms of issue 16 sit on the first-boot path: `Host.path` resolves every
path component by component inside the root (systemd's `chase()`: one `lstat` per
component) instead of joining strings, and every IMDS exchange runs on a socket that
re-arms its timeout to the request's wall-clock deadline before each receive.

This runs early-boot-config in-process on a fresh root against the IMDS emulator on
127.0.0.1 (token, identity document, user data, validate, commit, motd applier,
marker) and measures, per boot:

- the `Host.path` calls made and their time, against the plain string join of the same
  paths (the code before containment) — the containment cost;
- the IMDS requests' time against the same requests over a plain `http.client`
  connection — the deadline cost;
- the whole boot, and the ratio after/before = boot / (boot - both costs).

    python bench/bench_fail_closed.py [--runs N]
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kindling.host import FakeClock, Host  # noqa: E402
from tests.imds_emulator import ImdsEmulator  # noqa: E402

USER_DATA = '[settings]\nmotd = "benchmark"\n[settings.kubernetes]\ncluster-name = "bench"\n'


class _CountingHost(Host):
    """The real Host; each `real` call (what `path` and every read and write resolve
    through) is timed, and its argument kept for replay."""

    calls: list[str]
    spent: float

    def real(self, p: str | os.PathLike[str]) -> str:
        start = time.perf_counter()
        out = super().real(p)
        self.spent += time.perf_counter() - start
        self.calls.append(os.fspath(p))
        return out


def _plain_join(root: Path, paths: list[str]) -> float:
    start = time.perf_counter()
    for p in paths:
        rel = p.lstrip("/")
        _ = root / rel if rel else root
    return time.perf_counter() - start


def _one_boot(imds: ImdsEmulator, tmp: Path, i: int) -> tuple[float, float, float, int]:
    from early_boot.runner import run_early_boot
    from kindling.api.service import release_thread_stores

    root = tmp / f"root{i}"
    root.mkdir()
    host = _CountingHost(root, clock=FakeClock(),
                         env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url, "PATH": os.environ["PATH"]})
    host.calls, host.spent = [], 0.0
    start = time.perf_counter()
    run_early_boot(host, "aws")
    boot = time.perf_counter() - start
    release_thread_stores()
    return boot, host.spent, _plain_join(host.root, host.calls), len(host.calls)


def _imds_requests(imds: ImdsEmulator, runs: int) -> tuple[float, float]:
    """Median seconds of token + 2 GETs: the Kindling client vs plain http.client."""
    from platforms.aws.imds import ImdsClient

    ours, plain = [], []
    for _ in range(runs):
        client = ImdsClient(Host("/", env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}))
        start = time.perf_counter()
        client.get("dynamic/instance-identity/document")
        client.get("user-data")
        ours.append(time.perf_counter() - start)
        client.close()
        conn = http.client.HTTPConnection("127.0.0.1", imds.port, timeout=5)
        start = time.perf_counter()
        conn.request("PUT", "/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        token = conn.getresponse().read().decode()
        for target in ("dynamic/instance-identity/document", "user-data"):
            conn.request("GET", f"/2021-07-15/{target}", headers={"X-aws-ec2-metadata-token": token})
            conn.getresponse().read()
        plain.append(time.perf_counter() - start)
        conn.close()
    return statistics.median(ours), statistics.median(plain)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    with ImdsEmulator() as imds, tempfile.TemporaryDirectory(prefix="kindling-bench-fc-") as tmp:
        imds.identity("eu-west-1")
        imds.set("user-data", USER_DATA)
        _one_boot(imds, Path(tmp), -1)  # warm-up: imports, first connections
        boots = [_one_boot(imds, Path(tmp), i) for i in range(args.runs)]
        ours, plain = _imds_requests(imds, args.runs)
    boot = statistics.median(b[0] for b in boots) * 1000
    chase = statistics.median(b[1] for b in boots) * 1000
    join = statistics.median(b[2] for b in boots) * 1000
    calls = int(statistics.median(b[3] for b in boots))
    deadline = max(ours - plain, 0.0) * 1000
    cost = max(chase - join, 0.0) + deadline
    print(f"first boot (early-boot-config in-process, aws, loopback IMDS): median {boot:.2f} ms of {args.runs}")
    print(f"containment: {calls} Host.path calls, {chase:.3f} ms resolved inside the root vs "
          f"{join:.3f} ms joined as strings")
    print(f"deadlines: token + 2 GETs {ours * 1000:.3f} ms vs {plain * 1000:.3f} ms over plain http.client")
    print(f"cost of both: {cost:.3f} ms per first boot; ratio after/before {boot / max(boot - cost, 1e-9):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
