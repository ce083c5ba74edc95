"""Output scripts can build on: one `--json` envelope on every command, errors included;
`--log-format json` leaves nothing but JSON lines on stderr, fatal errors and usage
errors included; `<3>` on the error line when stderr is the journal.

Every command in `COMMANDS` runs at least once with a usage error (a command added
later is covered without editing this file); the table runs a representative set of
succeeding and failing commands against a booted copy of the demo node.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kindling.cli import COMMANDS
from kindling.envelope import envelope, error_fields
from kindling.errors import InputError, NotFoundError, SettingsError, UsageError
from tests.kindling.test_cli_tools import REPO, kindling


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo node, booted once (metal), with a broken file and a bad net.toml beside it."""
    root = tmp_path_factory.mktemp("json-output") / "root"
    shutil.copytree(REPO / "demo" / "root", root, symlinks=True)
    out = kindling("boot", "--platform", "metal", root=root)
    assert "Traceback" not in out.stderr
    (root.parent / "bad-net.toml").write_text('version = 2\n[eth0]\ndhcp4 = "yes"\n')
    (root / "bad.bootconfig").write_text("kernel {\n")
    return root


def json_lines(stderr: str) -> list[dict[str, object]]:
    """Every stderr line as a JSON object; fails on the first line that is not one."""
    records = []
    for line in stderr.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            pytest.fail(f"not a JSON line on stderr: {line!r}\nall of stderr:\n{stderr}")
        assert isinstance(value, dict), line
        records.append(value)
    return records


def one_envelope(stdout: str, returncode: int) -> dict[str, object]:
    doc = json.loads(stdout)  # exactly one JSON document
    assert isinstance(doc, dict) and doc["ok"] is (returncode == 0), stdout
    if not doc["ok"]:
        error = doc["error"]
        assert isinstance(error, dict) and set(error) >= {"source", "key", "message"}, doc
        assert error["message"], doc
    return doc


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_answers_a_usage_error_in_json(command: str, tmp_path: Path) -> None:
    out = kindling(command, "--log-format", "json", "--json", "--no-such-option", root=tmp_path)
    assert out.returncode == 2, (out.stdout, out.stderr)
    records = json_lines(out.stderr)
    assert any(r["level"] == "error" for r in records), out.stderr
    if command != "apiclient":  # apiclient's --json is Bottlerocket's `set --json DOC`
        doc = one_envelope(out.stdout, out.returncode)
        assert doc["error"]["kind"] == "usage"  # type: ignore[index]
    text = kindling(command, "--no-such-option", root=tmp_path)  # no options: text, as before
    assert text.returncode == 2 and text.stdout == "" and "Traceback" not in text.stderr


# (argv, expected exit status); `{root}` / `{dir}` are the node and the folder beside it
CASES: list[tuple[list[str], int]] = [
    (["boot", "--plan", "--json"], 0),
    (["boot", "--platform", "mars", "--json"], 2),
    (["analyze", "--json"], 0),
    (["analyze", "--svg", "{dir}/no/such/dir/t.svg"], 1),
    (["apiclient", "get", "motd"], 0),
    (["apiclient", "get", 'kernel.sysctl."vm.swappiness'], 1),
    (["apiclient", "--socket-path", "/run/no-such.sock", "get"], 1),
    (["apiclient", "set", "motd=from the json test"], 0),
    (["apiclient", "set", "kernel.lockdown=sideways"], 1),
    (["apiserver", "--root", "{dir}/missing"], 2),
    (["early-boot-config", "--plan", "--json"], 0),
    (["netdog", "validate", "--json"], 0),
    (["netdog", "validate", "{dir}/bad-net.toml", "--json"], 1),
    (["netdog", "node-ip", "--json"], 0),
    (["growpart", "--missing-ok", "--plan", "--json"], 0),
    (["growpart", "--plan", "--json"], 1),
    (["gpu", "detect", "--json"], 0),
    (["gpu", "match-driver", "open"], 1),
    (["kdump", "plan", "--json"], 0),
    (["kdump", "status", "--json"], 0),
    (["bootconfig", "show", "--json"], 0),
    (["bootconfig", "show", "/no-such-file", "--json"], 2),
    (["bootconfig", "parse", "/bad.bootconfig", "--json"], 1),
    (["bootconfig", "generate", "--plan", "--json"], 0),
    (["cfsignal", "--plan", "--json"], 0),
    (["cfsignal", "--status", "MAYBE", "--json"], 2),
    (["warm-pool-wait", "--plan", "--json"], 0),
    (["lifecycle", "finish", "--json"], 2),
    (["units", "install", "--plan", "--json"], 0),
    (["clean", "--first-boot", "--plan", "--json"], 0),
    (["status", "--json"], 0),
    (["status", "--timeout", "1", "--json"], 2),
    (["support-bundle", "--plan", "--json"], 0),
    (["support-bundle", "-o", "{dir}", "--json"], 1),  # a directory: cannot be written
    (["bootstrap", "run-command", "no-such-entry", "--json"], 1),
    (["templates", "list", "--json"], 0),
    (["templates", "render", "no-such-template", "--json"], 2),
    (["validate", "--json"], 0),
    (["validate", "--kind", "net", "{dir}/bad-net.toml", "--json"], 1),
    (["settings", "describe", "motd", "--json"], 0),
    (["settings", "describe", "no.such.key", "--json"], 1),
]


@pytest.mark.parametrize(("argv", "code"), CASES, ids=[" ".join(a[:3]) for a, _ in CASES])
def test_commands_succeed_and_fail_in_json(node: Path, argv: list[str], code: int) -> None:
    args = [a.format(root=node, dir=node.parent) for a in argv]
    root = None if "--root" in args else node
    out = kindling(*args, "--log-format", "json", root=root,
                   env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9/"})
    assert out.returncode == code, (out.stdout, out.stderr)
    records = json_lines(out.stderr)
    answers = argv[:2] == ["gpu", "match-driver"] or (argv[0] == "status" and code != 2)
    if code and not answers:  # match-driver's 1 is "no", status's 4 "never booted": answers, not failures
        (fatal,) = [r for r in records if r.get("exit") == code]
        assert fatal["level"] == "error" and fatal["component"] == f"kindling {argv[0]}"
        assert {"source", "key", "kind"} <= set(fatal)
    if "--json" in args:
        one_envelope(out.stdout, out.returncode)


def test_the_failure_envelope_names_source_and_key(node: Path) -> None:
    out = kindling("early-boot-config", "--json", "--platform", "metal", "--root", str(node.parent / "nowhere"))
    doc = one_envelope(out.stdout, out.returncode)
    assert doc["error"] == {"source": "kindling early-boot-config", "key": None,  # type: ignore[comparison-overlap]
                            "message": f"--root {node.parent / 'nowhere'}: no such directory", "kind": "usage"}
    bad = node.parent / "bad-user-data.toml"
    bad.write_text('[settings.kernel]\nlockdown = "sideways"\n')
    out = kindling("apiclient", "apply", str(bad), "--log-format", "json", root=node)
    assert out.returncode == 1
    (fatal,) = json_lines(out.stderr)
    assert fatal["key"] == "settings.kernel.lockdown" and "sideways" not in str(fatal)


def test_a_boot_that_fails_prints_one_envelope_with_its_report(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(REPO / "demo" / "root", root, symlinks=True)
    (root / "var/lib/kindling/user-data.toml").write_text('[settings]\nmotd = 3\n')
    out = kindling("boot", "--platform", "metal", "--json", root=root)
    assert out.returncode == 1
    doc = one_envelope(out.stdout, out.returncode)
    failed = [s for s in doc["stages"] if s["status"] == "failed"]  # type: ignore[attr-defined]
    assert failed and doc["error"]["source"] == f"boot stage {failed[0]['name']}"  # type: ignore[index]


def test_the_error_line_carries_the_priority_when_stderr_is_the_journal(tmp_path: Path) -> None:
    log_file = tmp_path / "journal"
    with open(log_file, "w") as stream:
        st = os.fstat(stream.fileno())
        env = dict(os.environ, PYTHONPATH=str(REPO), JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
        subprocess.run([sys.executable, "-m", "kindling.cli", "analyze", "--root", str(tmp_path)],
                       stderr=stream, stdout=subprocess.DEVNULL, env=env, timeout=60, check=False)
    assert log_file.read_text().startswith("<3>kindling analyze: ")
    # the variable inherited, but stderr is a pipe: no prefix
    out = kindling("analyze", root=tmp_path, env={"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
    assert out.stderr.startswith("kindling analyze: ")


def test_unknown_command_in_json(tmp_path: Path) -> None:
    out = kindling("frobnicate", "--log-format", "json", "--json")
    assert out.returncode == 2
    (record,) = json_lines(out.stderr)
    assert "unknown command 'frobnicate'" in str(record["msg"])
    assert one_envelope(out.stdout, 2)["error"]["kind"] == "usage"  # type: ignore[index]


def test_envelope_keeps_the_fields_and_owns_ok() -> None:
    assert envelope({"changed": True, "ok": False}) == {"ok": True, "changed": True}
    assert envelope(["a"]) == {"ok": True, "result": ["a"]}
    why = {"source": "s", "key": None, "message": "m", "kind": "failed"}
    assert envelope({"n": 1}, ok=False, error=why) == {"ok": False, "n": 1, "error": why}
    fields = error_fields(SettingsError("settings.motd", "expected a string", source="imds"), command="kindling x")
    assert fields == {"source": "imds", "key": "settings.motd",
                      "message": "imds: settings.motd: expected a string", "kind": "settings"}
    assert error_fields(InputError("bad", source="f.toml"), command="c")["kind"] == "input"
    assert error_fields(NotFoundError("gone"), command="c")["source"] == "c"
    assert error_fields(UsageError("no"), command="c")["kind"] == "usage"
    assert error_fields(ValueError("boom"), command="c")["kind"] == "internal"
