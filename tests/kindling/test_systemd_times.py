"""systemd's boot figures: `systemd-analyze time` output read back, and run through the Host.

The samples are the program's output as printed by real machines (a UEFI laptop with
firmware and loader, an Arch VM, an Azure VM with an initrd, a container, an older
systemd without the target line) and the errors it prints before the boot has finished
and where systemd is not PID 1 (that one captured on this machine, systemd 252). The
runner tests put a stand-in `systemd-analyze` on PATH and run it through the real Host.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kindling.errors import InputError
from kindling.host import Host
from kindling.systemd_times import BootPhases, parse_analyze_time, parse_timespan, read_boot_phases

UEFI = ("Startup finished in 4.160s (firmware) + 2.796s (loader) + 5.831s (kernel) + 18.885s (userspace) "
        "= 31.673s \ngraphical.target reached after 18.850s in userspace.\n")  # fmt: skip
ARCH = ("Startup finished in 1.491s (kernel) + 1min 5.947s (userspace) = 1min 7.439s \n"
        "graphical.target reached after 1min 5.569s in userspace\n")  # fmt: skip
INITRD = "Startup finished in 2.020ms (kernel) + 8.866s (initrd) + 14.894s (userspace) = 25.782s\n"
CONTAINER = "Startup finished in 312ms (userspace) \nmulti-user.target reached after 305ms in userspace.\n"
OLD = "Startup finished in 6.697s (kernel) + 20.050s (userspace) = 26.748s\n"
NEVER = ("Startup finished in 1.201s (kernel) + 3.004s (userspace) = 4.205s \n"
         "graphical.target was never reached.\n")  # fmt: skip
NOT_FINISHED = ("Bootup is not yet finished (org.freedesktop.systemd1.Manager.FinishTimestampMonotonic=0).\n"
                "Please try again later.\nHint: Use 'systemctl list-jobs' to see active jobs\n")  # fmt: skip
NOT_PID1 = ("System has not been booted with systemd as init system (PID 1). Can't operate.\n"
            "Failed to connect to bus: Host is down\n")  # fmt: skip


@pytest.mark.parametrize(("text", "seconds"), [
    ("1min 5.947s", 65.947), ("2.020ms", 0.00202), ("312ms", 0.312), ("1h 2min 3.5s", 3723.5),
    ("850us", 0.00085), ("7.439s", 7.439), ("1d 1h", 90000.0),
])  # fmt: skip
def test_timespans_read_back(text: str, seconds: float) -> None:
    assert parse_timespan(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "5 s", "1.2.3s", "12parsecs", "-1s"])
def test_a_bad_timespan_names_the_source(bad: str) -> None:
    with pytest.raises(InputError, match=r"^systemd-analyze time: not a time span"):
        parse_timespan(bad)


def test_firmware_and_loader_and_the_target() -> None:
    got = parse_analyze_time(UEFI)
    assert got == BootPhases((("firmware", 4.16), ("loader", 2.796), ("kernel", 5.831), ("userspace", 18.885)),
                             31.673, "graphical.target", 18.85)  # fmt: skip


def test_minutes_and_no_final_dot() -> None:
    got = parse_analyze_time(ARCH)
    assert [n for n, _ in got.phases] == ["kernel", "userspace"]
    assert got.phases[1][1] == pytest.approx(65.947) and got.total == pytest.approx(67.439)
    assert got.target == "graphical.target" and got.target_after == pytest.approx(65.569)


def test_initrd_without_a_target_line() -> None:
    got = parse_analyze_time(INITRD)
    assert dict(got.phases) == pytest.approx({"kernel": 0.00202, "initrd": 8.866, "userspace": 14.894})
    assert got.total == pytest.approx(25.782) and got.target is None and got.target_after is None


def test_a_container_has_only_userspace_and_no_total() -> None:
    got = parse_analyze_time(CONTAINER)
    assert got.phases == (("userspace", 0.312),) and got.total is None
    assert (got.target, got.target_after) == ("multi-user.target", pytest.approx(0.305))


def test_older_output_and_a_target_never_reached() -> None:
    assert parse_analyze_time(OLD).phases == (("kernel", 6.697), ("userspace", 20.05))
    never = parse_analyze_time(NEVER)
    assert never.target == "graphical.target" and never.target_after is None


@pytest.mark.parametrize("text", [NOT_FINISHED, NOT_PID1, "", "Startup finished in soon (kernel)\n",
                                  "Startup finished in 1s (kernel) + later\n"])
def test_anything_else_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError, match=r"^systemd-analyze time: "):
        parse_analyze_time(text)


def _stand_in(tmp_path: Path, stdout: str, stderr: str = "", code: int = 0) -> tuple[Host, Path]:
    root, bin_dir, log = tmp_path / "root", tmp_path / "bin", tmp_path / "argv.log"
    (root / "run/systemd/system").mkdir(parents=True)
    bin_dir.mkdir()
    (bin_dir / "out").write_text(stdout)
    (bin_dir / "err").write_text(stderr)
    tool = bin_dir / "systemd-analyze"
    tool.write_text(f'#!/bin/sh\necho "$*" >> {log}\ncat {bin_dir}/out\ncat {bin_dir}/err >&2\nexit {code}\n')
    tool.chmod(0o755)
    return Host(root, env={"PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}), log


def test_the_runner_reads_the_figures_through_the_host(tmp_path: Path) -> None:
    host, log = _stand_in(tmp_path, UEFI)
    phases, note = read_boot_phases(host)
    assert note == "" and phases is not None and phases.total == pytest.approx(31.673)
    assert log.read_text() == "time\n"
    assert host.actions == []  # read-only: nothing recorded as done


def test_a_boot_not_yet_finished_is_said(tmp_path: Path) -> None:
    host, _ = _stand_in(tmp_path, "", NOT_FINISHED, 1)
    assert read_boot_phases(host) == (None, "bootup is not yet finished (systemd-analyze time)")


def test_a_failing_program_gives_its_first_line(tmp_path: Path) -> None:
    host, _ = _stand_in(tmp_path, "", NOT_PID1, 1)
    assert read_boot_phases(host) == (
        None, "systemd-analyze time: exit 1: System has not been booted with systemd as init system (PID 1). "
              "Can't operate.")  # fmt: skip


def test_unreadable_output_is_said_not_raised(tmp_path: Path) -> None:
    host, _ = _stand_in(tmp_path, "Startup is a mystery\n")
    phases, note = read_boot_phases(host)
    assert phases is None and note == "systemd-analyze time: no 'Startup finished in' line"


def test_a_missing_program_is_said(tmp_path: Path) -> None:
    (tmp_path / "run/systemd/system").mkdir(parents=True)
    phases, note = read_boot_phases(Host(tmp_path, env={"PATH": str(tmp_path / "nowhere")}))
    assert phases is None and note.startswith("systemd-analyze time: ")


def test_without_systemd_nothing_runs(tmp_path: Path) -> None:
    host, log = _stand_in(tmp_path, UEFI)
    (host.root / "run/systemd/system").rmdir()
    assert read_boot_phases(host) == (None, "not running under this root (/run/systemd/system)")
    assert not log.exists()
