"""cloud-init side by side with `kindling boot`, on the same inputs (issue 9 §2).

cloud-init comes from Debian's own package, installed by debootstrap into a throwaway
root under the cache directory (`$KINDLING_BENCH_CACHE`, default
/var/cache/kindling-bench), built once inside a private mount namespace and never
written again: every run mounts an overlay (fresh upper dir) on top of it inside the
sandbox of `nsrun`, so each first boot really is a first boot, the cached root stays
pristine, and the host's /etc/cloud, /var/lib/cloud, network, hostname and mounts are
never touched (`host_fingerprint` checks that, before and after).

Debian's cloud-init renders network config for ifupdown; `disable_network_activation`
keeps it from bringing interfaces up, as in the published peer measurements
(shared/reference/peers-cloud-init-afterburn.md §2.2), and growpart/resizefs are off
(no real disk here; growpart has its own comparison).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.janitor import Janitor
from bench.measure import clean_env
from bench.nsrun import Chroot, SandboxRun, run_sandboxed
from bench.peers.hostcheck import host_fingerprint, written
from bench.peers.nocloud import bootconfig_settings, nocloud_seed, settings_from_inputs
from bench.report import Block, Budget, PairRow, Row
from bench.stats import Summary, pair_ratios, paired
from bench.target import Kindling
from kindling.merge import merge

__all__ = ["CloudInitRoot", "boot_stage_times", "cloud_init_rows", "kindling_seed"]

SECTION = "cloud-init side by side (same inputs, same sandbox)"
SUITE = "bookworm"
MIRROR = os.environ.get("KINDLING_BENCH_MIRROR", "http://deb.debian.org/debian")
# python3-cffi-backend by name: debootstrap's resolver does not follow the virtual
# python3-cffi-backend-api-* that python3-cryptography (via oauthlib) depends on
PACKAGES = ("cloud-init", "ifupdown", "iproute2", "python3-cffi-backend")
READY = ".kindling-bench-ready"
BENCH_CFG = """\
# Written by Kindling's bench/ (issue 9): the settings of the published peer runs, plus a
# locale a minbase root has (the default en_US.UTF-8 makes cc_locale fail).
datasource_list: [NoCloud, None]
disable_network_activation: true
growpart: {mode: 'off'}
resize_rootfs: false
locale: C.UTF-8
"""
FIRST = ("init-local", "init")


def cache_dir() -> Path:
    return Path(os.environ.get("KINDLING_BENCH_CACHE", "/var/cache/kindling-bench"))


class CloudInitRoot:
    """Debian bookworm minbase + cloud-init, built once by debootstrap."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_dir() / "cloud-init-root"

    def ready(self) -> bool:
        return (self.path / READY).exists()

    def missing_tool(self) -> str | None:
        for tool in ("debootstrap", "unshare", "chroot"):
            if shutil.which(tool) is None:
                return tool
        return None

    def build(self, say: Callable[[str], None]) -> None:
        """debootstrap in a private mount namespace: its proc/sys mounts of the target
        can never outlive it on the host. Takes a few minutes once (downloads ~60 MB).
        A lock file keeps two benchmark runs from building into the same directory."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.parent / ".build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not self.ready():  # another run may have built it while we waited
                self._build(say)

    def _build(self, say: Callable[[str], None]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        debs = self.path.parent / "debs"  # kept: a rebuild downloads nothing
        debs.mkdir(exist_ok=True)
        say(f"building the cloud-init root in {self.path} (debootstrap, once)")
        argv = [
            "unshare", "--mount", "--propagation", "private", "debootstrap", "--variant=minbase",
            f"--cache-dir={debs}", f"--include={','.join(PACKAGES)}", SUITE, str(tmp), MIRROR,
        ]  # fmt: skip
        res = subprocess.run(argv, capture_output=True, text=True, timeout=1800, env=clean_env())
        if res.returncode != 0:
            raise RuntimeError(f"debootstrap failed ({res.returncode}): {res.stdout[-400:]} {res.stderr[-400:]}")
        (tmp / READY).write_text(self.version(tmp) + "\n")
        tmp.rename(self.path)

    @staticmethod
    def version(root: Path) -> str:
        status = (root / "var/lib/dpkg/status").read_text()
        for para in status.split("\n\n"):
            if "Package: cloud-init\n" in para:
                for line in para.splitlines():
                    if line.startswith("Version:"):
                        return line.split(":", 1)[1].strip()
        return "unknown"

    def overlay(self, janitor: Janitor, seed: dict[str, str] | None, upper: Path | None = None) -> Chroot:
        """A per-run overlay: fresh upper with the NoCloud seed and the bench config (or
        a given upper, for a later boot of the same instance)."""
        run = janitor.tempdir("ci")
        if upper is None:
            upper = run / "upper"
            (upper / "etc/cloud/cloud.cfg.d").mkdir(parents=True)
            (upper / "etc/cloud/cloud.cfg.d/99-kindling-bench.cfg").write_text(BENCH_CFG)
            if seed is not None:
                d = upper / "var/lib/cloud/seed/nocloud"
                d.mkdir(parents=True)
                for name, text in seed.items():
                    (d / name).write_text(text)
        work = run / "work"
        mnt = run / "mnt"
        work.mkdir()
        mnt.mkdir()
        return Chroot(self.path, upper, work, mnt)


def kindling_seed(demo: Path) -> dict[str, str]:
    """The demo root's inputs, as cloud-init reads them."""
    settings = settings_from_inputs(
        (demo / "etc/kindling/user-data-defaults.toml").read_text(),
        (demo / "var/lib/kindling/user-data.toml").read_text(),
    )
    bootconfig = demo / "proc/bootconfig"
    if bootconfig.exists():
        settings = merge(settings, bootconfig_settings(bootconfig.read_text()))
    net = demo / "var/lib/kindling/net.toml"
    return nocloud_seed(settings, net.read_text() if net.exists() else None)


def _ci(*args: str) -> list[str]:
    return ["/usr/bin/env", "PYTHONDONTWRITEBYTECODE=1", "cloud-init", *args]


CI_FIRST_BOOT = [
    ("init-local", _ci("init", "--local")),
    ("init", _ci("init")),
    ("modules-config", _ci("modules", "--mode", "config")),
    ("modules-final", _ci("modules", "--mode", "final")),
]


def cloud_init_rows(
    k: Kindling, janitor: Janitor, runs: int, warmup: int, say: Callable[[str], None]
) -> tuple[list[Row], list[PairRow], list[Block], list[str]]:
    root = CloudInitRoot()
    rows: list[Row] = []
    pairs: list[PairRow] = []
    notes: list[str] = []
    if not root.ready():
        tool = root.missing_tool()
        if tool is not None:
            why = f"not present: `{tool}` not installed"
            return [Row(SECTION, "cloud-init", "ms", None, status=why)], [], [], []
        root.build(say)
    version = (root.path / READY).read_text().strip()
    seed = kindling_seed(k.demo)
    before = host_fingerprint(root.path)
    log = janitor.tempdir("ci-log") / "cloud-init-output.log"

    # --- cloud-init --version vs kindling --help (both in the sandbox) -------------
    def k_help() -> SandboxRun:
        return _sandboxed([("help", k.argv("--help"))], env=k.env())

    def ci_version() -> SandboxRun:
        return _sandboxed([("version", _ci("--version"))], chroot=root.overlay(janitor, None), log=log)

    a, b = paired(k_help, ci_version, runs, warmup)
    pairs.append(_pair("start-up", "`kindling --help`", f"`cloud-init --version` ({version})", a, b, None))

    # --- first boot: kindling boot vs init --local + init (+ modules) --------------
    did: dict[str, list[str]] = {}
    k_stages: list[dict[str, float]] = []

    def k_first() -> SandboxRun:
        r = k.demo_copy(janitor, "first")
        out = r.parent / "boot.log"
        t0 = time.time_ns()
        run = _sandboxed([("boot", k.argv("boot", "--root", str(r)))], env=k.env(), log=out, tmpfs=[r / "run"])
        did["kindling"] = written(r, t0)
        k_stages.append(boot_stage_times(out.read_text() if out.exists() else ""))
        return run

    def ci_first() -> SandboxRun:
        c = root.overlay(janitor, seed)
        t0 = time.time_ns()
        run = _sandboxed(CI_FIRST_BOOT, chroot=c, log=log)
        did["cloud-init"] = written(c.upper, t0, skip=("var/lib/cloud", "var/log", "var/cache", "run", "tmp"))
        return run

    a, b = paired(k_first, ci_first, runs, warmup)
    first_ci = b
    k.record_rss("kindling boot (first boot)", [x.peak() for x in a])
    first = _pair("first boot", "`kindling boot`", "`cloud-init init --local` + `init`", a, b, Budget(">=", 10, "x"),
                  FIRST)  # fmt: skip
    pairs.append(replace(first, note=f"files written: kindling {_files(did.get('kindling'))}; "
                                     f"cloud-init {_files(did.get('cloud-init'))}"))  # fmt: skip
    pairs.append(_pair("first boot, whole sequence", "`kindling boot`",
                       "cloud-init init --local, init, modules config, modules final", a, b,
                       Budget(">=", 20, "x")))  # fmt: skip
    rows += _stage_rows(b, "cloud-init first boot")
    rows += _kindling_stage_rows(k_stages[warmup:])
    names = list(k_stages[-1]) if k_stages else []
    notes.append(
        f"`kindling boot` ran {len(names)} stage(s) in this tree ({', '.join(names) or 'none'}): the ratios compare "
        "the boot path as it exists here; the files each side wrote are listed beside the first-boot pair"
    )
    notes += _failures("cloud-init first boot", b) + _failures("kindling boot (first boot)", a)

    # --- later boot: same instance again (fresh /run, as after a reboot) ------------
    k_root = k.demo_copy(janitor, "later")
    _sandboxed([("boot", k.argv("boot", "--root", str(k_root)))], env=k.env(), tmpfs=[k_root / "run"])
    ci_upper = root.overlay(janitor, seed)
    _sandboxed(CI_FIRST_BOOT, chroot=ci_upper, log=log)

    def k_later() -> SandboxRun:  # a fresh tmpfs on its /run each time: the reboot
        return _sandboxed([("boot", k.argv("boot", "--root", str(k_root)))], env=k.env(), tmpfs=[k_root / "run"])

    def ci_later() -> SandboxRun:
        return _sandboxed(CI_FIRST_BOOT[:2], chroot=root.overlay(janitor, None, upper=ci_upper.upper), log=log)

    a, b = paired(k_later, ci_later, runs, warmup)
    k.record_rss("kindling boot (later boot)", [x.peak() for x in a])
    later = "`cloud-init init --local` + `init`"
    pairs.append(_pair("later boot", "`kindling boot`", later, a, b, Budget(">=", 20, "x")))
    notes += _failures("cloud-init later boot", b) + _failures("kindling boot (later boot)", a)

    k.record_peer_rss(f"cloud-init {version}, first boot (largest stage)", [x.peak().maxrss_mb for x in first_ci])
    after = host_fingerprint(root.path)
    changed = [part for part in before if before[part] != after.get(part)]
    rows.append(
        Row(SECTION, "host and cached cloud-init root unchanged by all runs", "", None,
            status="yes" if not changed else f"NO: changed: {', '.join(changed)}",
            note="checked: " + ", ".join(before))
    )  # fmt: skip
    blocks = [Block("cloud-init NoCloud seed used (from demo/root)", _seed_text(seed))]
    return rows, pairs, blocks, notes


def _sandboxed(stages: list[tuple[str, list[str]]], **kw: Any) -> SandboxRun:
    """Every boot of both sides in the same sandbox, with a DHCP server on eth0's peer
    when dnsmasq is installed (the demo's net.toml asks for DHCP on eth0)."""
    return run_sandboxed(stages, dhcp_server=shutil.which("dnsmasq") is not None, **kw)


def _pair(
    name: str,
    a_label: str,
    b_label: str,
    a: list[SandboxRun],
    b: list[SandboxRun],
    budget: Budget | None,
    b_stages: tuple[str, ...] | None = None,
) -> PairRow:
    av = [x.total_ms() for x in a]
    bv = [x.total_ms(b_stages) for x in b]
    return PairRow(SECTION, name, a_label, b_label, "ms", Summary.of(av), Summary.of(bv),
                   Summary.of(pair_ratios(av, bv)), budget)  # fmt: skip


def _stage_rows(runs: list[SandboxRun], what: str) -> list[Row]:
    names = [s.name for s in runs[0].stages]
    rows = []
    for name in names:
        vals = [s.ms for r in runs for s in r.stages if s.name == name]
        rcs = sorted({s.rc for r in runs for s in r.stages if s.name == name})
        rows.append(Row(SECTION, f"{what}: stage `{name}`", "ms", Summary.of(vals), note=f"exit codes {rcs}"))
    return rows


_BOOT_LINE = re.compile(r"^(\S+)\s+(ok|skipped|failed)\b.*\[([\d.]+) ms\]$")


def boot_stage_times(output: str) -> dict[str, float]:
    """{stage: ms} from `kindling boot`'s one line per stage (`name  ok (…)  [12.3 ms]`)."""
    times = {}
    for line in output.splitlines():
        m = _BOOT_LINE.match(line.strip())
        if m:
            times[m.group(1)] = float(m.group(3))
    return times


def _kindling_stage_rows(runs: list[dict[str, float]]) -> list[Row]:
    names: dict[str, None] = {}
    for run in runs:
        names.update(dict.fromkeys(run))
    rows = []
    for name in names:
        vals = [run[name] for run in runs if name in run]
        rows.append(Row(SECTION, f"kindling first boot: stage `{name}` (its own timer)", "ms", Summary.of(vals)))
    return rows


def _failures(what: str, runs: list[SandboxRun]) -> list[str]:
    bad = {(s.name, s.rc) for r in runs for s in r.failed()}
    return [f"{what}: stage `{n}` exited {rc} in some runs (see the stage rows)" for n, rc in sorted(bad)]


def _files(paths: list[str] | None) -> str:
    if not paths:
        return "none"
    return ", ".join(paths[:12]) + (f" and {len(paths) - 12} more" if len(paths) > 12 else "")


def _seed_text(seed: dict[str, str]) -> str:
    return "\n".join(f"--- {name}\n{text.rstrip()}" for name, text in seed.items())
