"""Link / copy / load with real tools: gcc-built object files, real `ld -r` and `strip`,
a module.lds planted under the root. Loading cannot happen here (no module loading in
this kernel): depmod/modprobe are checked as recorded argv and through stand-ins."""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from gpu.driver_config import DriverSet, parse_driver_config
from gpu.errors import ModuleBuildError
from gpu.modules import kernel_release, link_modules, load_modules, load_neuron
from kindling.errors import CommandError, InputError
from kindling.host import Host, RecordingHost

from .rigs import (
    SRC,
    build_objects,
    plant_kernel,
    plant_module_lds,
    sections,
    stand_in,
    symbols,
)

Snap = Callable[[Path], dict[str, bytes]]
DEST = "lib/modules/{kver}/kernel/drivers/extra/linking"


def linking_config(conformance: Path) -> str:
    """Bottlerocket's own linking.conf: main.ko / secondary.ko / other.ko."""
    return (conformance / "bottlerocket/driverdog/src/tests/linking.conf").read_text()


@pytest.fixture
def link_root(root: Path, conformance: Path) -> tuple[str, list[DriverSet]]:
    kver = plant_kernel(root)
    plant_module_lds(root, kver)
    build_objects(root)
    sets = list(parse_driver_config(linking_config(conformance), source="linking.conf").values())
    return kver, sets


def elf_type(path: Path) -> int:
    head = path.read_bytes()[:18]
    assert head[:4] == b"\x7fELF"
    return int(struct.unpack_from("<H", head, 16)[0])


def test_link_for_real(host: Host, root: Path, link_root: tuple[str, list[DriverSet]]) -> None:
    kver, sets = link_root
    report = link_modules(host, sets, kver)
    dest = root / DEST.format(kver=kver)
    assert sorted(p.name for p in dest.iterdir()) == ["main.ko", "other.ko", "secondary.ko"]
    assert len(report.installed) == 3 and report.unchanged == []
    main = dest / "main.ko"
    assert elf_type(main) == 1  # ET_REL: a relocatable object, as a .ko is
    syms = symbols(main)
    assert {"init_module", "cleanup_module", "first_internal_api"} <= syms
    assert "helper" not in syms  # local symbol removed by strip --strip-unneeded
    secs = sections(main)
    assert ".note.gnu.build-id" in secs  # --build-id
    assert ".modinfo" in secs
    assert ".discard.test" not in secs  # module.lds was applied
    assert not any(s.startswith(".debug") for s in secs)  # strip -g on main.o
    assert oct(main.stat().st_mode & 0o777) == "0o644"
    assert not list(dest.glob(".*kindling-tmp"))


def test_second_run_changes_nothing(host: Host, root: Path,
                                    link_root: tuple[str, list[DriverSet]]) -> None:
    kver, sets = link_root
    link_modules(host, sets, kver)
    dest = root / DEST.format(kver=kver)
    stamps = {p.name: p.stat().st_mtime_ns for p in dest.iterdir()}
    again = link_modules(host, sets, kver)
    assert again.installed == [] and len(again.unchanged) == 3
    assert {p.name: p.stat().st_mtime_ns for p in dest.iterdir()} == stamps


def test_plan_links_but_installs_nothing(plan_host: RecordingHost, root: Path,
                                         link_root: tuple[str, list[DriverSet]],
                                         tree_snapshot: Snap) -> None:
    kver, sets = link_root
    before = tree_snapshot(root)
    report = link_modules(plan_host, sets, kver)
    assert tree_snapshot(root) == before
    assert len(report.installed) == 3
    dest = f"/{DEST.format(kver=kver)}"
    assert f"mkdir {dest}" in plan_host.actions
    installs = [a for a in plan_host.actions if a.startswith("run install -m 0644 -T ")]
    moves = [a for a in plan_host.actions if a.startswith("run mv -f -T ")]
    assert len(installs) == 3 and len(moves) == 3
    assert moves[0].endswith(f"{root}{dest}/main.ko")
    assert not any(a.startswith("run ld") for a in plan_host.actions)  # scratch work only


def test_missing_object_installs_nothing(host: Host, root: Path,
                                         link_root: tuple[str, list[DriverSet]],
                                         tree_snapshot: Snap) -> None:
    kver, sets = link_root
    (root / SRC.lstrip("/") / "fourth.o").unlink()  # needed by secondary.o, built 2nd
    before = tree_snapshot(root)
    with pytest.raises(ModuleBuildError, match=r"linking-driver: object file "
                                               r"/usr/share/linking/module-objects.d/fourth.o "
                                               r"is missing"):
        link_modules(host, sets, kver)
    assert tree_snapshot(root) == before
    assert not (root / "lib/modules").exists()


def test_all_sets_or_none(host: Host, root: Path, link_root: tuple[str, list[DriverSet]],
                          tree_snapshot: Snap) -> None:
    """A good set followed by a broken one: the good one is not installed either."""
    kver, sets = link_root
    broken = parse_driver_config(
        '[zz]\nlib-modules-path = "extra/zz"\nkernel-modules."zz.ko".copy-source = "/nope"\n',
        source="zz.toml")["zz"]
    before = tree_snapshot(root)
    with pytest.raises(ModuleBuildError, match=r"zz.toml: zz: module /nope/zz.ko is missing"):
        link_modules(host, [*sets, broken], kver)
    assert tree_snapshot(root) == before


def test_missing_module_lds_names_candidates(host: Host, root: Path,
                                             link_root: tuple[str, list[DriverSet]]) -> None:
    kver, sets = link_root
    (root / f"usr/src/kernels/{kver}/scripts/module.lds").unlink()
    with pytest.raises(ModuleBuildError, match=r"module.lds for kernel 6.1.0-test not found "
                                               r"\(looked in /usr/src/kernels/.*/usr/src/"
                                               r"linux-headers-6.1.0-test/scripts/module.lds\)"):
        link_modules(host, sets, kver)
    # Debian's location is found as well.
    deb = root / f"usr/src/linux-headers-{kver}/scripts/module.lds"
    deb.parent.mkdir(parents=True)
    deb.write_text((Path(__file__).parent / "rigs.py").read_text().split('MODULE_LDS = """\\\n')[1]
                   .split('"""')[0])
    assert len(link_modules(host, sets, kver).installed) == 3


def test_failing_ld_names_the_tool(host: Host, root: Path,
                                   link_root: tuple[str, list[DriverSet]]) -> None:
    kver, sets = link_root
    (root / SRC.lstrip("/") / "first.o").write_bytes(b"not an object file")
    with pytest.raises(CommandError, match=r"^ld exited 1: "):
        link_modules(host, sets, kver)
    assert not (root / "lib/modules").exists()


def test_symlink_escape_refused(host: Host, root: Path, tmp_path: Path,
                                link_root: tuple[str, list[DriverSet]]) -> None:
    kver, sets = link_root
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / f"lib/modules/{kver}").mkdir(parents=True)
    os.symlink(outside, root / f"lib/modules/{kver}/kernel")
    with pytest.raises(ModuleBuildError, match=r"linking-driver.lib-modules-path: leaves "
                                               r"/lib/modules/6.1.0-test"):
        link_modules(host, sets, kver)
    assert list(outside.iterdir()) == []


def test_copy_mode(host: Host, root: Path, conformance: Path, tree_snapshot: Snap) -> None:
    kver = plant_kernel(root)
    text = (conformance / "bottlerocket/driverdog/src/tests/copying.conf").read_text()
    sets = list(parse_driver_config(text, source="copying.conf").values())
    factory = root / "usr/share/factory/copying-driver"
    factory.mkdir(parents=True)
    for name in ("main.ko", "secondary.ko"):
        (factory / name).write_bytes(name.encode() * 1000)
    before = tree_snapshot(root)
    with pytest.raises(ModuleBuildError, match=r"other\.ko is missing"):
        link_modules(host, sets, kver)
    assert tree_snapshot(root) == before
    (factory / "other.ko").write_bytes(b"other")
    report = link_modules(host, sets, kver)
    dest = root / f"lib/modules/{kver}/kernel/drivers/extra/copying"
    assert (dest / "main.ko").read_bytes() == b"main.ko" * 1000
    assert len(report.installed) == 3
    assert link_modules(host, sets, kver).installed == []


def test_load_argv_recorded(plan_host: RecordingHost, conformance: Path) -> None:
    sets = list(parse_driver_config(linking_config(conformance), source="l").values())
    loaded = load_modules(plan_host, sets, "6.1.0-test")
    root = str(plan_host.root)
    assert plan_host.actions == [
        f"run depmod -b {root} 6.1.0-test",
        f"run modprobe -d {root} -S 6.1.0-test -a main secondary other",
    ]
    assert loaded == ["main", "secondary", "other"]
    plan_host.actions.clear()
    load_neuron(plan_host, "6.1.0-test")
    assert plan_host.actions == [f"run depmod -b {root} 6.1.0-test",
                                 f"run modprobe -d {root} -S 6.1.0-test neuron"]


def test_load_on_real_root_has_no_prefix(conformance: Path) -> None:
    host = RecordingHost("/")
    sets = list(parse_driver_config(linking_config(conformance), source="l").values())
    load_modules(host, sets, "6.1.0-test")
    assert host.actions == ["run depmod 6.1.0-test",
                            "run modprobe -S 6.1.0-test -a main secondary other"]


def test_load_through_stand_ins(root: Path, tmp_path: Path, conformance: Path) -> None:
    log = tmp_path / "argv.log"
    bin_dir = tmp_path / "bin"
    stand_in(bin_dir, "depmod", log)
    stand_in(bin_dir, "modprobe", log)
    host = Host(root, env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    sets = list(parse_driver_config(linking_config(conformance), source="l").values())
    load_modules(host, sets, "6.1.0-test")
    assert log.read_text().splitlines() == [
        f"depmod -b {root} 6.1.0-test",
        f"modprobe -d {root} -S 6.1.0-test -a main secondary other",
    ]
    stand_in(bin_dir, "modprobe", log, exit_code=1,
             stderr="modprobe: FATAL: Module main not found in directory")
    with pytest.raises(CommandError, match=r"^modprobe exited 1: modprobe: FATAL: Module main"):
        load_modules(host, sets, "6.1.0-test")


def test_kernel_release(host: Host, root: Path) -> None:
    with pytest.raises(Exception, match="osrelease"):
        kernel_release(host)
    plant_kernel(root, "6.12.0-kindling")
    assert kernel_release(host) == "6.12.0-kindling"
    assert kernel_release(host, "5.10.0") == "5.10.0"
    with pytest.raises(InputError, match="--kernel-version: not a kernel release name"):
        kernel_release(host, "../../etc")


def test_real_depmod_and_modprobe_dry_run(root: Path, tmp_path: Path,
                                          link_root: tuple[str, list[DriverSet]]) -> None:
    """Linked modules go through the real kmod tools: `depmod -b ROOT` indexes them and
    `modprobe --dry-run` resolves every name (loading itself is impossible here)."""
    if shutil.which("depmod", path="/usr/sbin:/sbin") is None:
        pytest.skip("kmod not installed")
    kver, sets = link_root
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "modprobe.log"
    wrapper = bin_dir / "modprobe"
    wrapper.write_text(f'#!/bin/sh\nexec /usr/sbin/modprobe --dry-run --show-depends "$@" '
                       f'>> "{log}" 2>&1\n')
    wrapper.chmod(0o755)
    host = Host(root, env={"PATH": f"{bin_dir}:/usr/sbin:/sbin:/usr/bin:/bin"})
    link_modules(host, sets, kver)
    assert load_modules(host, sets, kver) == ["main", "secondary", "other"]
    dep = (root / f"lib/modules/{kver}/modules.dep").read_text().splitlines()
    assert "kernel/drivers/extra/linking/main.ko:" in dep
    shown = log.read_text()
    for mod in ("main", "secondary", "other"):
        assert f"insmod {root}/lib/modules/{kver}/kernel/drivers/extra/linking/{mod}.ko" in shown
