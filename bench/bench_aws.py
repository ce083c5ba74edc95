"""Benchmark: `kindling cfsignal`, `warm-pool-wait` and `lifecycle complete` end to end on loopback.

Each run is the real command in a fresh interpreter, as systemd starts it, against
the rigs of the tests: the IMDSv2 emulator (instance id, identity document, an
instance-profile role), the SigV4-verifying CloudFormation / Auto Scaling endpoint,
and a real dbus-daemon with a stand-in systemd already `running`. cfsignal does:
settings read, 5 IMDS requests (token, instance id, identity document, role, its
credentials), one D-Bus state read, one signed SignalResource, the marker.

Prints median / worst wall time per command, the floor (`sys.executable -c pass`),
peak RSS against DESIGN §8 (one-shot service ≤ 40 MB), and the import cost of the
service modules with and without the heavy parts (botocore, dbus-fast), which are
imported only when a call is made.

    python bench/bench_aws.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kindling.host import Host  # noqa: E402
from tests.imds_emulator import ImdsEmulator  # noqa: E402
from tests.platforms.aws.aws_endpoint import AwsEndpoint  # noqa: E402
from tests.platforms.aws.dbus_rig import DbusDaemon, FakeSystemd  # noqa: E402

RSS_BUDGET_MB = 40.0
KEY, SECRET, TOKEN = "ASIABENCHKEY00000001", "bench-secret-key-000000000001", "bench-session-token-0001"
INSTANCE = "i-0123456789abcdef0"


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall ms and peak RSS MB of one run.

    RSS comes from `/usr/bin/time -f %M`: a child forked (or vforked) straight from this
    process would report this process's own high-water mark, as Linux counts the
    pre-exec memory in `ru_maxrss`.
    """
    timed = ["/usr/bin/time", "-f", "%M", *argv] if os.path.exists("/usr/bin/time") else argv
    start = time.perf_counter()
    done = subprocess.run(timed, env=env, capture_output=True, text=True, check=False)
    wall = (time.perf_counter() - start) * 1000
    peak = float("nan")
    if timed is not argv:
        lines = done.stderr.rstrip().splitlines()
        peak = int(lines[-1]) / 1024 if lines and lines[-1].isdigit() else peak
        done = subprocess.CompletedProcess(argv, done.returncode, done.stdout, "\n".join(lines[:-1]))
    return wall, peak, done


def _import_ms(code: str) -> float:
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def _rigs(root: Path, imds: ImdsEmulator, endpoint: AwsEndpoint, bus: str) -> dict[str, str]:
    imds.set("meta-data/instance-id", INSTANCE)
    imds.identity("us-west-2")
    imds.set("meta-data/iam/security-credentials/", "node-role\n")
    imds.set("meta-data/iam/security-credentials/node-role",
             json.dumps({"Code": "Success", "AccessKeyId": KEY, "SecretAccessKey": SECRET, "Token": TOKEN}))
    imds.set("meta-data/autoscaling/target-lifecycle-state", "InService")
    endpoint.add_key(KEY, SECRET, TOKEN)
    endpoint.add_stack("bench-stack", "Nodes")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url,
        "AWS_ENDPOINT_URL_CLOUDFORMATION": endpoint.url,
        "AWS_ENDPOINT_URL_AUTO_SCALING": endpoint.url,
        "DBUS_SYSTEM_BUS_ADDRESS": bus,
    }
    from kindling.api.service import SettingsService

    SettingsService(Host(root, env=env)).set_tree(
        {
            "cloudformation": {"should-signal": True, "stack-name": "bench-stack", "logical-resource-id": "Nodes"},
            "autoscaling": {"should-wait": True, "lifecycle-hook-name": "launch-hook"},
        },
        tx="bench",
        source="bench",
    )
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    kindling = str(Path(sys.executable).with_name("kindling"))
    floor = statistics.median(_run([sys.executable, "-c", "pass"], dict(os.environ))[0] for _ in range(5))

    results: dict[str, tuple[list[float], list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="kindling-bench-aws-") as tmp, ImdsEmulator() as imds, \
            AwsEndpoint() as endpoint:
        daemon = DbusDaemon(Path(tmp))
        systemd = FakeSystemd(daemon.address, state="running")
        try:
            root = Path(tmp) / "root"
            root.mkdir()
            env = _rigs(root, imds, endpoint, daemon.address)
            commands = {
                "cfsignal": [kindling, "cfsignal", "--root", str(root)],
                "warm-pool-wait": [kindling, "warm-pool-wait", "--root", str(root)],
                "lifecycle complete": [kindling, "lifecycle", "complete", "--root", str(root)],
            }
            for name, argv in commands.items():
                walls: list[float] = []
                rss: list[float] = []
                for _ in range(args.runs):
                    for marker in ("cfsignal.ran", "warm-pool-wait.ran"):
                        (root / "var/lib/kindling" / marker).unlink(missing_ok=True)
                    endpoint.add_instance(INSTANCE, "bench-asg", "Pending:Wait", hook="launch-hook")
                    wall, peak, done = _run(argv, env)
                    if done.returncode != 0:
                        sys.stderr.write(f"{name} failed: {done.stderr}\n")
                        return 1
                    walls.append(wall)
                    rss.append(peak)
                results[name] = (walls, rss)
            signals = endpoint.actions().count("SignalResource")
        finally:
            systemd.stop()
            daemon.stop()

    light = _import_ms("import platforms.aws.cfsignal, platforms.aws.warm_pool, platforms.aws.lifecycle")
    heavy = _import_ms("import platforms.aws.cfsignal, botocore.auth, botocore.httpsession, dbus_fast.aio")
    bare = _import_ms("pass")
    help_ms = statistics.median(_run([kindling, "cfsignal", "--help"], dict(os.environ))[0] for _ in range(5))

    load = os.getloadavg()[0]
    print(f"floor ({sys.executable} -c pass): {floor:.1f} ms; load average {load:.1f} on {os.cpu_count()} CPUs")
    for name, (walls, rss) in results.items():
        print(f"kindling {name:<19} median {statistics.median(walls):7.1f} ms  worst {max(walls):7.1f} ms  "
              f"({statistics.median(walls) / floor:.1f}x floor)  peak RSS {max(rss):.1f} MB "
              f"(budget {RSS_BUDGET_MB:.0f} MB: {max(rss) / RSS_BUDGET_MB:.2f}x)")
    print(f"SignalResource calls verified by the endpoint: {signals} of {args.runs}")
    print(f"import service modules (no botocore/dbus-fast): {light - bare:6.1f} ms above a bare interpreter")
    print(f"import with botocore SigV4 + urllib3 + dbus-fast: {heavy - bare:6.1f} ms above a bare interpreter")
    print(f"kindling cfsignal --help: {help_ms:.1f} ms ({help_ms / floor:.1f}x floor)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
