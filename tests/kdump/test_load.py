"""`kdump load`: prairiedog's checks, the exact kexec argv, the fallback, kexec disabling."""

from __future__ import annotations

import pytest

from kdump.arming import already_loaded
from kdump.errors import KdumpError, KexecLoadDisabled
from kdump.load import crash_cmdline, load_crash_kernel
from kindling.errors import CommandError
from tests.kdump.conftest import MiB, Rig

CRASH_LINE = ("maxcpus=1 systemd.unit=kindling-kdump-capture.service nr_cpus=1 swiotlb=noforce "
              "cma=0 reset_devices cgroup_disable=memory udev.children-max=2 panic=10 "
              "nvme_core.admin_timeout=20 swiotlb=1")


def _expected(rig: Rig, flag: str) -> str:
    return (f"kexec -p {flag} --command-line=root=/dev/vda1 ro quiet {CRASH_LINE} irqpoll "
            f"--initrd={rig.root}/boot/initrd.img-6.1.0-test {rig.root}/boot/vmlinuz-6.1.0-test")


def test_no_reservation_is_a_clean_noop(rig: Rig) -> None:
    rig.kernel(crash_size=0)
    result = load_crash_kernel(rig.host)
    assert not result.loaded and "kexec_crash_size is 0" in result.detail
    assert rig.calls() == []


def test_load_disabled_is_an_error(rig: Rig) -> None:
    rig.kernel(crash_size=256 * MiB, load_disabled=1)
    with pytest.raises(KexecLoadDisabled, match="kexec_load_disabled is 1"):
        load_crash_kernel(rig.host)
    assert rig.calls() == []


def test_loads_with_the_file_syscall_and_the_crash_command_line(rig: Rig) -> None:
    rig.kernel(crash_size=256 * MiB,
               cmdline="BOOT_IMAGE=/vmlinuz-6.1.0-test root=/dev/vda1 ro crashkernel=256M "
                       "quiet panic=0 -- splash")
    result = load_crash_kernel(rig.host, disable_kexec_load=True)
    assert result.loaded and result.detail == "crash kernel loaded (kexec_file_load)"
    assert rig.calls() == [_expected(rig, "-s")]
    assert (rig.root / "proc/sys/kernel/kexec_load_disabled").read_text() == "1\n"


def test_falls_back_to_kexec_load_when_the_file_syscall_fails(rig: Rig) -> None:
    rig.kernel(crash_size=256 * MiB, cmdline="root=/dev/vda1 ro quiet")
    rig.fail("kexec", " -s ")
    result = load_crash_kernel(rig.host)
    assert result.detail == "crash kernel loaded (kexec_load)"
    assert rig.calls() == [_expected(rig, "-s"), _expected(rig, "-c")]


def test_no_fallback_under_lockdown(rig: Rig) -> None:
    rig.kernel(crash_size=256 * MiB, cmdline="root=/dev/vda1 ro quiet")
    rig.plant("sys/kernel/security/lockdown", "none [integrity] confidentiality\n")
    rig.fail("kexec", " -s ")
    with pytest.raises(CommandError, match="kexec exited 3"):
        load_crash_kernel(rig.host)
    assert rig.calls() == [_expected(rig, "-s")]


def test_already_loaded_and_crash_kernel_are_noops(rig: Rig) -> None:
    rig.kernel(crash_size=256 * MiB, loaded=1, load_disabled=1)
    assert load_crash_kernel(rig.host, disable_kexec_load=True).detail == (
        "crash kernel already loaded")
    rig.plant("proc/vmcore", b"")
    assert "crash kernel" in load_crash_kernel(rig.host).detail
    assert rig.calls() == []


def test_nothing_to_disable_without_the_sysctl_file(rig: Rig) -> None:
    rig.kernel(crash_size=256 * MiB, loaded=1)
    (rig.root / "proc/sys/kernel/kexec_load_disabled").unlink()
    assert load_crash_kernel(rig.host, disable_kexec_load=True).detail == (
        "crash kernel already loaded")
    assert not (rig.root / "proc/sys/kernel/kexec_load_disabled").exists()


def test_never_loads_into_this_machine_for_a_root_prefix(rig: Rig) -> None:
    from kindling.host import Host

    rig.kernel(crash_size=256 * MiB)
    host = Host(rig.root, env={"PATH": rig.host.env["PATH"]})
    result = load_crash_kernel(host)
    assert not result.loaded and "not loading a crash kernel into this machine" in result.detail
    assert rig.calls() == []


def test_missing_kernel_image_names_the_paths(rig: Rig) -> None:
    rig.kernel(crash_size=256 * MiB)
    (rig.root / "boot/vmlinuz-6.1.0-test").unlink()
    with pytest.raises(KdumpError, match=r"tried /boot/vmlinuz-6\.1\.0-test"):
        load_crash_kernel(rig.host)


def test_other_arches_use_kexec_load_without_irqpoll(rig: Rig) -> None:
    rig.kernel(crash_size=256 * MiB, cmdline="root=/dev/sda1", arch="armv7l")
    load_crash_kernel(rig.host)
    (call,) = rig.calls()
    assert call.startswith("kexec -p -c --command-line=root=/dev/sda1 maxcpus=1 ")
    assert "irqpoll" not in call


def test_plan_records_and_runs_nothing(rig: Rig) -> None:
    rig.kernel(crash_size=256 * MiB, cmdline="root=/dev/vda1 ro quiet")
    result = load_crash_kernel(rig.plan_host, disable_kexec_load=True)
    assert result.loaded
    assert rig.plan_host.actions == ["run " + _expected(rig, "-s"),
                                     f"run tee {rig.root}/proc/sys/kernel/kexec_load_disabled"]
    assert (rig.root / "proc/sys/kernel/kexec_load_disabled").read_text() == "0\n"
    assert rig.calls() == []


def test_crash_cmdline_drops_what_it_replaces() -> None:
    line = crash_cmdline("BOOT_IMAGE=/x crashkernel=1G-:256M bootconfig systemd.unit=a.target "
                         "maxcpus=8 console=ttyS0 -- init-arg", "aarch64")
    assert line == f"console=ttyS0 {CRASH_LINE}"


@pytest.mark.parametrize(("crash_size", "loaded", "vmcore", "answers"), [
    (256 * MiB, 1, False, True),  # armed by an earlier boot: settled without the facts
    (256 * MiB, 0, False, False),  # reserved, not loaded: load_crash_kernel loads it
    (0, 1, False, False),  # nothing reserved: its message, and the plan's verdict, are asked for
    (256 * MiB, 1, True, False),  # in the crash kernel
])
def test_already_loaded_answers_only_what_load_crash_kernel_would(
        rig: Rig, crash_size: int, loaded: int, vmcore: bool, answers: bool) -> None:
    rig.kernel(crash_size=crash_size, loaded=loaded)
    if vmcore:
        rig.plant("proc/vmcore", b"core")
    meminfo = (rig.root / "proc/meminfo").read_text()
    (rig.root / "proc/meminfo").unlink()  # the memory size is not among its questions
    quick = already_loaded(rig.host, disable_kexec_load=True)
    assert (quick is not None) == answers
    disabled = (rig.root / "proc/sys/kernel/kexec_load_disabled").read_text()
    if quick is not None:
        rig.plant("proc/meminfo", meminfo)
        assert quick == load_crash_kernel(rig.host).detail == "crash kernel already loaded"
        assert disabled == "1\n"  # and further loads are disabled, as load_crash_kernel does
    else:
        assert disabled == "0\n"
    assert rig.calls() == []


def test_already_loaded_refuses_a_file_that_is_not_a_number(rig: Rig) -> None:
    rig.kernel(crash_size=256 * MiB, loaded=1)
    rig.plant("sys/kernel/kexec_crash_loaded", "yes\n")
    with pytest.raises(KdumpError, match="kexec_crash_loaded: not a number"):
        already_loaded(rig.host)
