"""What a boot imports (DESIGN §8): a guard, so a later change cannot quietly put the
heavy modules back on the boot path. Structural, not timed: each boot runs in a fresh
interpreter and the test reads that interpreter's `sys.modules` once the boot is done.

- The template engine is imported only when a template really renders: a node whose
  settings feed no template never loads it (and a node that sets `settings.kubernetes`
  does, which shows the guard can see it). The shipped templates run on the jinja2-free
  runtime, so even that boot loads neither `jinja2` nor `markupsafe`.
- `dataclasses` (inspect, ast, dis, tokenize) is not imported on a boot.
- A first boot runs a program (the demo's trust store runs update-ca-certificates) through
  the Host's own runner, so `subprocess` (and the `locale`, `signal` and `threading` it
  pulls in) is not imported either, nor the `socket` wrapper and its `selectors`: the
  network status's netlink socket and the hostname's reverse lookup use `_socket`.
- A first boot reads its TOML (net.toml, the user-data defaults, the user data) with
  kindling/toml_fast.py, so it imports neither `tomllib` nor the `string` it pulls in.
- Importing the modules a first boot loads compiles none of their regexes: each is
  compiled on first use (re's cache), so a boot compiles only those of its settings.
- A later boot, where the fingerprint skips every stage whose inputs did not change,
  imports neither `typing`, `json`, `tomllib`, nor the settings model, the appliers, the
  template declarations, the user-data providers, the boot loader integration (the
  crash kernel is reserved), the GPT reader (no disk to search),
  nor SQLite and the datastore (unchanged since the first boot), nor the module of a
  stage it skips as unchanged or for another platform (the stages come from the table
  the first boot kept, kindling/boot.py `registered_stages`).
- Nor, in an interpreter started with `-S` (so that no `.pth` file, such as an editable
  install's finder, imports anything first), does a later boot import pathlib (with the
  urllib.parse, ipaddress and fnmatch it pulls in: the Host works on strings and hands out
  Paths only to the code that asks for one, kindling/host.py `real`), nor re, enum,
  functools or collections (json's JSON is kindling/jsonio.py's; log imports re only for
  unprintable text; the network status reads addresses as netdog/addresses.py `LinkAddress`).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo" / "root"

# Runs one boot in this interpreter, then writes the names of every imported module.
# `main` (not the console script's `run`) so the interpreter gets to write the list.
# The list is written one name a line: json here would hide the boot's own import of it.
_BOOT = """
import sys
from kindling.cli import main
code = main(["boot", "--root", sys.argv[1]])
with open(sys.argv[2], "w") as fh:
    fh.write("\\n".join(sorted(sys.modules)))
sys.exit(code)
"""

NEVER_ON_A_BOOT = ("dataclasses", "importlib.resources", "importlib.metadata", "hashlib", "random", "inspect",
                   "shutil", "subprocess", "locale", "signal", "threading", "socket", "selectors",
                   # the demo's TOML is all kindling/toml_fast.py reads (tomllib imports string, datetime, typing)
                   "tomllib", "string")
TEMPLATE_ENGINE = ("kindling.templates.engine", "kindling.templates.runtime")
JINJA2 = ("jinja2", "markupsafe")
NOT_ON_A_LATER_BOOT = (
    "typing",
    "json",  # the boot's files go through kindling.jsonio (json's C codec, without json's re)
    "json.decoder",
    "contextlib",  # the Host's scopes and the boot lock are classes (~0.3 ms of import)
    "tomllib",
    "kindling.settings.schema",
    "kindling.appliers",
    "kindling.templates.declaration",
    "kindling.providers",
    "early_boot.runner",
    "kindling.bootloader.integrate",  # kdump-load asks for the boot loader only when nothing is reserved
    # the crash kernel is reserved and loaded (kdump/arming.py `already_loaded`): kdump-load
    # reads no facts, builds no plan and loads nothing, so it needs neither these nor the interlock
    "kdump.load",
    "kdump.plan",
    "kdump.sizing",
    "kdump.errors",
    "kindling.live_kernel",
    "kindling.retry",  # the address is there on the first look: write-network-status waits for nothing
    "growpart.gpt",  # no disk under the demo root: nothing to read
    "growpart.errors",  # (nor anything to say about one)
    "netdog.model",  # the network status reads the recorded primary name, parses no MAC
    # the datastore is as the first boot left it: the settings kdump-load and boot-settings
    # read, and the fingerprint's view of it, come from the boot state (kindling/boot_fingerprint.py)
    "sqlite3",
    "kindling.datastore",
    "kindling.api.service",
    # the stages come from the table the first boot kept (kindling/boot.py `registered_stages`):
    # one skipped as unchanged, or for another platform, is never imported
    "kindling.apply_stage",
    "platforms.aws.stages",
)


@functools.cache
def startup_modules() -> frozenset[str]:
    """What this interpreter imports before any Kindling runs (a venv's .pth files, such as
    an editable install's finder, import contextlib): not the boot's doing."""
    done = subprocess.run([sys.executable, "-c", "import json, sys; print(json.dumps(sorted(sys.modules)))"],
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    return frozenset(json.loads(done.stdout)) - {"json", "json.decoder", "json.scanner", "json.encoder", "_json"}


def boot_modules(root: Path, tmp_path: Path) -> set[str]:
    out = tmp_path / f"modules-{len(list(tmp_path.glob('modules-*')))}.txt"
    cwd = tmp_path / "cwd"  # sys.path's '': a directory nothing writes (kindling/boot.py `registered_stages`)
    if not cwd.exists():  # made a minute ago, as an installation is: kept (kindling/registry.py `settled`)
        cwd.mkdir()
        past = time.time_ns() - 60_000_000_000
        os.utime(cwd, ns=(past, past))
    done = subprocess.run([sys.executable, "-c", _BOOT, str(root), str(out)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "boot ok" in done.stdout
    return set(out.read_text().splitlines())


def demo_copy(tmp_path: Path, *, kubernetes: bool = True) -> Path:
    root = tmp_path / "root"
    shutil.copytree(DEMO, root, symlinks=True)
    if not kubernetes:  # the same node without the settings the kubelet templates read
        user_data = root / "var/lib/kindling/user-data.toml"
        kept, skipping = [], False
        for line in user_data.read_text().splitlines():
            if line.startswith("["):
                skipping = line.startswith("[settings.kubernetes")
            if not skipping:
                kept.append(line)
        user_data.write_text("\n".join(kept) + "\n")
        assert "kubernetes" not in user_data.read_text()
    return root


def test_first_boot_without_template_inputs_imports_no_engine(tmp_path: Path) -> None:
    modules = boot_modules(demo_copy(tmp_path, kubernetes=False), tmp_path)
    assert "kindling.appliers" in modules  # the appliers did run (the guard looks at a real boot)
    assert "kindling.child" in modules  # and a program did (update-ca-certificates)
    assert sorted(modules & {*NEVER_ON_A_BOOT, *TEMPLATE_ENGINE, *JINJA2}) == []


def test_first_boot_that_renders_templates_imports_the_runtime_not_jinja2(tmp_path: Path) -> None:
    root = demo_copy(tmp_path)
    modules = boot_modules(root, tmp_path)
    assert (root / "etc/kubernetes/kubelet/config.json").exists()
    assert set(TEMPLATE_ENGINE) <= modules
    assert sorted(modules & {*NEVER_ON_A_BOOT, *JINJA2}) == []


@pytest.mark.parametrize("kubernetes", [True, False], ids=["demo", "no-templates"])
def test_later_boot_imports_only_per_boot_work(tmp_path: Path, kubernetes: bool) -> None:
    root = demo_copy(tmp_path, kubernetes=kubernetes)
    boot_modules(root, tmp_path)
    shutil.rmtree(root / "run")  # as after a reboot
    (root / "run").mkdir()
    modules = boot_modules(root, tmp_path) - startup_modules()
    assert sorted(modules & {*NEVER_ON_A_BOOT, *TEMPLATE_ENGINE, *JINJA2, *NOT_ON_A_LATER_BOOT}) == []


QUICK = [
    [], ["--root", "/r"], ["--root", ""], ["--platform", "metal", "--full"], ["--plan", "--json"],
    ["--dry-run", "--root", "/r", "--log-format", "json", "--log-level", "debug"],
    ["--json", "--platform", "aws", "--root", "/r"],
]
TO_ARGPARSE = [
    ["--help"], ["-h"], ["--root=/r"], ["--ro", "/r"], ["--root"], ["--root", "-x"], ["--platform", "mars"],
    ["--log-level", "loud"], ["--full", "--full"], ["--root", "/a", "--root", "/b"], ["extra"], ["--", "--full"],
]


@pytest.mark.parametrize("argv", QUICK, ids=lambda a: " ".join(a) or "none")
def test_plain_boot_options_read_without_argparse_as_argparse_reads_them(argv: list[str]) -> None:
    from kindling.boot_cli import BootOptions, build_parser, quick_options

    quick = quick_options(argv)
    assert quick is not None
    full = BootOptions.of(build_parser().parse_args(argv))
    assert {n: getattr(quick, n) for n in BootOptions.__slots__} == {n: getattr(full, n) for n in BootOptions.__slots__}


@pytest.mark.parametrize("argv", TO_ARGPARSE, ids=" ".join)
def test_anything_else_goes_to_argparse(argv: list[str]) -> None:
    from kindling.boot_cli import quick_options

    assert quick_options(argv) is None


def test_a_plain_boot_does_not_import_argparse(tmp_path: Path) -> None:
    modules = boot_modules(demo_copy(tmp_path, kubernetes=False), tmp_path)
    assert "argparse" not in modules and "kindling.cli_common" not in modules


# Imports the boot path's modules with a counter on the regex compiler; prints the files
# of ours (under the repo) that compiled a pattern while being imported.
_IMPORT_COMPILES = """
import json, re, re._compiler, sys, traceback
real = re._compiler.compile
seen = []
def counting(pattern, flags=0):
    stack = traceback.extract_stack()[:-1]
    while stack and stack[-1].filename.startswith(re.__file__.rsplit("/", 1)[0]):
        stack.pop()  # re's own frames: the caller is the first frame below them
    if stack and stack[-1].filename.startswith(sys.argv[1]):
        seen.append(stack[-1].filename)
    return real(pattern, flags)
re._compiler.compile = counting
import kindling.settings.types, kindling.settings.schema, kindling.templates.quoting
import kindling.templates.declaration, kindling.trust_store, kindling.ntp, kindling.datastore
import kindling.kernel.modules, early_boot.external, kdump.sizing
print(json.dumps(sorted(set(seen))))
"""


def test_importing_the_boot_path_compiles_no_regex_of_ours(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _IMPORT_COMPILES, str(REPO)], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


# One boot in an interpreter started with -S: no site, so no .pth file imports anything
# before Kindling does; the repository and the venv's site-packages (where the entry points'
# metadata is) put on sys.path by hand. The module list is written without json.
_BARE_BOOT = """
import sys
sys.path[:0] = [sys.argv[3]]
sys.path.append(sys.argv[4])
from kindling.cli import main
code = main(["boot", "--root", sys.argv[1]])
with open(sys.argv[2], "w") as fh:
    fh.write("\\n".join(sorted(sys.modules)))
sys.exit(code)
"""
# pathlib with what it pulls in; re (json's, before kindling.jsonio) with enum, functools, collections
NOT_ON_A_BARE_LATER_BOOT = ("pathlib", "urllib.parse", "ipaddress", "fnmatch", "json", "re", "enum", "functools",
                            "collections")


def bare_boot_modules(root: Path, tmp_path: Path, site_packages: str) -> set[str]:
    out = tmp_path / "bare-modules.txt"
    done = subprocess.run([sys.executable, "-S", "-c", _BARE_BOOT, str(root), str(out), str(REPO), site_packages],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "boot ok" in done.stdout
    return set(out.read_text().split("\n"))


def test_a_bare_later_boot_imports_no_pathlib(tmp_path: Path) -> None:
    import site

    site_packages = next((p for p in site.getsitepackages() if os.path.isdir(p) and any(
        n.startswith("kindling-") and n.endswith(".dist-info") for n in os.listdir(p))), None)
    if site_packages is None:
        pytest.skip("Kindling is not installed in this interpreter's site-packages (its entry points live there)")
    root = demo_copy(tmp_path)
    first = bare_boot_modules(root, tmp_path, site_packages)
    assert "pathlib" in first  # a first boot renders through code that asks for Paths: the guard sees it
    shutil.rmtree(root / "run")  # as after a reboot
    (root / "run").mkdir()
    later = bare_boot_modules(root, tmp_path, site_packages)
    assert "kindling.boot_fingerprint" in later
    assert sorted(later & set(NOT_ON_A_BARE_LATER_BOOT)) == []
