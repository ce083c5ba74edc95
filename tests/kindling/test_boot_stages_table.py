"""The registered stages kept for a later boot (kindling/boot.py `registered_stages`,
kindling/registry.py `snapshot`/`restore`): built from the table while nothing it
depends on changed, from the registry again after each kind of change — a distribution
installed, removed or its entry point edited, a stage's code changed, a new Kindling
version, an unreadable table — and a kept stage's module is imported only when it runs.

Each "boot" here is a new process as far as the registry is concerned (`fresh`): its
scan is forgotten, as it is when `kindling boot` starts again.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import kindling
from kindling import registry
from kindling.boot import STAGES_PATH, Stage, _Deferred, registered_stages, run_boot
from kindling.host import Host, RecordingHost

PLUGIN = "kplug_stage"


def fresh() -> None:
    """What a new process starts from: no scan, nothing restored, the plugin not imported."""
    registry.forget()
    registry._RESTORED.clear()
    sys.modules.pop(PLUGIN, None)


def age(*tops: Path) -> None:
    """Everything under `tops` last changed a minute ago, as an installation a boot meets:
    a stamp of something changed within the last second is not trusted
    (kindling/registry.py `settled`), so a test's just-written files would never be kept."""
    past = time.time_ns() - 60_000_000_000
    for top in tops:
        for base, dirs, files in os.walk(top, topdown=False):
            for name in [*files, *dirs]:
                os.utime(os.path.join(base, name), ns=(past, past))
        os.utime(top, ns=(past, past))


def write_plugin(site: Path, *, per_boot: bool = False, attr: str = "STAGE") -> None:
    (site / f"{PLUGIN}.py").write_text(textwrap.dedent(f"""
        from kindling.boot import Stage, ok

        def run(ctx):
            ctx.host.write_file("/etc/kplug.ran", "yes")
            return ok("ran")

        def unless(ctx):
            return "told to skip" if ctx.host.exists("/etc/kplug.skip") else None

        STAGE = Stage("kplug", 90, run, per_boot={per_boot}, description="a plugin's stage",
                      precondition=unless)
        OTHER = Stage("kplug", 91, run, per_boot={per_boot})
        NEW = Stage("nplug", 92, run)
        """))
    meta = site / "kplug-1.0.dist-info"
    meta.mkdir(exist_ok=True)
    (meta / "METADATA").write_text("Name: kplug\nVersion: 1.0\n")
    (meta / "entry_points.txt").write_text(f"[kindling.boot_stages]\nkplug = {PLUGIN}:{attr}\n")
    age(site)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    site = tmp_path / "site"
    site.mkdir()
    write_plugin(site)
    monkeypatch.syspath_prepend(str(site))
    fresh()
    yield site
    fresh()


def kept(stages: list[Stage]) -> bool:
    return all(isinstance(s.run, _Deferred) for s in stages)


def by_name(stages: list[Stage]) -> dict[str, Stage]:
    return {s.name: s for s in stages}


def test_a_later_boot_builds_the_stages_from_the_table_and_imports_a_stage_when_it_runs(
        site: Path, host: Host, root: Path) -> None:
    first = registered_stages(host)
    assert not kept(first) and (root / STAGES_PATH.lstrip("/")).exists()
    fresh()
    later = registered_stages(host)
    assert kept(later)
    assert [(s.name, s.order, s.after, s.platforms, s.per_boot, s.unit, s.outputs, s.description,
             s.precondition is None) for s in sorted(later, key=lambda s: s.name)] == \
        [(s.name, s.order, s.after, s.platforms, s.per_boot, s.unit, s.outputs, s.description,
          s.precondition is None) for s in sorted(first, key=lambda s: s.name)]
    assert PLUGIN not in sys.modules
    plugin = by_name(later)["kplug"]
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc/kplug.skip").write_text("")
    report = run_boot(host, "metal", stages=[plugin])
    assert [(r.status, r.detail) for r in report.records] == [("skipped", "told to skip")]
    assert PLUGIN in sys.modules  # asked its precondition: imported then
    (root / "etc/kplug.skip").unlink()
    report = run_boot(host, "metal", stages=[plugin])
    assert [(r.status, r.detail) for r in report.records] == [("ok", "ran")]
    assert (root / "etc/kplug.ran").read_text() == "yes"


def test_a_new_distribution_is_found(site: Path, host: Host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other"
    other.mkdir()
    age(other)
    monkeypatch.syspath_prepend(str(other))
    registered_stages(host)
    fresh()
    assert kept(registered_stages(host))
    fresh()
    (other / "nplug-2.0.dist-info").mkdir()  # installed: its directory stamps the sys.path entry
    (other / "nplug-2.0.dist-info/entry_points.txt").write_text(
        f"[kindling.boot_stages]\nnplug = {PLUGIN}:NEW\n")
    age(other)
    stages = registered_stages(host)
    assert not kept(stages) and {"kplug", "nplug"} <= set(by_name(stages))
    fresh()
    assert kept(registered_stages(host))


def test_a_removed_distribution_is_gone(site: Path, host: Host) -> None:
    registered_stages(host)
    fresh()
    import shutil

    shutil.rmtree(site / "kplug-1.0.dist-info")
    age(site)
    stages = registered_stages(host)
    assert not kept(stages) and "kplug" not in by_name(stages)


def test_an_entry_point_edited_in_place_is_read_again(site: Path, host: Host) -> None:
    registered_stages(host)
    fresh()
    (site / "kplug-1.0.dist-info/entry_points.txt").write_text(f"[kindling.boot_stages]\nkplug = {PLUGIN}:OTHER\n")
    age(site)
    stages = registered_stages(host)
    assert not kept(stages) and by_name(stages)["kplug"].order == 91


def test_a_stages_changed_code_is_read_again(site: Path, host: Host) -> None:
    assert not by_name(registered_stages(host))["kplug"].per_boot
    fresh()
    write_plugin(site, per_boot=True)  # its file changes, nothing in the metadata does
    stages = registered_stages(host)
    assert not kept(stages) and by_name(stages)["kplug"].per_boot
    fresh()
    assert by_name(registered_stages(host))["kplug"].per_boot


def test_a_new_kindling_version_reads_the_registry_again(site: Path, host: Host,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    registered_stages(host)
    fresh()
    monkeypatch.setattr(kindling, "__version__", kindling.__version__ + ".post1")
    assert not kept(registered_stages(host))
    fresh()
    assert kept(registered_stages(host))


@pytest.mark.parametrize("text", ["", "{", "[]", '{"version": 1}', "null", '{"version": "0.1.0", "stages": 3}'])
def test_an_unreadable_table_reads_the_registry(site: Path, host: Host, root: Path, text: str) -> None:
    registered_stages(host)
    table = root / STAGES_PATH.lstrip("/")
    doc = json.loads(table.read_text())
    table.write_text(text.replace('"0.1.0"', json.dumps(doc["version"])))
    fresh()
    stages = registered_stages(host)
    assert not kept(stages) and "kplug" in by_name(stages)
    fresh()
    assert kept(registered_stages(host))  # and it was written again


def test_a_plan_writes_no_table(site: Path, plan_host: RecordingHost, root: Path) -> None:
    assert "kplug" in by_name(registered_stages(plan_host))
    assert not (root / STAGES_PATH.lstrip("/")).exists()
    assert not plan_host.actions


def test_an_entry_points_file_added_or_removed_in_place_is_seen(site: Path, host: Host) -> None:
    bare = site / "bare-0.1.dist-info"
    bare.mkdir()
    (bare / "METADATA").write_text("Name: bare\nVersion: 0.1\n")
    age(site)
    registered_stages(host)
    fresh()
    assert kept(registered_stages(host))
    fresh()
    (bare / "entry_points.txt").write_text(f"[kindling.boot_stages]\nnplug = {PLUGIN}:NEW\n")
    age(site)
    stages = registered_stages(host)
    assert not kept(stages) and "nplug" in by_name(stages)
    fresh()
    (site / "kplug-1.0.dist-info/entry_points.txt").unlink()
    age(site)
    stages = registered_stages(host)
    assert not kept(stages) and "kplug" not in by_name(stages) and "nplug" in by_name(stages)


def test_what_changed_within_the_last_second_is_not_kept(site: Path, host: Host, root: Path) -> None:
    """A stamp taken in the same clock tick as a change would not tell them apart: a
    table whose stamps are that recent is not written (the next boot keeps it)."""
    (site / "kplug-1.0.dist-info/entry_points.txt").write_text(f"[kindling.boot_stages]\nkplug = {PLUGIN}:OTHER\n")
    stages = registered_stages(host)
    assert by_name(stages)["kplug"].order == 91 and not (root / STAGES_PATH.lstrip("/")).exists()
    age(site)
    fresh()
    registered_stages(host)
    assert (root / STAGES_PATH.lstrip("/")).exists()
