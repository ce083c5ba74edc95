"""`kindling bootconfig …` as users run it (subprocess, --root on a temp tree)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kindling.bootconfig import read_footer, write_footer

REPO = Path(__file__).resolve().parents[2]


def kindling(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), PATH="/nonexistent")
    root.mkdir(parents=True, exist_ok=True)  # --root must name an existing directory
    argv = [sys.executable, "-m", "kindling.cli", "bootconfig", *args, "--root", str(root)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)


def _plant(root: Path, rel: str, data: str | bytes) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        p.write_text(data)
    return p


def test_show_formats(root: Path) -> None:
    _plant(root, "proc/bootconfig", 'kernel.console = "ttyS0"\nkernel.nosmt = ""\n')
    assert kindling("show", root=root).stdout == 'kernel {\n\tconsole = "ttyS0";\n\tnosmt = "";\n}\n'
    listed = kindling("show", "--format", "list", root=root).stdout
    assert listed == 'kernel.console = "ttyS0"\nkernel.nosmt = ""\n'
    as_json = json.loads(kindling("show", "--json", root=root).stdout)
    assert as_json == {"ok": True, "config": {"kernel.console": ["ttyS0"], "kernel.nosmt": [""]}}
    _plant(root, "proc/bootconfig", 'ok = "no"\n')  # a key named like the envelope's field
    assert json.loads(kindling("show", "--json", root=root).stdout) == {"ok": True, "config": {"ok": ["no"]}}


def test_show_reads_bootconfig_data_and_initrds(root: Path) -> None:
    _plant(root, "boot/initrd.img", bytes(100) + write_footer("a.b = 1\n", offset=100))
    out = kindling("show", "/boot/initrd.img", "--format", "canonical", root=root)
    assert out.returncode == 0 and out.stdout == 'a.b = "1"\n'


def test_show_without_proc_bootconfig(root: Path) -> None:
    out = kindling("show", root=root)
    assert out.returncode == 1 and "no bootconfig support" in out.stderr


def test_parse_prints_settings_and_commits(root: Path) -> None:
    _plant(root, "proc/bootconfig", 'kernel.nosmt = ""\ninit.x = "1"\nftrace.a = 1\n')
    _plant(root, "proc/cmdline", "nosmt -- x=1\n")
    out = kindling("parse", root=root)
    assert json.loads(out.stdout) == {
        "boot": {"kernel-parameters": {"nosmt": []}, "init-parameters": {"x": ["1"]}}
    }
    assert "'ftrace.*' keys are not boot parameters" in out.stderr
    done = kindling("parse", "--commit", "--if-unset", root=root)
    assert done.returncode == 0 and done.stdout.startswith("committed: 1 kernel, 1 init")
    data = (root / "var/lib/kindling/bootconfig.data").read_bytes()
    assert read_footer(data) == 'kernel.nosmt\ninit.x = "1"\n'
    again = kindling("parse", "--commit", "--if-unset", root=root)
    assert again.stdout.startswith("skipped: settings.boot already holds")


def test_generate_plan_and_bad_input(root: Path) -> None:
    plan = kindling("generate", "--plan", root=root)
    assert plan.returncode == 0 and "would write /var/lib/kindling/bootconfig.data" in plan.stdout
    assert not (root / "var/lib/kindling/bootconfig.data").exists()
    real = kindling("generate", root=root)
    assert real.returncode == 0
    assert kindling("generate", root=root).stdout == "/var/lib/kindling/bootconfig.data unchanged\n"
    bad = kindling("parse", "/etc/bad.bconf", root=root)
    assert bad.returncode == 2 and "no such file" in bad.stderr
    _plant(root, "etc/bad.bconf", "kernel { x = 1\n")
    bad = kindling("parse", "/etc/bad.bconf", root=root)
    assert bad.returncode == 1 and "brace is not closed" in bad.stderr


def test_reboot_if_required_plan_json(root: Path) -> None:
    _plant(root, "proc/bootconfig", "")
    out = kindling("reboot-if-required", "--json", root=root)
    assert json.loads(out.stdout)["reason"] == "boot parameters match the running kernel"
