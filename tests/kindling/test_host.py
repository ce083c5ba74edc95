"""The Host seam: one contract, two implementations (real and recording)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kindling.errors import CommandError, HostError
from kindling.host import FakeClock, Host, RecordingHost, host_from_env


def test_paths_live_under_the_root(host: Host, root: Path) -> None:
    assert host.path("/etc/motd") == root / "etc/motd"
    assert host.proc("cmdline") == root / "proc/cmdline"
    assert host.sys("/class/dmi/id/sys_vendor") == root / "sys/class/dmi/id/sys_vendor"
    assert host.dev("sr0") == root / "dev/sr0"
    assert host.prefixed


def test_root_from_env_and_flag(tmp_path: Path) -> None:
    assert host_from_env(None, env={"KINDLING_ROOT": str(tmp_path)}).root == tmp_path.resolve()
    assert host_from_env(str(tmp_path), env={"KINDLING_ROOT": "/nope"}).root == tmp_path.resolve()
    assert isinstance(host_from_env(str(tmp_path), plan=True, env={}), RecordingHost)
    assert not host_from_env(None, env={}).prefixed


def test_write_is_atomic_idempotent_and_sets_mode(host: Host, root: Path) -> None:
    assert host.write_file("/etc/kindling/x.conf", "a=1\n", mode=0o600) is True
    target = root / "etc/kindling/x.conf"
    assert target.read_text() == "a=1\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert host.write_file("/etc/kindling/x.conf", "a=1\n", mode=0o600) is False
    assert not [p for p in target.parent.iterdir() if "kindling-tmp" in p.name]
    assert host.actions == ["write /etc/kindling/x.conf (4 bytes, mode 0600)"]


def test_recording_host_changes_nothing(plan_host: RecordingHost, root: Path) -> None:
    plan_host.write_file("/etc/motd", "hi\n")
    plan_host.makedirs("/var/lib/kindling")
    result = plan_host.run(["touch", str(root / "made-by-run")])
    assert result.returncode == 0
    assert list(root.iterdir()) == []
    assert plan_host.actions == [
        "write /etc/motd (3 bytes, mode 0644)",
        "mkdir /var/lib/kindling",
        f"run touch {root / 'made-by-run'}",
    ]


@pytest.mark.parametrize("cls", [Host, RecordingHost])
def test_read_only_commands_really_run(cls: type[Host], root: Path) -> None:
    h = cls(root, clock=FakeClock())
    assert h.run(["echo", "hello"], read_only=True).text == "hello\n"
    assert h.actions == []


@pytest.mark.parametrize("cls", [Host, RecordingHost])
def test_reads_are_the_same_in_both(cls: type[Host], root: Path) -> None:
    (root / "proc").mkdir()
    (root / "proc/cmdline").write_text("quiet\n")
    h = cls(root)
    assert h.read_text("/proc/cmdline") == "quiet\n"
    assert h.read_optional("/proc/missing") is None
    with pytest.raises(HostError, match="larger than 3 bytes"):
        h.read_bytes("/proc/cmdline", limit=3)


def test_command_failure_and_timeout(host: Host) -> None:
    with pytest.raises(CommandError, match="exited 3: boom"):
        host.run(["sh", "-c", "echo boom >&2; exit 3"])
    assert host.run(["sh", "-c", "exit 3"], check=False).returncode == 3
    with pytest.raises(CommandError, match="timed out"):
        host.run(["sleep", "5"], timeout=0.2)
    with pytest.raises(CommandError, match="exited 127"):
        host.run(["/nonexistent/program"])


def test_started_program_overlaps_the_caller_and_is_collected_like_run(host: Host, root: Path) -> None:
    import time

    # the program waits for a file the caller writes after start returned: only an
    # overlapping run can see it (a blocking start would time out here)
    flag = root / "flag"
    started = host.start(["sh", "-c", f"while [ ! -e {flag} ]; do sleep 0.01; done; echo seen"], timeout=10)
    flag.write_text("")
    t0 = time.monotonic()
    result = started.wait()
    assert result.text == "seen\n" and result.returncode == 0
    assert started.wait() is result  # collected once, the same answer again
    assert time.monotonic() - t0 < 10
    assert host.actions[-1].startswith("run sh -c")


def test_started_program_failures_and_deadline_from_start(host: Host) -> None:
    import time

    failing = host.start(["sh", "-c", "echo boom >&2; exit 3"])
    with pytest.raises(CommandError, match="exited 3: boom"):
        failing.wait()
    with pytest.raises(CommandError, match="exited 3: boom"):
        failing.wait()
    assert host.start(["sh", "-c", "exit 3"], check=False).wait().returncode == 3
    slow = host.start(["sleep", "5"], timeout=0.3)
    time.sleep(0.4)  # the deadline passed while the caller worked: wait gives up at once
    t0 = time.monotonic()
    with pytest.raises(CommandError, match=r"timed out after 0\.3s"):
        slow.wait()
    assert time.monotonic() - t0 < 2
    with pytest.raises(CommandError, match="exited 127"):
        host.start(["/nonexistent/program"])


def test_recording_host_starts_nothing(plan_host: RecordingHost, root: Path) -> None:
    started = plan_host.start(["touch", str(root / "made-by-start")])
    assert started.wait().returncode == 0
    assert list(root.iterdir()) == []
    assert plan_host.actions == [f"run touch {root / 'made-by-start'}"]


def test_env_is_the_hosts_not_the_process(root: Path) -> None:
    h = Host(root, env={"PATH": os.environ["PATH"], "KINDLING_TEST_VALUE": "from-host"})
    assert h.run(["sh", "-c", "echo $KINDLING_TEST_VALUE"], read_only=True).text == "from-host\n"


def test_symlink_and_remove(host: Host, root: Path) -> None:
    assert host.symlink("/run/x", "/etc/link") is True
    assert os.readlink(root / "etc/link") == "/run/x"
    assert host.symlink("/run/x", "/etc/link") is False
    assert host.remove("/etc/link") is True
    assert host.remove("/etc/link") is False


def test_fake_clock_sleeps_instantly() -> None:
    c = FakeClock()
    start = c.monotonic()
    c.sleep(2.5)
    assert c.monotonic() - start == 2.5
    assert c.sleeps == [2.5]


def test_directories_resolved_once_within_a_boot_land_where_chase_puts_them(host: Host, root: Path) -> None:
    """Inside `kindling boot` (`Host.resolved`, set by the runner) each existing directory
    is resolved once while nothing acts: every path still lands where `chase` puts it, an
    action through the Host forgets them, a directory missing at first is looked at again,
    and a program left running turns the shortcut off."""
    from kindling.host import chase

    (root / "etc/sub").mkdir(parents=True)
    (root / "etc/sub/file").write_text("x")
    (root / "srv").mkdir()
    (root / "srv/real.conf").write_text("y")
    (root / "etc/abs").symlink_to("/srv/real.conf")
    (root / "etc/rel").symlink_to("../srv/real.conf")
    (root / "etc/dirlink").symlink_to("/etc/sub")
    (root / "etc/dangling").symlink_to("/nowhere/at/all")
    (root / "etc/up").symlink_to("../../../../srv")
    paths = ["/", "/etc", "/etc/", "/etc/sub/file", "/etc/abs", "/etc/rel", "/etc/dirlink/file", "/etc/dirlink/",
             "/etc/dangling", "/etc/missing/deeper/file", "/etc/up/real.conf", "/etc/sub//file", "/srv/real.conf",
             "/etc/sub/..", "/etc/sub/.", "etc/sub/file", "/etc/up/../sub/file"]
    host.resolved = {}
    for p in paths * 2:
        assert host.path(p) == chase(host.root, p), p
    assert "/etc/sub" in host.resolved and "/etc/missing/deeper" not in host.resolved
    assert host.resolved["/etc/dirlink"] == str(root / "etc/sub")  # through a link: its own entry
    host.resolved.clear()
    (root / "srv/a").mkdir()
    host.path("/srv/a/b")
    assert host.resolved == {"/srv/a": str(root / "srv/a"), "/srv": str(root / "srv")}  # no link: those above too
    # an action through the Host (here: a directory becomes a link) is seen at once
    host.remove("/etc/sub/file")
    (root / "etc/sub").rmdir()
    host.symlink("/srv", "/etc/sub")
    assert host.path("/etc/sub/real.conf") == root / "srv/real.conf"
    # a directory missing at first that a link takes the place of: followed
    assert host.path("/etc/later/real.conf") == root / "etc/later/real.conf"
    (root / "etc/later").symlink_to("/srv")
    assert host.path("/etc/later/real.conf") == root / "srv/real.conf"
    # a write into a file, a new directory, a chown move nothing: what was resolved stays
    host.path("/srv/real.conf")
    host.write_in_place("/srv/real.conf", "z")
    host.makedirs("/srv/new")
    assert "/srv" in host.resolved
    host.write_file("/srv/other", "w")  # a file where nothing was, then where a file was: kept
    host.write_file("/srv/other", "v")
    assert "/srv" in host.resolved
    (root / "srv/dirlink").symlink_to("/etc")
    assert host.path("/srv/dirlink/x") == root / "etc/x"
    assert "/srv/dirlink" in host.resolved
    host.write_file("/srv/dirlink", "w")  # a file in place of a link to a directory: forgotten
    assert "/srv" not in host.resolved and "/srv/dirlink" not in host.resolved
    assert host.path("/srv/dirlink") == root / "srv/dirlink"
    # a program running on (an applier's) may act at any time: no shortcut meanwhile
    host.in_flight = {"prog": object()}  # type: ignore[dict-item]
    (root / "etc/other").mkdir()
    host.path("/etc/other/x")
    assert "/etc/other" not in host.resolved


def test_reads_in_plain_reads_say_what_open_said(host: Host, root: Path) -> None:
    """`read_all` (kindling/host.py) in place of `open()`: text as text mode reads it
    (universal newlines), limits, a directory, a missing file; and `write_file` still
    rewrites a file of the same size with other bytes, or of other mode."""
    (root / "etc").mkdir()
    (root / "etc/crlf").write_bytes(b"a\r\nb\rc\n")
    assert host.read_optional("/etc/crlf") == (root / "etc/crlf").read_text() == "a\nb\nc\n"
    assert host.read_bytes("/etc/crlf") == b"a\r\nb\rc\n"
    (root / "etc/big").write_bytes(b"x" * 200_000)
    assert host.read_bytes("/etc/big", limit=200_000) == b"x" * 200_000
    with pytest.raises(HostError, match="larger than 199999 bytes"):
        host.read_bytes("/etc/big", limit=199_999)
    with pytest.raises(HostError, match="cannot read: Is a directory"):
        host.read_bytes("/etc")
    with pytest.raises(HostError, match=r"cannot read: \[Errno 21\] Is a directory"):
        host.read_optional("/etc")
    assert host.read_optional("/etc/none") is None
    with pytest.raises(HostError, match="not UTF-8"):
        (root / "etc/bin").write_bytes(b"\xff")
        host.read_text("/etc/bin")
    assert host.write_file("/etc/same", "abc", mode=0o644) is True
    assert host.write_file("/etc/same", "abd", mode=0o644) is True
    assert host.read_text("/etc/same") == "abd"
    assert host.write_file("/etc/same", "abd", mode=0o600) is True
    assert host.write_file("/etc/same", "abd", mode=0o600) is False


def test_real_is_path_as_a_string(root: Path) -> None:
    """The Host resolves strings (`real`, `real_entry`; a later boot imports no pathlib):
    on `/` spelt exactly as Path spells them, under a root prefix the same as `path`/`entry`."""
    spellings = ["/", "", "/etc", "/etc/", "//etc//x/", "/./etc/./x/.", "etc/x", "/etc/../x", "/a/.b/..c/", "/."]
    bare = Host("/")
    assert not bare.prefixed and bare.real_root == "/" and bare.root == Path("/")
    for p in spellings:
        assert bare.real(p) == str(Path("/" + p.lstrip("/"))), p
        assert bare.path(p) == Path("/" + p.lstrip("/")), p
    (root / "etc/sub").mkdir(parents=True)
    (root / "etc/link").symlink_to("/etc/sub")
    host = Host(root)
    assert host.real_root == str(root.resolve()) and host.root == root.resolve()
    for p in [*spellings, "/etc/link", "/etc/link/", "/etc/link/x", "/etc/sub/../link"]:
        assert host.real(p) == str(host.path(p)), p
        assert host.real_entry(p) == str(host.entry(p)), p
    assert host.real_entry("/etc/link") == str(root / "etc/link")  # the entry itself, not its target
    assert host.real("/etc/link") == str(root / "etc/sub")
