"""VLAN and active-backup bond over veths, for real, in a qemu guest whose Debian
kernel has 802.1Q and bonding (this VM's kernel has neither). The guest runs the two
rig tests of test_apply_rig.py (namespaces, veths, dnsmasq, `kindling netdog apply`)
from this checkout, read-only over 9p; they must pass there, not skip."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.conftest import need_root
from tests.netdog.vm import kernel_dir, run_in_guest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.vm, pytest.mark.rig]


@pytest.mark.timeout(1200)  # software emulation: minutes, more on a loaded machine
def test_vlan_and_bond_in_guest(tmp_path: Path) -> None:
    need_root()
    if kernel_dir() is None:
        pytest.skip("no guest kernel: qemu-system-x86_64 or busybox missing, or the kernel "
                    "package could not be fetched (set KINDLING_VM_KERNEL_DIR to an unpacked one)")
    command = (f"{sys.executable} -m pytest -p no:cacheprovider -q -rA --color=no "
               "tests/netdog/test_apply_rig.py::test_vlan_over_veth_with_dhcp "
               "tests/netdog/test_apply_rig.py::test_active_backup_bond_over_veths")
    status, console = run_in_guest(command, cwd=str(REPO), env="KINDLING_REQUIRE_VLAN_BOND=1",
                                   work=tmp_path, timeout=1100)
    console = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1bc", "", console)
    tail = console[-4000:]
    assert status == 0, tail
    assert re.search(r"\b2 passed\b", console), tail
    assert "PASSED tests/netdog/test_apply_rig.py::test_vlan_over_veth_with_dhcp" in console
    assert "PASSED tests/netdog/test_apply_rig.py::test_active_backup_bond_over_veths" in console
