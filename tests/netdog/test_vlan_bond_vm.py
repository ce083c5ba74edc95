"""VLAN and active-backup bond over veths, for real, in a qemu guest whose Debian
kernel has 802.1Q and bonding (this VM's kernel has neither). The guest runs the two
rig tests of test_apply_rig.py (namespaces, veths, dnsmasq, `kindling netdog apply`)
from this checkout, read-only over 9p (tests/vm/command_guest.py: the VM tests' one
rig); they must pass there, not skip. Works from a checkout anywhere, /tmp included."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.conftest import need_root
from tests.vm.command_guest import NET_MODULES, guest_kernel, run_in_guest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.vm, pytest.mark.rig]


@pytest.mark.timeout(1200)  # software emulation: minutes, more on a loaded machine
def test_vlan_and_bond_in_guest(tmp_path: Path) -> None:
    need_root()
    if guest_kernel() is None:
        pytest.skip("no guest: qemu-system-x86_64 or busybox missing, or the kernel package could "
                    "not be fetched into the VM cache")
    command = (f"{sys.executable} -m pytest -p no:cacheprovider -q -rA --color=no "
               "tests/netdog/test_apply_rig.py::test_vlan_over_veth_with_dhcp "
               "tests/netdog/test_apply_rig.py::test_active_backup_bond_over_veths")
    status, console, run = run_in_guest(command, cwd=str(REPO), env="KINDLING_REQUIRE_VLAN_BOND=1",
                                        work=tmp_path, modules=NET_MODULES, timeout=1100)
    console = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1bc", "", console)
    tail = console[-4000:]
    assert not run.timed_out, f"guest killed after {run.seconds:.0f} s (console: {run.console})\n{tail}"
    assert status == 0, tail
    assert re.search(r"\b2 passed\b", console), tail
    assert "PASSED tests/netdog/test_apply_rig.py::test_vlan_over_veth_with_dhcp" in console
    assert "PASSED tests/netdog/test_apply_rig.py::test_active_backup_bond_over_veths" in console
