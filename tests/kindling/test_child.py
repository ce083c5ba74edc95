"""The Host's runner (kindling/child.py): what Popen gave every program Kindling runs,
kept without `subprocess` — the program looked up on the Host's PATH, exactly the
Host's environment, only fds 0/1/2, SIGPIPE/SIGXFSZ at their defaults, a session of its
own that a timeout or the stdout cap kills whole, and every child reaped."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from kindling.child import STDERR_KEEP, collect, kill_group, spawn
from kindling.errors import CommandError
from kindling.host import FakeClock, Host, RecordingHost

PATH = os.environ.get("PATH", "/usr/bin:/bin")
# a child that prints the fds it holds open (the listing's own fd is closed by then)
LIST_FDS = """import os
fds = [int(n) for n in os.listdir('/proc/self/fd')]
print(*[fd for fd in fds if os.path.exists(f'/proc/self/fd/{fd}')])"""


def program(where: Path, name: str, text: str, mode: int) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    p = where / name
    p.write_text(text)
    p.chmod(mode)
    return p


def test_a_program_that_cannot_start_is_exit_127_with_the_reason(host: Host, root: Path) -> None:
    plain = program(root / "noexec", "prog", "#!/bin/sh\necho never\n", 0o644)
    with pytest.raises(CommandError, match="exited 127: No such file or directory"):
        host.run([str(root / "missing")])
    with pytest.raises(CommandError, match="exited 127: Permission denied"):
        host.run([str(plain)])
    with pytest.raises(CommandError, match="exited 127: Permission denied"):
        host.start([str(root)])  # a directory
    with pytest.raises(CommandError, match="exited 127: No such file or directory"):
        host.run(["kindling-no-such-program"])


def test_the_program_is_found_on_the_hosts_path(root: Path) -> None:
    # missing dir, then a file that cannot run (skipped, as execvpe does), then the program
    program(root / "noexec", "prog", "#!/bin/sh\necho wrong\n", 0o644)
    program(root / "bin", "prog", "#!/bin/sh\necho found\n", 0o755)
    h = Host(root, env={"PATH": f"{root}/missing:{root}/noexec:{root}/bin"})
    assert h.run(["prog"]).text == "found\n"
    alone = Host(root, env={"PATH": f"{root}/missing:{root}/noexec"})
    with pytest.raises(CommandError, match="exited 127: Permission denied"):
        alone.run(["prog"])


def test_the_environment_is_exactly_the_hosts_plus_the_calls(root: Path) -> None:
    h = Host(root, env={"PATH": PATH, "KINDLING_A": "1", "KINDLING_B": "host"})
    printed = h.run(["env"], env={"KINDLING_B": "call", "KINDLING_C": "3"}).text.splitlines()
    assert sorted(printed) == sorted([f"PATH={PATH}", "KINDLING_A=1", "KINDLING_B=call", "KINDLING_C=3"])
    assert h.run(["pwd", "-P"]).text.strip() == os.path.realpath(os.getcwd())  # cwd is the caller's


def test_the_child_holds_only_0_1_2_even_when_we_hold_an_inheritable_fd(host: Host) -> None:
    r, w = os.pipe()
    os.set_inheritable(w, True)  # as a socket passed in by the service manager would be
    try:
        assert host.run([sys.executable, "-c", LIST_FDS]).text.split() == ["0", "1", "2"]
        assert host.run([sys.executable, "-c", LIST_FDS], input=b"").text.split() == ["0", "1", "2"]
    finally:
        os.close(r)
        os.close(w)


def test_stdin_is_dev_null_without_input_and_a_pipe_with_it(host: Host) -> None:
    assert host.run(["readlink", "/proc/self/fd/0"]).text == "/dev/null\n"
    assert host.run(["readlink", "/proc/self/fd/0"], input=b"").text.startswith("pipe:")
    assert host.run(["cat"], input=b"").stdout == b""
    big = os.urandom(1 << 20)  # larger than a pipe: fed while stdout is drained, or it deadlocks
    assert host.run(["cat"], input=big, timeout=30).stdout == big
    assert host.run(["true"], input=big, timeout=30).returncode == 0  # input it never reads: EPIPE, not an error


@pytest.mark.parametrize("cls", [Host, RecordingHost])
def test_sigpipe_and_sigxfsz_are_back_at_their_defaults(cls: type[Host], root: Path) -> None:
    h = cls(root, clock=FakeClock(), env={"PATH": PATH})
    line = h.run(["grep", "SigIgn", "/proc/self/status"], read_only=True).text
    ignored = int(line.split()[1], 16)
    assert ignored & (1 << (13 - 1)) == 0 and ignored & (1 << (25 - 1)) == 0  # SIGPIPE, SIGXFSZ
    # with SIGPIPE ignored, `yes` would see EPIPE, say "Broken pipe" and exit 1
    done = h.run(["sh", "-c", "yes | head -c 4"], read_only=True)
    assert (done.stdout, done.stderr, done.returncode) == (b"y\ny\n", b"", 0)


def test_the_child_leads_a_session_of_its_own(host: Host) -> None:
    pid, sid = host.run(["sh", "-c", "echo $$; cut -d' ' -f6 /proc/$$/stat"]).text.split()
    assert pid == sid and int(sid) != os.getsid(0)


def test_stdout_cap_stops_a_program_that_never_ends(host: Host) -> None:
    with pytest.raises(CommandError, match="stdout larger than 1000 bytes") as caught:
        host.run(["yes"], limit=1000, timeout=60)
    assert caught.value.returncode is None


def test_stderr_keeps_its_last_bytes(host: Host) -> None:
    done = host.run(["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' a >&2; echo end >&2"], check=False)
    assert done.stderr == b"a" * (STDERR_KEEP - 4) + b"end\n"  # the last STDERR_KEEP of 300004 bytes
    assert done.returncode == 0 and done.stdout == b""


def _gone_or_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


@pytest.mark.parametrize("how", ["timeout", "cap"])
def test_a_stopped_program_dies_with_its_children_and_is_reaped(host: Host, root: Path, how: str) -> None:
    pids = root / "pids"
    # the pids are written before the program blocks (timeout) or floods stdout (cap)
    then = "exec sleep 60" if how == "timeout" else "exec yes"
    script = f"sleep 60 & echo $$ $! > {pids}.tmp; mv {pids}.tmp {pids}; {then}"
    if how == "cap":
        with pytest.raises(CommandError, match="stdout larger than 100 bytes"):
            host.run(["sh", "-c", script], limit=100)
    else:
        started = host.start(["sh", "-c", script], timeout=0.5)
        for _ in range(1000):
            if pids.exists():
                break
            time.sleep(0.01)
        with pytest.raises(CommandError, match=r"timed out after 0\.5s"):
            started.wait()
    leader, grandchild = (int(p) for p in pids.read_text().split())
    with pytest.raises(ChildProcessError):
        os.waitpid(leader, os.WNOHANG)  # already reaped: no zombie of ours
    for _ in range(1000):  # SIGKILL is sent to the whole group; its delivery is the kernel's
        if _gone_or_zombie(grandchild):
            break
        time.sleep(0.01)
    assert _gone_or_zombie(grandchild)


def test_without_a_pidfd_the_exit_is_polled_with_the_same_answers() -> None:
    env = {"PATH": PATH}
    child = spawn(["sh", "-c", "echo out; echo err >&2; exit 7"], env, stdin_pipe=False)
    os.close(child.pidfd)
    child.pidfd = -1  # as on Linux < 5.3
    assert collect(child, None, 30, None, time.monotonic()) == (b"out\n", b"err\n", None)
    assert child.returncode == 7
    slow = spawn(["sleep", "60"], env, stdin_pipe=False)
    os.close(slow.pidfd)
    slow.pidfd = -1
    # stdout stays open while sleep runs, so this is the pipe loop's deadline; then the
    # reaping loop's, with the pipes already at EOF
    assert collect(slow, None, 0.2, None, time.monotonic())[2] == "timed out after 0.2s"
    kill_group(slow)
    assert slow.returncode == -9
    closed = spawn(["sh", "-c", "exec >&- 2>&-; sleep 60"], env, stdin_pipe=False)
    os.close(closed.pidfd)
    closed.pidfd = -1
    assert collect(closed, None, 0.3, None, time.monotonic())[2] == "timed out after 0.3s"
    kill_group(closed)
    assert closed.returncode == -9


def test_a_program_that_closes_its_pipes_is_still_waited_for_under_the_deadline(host: Host) -> None:
    with pytest.raises(CommandError, match=r"timed out after 0\.3s"):
        host.run(["sh", "-c", "exec >&- 2>&-; sleep 60"], timeout=0.3)
    assert host.run(["sh", "-c", "exec >&- 2>&-; exit 4"], check=False).returncode == 4
