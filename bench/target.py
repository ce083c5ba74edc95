"""What is being measured: the Kindling installed in *this* interpreter's venv.

The runner is started as `<venv>/bin/python bench/run.py`; `sys.executable` is then the
venv interpreter, the same binary the `kindling` console script's shebang names, so the
`-c pass` floor and `kindling --help` start the same interpreter (DESIGN §8: never a
pyenv shim). Which commands exist is read from `kindling.cli.COMMANDS` — a component
not merged yet is reported "not present", never imitated.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.janitor import Janitor
from bench.measure import Sample, clean_env

__all__ = ["REPO", "SYSTEM_PYTHON", "Kindling", "discover", "discover_system"]

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Kindling:
    python: str
    script: str
    commands: frozenset[str]
    demo: Path
    rss: dict[str, list[Sample]] = field(default_factory=dict)
    peer_rss: dict[str, list[float]] = field(default_factory=dict)
    label: str = ""  # which interpreter and install, in every section title measured with it

    def argv(self, *args: str) -> list[str]:
        return [self.script, *args]

    def has(self, command: str) -> bool:
        return command in self.commands

    def env(self) -> dict[str, str]:
        return clean_env()

    def demo_copy(self, janitor: Janitor, name: str = "root") -> Path:
        """A fresh copy of demo/root (copying is never inside a timed region)."""
        dest = janitor.tempdir("demo") / name
        shutil.copytree(self.demo, dest, symlinks=True)
        return dest

    def record_rss(self, label: str, samples: list[Sample]) -> None:
        """Peak RSS of a Kindling one-shot command, for the §8 table (≤ 40 MB)."""
        self.rss.setdefault(label, []).extend(samples)

    def record_peer_rss(self, label: str, values_mb: list[float]) -> None:
        """A peer's peak RSS, shown beside Kindling's for reference (no budget)."""
        self.peer_rss.setdefault(label, []).extend(values_mb)


def discover() -> Kindling:
    python = sys.executable
    script = str(Path(python).parent / "kindling")
    if not os.access(script, os.X_OK):
        raise SystemExit(f"bench: no kindling console script beside {python}; run `make venv` first")
    with open(script, "rb") as fh:
        shebang = fh.readline().decode().strip()
    if os.path.realpath(shebang[2:].split()[0]) != os.path.realpath(python):
        raise SystemExit(f"bench: {script} starts {shebang[2:]}, not {python}: the floor would be another binary")
    from kindling.cli import COMMANDS

    _precompile()
    names = [n for p in sys.path if os.path.isdir(p) for n in os.listdir(p) if n.startswith("__editable__")]
    # setuptools' default editable mode adds an import finder that every start imports (with
    # pathlib, re, typing …); `make venv`'s compat mode only puts the checkout on sys.path
    kind = ("editable (import finder)" if any(n.endswith("_finder.py") for n in names)
            else "editable (path .pth)" if names else "regular")
    label = f"venv python {sys.version.split()[0]} ({os.path.realpath(python)}), {kind} install"
    return Kindling(python, script, frozenset(COMMANDS), REPO / "demo" / "root", label=label)


SYSTEM_PYTHON = "/usr/bin/python3"


def discover_system(cache: Path, say: Callable[[str], None]) -> Kindling | None:
    """Kindling on the distribution's python3 — the interpreter Debian's cloud-init runs
    on — installed the way a package is (regular install, bytecode compiled at install
    time, no editable finder), in a venv kept under the bench cache. The tree is
    reinstalled every run (no dependencies fetched again), so it measures this tree."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return None
    venv = cache / "venv-python3"
    py = venv / "bin" / "python"
    env = {**clean_env(), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           **{k: v for k, v in os.environ.items() if k.startswith("PIP_")}}  # fmt: skip
    if not py.exists():
        say(f"creating {venv} from {SYSTEM_PYTHON} (once)")
        subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(venv)], check=True, env=env)
    stamp, deps = venv / "kindling-deps", _runtime_deps()
    if not stamp.exists() or stamp.read_text() != deps:
        # the runtime dependencies changed (or a first install): fetch them once
        say(f"installing Kindling's runtime dependencies into {venv}")
        subprocess.run([str(py), "-m", "pip", "install", "-q", str(REPO)], check=True, env=env,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        stamp.write_text(deps)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(REPO)],
                   check=True, env=env, stdout=subprocess.DEVNULL)  # fmt: skip
    if any(venv.glob("lib/python3*/site-packages/distutils-precedence.pth")):
        # venv's setuptools runs a .pth at every start (~0.6 ms) that cloud-init's root has
        # no counterpart of; Kindling needs no setuptools at run time
        subprocess.run([str(py), "-m", "pip", "uninstall", "-q", "-y", "setuptools"], check=True, env=env,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    script = venv / "bin" / "kindling"
    out = subprocess.run([str(py), "-c", "import sys, kindling.cli as c; print(sys.version.split()[0]); "
                          "print(','.join(c.COMMANDS))"], capture_output=True, text=True, check=True, env=env)
    version, commands = out.stdout.split()
    label = f"Debian python3 {version} ({os.path.realpath(SYSTEM_PYTHON)}), regular install"
    return Kindling(str(py), str(script), frozenset(commands.split(",")), REPO / "demo" / "root", label=label)


def _runtime_deps() -> str:
    """The project's runtime dependencies as pyproject.toml lists them (the venv's key)."""
    import tomllib

    with (REPO / "pyproject.toml").open("rb") as fh:
        return "\n".join(sorted(tomllib.load(fh)["project"].get("dependencies", []))) + "\n"


def _precompile() -> None:
    """The editable install has no .pyc until something writes them, and this machine
    exports PYTHONDONTWRITEBYTECODE=1: without this every measured start would compile
    Kindling from source. A package install compiles at install time; so do we."""
    pkgs = [str(REPO / p) for p in ("kindling", "early_boot", "netdog", "growpart", "gpu", "kdump", "platforms")]
    subprocess.run(  # best effort: a read-only checkout just measures what it has
        [sys.executable, "-m", "compileall", "-q", *(p for p in pkgs if os.path.isdir(p))],
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
