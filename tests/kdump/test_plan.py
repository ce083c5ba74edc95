"""`kdump plan`: sizing against planted kernels; the reservation through boot settings."""

from __future__ import annotations

from typing import Any

import pytest

from kdump.errors import CrashkernelError
from kdump.facts import read_facts
from kdump.plan import make_plan
from kdump.reserve import write_reservation
from kindling.api.service import SettingsService
from kindling.bootconfig import read_footer
from tests.kdump.conftest import GiB, MiB, Rig


def _plan(rig: Rig, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    return make_plan(settings or {}, read_facts(rig.host)).to_json()


def test_fresh_8g_node_needs_the_table_value_and_a_reboot(rig: Rig) -> None:
    rig.kernel(mem_total=8 * GiB)
    plan = _plan(rig)
    assert plan["memory_bytes"] == 8 * GiB
    assert plan["crashkernel"] == "1G-4G:192M,4G-64G:256M,64G-:512M"
    assert plan["planned_bytes"] == 256 * MiB
    assert plan["reserved_now_bytes"] == 0
    assert plan["needs_reboot"] is True
    assert any("crashkernel" in c for c in plan["changes"])


def test_memory_counts_the_reservation_back(rig: Rig) -> None:
    # the kernel takes the reservation out of MemTotal; 4 GiB minus 192 MiB is still "4G"
    rig.kernel(mem_total=4 * GiB - 256 * MiB, crash_size=256 * MiB,
               cmdline="root=/dev/vda1 crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M")
    plan = _plan(rig)
    assert plan["memory_bytes"] == 4 * GiB
    assert plan["planned_bytes"] == 256 * MiB
    assert plan["needs_reboot"] is False
    assert plan["running_crashkernel"] == "1G-4G:192M,4G-64G:256M,64G-:512M"


def test_booted_with_the_same_argument_never_asks_for_a_reboot(rig: Rig) -> None:
    rig.kernel(mem_total=8 * GiB, crash_size=200 * MiB, cmdline="crashkernel=256M root=x")
    plan = _plan(rig, {"kdump": {"crashkernel": "256M"}})
    assert plan["crashkernel"] == "256M" and plan["source"] == "settings.kdump.crashkernel"
    assert plan["needs_reboot"] is False


def test_bootconfig_crashkernel_that_reserved_nothing_is_a_warning(rig: Rig) -> None:
    # bootconfig parameters show up in /proc/cmdline, but crashkernel= was read too early
    rig.kernel(mem_total=8 * GiB, crash_size=0, cmdline="crashkernel=256M root=x -- splash")
    plan = _plan(rig, {"kdump": {"crashkernel": "256M"}})
    assert plan["needs_reboot"] is False
    assert "reserved nothing" in plan["warnings"][0]


def test_small_node_reserves_nothing(rig: Rig) -> None:
    rig.kernel(mem_total=768 * MiB)
    plan = _plan(rig)
    assert plan["crashkernel"] is None and plan["planned_bytes"] == 0
    assert plan["needs_reboot"] is False and plan["changes"] == []


def test_disabled_releases_a_reservation(rig: Rig) -> None:
    rig.kernel(mem_total=8 * GiB, crash_size=256 * MiB, cmdline="crashkernel=256M")
    settings = {"kdump": {"enabled": False},
                "boot": {"kernel-parameters": {"crashkernel": ["256M"]}}}
    plan = make_plan(settings, read_facts(rig.host))
    assert plan.crashkernel is None and plan.needs_reboot
    assert plan.write_parameter == "0M"


def test_invalid_override_names_the_key(rig: Rig) -> None:
    rig.kernel()
    with pytest.raises(CrashkernelError, match=r"^settings\.kdump\.crashkernel: "):
        _plan(rig, {"kdump": {"crashkernel": "4G-1G:256M"}})


def test_missing_meminfo_is_an_error(rig: Rig) -> None:
    rig.kernel()
    (rig.root / "proc/meminfo").write_text("MemFree: 1 kB\n")
    with pytest.raises(Exception, match="no MemTotal"):
        read_facts(rig.host)


def test_reservation_goes_through_boot_settings_into_bootconfig_data(rig: Rig) -> None:
    rig.kernel(mem_total=8 * GiB)
    SettingsService(rig.host).set_tree(
        {"boot": {"kernel-parameters": {"console": ["ttyS0"]}}}, tx="t", source="test")
    plan = make_plan(SettingsService(rig.host).get_settings(), read_facts(rig.host))
    done = write_reservation(rig.host, plan)
    assert done[0].startswith("settings.boot.kernel-parameters.crashkernel = ")
    live = SettingsService(rig.host).get_settings()
    assert live["boot"]["kernel-parameters"] == {
        "console": ["ttyS0"], "crashkernel": ["1G-4G:192M,4G-64G:256M,64G-:512M"]}
    text = read_footer((rig.root / "var/lib/kindling/bootconfig.data").read_bytes())
    assert 'kernel.crashkernel = "1G-4G:192M,4G-64G:256M,64G-:512M"\n' in text
    again = make_plan(live, read_facts(rig.host))
    assert again.write_parameter is None and write_reservation(rig.host, again) == []


def test_reservation_under_plan_writes_nothing(rig: Rig, tree_snapshot: Any) -> None:
    rig.kernel(mem_total=8 * GiB)
    before = tree_snapshot(rig.root)
    plan = make_plan({}, read_facts(rig.plan_host))
    write_reservation(rig.plan_host, plan)
    assert tree_snapshot(rig.root) == before
    assert any("datastore" in a for a in rig.plan_host.actions)


def test_bad_crashkernel_setting_is_refused_and_nothing_changes(rig: Rig,
                                                                tree_snapshot: Any) -> None:
    from kindling.errors import SettingsError

    rig.kernel()
    SettingsService(rig.host).set_tree({"kdump": {"keep": 2}}, tx="t", source="test")
    before = tree_snapshot(rig.root / "var")
    with pytest.raises(SettingsError, match=r"settings\.kdump\.crashkernel: not a valid"):
        SettingsService(rig.host).set_tree({"kdump": {"crashkernel": "lots-of-memory"}},
                                           tx="t", source="user data")
    assert SettingsService(rig.host).get_settings() == {"kdump": {"keep": 2}}
    assert {k: v for k, v in tree_snapshot(rig.root / "var").items()
            if not k.endswith("-wal")} == {k: v for k, v in before.items()
                                           if not k.endswith("-wal")}
