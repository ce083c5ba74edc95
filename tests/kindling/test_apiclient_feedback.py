"""`apiclient` tells what happened: each applier's outcome after `set`, the API's own
error (key and source) rather than an HTTP status, quoted keys in `get`, and an
explicit `--socket-path` that answers nothing is an error, never a silent fallback to
the datastore. Over the real socket and without one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.kindling.apiserver_rig import live_apiserver
from tests.kindling.test_cli_tools import kindling


@pytest.mark.parametrize("server", [False, True], ids=["direct", "socket"])
def test_set_reports_each_applier_and_get_takes_a_quoted_key(tmp_path: Path, server: bool) -> None:
    root = tmp_path / "root"
    (root / "etc/motd").mkdir(parents=True)  # the motd applier cannot write its file

    def scenario() -> None:
        out = kindling("apiclient", "set", 'kernel.sysctl."vm.swappiness"=30', "motd=hi", root=root)
        assert out.returncode == 1, out.stderr
        lines = out.stdout.splitlines()
        assert 'settings.kernel.sysctl."vm.swappiness": applied by sysctl' in lines
        assert any(line.startswith("applier sysctl: wrote /etc/sysctl.d/90-kindling.conf; ") for line in lines)
        (motd,) = [line for line in lines if line.startswith("applier motd: ")]
        assert motd.startswith("applier motd: failed: ") and "cannot write" in motd
        assert "HTTP 500" not in out.stdout + out.stderr
        assert out.stderr.count("\n") == 1 and "committed, but not applied: motd:" in out.stderr
        got = kindling("apiclient", "get", 'kernel.sysctl."vm.swappiness"', root=root)
        assert json.loads(got.stdout) == {"settings": {"kernel": {"sysctl": {"vm.swappiness": "30"}}}}
        other = kindling("apiclient", "get", 'settings.kernel.sysctl."vm.max_map_count"', root=root)
        assert json.loads(other.stdout) == {"settings": {}}

    if server:
        with live_apiserver(root):
            scenario()
    else:
        scenario()


def test_the_api_error_keeps_its_key_over_the_socket(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with live_apiserver(root):
        out = kindling("apiclient", "set", "motd=ok", "--log-format", "json", root=root)
        assert out.returncode == 0, out.stderr
        out = kindling("apiclient", "set", "kernel.lockdown=sideways", "--log-format", "json", root=root)
    assert out.returncode == 1
    (record,) = [json.loads(line) for line in out.stderr.splitlines()]
    assert record["key"] == "settings.kernel.lockdown" and record["source"] == "request body"
    assert "sideways" not in out.stderr and "HTTP 400" not in out.stderr


@pytest.mark.parametrize("verb", [["get"], ["set", "motd=never"]])
def test_an_explicit_socket_path_that_answers_nothing_is_an_error(tmp_path: Path, verb: list[str]) -> None:
    root = tmp_path / "root"
    out = kindling("apiclient", "--socket-path", "/run/no-such.sock", *verb, root=root)
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr.splitlines() == [
        f"kindling apiclient: --socket-path /run/no-such.sock (under the root: {root}/run/no-such.sock): "
        "no such socket"]
    assert not (root / "var/lib/kindling/datastore.sqlite3").exists()  # no fallback wrote settings
    stale = root / "run/kindling/api.sock"
    stale.parent.mkdir(parents=True)
    stale.touch()  # a file left behind, nothing listening
    out = kindling("apiclient", "--socket-path", "/run/kindling/api.sock", *verb, root=root)
    assert out.returncode == 1 and out.stderr.endswith("no API server answers there\n")
    # without --socket-path the default socket is a preference: no server, the datastore
    assert kindling("apiclient", *verb, root=root).returncode == 0
