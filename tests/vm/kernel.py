"""A Debian kernel for the guest: `apt-get download`ed, unpacked (never installed), cached.

Why Debian's generic kernel (RIGS.md "qemu boot tests"): it is a real distribution
kernel with kexec, kexec_file_load, /proc/vmcore and — unlike the cloud flavour — the
9p modules this rig needs to show the guest the host's checkout and venv. The package
is resolved through the `linux-image-amd64` metapackage (or pinned with
`KINDLING_VM_KERNEL_PACKAGE`), downloaded once into the cache directory and unpacked
beside it; `depmod -b` writes the modules.dep Debian generates only at install time,
so module load order is computed from the kernel's own dependency data rather than
kept by hand.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GuestKernel", "cache_dir", "fetch_kernel", "module_load_order"]

DEFAULT_CACHE = Path("/var/cache/kindling-vm")


def cache_dir() -> Path:
    """`KINDLING_VM_CACHE`, else /var/cache/kindling-vm (shared by every checkout)."""
    return Path(os.environ.get("KINDLING_VM_CACHE", str(DEFAULT_CACHE)))


@dataclass(frozen=True)
class GuestKernel:
    """An unpacked kernel package: the bzImage and its module tree."""

    package: str
    release: str  # uname -r, e.g. 6.1.0-56-amd64
    tree: Path  # the unpacked package root

    @property
    def vmlinuz(self) -> Path:
        return self.tree / "boot" / f"vmlinuz-{self.release}"

    @property
    def modules(self) -> Path:
        return self.tree / "lib" / "modules" / self.release


def _run(argv: list[str], cwd: Path | None = None) -> str:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed (exit {proc.returncode}): {proc.stderr.strip()[-800:]}")
    return proc.stdout


def resolve_package() -> str:
    """The kernel image package the metapackage points at today (or the pinned one)."""
    pinned = os.environ.get("KINDLING_VM_KERNEL_PACKAGE")
    if pinned:
        return pinned
    out = _run(["apt-cache", "depends", "linux-image-amd64"])
    found = re.search(r"Depends:\s*(linux-image-[0-9]\S*-amd64)\b", out)
    if found is None:
        raise RuntimeError("apt-cache depends linux-image-amd64 names no kernel image package")
    return found.group(1)


def fetch_kernel(cache: Path | None = None) -> GuestKernel:
    """Download and unpack the kernel once; later runs reuse the cache (a few ms).

    The package chosen first is remembered in the cache, so every later run boots the
    same kernel (reproducible) until the cache is cleared or a package is pinned.
    """
    cache = cache or cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test sessions at once share one cache
        return _fetch_locked(cache)


def _fetch_locked(cache: Path) -> GuestKernel:
    chosen = cache / "kernel-package"
    if os.environ.get("KINDLING_VM_KERNEL_PACKAGE") or not chosen.exists():
        chosen.write_text(resolve_package() + "\n")
    package = chosen.read_text().strip()
    release = package.removeprefix("linux-image-")
    tree = cache / package
    done = tree / ".unpacked"
    if not done.exists():
        debs = sorted(cache.glob(f"{package}_*.deb"))
        if not debs:
            _run(["apt-get", "download", package], cwd=cache)
            debs = sorted(cache.glob(f"{package}_*.deb"))
        if not debs:
            raise RuntimeError(f"apt-get download {package} produced no .deb in {cache}")
        partial = cache / f".{package}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        _run(["dpkg-deb", "-x", str(debs[-1]), str(partial)])
        _run(["depmod", "-b", str(partial), release])
        shutil.rmtree(tree, ignore_errors=True)
        partial.rename(tree)
        done.write_text(debs[-1].name + "\n")
    kernel = GuestKernel(package, release, tree)
    if not kernel.vmlinuz.is_file():
        raise RuntimeError(f"{package}: no {kernel.vmlinuz.name} in the package")
    return kernel


def _parse_modules_dep(text: str) -> dict[str, tuple[str, list[str]]]:
    """modules.dep → {module name: (relative path, [dependency paths])}."""
    out: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        if ":" not in line:
            continue
        path, deps = line.split(":", 1)
        name = Path(path).name.split(".ko", 1)[0].replace("-", "_")
        out[name] = (path, deps.split())
    return out


def module_load_order(kernel: GuestKernel, wanted: list[str]) -> list[str]:
    """Relative .ko paths, dependencies first, for `insmod` in that order.

    Built-in modules (modules.builtin) need no loading and are left out; an unknown
    name is an error here, not a silent boot without the driver.
    """
    deps = _parse_modules_dep((kernel.modules / "modules.dep").read_text())
    by_path = {path: name for name, (path, _) in deps.items()}
    builtin = {
        Path(line).name.split(".ko", 1)[0].replace("-", "_")
        for line in (kernel.modules / "modules.builtin").read_text().split()
    }
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        path, needs = deps[name]
        for dep in reversed(needs):  # modules.dep lists the deepest dependency last
            visit(by_path[dep])
        order.append(path)

    for want in wanted:
        key = want.replace("-", "_")
        if key in builtin:
            continue
        if key not in deps:
            raise RuntimeError(f"{kernel.package}: no module {want}")
        visit(key)
    return order
