"""netdog benchmarks (issue 4; DESIGN §8). Run as root: `python bench/bench_netdog.py`.

1. generate-net-config on the biggest conformance fixture (net_config.toml rendered
   for v3): in-process parse+validate+render+write (median of 50), and the cold CLI
   (`kindling netdog generate-net-config --root …`, median of 7) against the
   interpreter floor (`python -c pass`), with the CLI's peak RSS (budget 40 MB).
2. DHCP lease-to-configured in the namespace rig of RIGS.md (dnsmasq --no-ping across
   a veth between two namespaces created here): time from the client's BOUND to the
   address, route, resolv.conf and current_ip being in place, as reported by
   `kindling netdog apply --json` (budget 100 ms), plus the whole apply's wall time.
"""



from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
KINDLING = str(Path(sys.executable).parent / "kindling")


def conformance_dir() -> Path:
    env = os.environ.get("KINDLING_CONFORMANCE_DIR")
    for c in [Path(env)] if env else [REPO.parent / "shared/conformance",
                                      REPO.parent.parent / "shared/conformance"]:
        if c.is_dir():
            return c
    sys.exit("conformance fixtures not found (set KINDLING_CONFORMANCE_DIR)")


def render_v3(text: str) -> str:
    text = re.sub(r"\{\{#if \(eq version (\d+)\)\}\}(.*?)\{\{/if\}\}",
                  lambda m: m.group(2) if m.group(1) == "3" else "", text, flags=re.S)
    return text.replace("{{version}}", "3")


def bench_generate() -> None:
    from kindling.host import Host
    from netdog.generate import generate_net_config

    src = conformance_dir() / "bottlerocket/netdog/test_data/net_config.toml"
    text = render_v3(src.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "var/lib/kindling").mkdir(parents=True)
        (root / "var/lib/kindling/net.toml").write_text(text)
        from netdog.parse import parse_net_toml
        from netdog.render_networkd import render_networkd

        pure = []
        for _ in range(200):
            t = time.perf_counter()
            config = parse_net_toml(text, "net.toml")
            assert config is not None
            files = render_networkd(config)
            pure.append(time.perf_counter() - t)
        fresh, same = [], []
        for _ in range(20):
            subprocess.run(["rm", "-rf", str(root / "etc"), str(root / "var/lib/kindling/netdog")],
                           check=True)
            t = time.perf_counter()
            generate_net_config(Host(root))
            fresh.append(time.perf_counter() - t)
            t = time.perf_counter()
            report = generate_net_config(Host(root))
            same.append(time.perf_counter() - t)
            assert not report.written
        print(f"generate-net-config, biggest fixture (v3, {len(files)} files): parse+validate+"
              f"render {statistics.median(pure) * 1000:.2f} ms; with writes (atomic, fsync) "
              f"{statistics.median(fresh) * 1000:.1f} ms; second run, nothing to write "
              f"{statistics.median(same) * 1000:.1f} ms (medians)")

        floor = [_wall([sys.executable, "-c", "pass"]) for _ in range(7)]
        cli = []
        for _ in range(7):
            subprocess.run(["rm", "-rf", str(root / "etc")], check=True)
            cli.append(_wall([KINDLING, "netdog", "generate-net-config", "--root", str(root)]))
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        f, c = statistics.median(floor), statistics.median(cli)
        print(f"generate-net-config cold CLI: median {c * 1000:.1f} ms; interpreter floor "
              f"{f * 1000:.1f} ms; ratio {c / f:.2f}x; peak RSS {rss:.1f} MB "
              f"(budget 40 MB: {rss / 40:.2f})")


def _wall(argv: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - t


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def bench_dhcp(rounds: int = 5) -> None:
    if os.geteuid() != 0:
        print("dhcp lease-to-configured: skipped (needs root for namespaces)")
        return
    pid = os.getpid()
    server, client = f"kbS{pid}", f"kbC{pid}"
    tmp = Path(tempfile.mkdtemp())
    dnsmasq = None
    try:
        for ns in (server, client):
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", server, "link", "add", "s0", "type", "veth", "peer", "name", "c0",
            "netns", client)
        _ip("-n", server, "addr", "add", "10.219.0.1/24", "dev", "s0")
        _ip("-n", server, "link", "set", "s0", "up")
        log = tmp / "dnsmasq.log"
        dnsmasq = subprocess.Popen(
            ["ip", "netns", "exec", server, "dnsmasq", "--no-daemon", "--conf-file=/dev/null",
             "--port=0", "--interface=s0", "--bind-interfaces",
             "--dhcp-range=10.219.0.10,10.219.0.200,255.255.255.0,120s",
             "--dhcp-option=option:router,10.219.0.1",
             "--dhcp-option=option:dns-server,10.219.0.1", f"--dhcp-leasefile={tmp}/leases",
             "--pid-file=", "--no-ping", "--dhcp-authoritative"],
            stdout=log.open("wb"), stderr=subprocess.STDOUT)
        time.sleep(0.3)
        configured, walls = [], []
        for i in range(rounds):
            root = tmp / f"root{i}"
            (root / "var/lib/kindling").mkdir(parents=True)
            (root / "var/lib/kindling/net.toml").write_text("version = 1\n[c0]\ndhcp4 = true\n")
            _ip("-n", client, "addr", "flush", "dev", "c0")
            _ip("-n", client, "link", "set", "c0", "down")
            t = time.perf_counter()
            done = subprocess.run(["ip", "netns", "exec", client, KINDLING, "netdog", "apply",
                                   "--root", str(root), "--json", "--timeout", "10"],
                                  capture_output=True, text=True, check=True)
            walls.append(time.perf_counter() - t)
            configured.append(json.loads(done.stdout)["lease_to_configured_ms"]["c0/dhcp4"])
        med = statistics.median(configured)
        print(f"dhcp lease-to-configured: median {med:.1f} ms, max {max(configured):.1f} ms "
              f"over {rounds} runs (budget 100 ms: {med / 100:.2f})")
        print(f"netdog apply (link up + DISCOVER..ACK + configure), cold CLI: median "
              f"{statistics.median(walls) * 1000:.0f} ms")
    finally:
        if dnsmasq is not None:
            dnsmasq.terminate()
            dnsmasq.wait()
        for ns in (server, client):
            subprocess.run(["ip", "netns", "del", ns], check=False)


if __name__ == "__main__":
    bench_generate()
    bench_dhcp()
