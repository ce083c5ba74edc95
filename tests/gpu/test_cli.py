"""`kindling gpu link-modules|load-modules` end to end (in process, real Host/tools)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from kindling.cli import main

from .rigs import build_objects_for_cli, plant_kernel, plant_module_lds, stand_in

Snap = Callable[[Path], dict[str, bytes]]


@pytest.fixture
def cli_root(root: Path, conformance: Path) -> Path:
    kver = plant_kernel(root)
    plant_module_lds(root, kver)
    drivers = root / "etc/kindling/drivers"
    drivers.mkdir(parents=True)
    (drivers / "linking.toml").write_text(
        (conformance / "bottlerocket/driverdog/src/tests/linking.conf").read_text())
    (drivers / "copying.toml").write_text(
        (conformance / "bottlerocket/driverdog/src/tests/copying.conf").read_text())
    build_objects_for_cli(root)
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_link_one_set_then_idempotent(cli_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("gpu", "link-modules", "--root", str(cli_root), "--modules-set", "linking-driver")
    code, out, _ = run(capsys, *args, "--json")
    assert code == 0
    result = json.loads(out)
    assert result["kernel"] == "6.1.0-test" and result["sets"] == ["linking-driver"]
    assert [Path(p).name for p in result["installed"]] == ["main.ko", "secondary.ko", "other.ko"]
    code, out, _ = run(capsys, *args)
    assert code == 0 and "installed: \n" in out and "unchanged: /lib/modules" in out


def test_plan_writes_nothing(cli_root: Path, capsys: pytest.CaptureFixture[str],
                             tree_snapshot: Snap) -> None:
    before = tree_snapshot(cli_root)
    code, out, err = run(capsys, "gpu", "link-modules", "--root", str(cli_root), "--plan",
                         "--modules-set", "copying-driver", "--json")
    assert code == 0, err
    actions = json.loads(out)["plan"]
    assert actions[0] == "mkdir /lib/modules/6.1.0-test/kernel/drivers/extra/copying"
    assert len([a for a in actions if a.startswith("run mv -f -T ")]) == 3
    code, out, err = run(capsys, "gpu", "load-modules", "--root", str(cli_root), "--plan",
                         "--json")
    assert code == 0, err
    plan = json.loads(out)["plan"]
    assert plan == [
        f"run depmod -b {cli_root} 6.1.0-test",
        f"run modprobe -d {cli_root} -S 6.1.0-test -a main secondary other",
        f"run modprobe -d {cli_root} -S 6.1.0-test -a main secondary other",
    ]
    assert tree_snapshot(cli_root) == before


def test_load_with_stand_ins(cli_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "argv.log"
    for tool in ("depmod", "modprobe"):
        stand_in(tmp_path / "bin", tool, log)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    code, out, err = run(capsys, "gpu", "load-modules", "--root", str(cli_root),
                         "-d", "/etc/kindling/drivers", "--modules-set", "copying-driver",
                         "--kernel-version", "6.2.0-other")
    assert code == 0, err
    assert log.read_text().splitlines() == [
        f"depmod -b {cli_root} 6.2.0-other",
        f"modprobe -d {cli_root} -S 6.2.0-other -a main secondary other",
    ]
    assert "loaded: main secondary other" in out


def test_errors_exit_1_and_name_things(cli_root: Path, capsys: pytest.CaptureFixture[str],
                                       tree_snapshot: Snap) -> None:
    before = tree_snapshot(cli_root)
    code, _, err = run(capsys, "gpu", "link-modules", "--root", str(cli_root),
                       "--modules-set", "nvidia-tesla")
    assert code == 1 and "no modules set named nvidia-tesla" in err
    (cli_root / "etc/kindling/drivers/zz-bad.toml").write_text(
        '[evil]\nlib-modules-path = "../../../etc"\nkernel-modules."x.ko".copy-source = "/s"\n')
    code, _, err = run(capsys, "gpu", "link-modules", "--root", str(cli_root))
    assert code == 1
    assert "zz-bad.toml: evil.lib-modules-path: may not contain" in err
    assert "../../../etc" not in err
    code, _, err = run(capsys, "gpu", "load-modules", "--root", str(cli_root), "--neuron",
                       "--modules-set", "x")
    assert code == 2
    code, _, err = run(capsys, "gpu", "frobnicate")
    assert code == 2
    (cli_root / "etc/kindling/drivers/zz-bad.toml").unlink()
    before.pop("etc/kindling/drivers/zz-bad.toml", None)
    assert tree_snapshot(cli_root) == before


def test_neuron_without_device(cli_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cli_root / "sys/bus/pci/devices").mkdir(parents=True)  # planted, empty
    code, out, _ = run(capsys, "gpu", "load-modules", "--neuron", "--root", str(cli_root),
                       "--plan", "--json")
    assert code == 0
    assert json.loads(out)["neuron"] == "no Neuron device"
    assert json.loads(out)["plan"] == []


def test_plan_text(cli_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "gpu", "load-modules", "--root", str(cli_root), "--plan",
                       "--modules-set", "copying-driver")
    assert code == 0
    assert out.splitlines()[-2:] == [
        f"would run depmod -b {cli_root} 6.1.0-test",
        f"would run modprobe -d {cli_root} -S 6.1.0-test -a main secondary other",
    ]
