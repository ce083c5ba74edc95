"""Benchmark: a first boot of the embedded default with every node applier active.

`kindling boot --platform metal --root <fresh copy of demo/root>` (a fresh interpreter
each run, as a node's first boot), whose user data sets hostname, hosts, sysctls,
lockdown, a blocked module, NTP, a CA bundle and, for this benchmark, `aws.config` and
`aws.credentials`: all eight node appliers (sysctl, lockdown, kernel-modules, hostname,
hosts, ntp, pki, aws-config) write their files, and pki runs update-ca-certificates
against the root's own trust store. Each run is paired with the same boot whose user
data lacks those keys (the appliers then have nothing to do), alternately A B A B, and
the per-pair ratio says what making every setting take effect costs a first boot.
As root the boots run in a private network namespace with eth0/eth1, as `make demo`
does, so netdog's status step (and the node-ip generator) sees real addresses.

    python bench/bench_appliers.py [--runs N]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "demo" / "root"
USER_DATA = "var/lib/kindling/user-data.toml"
# the node-applier keys the baseline drops from the demo's user data
_DROP = re.compile(r"^\[settings\.(ntp|pki\.[^\]]+|kernel\.modules\.[^\]]+|kernel\.sysctl)\]$")


def _aws_block() -> str:
    config = base64.b64encode(b"[default]\nregion = us-west-2\n").decode()
    creds = base64.b64encode(b"[default]\naws_access_key_id = AKIABENCH\naws_secret_access_key = bench\n").decode()
    return f'\n[settings.aws]\nconfig = "{config}"\ncredentials = "{creds}"\n'


def _baseline(text: str) -> str:
    """The demo's user data without the tables and lines the node appliers act on."""
    out: list[str] = []
    skipping = False
    for line in text.splitlines():
        if line.startswith("["):
            skipping = bool(_DROP.match(line.strip()))
        if skipping or line.startswith(("hostname =", "hosts =")):
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def _prepare(dst: Path, active: bool) -> None:
    shutil.copytree(DEMO, dst, symlinks=True)
    user_data = dst / USER_DATA
    text = user_data.read_text()
    user_data.write_text(text + _aws_block() if active else _baseline(text))
    defaults = dst / "etc/kindling/user-data-defaults.toml"
    if not active:  # lockdown comes from the image defaults
        defaults.write_text(defaults.read_text().replace('lockdown = "integrity"', ""))


def _netns() -> str | None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return None
    ns = f"kindling-bench-appliers-{os.getpid()}"
    for cmd in (["ip", "netns", "add", ns], ["ip", "-n", ns, "link", "set", "lo", "up"],
                ["ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"],
                ["ip", "-n", ns, "addr", "add", "192.0.2.10/24", "dev", "eth0"],
                ["ip", "-n", ns, "addr", "add", "192.168.50.10/24", "dev", "eth1"],
                ["ip", "-n", ns, "link", "set", "eth0", "up"], ["ip", "-n", ns, "link", "set", "eth1", "up"]):
        subprocess.run(cmd, check=True, capture_output=True)
    return ns


def _boot(root: Path, ns: str | None) -> tuple[float, dict[str, float], str]:
    argv = [sys.executable, "-m", "kindling.cli", "boot", "--platform", "metal", "--root", str(root)]
    if ns:
        argv = ["ip", "netns", "exec", ns, *argv]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise SystemExit(f"boot failed on {root}:\n{done.stdout}{done.stderr}")
    timeline = json.loads((root / "run/kindling/timeline.json").read_text())
    stages = {s["name"]: float(s.get("duration_ms", s.get("duration", 0.0) * 1000)) for s in timeline["stages"]}
    return wall, stages, done.stdout


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):7.1f} ms ({min(values):.1f}-{max(values):.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ns = _netns()
    load = os.getloadavg()[0]
    walls: dict[bool, list[float]] = {True: [], False: []}
    stage_ms: dict[bool, dict[str, list[float]]] = {True: {}, False: {}}
    ratios: list[float] = []
    effects: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="kindling-bench-appliers-") as tmp:
            for i in range(args.runs + 1):  # run 0 warms the page cache and the bytecode
                pair: dict[bool, float] = {}
                for active in (True, False):
                    root = Path(tmp) / f"{'all' if active else 'none'}{i}"
                    _prepare(root, active)
                    wall, stages, _out = _boot(root, ns)
                    if i and active and not effects:
                        effects = [p for p in ("etc/sysctl.d/90-kindling.conf", "etc/modprobe.d/90-kindling.conf",
                                               "etc/chrony/conf.d/90-kindling.conf", "etc/hosts", "etc/hostname",
                                               "root/.aws/credentials", "etc/ssl/certs/ca-certificates.crt")
                                   if (root / p).exists()]
                    if i:
                        walls[active].append(wall)
                        pair[active] = wall
                        for name, ms in stages.items():
                            stage_ms[active].setdefault(name, []).append(ms)
                    shutil.rmtree(root)
                if i:
                    ratios.append(pair[True] / pair[False])
    finally:
        if ns:
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
    print(f"first boot of demo/root, every node applier active vs none, {args.runs} pairs"
          f" (load {load:.1f}, {os.cpu_count()} CPUs{', private netns' if ns else ', no netns: not root'})")
    print(f"  boot, all appliers active   {_fmt(walls[True])}")
    print(f"  boot, node keys unset       {_fmt(walls[False])}")
    print(f"  ratio active/unset (pairs)  {statistics.median(ratios):7.2f}x ({min(ratios):.2f}-{max(ratios):.2f})")
    for name in ("early-boot-config", "apply-settings"):
        if name in stage_ms[True] and name in stage_ms[False]:
            print(f"  stage {name:<21} {_fmt(stage_ms[True][name])}  vs {_fmt(stage_ms[False][name])}")
    print(f"  files the appliers wrote    {', '.join(effects)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
