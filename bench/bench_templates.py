"""Benchmark: the configuration-file templates (kubelet, ECS, containerd).

Figures:
1. render time of every shipped template for the biggest settings example (every
   kubernetes key of the kubelet, registry mirrors and credentials, container-runtime,
   ECS): warm in process (median of 50, templates compiled once, as in the API
   server), and cold in a fresh interpreter (Jinja2 import + compile + render, the
   cost a first boot pays once);
2. the cost on a first boot: `kindling boot --platform metal` on fresh copies of
   demo/root whose user data has no consumer settings, then the same plus the biggest
   example; paired runs, the ratio per pair (no budget in DESIGN: reported).

    python bench/bench_templates.py [--runs N]
"""

from __future__ import annotations

import argparse
import base64
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
KINDLING = str(Path(sys.executable).parent / "kindling")


def biggest(ca: str) -> dict[str, Any]:
    manifest = base64.b64encode(b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n").decode()
    return {
        "kubernetes": {
            "api-server": "https://ABCDEF.gr7.us-west-2.eks.amazonaws.com", "cluster-certificate": ca,
            "cluster-name": "bottlerocket", "cluster-dns-ip": ["10.0.0.1", "10.0.0.2"],
            "cluster-domain": "cluster.local", "max-pods": 58, "node-ip": "192.0.2.10",
            "hostname-override": "node-1.example", "provider-id": "aws:///us-west-2a/i-0123",
            "node-labels": {f"example.com/label-{i}": f"value-{i}" for i in range(20)},
            "node-taints": {"dedicated": ["experimental:PreferNoSchedule", "experimental:NoExecute"]},
            "allowed-unsafe-sysctls": ["net.core.somaxconn"], "container-log-max-files": 4,
            "container-log-max-size": "20Mi", "cpu-manager-policy": "static",
            "cpu-manager-policy-options": ["full-pcpus-only"], "eviction-hard": {"memory.available": "15%"},
            "eviction-soft": {"memory.available": "12%"}, "eviction-soft-grace-period": {"memory.available": "30s"},
            "eviction-max-pod-grace-period": 40, "image-gc-high-threshold-percent": 85,
            "image-gc-low-threshold-percent": 80, "kube-reserved": {"cpu": "80m", "memory": "893Mi"},
            "system-reserved": {"cpu": "10m", "memory": "100Mi"}, "memory-manager-policy": "Static",
            "memory-manager-reserved-memory": {"0": {"enabled": True, "memory": "674Mi"}},
            "topology-manager-policy": "best-effort", "pod-infra-container-image": "registry.example/pause:3.9",
            "credential-providers": {
                "ecr-credential-provider": {"enabled": True, "image-patterns": ["*.dkr.ecr.us-west-2.amazonaws.com"]},
            },
            "static-pods": {f"pod{i}": {"enabled": True, "manifest": manifest} for i in range(5)},
        },
        "aws": {"region": "us-west-2"},
        "container-registry": {
            "mirrors": [{"registry": r, "endpoint": [f"https://m{i}.example" for i in range(3)]}
                        for r in ("*", "docker.io", "gcr.io", "quay.io")],
            "credentials": [{"registry": "docker.io", "username": "u", "password": "p"}],
        },
        "container-runtime": {"max-concurrent-downloads": 4, "enable-unprivileged-ports": True},
        "ecs": {"cluster": "c", "instance-attributes": {f"a{i}": "v" for i in range(10)}, "loglevel": "info"},
    }


def make_ca(tmp: Path) -> str:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp / "k"),
                    "-out", str(tmp / "c"), "-days", "1", "-subj", "/CN=bench"], check=True, capture_output=True)
    return base64.b64encode((tmp / "c").read_bytes()).decode()


def render_all(settings: dict[str, Any]) -> int:
    from kindling.templates.declaration import shipped_declarations
    from kindling.templates.render import render_declaration

    return sum(len(render_declaration(d, settings)) for d in shipped_declarations().values())


def ms(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ms (min {min(values):.1f}, max {max(values):.1f}, n={len(values)})"


def _toml(tree: dict[str, Any], prefix: str = "settings") -> str:
    """A small TOML writer for the user-data file (tables, inline arrays/tables)."""
    import json

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return "{" + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + "}"

    scalars = {k: v for k, v in tree.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in tree.items() if isinstance(v, dict)}
    out = [f"[{prefix}]"] + [f"{json.dumps(k)} = {value(v)}" for k, v in scalars.items()]
    for k, v in tables.items():
        out.append(_toml(v, f"{prefix}.{json.dumps(k)}"))
    return "\n".join(out) + "\n"


def boot_once(tmp: Path, user_data: str, tag: str, i: int) -> tuple[float, str]:
    root = tmp / f"{tag}-{i}"
    shutil.copytree(REPO / "demo/root", root, symlinks=True)
    (root / "var/lib/kindling/user-data.toml").write_text(user_data)
    t0 = time.perf_counter()
    done = subprocess.run([KINDLING, "boot", "--root", str(root), "--platform", "metal"], capture_output=True,
                          text=True, check=False)
    wall = (time.perf_counter() - t0) * 1000
    if done.returncode != 0:
        sys.exit(f"boot ({tag}) failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    apply = re.search(r"apply-settings\s+ok.*\[([0-9.]+) ms\]", done.stdout)
    shutil.rmtree(root)
    return wall, apply.group(1) if apply else "?"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kindling-bench-templates-") as tmpdir:
        tmp = Path(tmpdir)
        settings = biggest(make_ca(tmp))
        from kindling.settings import validate_settings

        settings = validate_settings(settings, source="bench")
        files = render_all(settings)  # compiles once
        warm = []
        for _ in range(50):
            t0 = time.perf_counter()
            render_all(settings)
            warm.append((time.perf_counter() - t0) * 1000)
        print(f"1. shipped templates, biggest example: {files} files")
        print(f"   warm render of all (in process): {ms(warm)}")
        code = (f"import sys, time, json; sys.path.insert(0, {str(REPO)!r}); t0 = time.perf_counter(); "
                "from bench.bench_templates import render_all; s = json.load(sys.stdin); render_all(s); "
                "print((time.perf_counter() - t0) * 1000)")
        import json

        cold, cold_wall, floor = [], [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", code], input=json.dumps(settings), capture_output=True,
                                 text=True, check=True)
            cold_wall.append((time.perf_counter() - t0) * 1000)
            cold.append(float(out.stdout.strip()))
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            floor.append((time.perf_counter() - t0) * 1000)
        print(f"   cold (fresh interpreter: Jinja2 import + compile + render): {ms(cold)}")
        print(f"   that process's wall time: {ms(cold_wall)}; interpreter floor `python -c pass`: {ms(floor)}")

        demo = tomllib.loads((REPO / "demo/root/var/lib/kindling/user-data.toml").read_text())["settings"]
        plain = {k: v for k, v in demo.items() if k not in ("kubernetes", "ecs", "container-registry",
                                                             "container-runtime")}
        with_consumers = {**plain, **{k: v for k, v in settings.items() if k != "aws"}}
        without, withc, ratios, apply_a, apply_b = [], [], [], [], []
        for i in range(args.runs + 1):
            a, aa = boot_once(tmp, _toml(plain), "plain", i)
            b, ab = boot_once(tmp, _toml(with_consumers), "consumers", i)
            if i == 0:
                continue  # warm-up pair
            without.append(a)
            withc.append(b)
            ratios.append(b / a)
            apply_a.append(aa)
            apply_b.append(ab)
        print("2. first boot (`kindling boot --platform metal` on demo/root, paired):")
        stage_a, stage_b = statistics.median(map(float, apply_a)), statistics.median(map(float, apply_b))
        print(f"   without consumer settings: {ms(without)}; apply-settings stage {stage_a:.1f} ms")
        print(f"   with the biggest example:  {ms(withc)}; apply-settings stage {stage_b:.1f} ms")
        print(f"   ratio (with / without, per pair): median {statistics.median(ratios):.2f}x "
              f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
