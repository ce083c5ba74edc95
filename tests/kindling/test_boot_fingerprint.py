"""A later boot skips what did not change, and reruns a stage whenever anything it looked
at changed: an input, a setting, an output, the Kindling build, the platform
(kindling/boot_fingerprint.py). Each invalidation has its own test."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import kindling
from kindling.boot import UNCHANGED, BootContext, Stage, StageResult, ok, run_boot
from kindling.boot_fingerprint import STATE_PATH
from kindling.datastore import Datastore
from kindling.errors import KindlingError
from kindling.host import Host, RecordingHost

REPO = Path(__file__).resolve().parents[2]


class Counter:
    """Stages that really read inputs and write outputs through the Host, counting runs."""

    def __init__(self) -> None:
        self.runs: dict[str, int] = {}

    def stage(self, name: str, order: int, body: Callable[[Host], str], **kw: object) -> Stage:
        def run(ctx: BootContext) -> StageResult:
            self.runs[name] = self.runs.get(name, 0) + 1
            return ok(body(ctx.host))

        return Stage(name, order, run, **kw)  # type: ignore[arg-type]


def render(host: Host) -> str:
    """Input /etc/in.conf → output /etc/out.conf, a /run file and a live kernel value."""
    text = host.read_optional("/etc/in.conf") or "none"
    host.write_file("/etc/out.conf", f"rendered {text}")
    host.makedirs("/run/demo")
    host.write_file("/run/demo/state", f"state {text}")
    host.write_in_place("/proc/sys/demo/value", text)
    return "rendered"


@pytest.fixture
def booted(host: Host, root: Path) -> tuple[Counter, list[Stage]]:
    (root / "etc").mkdir()
    (root / "etc/in.conf").write_text("one")
    (root / "proc/sys/demo").mkdir(parents=True)
    (root / "proc/sys/demo/value").write_text("")
    c = Counter()
    stages = [c.stage("render", 10, render), c.stage("kexec", 20, lambda h: "loaded", per_boot=True)]
    run_boot(host, "metal", stages=stages)
    assert c.runs == {"render": 1, "kexec": 1}
    return c, stages


def reboot(root: Path) -> None:
    """/run is empty after a reboot and the live kernel values are gone."""
    shutil.rmtree(root / "run")
    (root / "run").mkdir()
    (root / "proc/sys/demo/value").write_text("")


def statuses(host: Host, stages: list[Stage], **kw: object) -> dict[str, tuple[str, str]]:
    report = run_boot(host, "metal", stages=stages, **kw)  # type: ignore[arg-type]
    return {r.name: (r.status, r.detail) for r in report.records}


def test_unchanged_boot_skips_and_replays_per_boot_effects(booted: tuple[Counter, list[Stage]], host: Host,
                                                          root: Path) -> None:
    c, stages = booted
    reboot(root)
    got = statuses(host, stages)
    assert got["render"] == ("skipped", UNCHANGED)
    assert got["kexec"] == ("ok", "loaded")  # per-boot: always runs
    assert c.runs == {"render": 1, "kexec": 2}
    assert (root / "run/demo/state").read_text() == "state one"  # replayed
    assert (root / "proc/sys/demo/value").read_text() == "one"  # live value replayed
    assert (root / "run/kindling/timeline.json").exists()


def test_changed_input_reruns(booted: tuple[Counter, list[Stage]], host: Host, root: Path) -> None:
    c, stages = booted
    (root / "etc/in.conf").write_text("two")
    assert statuses(host, stages)["render"] == ("ok", "rendered")
    assert (root / "etc/out.conf").read_text() == "rendered two"
    assert c.runs["render"] == 2


def test_removed_input_reruns(booted: tuple[Counter, list[Stage]], host: Host, root: Path) -> None:
    _c, stages = booted
    (root / "etc/in.conf").unlink()
    statuses(host, stages)
    assert (root / "etc/out.conf").read_text() == "rendered none"


def test_edited_or_removed_output_is_rewritten(booted: tuple[Counter, list[Stage]], host: Host,
                                               root: Path) -> None:
    c, stages = booted
    (root / "etc/out.conf").write_text("edited by hand")
    statuses(host, stages)
    assert (root / "etc/out.conf").read_text() == "rendered one"
    (root / "etc/out.conf").unlink()
    statuses(host, stages)
    assert (root / "etc/out.conf").read_text() == "rendered one"
    assert c.runs["render"] == 3


def test_new_kindling_version_reruns_everything(booted: tuple[Counter, list[Stage]], host: Host,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    c, stages = booted
    monkeypatch.setattr(kindling, "__version__", kindling.__version__ + ".post1")
    statuses(host, stages)
    assert c.runs["render"] == 2


def test_new_plugin_reruns_everything(booted: tuple[Counter, list[Stage]], host: Host,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from kindling import registry

    c, stages = booted
    extra = registry.EntryPoint("kindling.appliers", "new-one", "somewhere:APPLIER", "plugin")
    real = registry._all_entry_points()
    monkeypatch.setattr(registry, "_all_entry_points", lambda: (*real, extra))
    statuses(host, stages)
    assert c.runs["render"] == 2


def test_other_platform_reruns(booted: tuple[Counter, list[Stage]], host: Host) -> None:
    c, stages = booted
    run_boot(host, "vmware", stages=stages)
    assert c.runs["render"] == 2


def test_full_runs_everything(booted: tuple[Counter, list[Stage]], host: Host) -> None:
    _c, stages = booted
    assert statuses(host, stages, full=True)["render"] == ("ok", "rendered")
    assert statuses(host, stages)["render"] == ("skipped", UNCHANGED)  # and the state stays valid


def test_failed_stage_runs_again(host: Host, root: Path) -> None:
    calls: list[int] = []

    def flaky(ctx: BootContext) -> StageResult:
        calls.append(1)
        ctx.host.read_optional("/etc/in.conf")
        if len(calls) == 1:
            raise KindlingError("first try fails")
        return ok("second try")

    stages = [Stage("flaky", 10, flaky)]
    assert statuses(host, stages)["flaky"][0] == "failed"
    assert statuses(host, stages)["flaky"] == ("ok", "second try")
    assert statuses(host, stages)["flaky"] == ("skipped", UNCHANGED)
    assert len(calls) == 2


def test_new_file_in_a_listed_directory_reruns(host: Host, root: Path) -> None:
    runs: list[list[str]] = []

    def scan(ctx: BootContext) -> StageResult:
        runs.append(ctx.host.listdir("/etc/kindling/providers.d"))
        ctx.host.makedirs("/etc/unlisted")
        return ok()

    stages = [Stage("scan", 10, scan)]
    (root / "etc/kindling/providers.d").mkdir(parents=True)
    statuses(host, stages)
    (root / "etc/unlisted").mkdir(exist_ok=True)
    (root / "etc/unlisted/x").write_text("a made directory's names are no input")
    assert statuses(host, stages)["scan"] == ("skipped", UNCHANGED)
    (root / "etc/kindling/providers.d/50-new").write_text("#!/bin/sh\n")
    statuses(host, stages)
    assert runs == [[], ["50-new"]]


def test_changed_setting_reruns(host: Host, root: Path) -> None:
    seen: list[object] = []

    def read_settings(ctx: BootContext) -> StageResult:
        with Datastore(ctx.host) as store:
            seen.append(store.live().get("motd"))
        return ok()

    with Datastore(host) as store:
        store.patch("default", {"motd": "hello"})
        store.commit("default", lambda tree: tree)
    stages = [Stage("settings", 10, read_settings)]
    statuses(host, stages)
    assert statuses(host, stages)["settings"] == ("skipped", UNCHANGED)
    with Datastore(host) as store:
        store.patch("default", {"motd": "changed"})
        store.commit("default", lambda tree: tree)
    statuses(host, stages)
    assert seen == ["hello", "changed"]


def test_plan_uses_the_state_but_never_writes_it(booted: tuple[Counter, list[Stage]], root: Path) -> None:
    _c, stages = booted
    reboot(root)
    before = (root / STATE_PATH.lstrip("/")).read_bytes()
    plan = RecordingHost(root)
    report = run_boot(plan, "metal", stages=stages)
    render_record = report.records[0]
    assert (render_record.status, render_record.detail) == ("skipped", UNCHANGED)
    assert any(a.startswith("write /run/demo/state") for a in render_record.actions)
    assert any(a.startswith("write-in-place /proc/sys/demo/value") for a in render_record.actions)
    assert not (root / "run/demo/state").exists()
    assert (root / STATE_PATH.lstrip("/")).read_bytes() == before


def test_corrupt_state_means_a_full_boot(booted: tuple[Counter, list[Stage]], host: Host, root: Path) -> None:
    c, stages = booted
    (root / STATE_PATH.lstrip("/")).write_text("{not json")
    statuses(host, stages)
    assert c.runs["render"] == 2
    assert json.loads((root / STATE_PATH.lstrip("/")).read_text())["stages"]["render"]["status"] == "ok"


def test_an_input_changed_by_a_stage_that_ran_reruns_the_next_reader(host: Host, root: Path) -> None:
    """Descriptions of shared inputs are remembered between skipped stages only: a stage
    that runs (here a per-boot one) may change what the next stage reads."""
    (root / "etc").mkdir()
    (root / "etc/shared").write_text("x")
    (root / "etc/source").write_text("x")
    reads: list[str | None] = []

    def reader(ctx: BootContext) -> StageResult:
        reads.append(ctx.host.read_optional("/etc/shared"))
        return ok()

    def copy(ctx: BootContext) -> StageResult:
        ctx.host.write_file("/etc/shared", ctx.host.read_text("/etc/source"))
        return ok()

    stages = [Stage("first", 10, reader), Stage("copy", 20, copy, per_boot=True), Stage("last", 30, reader)]
    statuses(host, stages)
    (root / "etc/source").write_text("y")  # not an input of `first`: it is skipped, then copy runs
    got = statuses(host, stages)
    assert got["first"] == ("skipped", UNCHANGED)
    assert got["last"] == ("ok", "")
    assert reads == ["x", "x", "y"]


def test_a_replayed_live_value_is_read_fresh_by_the_next_stage(host: Host, root: Path) -> None:
    """A replay writes: what an earlier stage saw of that file is not reused after it."""
    (root / "etc").mkdir()
    (root / "etc/in.conf").write_text("one")
    (root / "proc/sys/demo").mkdir(parents=True)
    (root / "proc/sys/demo/value").write_text("")
    c = Counter()
    stages = [c.stage("peek", 5, lambda h: h.read_text("/proc/sys/demo/value") or "empty"),
              c.stage("render", 10, render),
              c.stage("consumer", 30, lambda h: h.read_text("/proc/sys/demo/value"))]
    statuses(host, stages)
    reboot(root)
    got = statuses(host, stages)
    assert {n: s for n, (s, _d) in got.items()} == {"peek": "skipped", "render": "skipped", "consumer": "skipped"}
    assert (root / "proc/sys/demo/value").read_text() == "one"
    assert c.runs == {"peek": 1, "render": 1, "consumer": 1}


# -- the real stages on the demo node ------------------------------------------------------

def _real_stages() -> list[Stage]:
    """Every registered stage except the one that waits for a real address."""
    from kindling.boot import load_stages

    return [s for s in load_stages() if s.name != "write-network-status"]


def test_demo_node_later_boots_skip_then_follow_a_setting_and_net_toml(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(REPO / "demo/root", root, symlinks=True)
    host = Host(root, env={"PATH": "/usr/bin:/bin"})
    stages = _real_stages()
    first = statuses(host, stages)
    assert first["early-boot-config"][0] == "ok"
    state = (root / STATE_PATH.lstrip("/")).read_bytes()
    # the first later boot is already settled: early-boot-config and boot-settings read the
    # datastore that later stages changed, and their preconditions (the marker, boot
    # parameters in settings) skip them instead of a rerun that would find just that
    by_precondition = {"early-boot-config", "boot-settings"}
    for _ in range(2):
        reboot_run = root / "run"
        shutil.rmtree(reboot_run)
        reboot_run.mkdir()
        later = statuses(host, stages)
        not_per_boot = {s.name for s in stages if not s.per_boot}
        assert {n for n, (_s, d) in later.items() if d == UNCHANGED} == not_per_boot - by_precondition
        assert {n: later[n][0] for n in by_precondition} == {n: "skipped" for n in by_precondition}
        assert (root / STATE_PATH.lstrip("/")).read_bytes() == state  # nothing ran: nothing to record
    assert (root / "etc/motd").read_text() == "set from /proc/bootconfig\n"
    # a setting changed between boots (as `apiclient set` would, without applying)
    with Datastore(host) as store:
        store.patch("default", {"motd": "new message"})
        store.commit("default", lambda tree: tree)
    after = statuses(host, stages)
    assert after["apply-settings"][0] == "ok"
    assert (root / "etc/motd").read_text() == "new message\n"
    # a setting a per-boot stage reads from the boot state's copy: it reads the new one
    assert after["kdump-load"] == ("skipped", "crash kernel already loaded")
    with Datastore(host) as store:
        store.patch("default", {"kdump": {"enabled": False}})
        store.commit("default", lambda tree: tree)
    after = statuses(host, stages)
    assert after["kdump-load"] == ("skipped", "settings.kdump.enabled is false")
    assert after["kdump-reserve"][0] == "ok"
    # net.toml changed: the networkd files follow
    net = root / "var/lib/kindling/net.toml"
    net.write_text(net.read_text().replace("eth1", "eth2"))
    after = statuses(host, stages)
    assert after["generate-network-config"][0] == "ok"
    assert (root / "etc/systemd/network/10-eth2.network").exists()


def test_precondition_skips_before_the_fingerprint_and_keeps_the_entry(booted: tuple[Counter, list[Stage]],
                                                                        host: Host, root: Path) -> None:
    c, stages = booted
    state = (root / STATE_PATH.lstrip("/")).read_bytes()
    (root / "etc/in.conf").write_text("two")  # an input changed, but the stage's own check says no
    asked: list[str] = []

    def done(ctx: BootContext) -> str | None:
        asked.append(ctx.platform)
        return "already done"

    gated = [Stage(s.name, s.order, s.run, per_boot=s.per_boot, precondition=done if s.name == "render" else None)
             for s in stages]
    reboot(root)
    assert statuses(host, gated)["render"] == ("skipped", "already done")
    assert c.runs == {"render": 1, "kexec": 2} and asked == ["metal"]
    assert (root / STATE_PATH.lstrip("/")).read_bytes() == state  # kept as it was
    # once the precondition lets it go on, the fingerprint still sees the changed input
    reboot(root)
    assert statuses(host, stages)["render"][0] == "ok"
    assert (root / "etc/out.conf").read_text() == "rendered two"


@pytest.mark.parametrize("answer", [None, "raise"])
def test_a_precondition_that_says_go_on_or_fails_leaves_it_to_the_fingerprint(
        booted: tuple[Counter, list[Stage]], host: Host, root: Path, answer: str | None) -> None:
    c, stages = booted

    def check(ctx: BootContext) -> str | None:
        if answer == "raise":
            raise OSError("unreadable marker")
        return None

    gated = [Stage(s.name, s.order, s.run, per_boot=s.per_boot, precondition=check) for s in stages]
    reboot(root)
    assert statuses(host, gated)["render"] == ("skipped", UNCHANGED)
    (root / "etc/in.conf").write_text("three")
    reboot(root)
    assert statuses(host, gated)["render"][0] == "ok"
    assert c.runs["render"] == 2


def test_inputs_resolve_as_the_host_resolves_them_with_directories_taken_once(host: Host, root: Path) -> None:
    """The digest pass resolves each directory once (kindling/boot_fingerprint.py `_real`):
    every input lands where `Host.path` puts it — links inside the root (absolute,
    relative, to a directory, dangling, a loop), missing parents, listings."""
    from kindling.boot_fingerprint import _real

    (root / "etc/sub").mkdir(parents=True)
    (root / "etc/sub/file").write_text("x")
    (root / "srv").mkdir()
    (root / "srv/real.conf").write_text("y")
    (root / "etc/abs").symlink_to("/srv/real.conf")  # absolute: inside the root
    (root / "etc/rel").symlink_to("../srv/real.conf")
    (root / "etc/dirlink").symlink_to("/etc/sub")
    (root / "etc/dangling").symlink_to("/nowhere/at/all")
    (root / "etc/up").symlink_to("../../../../srv")  # `..` stops at the root
    (root / "etc/loop").symlink_to("/etc/loop")
    paths = ["/", "/etc", "/etc/", "/etc/sub/file", "/etc/abs", "/etc/rel", "/etc/dirlink/file", "/etc/dirlink/",
             "/etc/dangling", "/etc/missing/deeper/file", "/etc/up/real.conf", "/etc/sub//file", "/srv/real.conf"]
    dirs: dict[str, str] = {}
    for p in paths:
        assert _real(host, p, dirs) == str(host.path(p)), p
    assert len(dirs) < len(paths)  # directories were taken once
    with pytest.raises(KindlingError, match="too many levels"):  # as the Host says it
        _real(host, "/etc/loop", dirs)
    with pytest.raises(KindlingError, match="too many levels"):
        host.path("/etc/loop")
    # and a changed link is followed once the pass is over (a new pass, new directories)
    (root / "etc/dirlink").unlink()
    (root / "etc/dirlink").symlink_to("/srv")
    assert _real(host, "/etc/dirlink/real.conf", {}) == str(root / "srv/real.conf")


def _commit(host: Host, tree: dict[str, object]) -> None:
    with Datastore(host) as store:
        store.patch("default", tree)
        store.commit("default", lambda t: t)


def test_settings_come_from_the_boot_state_only_while_the_datastore_files_are_unchanged(
        host: Host, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`BootContext.settings` in a boot: read through SettingsService, kept in the boot
    state with the digest of the datastore's files; the next boot gets the copy (no
    SQLite) while those files are byte for byte the same, and reads again once anything
    wrote, also a write by the stage itself between two reads."""
    from kindling.api import service

    _commit(host, {"motd": "one", "kdump": {"enabled": True}})
    reads: list[list[str]] = []
    real = service.SettingsService.get_settings

    def counted(self: service.SettingsService, **kw: object) -> dict[str, object]:
        reads.append(list(kw.get("keys") or []))  # type: ignore[arg-type]
        return real(self, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(service.SettingsService, "get_settings", counted)
    seen: list[object] = []

    def read_write(ctx: BootContext) -> StageResult:
        seen.append(ctx.settings("settings.motd", "settings.kdump"))
        if ctx.options.get("write"):
            _commit(ctx.host, {"motd": ctx.options["write"]})
            seen.append(ctx.settings("settings.motd"))
        return ok()

    stages = [Stage("reader", 10, read_write, per_boot=True)]
    run_boot(host, "metal", stages=stages)
    assert reads  # the first boot read the datastore (and kept what it found at its end)
    before = len(reads)
    run_boot(host, "metal", stages=stages)  # the files as the first boot left them: the copy
    assert seen == [{"motd": "one", "kdump": {"enabled": True}}] * 2
    assert len(reads) == before
    seen[1]["motd"] = "changed by a reader"  # type: ignore[index]
    run_boot(host, "metal", stages=stages, options={"write": "two"})
    assert seen[2:] == [{"motd": "one", "kdump": {"enabled": True}}, {"motd": "two"}]  # a fresh copy; its write read
    _commit(host, {"kdump": {"enabled": False}})  # between boots, as `apiclient set` would
    run_boot(host, "metal", stages=stages)
    assert seen[4] == {"motd": "two", "kdump": {"enabled": False}}
    before = len(reads)
    run_boot(host, "metal", stages=stages)
    assert seen[5] == seen[4] and len(reads) == before


def test_a_write_during_the_boot_is_in_what_the_next_boot_reads(host: Host, root: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from kindling.api import service

    _commit(host, {"motd": "one"})
    real = service.SettingsService.get_settings
    racing = [True]

    def racy(self: service.SettingsService, **kw: object) -> dict[str, object]:
        tree = real(self, **kw)  # type: ignore[arg-type]
        if racing and racing.pop():  # another writer commits right after the read
            _commit(host, {"motd": "two"})
        return tree

    monkeypatch.setattr(service.SettingsService, "get_settings", racy)
    seen: list[object] = []
    stages = [Stage("reader", 10, lambda ctx: seen.append(ctx.settings("settings.motd")) or ok(), per_boot=True)]
    run_boot(host, "metal", stages=stages)
    run_boot(host, "metal", stages=stages)
    assert seen == [{"motd": "one"}, {"motd": "two"}]


def test_a_datastore_too_large_to_compare_is_read_each_boot_without_rewriting_the_state(
        host: Host, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kindling.boot_fingerprint as fingerprint

    _commit(host, {"motd": "one"})
    monkeypatch.setattr(fingerprint, "_BIG", 16)  # every datastore file is "large"
    seen: list[object] = []
    stages = [Stage("noop", 5, lambda ctx: ok()),
              Stage("reader", 10, lambda ctx: seen.append(ctx.settings("settings.motd")) or ok(), per_boot=True)]
    run_boot(host, "metal", stages=stages)
    state = (root / STATE_PATH.lstrip("/")).read_bytes()
    assert b'"datastore"' not in state
    _commit(host, {"motd": "two"})
    run_boot(host, "metal", stages=stages)
    assert seen == [{"motd": "one"}, {"motd": "two"}]
    assert (root / STATE_PATH.lstrip("/")).read_bytes() == state


def test_a_file_is_described_by_all_of_its_content_and_a_link_by_its_target(host: Host, root: Path) -> None:
    """`_one` reads with plain reads to the end (past one 64 KiB read, as /proc files
    that say size 0 need), and a link in the last component is followed as chase does."""
    from kindling.boot_fingerprint import _one

    (root / "etc").mkdir(exist_ok=True)
    big = bytes(range(256)) * 400  # 100 KiB
    (root / "etc/big").write_bytes(big)
    assert _one(host, "/etc/big", {}) == b"\0" + big
    (root / "etc/big").write_bytes(big[:-1] + b"x")  # the last byte counts
    assert _one(host, "/etc/big", {}) == b"\0" + big[:-1] + b"x"
    (root / "etc/link").symlink_to("/etc/big")
    assert _one(host, "/etc/link", {}) == _one(host, "/etc/big", {})
    (root / "etc/gone").symlink_to("/etc/none")
    assert _one(host, "/etc/gone", {}) == b"-"
    assert _one(host, "/etc/none/deeper", {}) == b"-"
