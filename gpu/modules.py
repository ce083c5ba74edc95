"""Link, copy and load kernel modules (driverdog's `link-modules` / `load-modules`).

Link mode, as driverdog: for each object file `ld -r -o OBJ <objects-source>/DEPS…`,
then `strip -g --strip-unneeded --keep-symbol init_module --keep-symbol cleanup_module
OBJ`; for each module `ld -r -T <kernel>/scripts/module.lds --build-id -o MOD DEPS…`.
Copy mode copies `<copy-source>/<module>`. Destination:
`/lib/modules/<kernel>/<lib-modules-path>/` under the root. Then `depmod` and
`modprobe -a` per set, through the Host runner.

Never half-applied: every input (object files, module.lds, tools, destination inside
/lib/modules) is checked first; linking happens in a private scratch directory (the
`ld`/`strip` runs there change no host state, so they are `read_only` and a `--plan`
really links, then records only what it would install); only when every module of
every requested set is built does anything reach /lib/modules. Each file is installed
as `install -m 0644` to a temp name beside it and renamed over the old one, so a
module is the old or the new file, never torn, and streamed: an 80 MB nvidia.ko never
sits in this process's memory (DESIGN §8 RSS budget). An identical module is left
alone (idempotent: a second run installs nothing and says so).
"""

from __future__ import annotations

import filecmp
import os
import shutil
import tempfile
from pathlib import Path

from gpu.driver_config import CopySet, DriverSet, LinkSet, module_name
from gpu.errors import ModuleBuildError
from kindling.errors import InputError
from kindling.host import Host
from kindling.record import field, record

__all__ = [
    "LDS_CANDIDATES",
    "InstallReport",
    "find_module_lds",
    "kernel_release",
    "link_modules",
    "load_modules",
    "load_neuron",
]

LDS_CANDIDATES = (
    "/usr/src/kernels/{kver}/scripts/module.lds",  # Bottlerocket, Fedora, Amazon Linux
    "/lib/modules/{kver}/build/scripts/module.lds",  # any distro's build symlink
    "/usr/src/linux-headers-{kver}/scripts/module.lds",  # Debian, Ubuntu
)
STRIP_ARGS = ("-g", "--strip-unneeded", "--keep-symbol", "init_module",
              "--keep-symbol", "cleanup_module")
LINK_TIMEOUT = 600.0


@record
class InstallReport:
    """What `link_modules` did: files installed and files already up to date."""

    installed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.installed)} installed, {len(self.unchanged)} unchanged"


def kernel_release(host: Host, override: str | None = None) -> str:
    """`uname -r` of the target: the override, else `/proc/sys/kernel/osrelease`."""
    source = "--kernel-version" if override else "/proc/sys/kernel/osrelease"
    kver = override if override else host.read_text("/proc/sys/kernel/osrelease", limit=256)
    kver = kver.strip()
    if not kver or "/" in kver or kver.startswith(".") or not kver.isprintable():
        raise InputError("not a kernel release name", source=source)
    return kver


def find_module_lds(host: Host, kver: str) -> str:
    """The kernel's module linker script (path under the root), or an error naming all."""
    candidates = [c.format(kver=kver) for c in LDS_CANDIDATES]
    for path in candidates:
        if host.path(path).is_file():
            return path
    raise ModuleBuildError(f"module.lds for kernel {kver} not found (looked in "
                           + ", ".join(candidates) + ")")


def _tool(host: Host, name: str) -> str:
    if shutil.which(name, path=host.env.get("PATH", os.defpath)) is None:
        raise ModuleBuildError(f"{name}: not found on PATH")
    return name


def _dest_dir(host: Host, kver: str, driver_set: DriverSet) -> str:
    """`/lib/modules/<kver>/<lib-modules-path>`, refused if a symlink leads it outside."""
    base = f"/lib/modules/{kver}"
    dest = f"{base}/{driver_set.lib_modules_path}"
    real_base = os.path.realpath(host.path(base))
    if not os.path.realpath(host.path(dest)).startswith(real_base + os.sep):
        raise ModuleBuildError(
            f"{driver_set.source}: {driver_set.name}.lib-modules-path: leaves {base}"
        )
    return dest


def _need_file(host: Host, path: str, driver_set: DriverSet, what: str) -> Path:
    real = host.path(path)
    if not real.is_file():
        raise ModuleBuildError(f"{driver_set.source}: {driver_set.name}: {what} {path} is missing")
    return real


def _build_link(host: Host, s: LinkSet, lds: Path, scratch: Path) -> dict[str, Path]:
    """Link one set's modules into `scratch`; returns {module file: built path}."""
    src = s.objects_source.rstrip("/")
    built: dict[str, Path] = {}
    for obj, deps in s.object_files:
        inputs = [str(_need_file(host, f"{src}/{d}", s, "object file")) for d in deps]
        out = scratch / obj
        host.run(["ld", "-r", "-o", str(out), *inputs], read_only=True, timeout=LINK_TIMEOUT)
        host.run(["strip", *STRIP_ARGS, str(out)], read_only=True, timeout=LINK_TIMEOUT)
        built[obj] = out
    modules: dict[str, Path] = {}
    for mod, deps in s.kernel_modules:
        inputs = [
            str(built[d]) if d in built else str(_need_file(host, f"{src}/{d}", s, "object file"))
            for d in deps
        ]
        out = scratch / mod
        host.run(
            ["ld", "-r", "-T", str(lds), "--build-id", "-o", str(out), *inputs],
            read_only=True,
            timeout=LINK_TIMEOUT,
        )
        modules[mod] = out
    return modules


def _sources_copy(host: Host, s: CopySet) -> dict[str, Path]:
    return {
        mod: _need_file(host, f"{src.rstrip('/')}/{mod}", s, "module")
        for mod, src in s.kernel_modules
    }


def _install(host: Host, built: Path, dest: str, report: InstallReport) -> None:
    final = host.path(dest)
    if final.is_file() and filecmp.cmp(built, final, shallow=False):
        report.unchanged.append(dest)
        return
    # an unguessable name: a symlink planted at a fixed temp name would redirect `install`
    tmp = final.with_name(f".{final.name}.{os.urandom(6).hex()}.kindling-tmp")
    host.run(["install", "-m", "0644", "-T", str(built), str(tmp)])
    host.run(["mv", "-f", "-T", str(tmp), str(final)])
    report.installed.append(dest)


def link_modules(host: Host, sets: list[DriverSet], kver: str) -> InstallReport:
    """Build every set (link or copy), then install them all; nothing on any error."""
    report = InstallReport()
    with tempfile.TemporaryDirectory(prefix="kindling-link-") as tmp:
        staged: list[tuple[str, dict[str, Path]]] = []
        needs_link = any(isinstance(s, LinkSet) for s in sets)
        lds = host.path(find_module_lds(host, kver)) if needs_link else Path()
        if needs_link:
            _tool(host, "ld")
            _tool(host, "strip")
        for s in sets:
            dest = _dest_dir(host, kver, s)
            if isinstance(s, LinkSet):
                scratch = Path(tmp) / s.name
                scratch.mkdir()
                staged.append((dest, _build_link(host, s, lds, scratch)))
            else:
                staged.append((dest, _sources_copy(host, s)))
        for dest, files in staged:
            host.makedirs(dest)
            for mod, built in files.items():
                _install(host, built, f"{dest}/{mod}", report)
    return report


def _root_args(host: Host, flag: str) -> list[str]:
    return [flag, str(host.root)] if host.prefixed else []


def load_modules(host: Host, sets: list[DriverSet], kver: str) -> list[str]:
    """`depmod`, then `modprobe -a` per set (driverdog's load-modules); returns names."""
    host.run(["depmod", *_root_args(host, "-b"), kver])
    loaded: list[str] = []
    for s in sets:
        names = [module_name(f) for f in s.module_files]
        host.run(["modprobe", *_root_args(host, "-d"), "-S", kver, "-a", *names])
        loaded += names
    return loaded


def load_neuron(host: Host, kver: str, *, depmod: bool = True) -> None:
    """`depmod` then `modprobe neuron` (Bottlerocket: modules-load.d + depmod drop-in)."""
    if depmod:
        host.run(["depmod", *_root_args(host, "-b"), kver])
    host.run(["modprobe", *_root_args(host, "-d"), "-S", kver, "neuron"])
