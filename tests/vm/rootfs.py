"""A Debian 12 root for a guest that boots real systemd, built once and cached.

RIGS.md "A guest with real systemd as PID 1": `debootstrap --variant=minbase` with the
packages a systemd node needs, the kernel's modules copied in (virtio, filesystems,
netfilter for the guest-side IMDS redirect) and `depmod`, and a venv holding
Kindling's dependencies, so each test only adds the wheel built from its checkout.
The tree is cached under the VM cache beside the kernel, keyed by what went into it
(package set, kernel release, dependency list): a changed package set builds a new
tree, an unchanged one costs nothing. Each guest image is made from a hard-linked
copy (`cp -al`) of it, and `mkfs.ext4 -d` turns that copy into a disk image without a
loop device or a mount; files the test adds are written as new inodes (`put`), so the
cache is never changed through a link.

Packages beyond the base set (the cloud-init peer) are not given to debootstrap: its
own resolver knows no virtual packages, and cloud-init's python3-cryptography depends
on two (`python3-cffi-backend-api-min/max`), so debootstrap leaves it unconfigured.
They are installed with apt inside a copy of the base tree instead (apt resolves
them), under a deadline; the cache key names both steps.

CI runs on a fresh machine with a cold cache: the build then happens inside the test
run (about a minute of debootstrap plus the venv). The mirror is the one this machine's
apt uses (`/etc/apt/sources.list.d/`), never a hard-coded one.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.vm.kernel import GuestKernel, cache_dir

__all__ = [
    "BASE_PACKAGES", "CLOUD_INIT_PACKAGES", "GUEST_VENV", "apt_mirror", "build_wheel", "chroot", "guest_root",
    "image_from_tree", "put", "staging_copy",
]

SUITE = "bookworm"
BASE_PACKAGES = (
    "systemd", "systemd-sysv", "udev", "dbus", "iproute2", "python3", "python3-venv", "kmod",
    "systemd-resolved", "nftables", "e2fsprogs", "util-linux",
)
# The peer: Debian's cloud-init with the tools its modules call (growpart, locale).
CLOUD_INIT_PACKAGES = (*BASE_PACKAGES, "cloud-init", "cloud-guest-utils", "fdisk")
GUEST_VENV = "/opt/kindling"
# Module directories of the Debian kernel the guest needs (RIGS.md); the rest (sound,
# GPU, wireless, ...) would only make udev probe for seconds under emulation.
_MODULE_DIRS = ("arch", "crypto", "fs", "lib", "net", "block", "mm", "virt",
                "drivers/virtio", "drivers/block", "drivers/char", "drivers/scsi", "drivers/cdrom")
_MODULE_FILES = ("drivers/net/virtio_net.ko", "drivers/net/net_failover.ko", "drivers/net/tun.ko",
                 "drivers/net/dummy.ko", "drivers/net/veth.ko")
_MODULE_DROP = ("arch/x86/kvm", "net/wireless", "net/mac80211", "net/bluetooth", "drivers/block/floppy.ko")


APT_TIMEOUT = 900.0  # seconds for `apt-get update` + install of the extra packages


def _run(argv: list[str], *, timeout: float = 900, env: dict[str, str] | None = None) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        raise RuntimeError(f"{' '.join(argv[:6])} ... did not finish within {timeout:.0f} s "
                           f"(killed): {out.strip()[-1500:]}") from None
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip()[-1500:]
        raise RuntimeError(f"{' '.join(argv[:6])} ... failed (exit {proc.returncode}): {tail}")
    return proc.stdout


def apt_mirror(sources: Path = Path("/etc/apt/sources.list.d"), legacy: Path = Path("/etc/apt/sources.list")) -> str:
    """The Debian mirror this machine's apt uses for the main archive (deb822 or one-line)."""
    texts = [p.read_text() for p in sorted(sources.glob("*.sources"))] if sources.is_dir() else []
    texts += [p.read_text() for p in sorted(sources.glob("*.list"))] if sources.is_dir() else []
    if legacy.is_file():
        texts.append(legacy.read_text())
    for text in texts:
        for stanza in re.split(r"\n\s*\n", text):
            suites = re.search(r"^Suites:\s*(.*)$", stanza, re.M)
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            if suites and uris and SUITE in suites.group(1).split() and "security" not in uris.group(1):
                return uris.group(1)
        for line in text.splitlines():
            found = re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+" + SUITE + r"\s", line.strip() + " ")
            if found and "security" not in found.group(1):
                return found.group(1)
    raise RuntimeError("no Debian bookworm mirror in /etc/apt/sources.list.d/ or /etc/apt/sources.list")


def _dependencies() -> list[str]:
    """Kindling's runtime requirements, read from the checkout's pyproject.toml."""
    import tomllib

    repo = Path(__file__).resolve().parents[2]
    data = tomllib.loads((repo / "pyproject.toml").read_text())
    return sorted(data["project"]["dependencies"])


def _split(packages: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(what debootstrap installs, what apt installs afterwards) for a package set."""
    return (tuple(p for p in packages if p in BASE_PACKAGES),
            tuple(sorted(p for p in packages if p not in BASE_PACKAGES)))


def _key(packages: tuple[str, ...], kernel: GuestKernel, deps: list[str]) -> str:
    boot, extra = _split(packages)
    text = "\n".join([SUITE, *sorted(boot), kernel.release, *deps, "v1"])
    if extra:  # the second step, named as such (the base set's key stays what it was)
        text += "\n" + "\n".join(["apt-get install --no-install-recommends", *extra])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _copy_modules(kernel: GuestKernel, root: Path) -> None:
    dest = root / "lib" / "modules" / kernel.release
    src = kernel.modules
    for rel in _MODULE_DIRS:
        if (src / "kernel" / rel).is_dir():
            shutil.copytree(src / "kernel" / rel, dest / "kernel" / rel, dirs_exist_ok=True)
    for rel in _MODULE_FILES:
        if (src / "kernel" / rel).is_file():
            (dest / "kernel" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / "kernel" / rel, dest / "kernel" / rel)
    for rel in _MODULE_DROP:
        target = dest / "kernel" / rel
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    for name in ("modules.builtin", "modules.builtin.modinfo", "modules.order"):
        if (src / name).exists():
            shutil.copy2(src / name, dest / name)
    _run(["depmod", "-b", str(root), kernel.release])


def _wheelhouse(cache: Path, deps: list[str]) -> Path:
    """Wheels of Kindling's dependencies, from this machine's pip configuration."""
    digest = hashlib.sha256("\n".join(deps).encode()).hexdigest()[:12]
    house = cache / f"wheels-{digest}"
    if not (house / ".done").exists():
        shutil.rmtree(house, ignore_errors=True)
        house.mkdir(parents=True)
        _run([sys.executable, "-m", "pip", "wheel", "-q", "-w", str(house), *deps], timeout=600)
        (house / ".done").write_text("\n".join(deps) + "\n")
    return house


def _debootstrap(tree: Path, packages: tuple[str, ...], kernel: GuestKernel) -> None:
    _run(["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", SUITE, str(tree), apt_mirror()],
         timeout=1800)
    _finish_system(tree, kernel)


def _apt_install(base: Path, tree: Path, packages: tuple[str, ...]) -> None:
    """A real copy of the base tree (apt rewrites files in place: never through links)
    with `packages` installed by apt in a chroot, the host's resolver borrowed for it
    and no service started (policy-rc.d; no systemd runs in a chroot anyway)."""
    _run(["cp", "-a", str(base), str(tree)])
    (tree / ".built").unlink()
    resolv, saved = tree / "etc" / "resolv.conf", tree / "etc" / "resolv.conf.vmtest-saved"
    policy = tree / "usr" / "sbin" / "policy-rc.d"
    if os.path.lexists(resolv):
        resolv.rename(saved)
    shutil.copyfile("/etc/resolv.conf", resolv)
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    try:
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        chroot(tree, "apt-get", "-q", "update", timeout=APT_TIMEOUT, env=env)
        chroot(tree, "apt-get", "-q", "-y", "--no-install-recommends", "install", *packages,
               timeout=APT_TIMEOUT, env=env)
        chroot(tree, "apt-get", "clean")
    except RuntimeError as exc:
        raise RuntimeError(f"guest root: installing {', '.join(packages)} with apt in {tree} failed: {exc}") from None
    finally:
        policy.unlink()
        resolv.unlink()
        if os.path.lexists(saved):
            saved.rename(resolv)


def _finish_system(tree: Path, kernel: GuestKernel) -> None:
    chroot(tree, "apt-get", "clean")  # else ~120 MiB of .debs stay in the image
    _copy_modules(kernel, tree)
    (tree / "etc" / "fstab").write_text("/dev/vda / ext4 rw,errors=remount-ro 0 1\n")
    (tree / "var" / "log" / "journal").mkdir(parents=True, exist_ok=True)  # persistent: the host reads it


def _add_venv(tree: Path, deps: list[str], cache: Path) -> None:
    """The venv of Kindling's dependencies: new files only, on a hard-linked copy."""
    house = _wheelhouse(cache, deps)
    inside = tree / "run" / "wheelhouse"
    shutil.copytree(house, inside)
    chroot(tree, "python3", "-m", "venv", GUEST_VENV)
    chroot(tree, f"{GUEST_VENV}/bin/pip", "install", "-q", "--no-index", "--no-cache-dir",
           "--disable-pip-version-check", "--find-links", "/run/wheelhouse", *deps)
    shutil.rmtree(inside)


def _cached(tree: Path, build: Callable[[Path], None]) -> Path:
    if not (tree / ".built").exists():
        partial = tree.with_name(tree.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        build(partial)
        (partial / ".built").write_text(tree.name + "\n")
        shutil.rmtree(tree, ignore_errors=True)
        partial.rename(tree)
    return tree


def guest_root(kernel: GuestKernel, packages: tuple[str, ...] = BASE_PACKAGES, cache: Path | None = None) -> Path:
    """The cached root tree for this package set (built on first use, under a lock).

    Two layers: the debootstrap tree (package set + kernel release), and a hard-linked
    copy of it with the dependency venv (+ the dependency list), so a new dependency
    costs the venv, not another debootstrap."""
    cache = cache or cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    deps = _dependencies()
    boot, extra = _split(packages)
    system = cache / f"debootstrap-{SUITE}-{_key(boot, kernel, [])}"
    tree = cache / f"rootfs-{SUITE}-{_key(packages, kernel, deps)}"
    with (cache / ".rootfs.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # bootload's and this suite's sessions share it
        _cached(system, lambda t: _debootstrap(t, boot, kernel))
        if extra:
            base = system
            system = cache / f"system-{SUITE}-{_key(packages, kernel, [])}"
            _cached(system, lambda t: _apt_install(base, t, extra))

        def with_venv(t: Path) -> None:
            _run(["cp", "-al", str(system), str(t)])
            (t / ".built").unlink()  # a link to the lower layer's marker
            _add_venv(t, deps, cache)

        return _cached(tree, with_venv)


def staging_copy(tree: Path, dest: Path) -> Path:
    """A hard-linked copy of the cached tree to add a test's files to (`put`)."""
    shutil.rmtree(dest, ignore_errors=True)
    _run(["cp", "-al", str(tree), str(dest)])
    (dest / ".built").unlink(missing_ok=True)
    return dest


def put(root: Path, path: str, data: str | bytes, mode: int = 0o644) -> Path:
    """Write a file into a staging tree as a new inode (never through a cache link)."""
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    target.write_bytes(data.encode() if isinstance(data, str) else data)
    target.chmod(mode)
    return target


def build_wheel(repo: Path, dest: Path) -> Path:
    """The checkout as a user installs it: `pip wheel` of the project, no dependencies.

    Built from a copy of the project's files, so setuptools' build/ and egg-info never
    land in the checkout (which may be read-only, or anywhere on disk)."""
    import tomllib

    src = dest / "src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    data = tomllib.loads((repo / "pyproject.toml").read_text())
    patterns = data["tool"]["setuptools"]["packages"]["find"]["include"]
    scripts = data["tool"]["setuptools"].get("script-files", [])  # the `kindling` program itself
    for name in ("pyproject.toml", "README.md", "LICENSE", *scripts):
        if (repo / name).exists():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for pattern in patterns:
        for package in repo.glob(pattern.rstrip("*") or pattern):
            if package.is_dir() and (package / "__init__.py").exists() and not (src / package.name).exists():
                shutil.copytree(package, src / package.name, ignore=ignore)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dest), str(src)], timeout=600)
    shutil.rmtree(src)
    (wheel,) = sorted(dest.glob("kindling-*.whl"))
    return wheel


def image_from_tree(tree: Path, image: Path, size_mib: int) -> Path:
    """An ext4 image of the whole tree (the guest's /dev/vda), without a loop device."""
    image.unlink(missing_ok=True)
    with image.open("wb") as f:
        f.truncate(size_mib * 1024 * 1024)
    _run(["mkfs.ext4", "-q", "-F", "-L", "root", "-d", str(tree), str(image)], timeout=600)
    return image


def chroot(tree: Path, *argv: str, timeout: float = 900, env: dict[str, str] | None = None) -> str:
    """Run a command inside the staging tree (offline systemctl, the guest venv's pip)."""
    base = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/root"}
    return _run(["chroot", str(tree), *argv], timeout=timeout, env={**base, **(env or {})})

