"""`kindling validate`: every error of a file, with its line and key, for each kind of
file; the real command run as a child process (exit codes, stdin, gzip, --json), and
the engine called directly where a table of cases reads better."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kindling.host import Host
from kindling.validate.engine import validate_data

KINDLING = str(Path(sys.executable).with_name("kindling"))
CANARY = "CANARY-s3cr3t-9f8e7d6c"  # a sensitive value that must never be printed

USER_DATA = f"""\
[settings]
motd = 5

[settings.network]
hostname = "bad_host!"

[settings.kubernetes]
cluster-name = "ok"
api-server = "not a url"
bootstrap-token = 12345678

[settings.kernel.sysctl]
"net.ipv4.ip_forward" = 1

[settings.aws]
credentails = "{CANARY}"
config = 7
"""
# (line, key) of every error above, in line order
USER_DATA_ERRORS = [
    (2, "settings.motd"),
    (5, "settings.network.hostname"),
    (9, "settings.kubernetes.api-server"),
    (10, "settings.kubernetes.bootstrap-token"),
    (13, 'settings.kernel.sysctl."net.ipv4.ip_forward"'),
    (16, "settings.aws.credentails"),
    (17, "settings.aws.config"),
]


def run(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([KINDLING, *args], input=stdin if stdin is not None else b"", capture_output=True,
                          check=False, cwd=cwd, timeout=60)


def check(
    tmp_path: Path, text: str | bytes, name: str = "user-data.toml", **kw: str
) -> list[tuple[int | None, str | None]]:
    data = text.encode() if isinstance(text, str) else text
    report = validate_data(data, name, Host(tmp_path), **kw)  # type: ignore[arg-type]
    return [(f.line, f.key) for f in report.findings]


def test_every_error_of_a_user_data_file_with_its_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "user-data.toml"
    path.write_text(USER_DATA)
    done = run("validate", str(path), "--json")
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert doc["ok"] is False and doc["error"]["source"] == str(path) and doc["error"]["kind"] == "input"
    assert doc["error"]["key"] == USER_DATA_ERRORS[0][1]
    found = doc["findings"]
    assert [(f["line"], f["key"]) for f in found] == USER_DATA_ERRORS
    assert {f["file"] for f in found} == {str(path)}
    assert found[0]["message"] == "expected a string, got an integer"
    assert set(found[0]) == {"file", "line", "key", "message"}


def test_annotated_text_shows_the_line_a_marker_and_the_message(tmp_path: Path) -> None:
    path = tmp_path / "user-data.toml"
    path.write_text(USER_DATA)
    done = run("validate", str(path))
    assert done.returncode == 1
    out = done.stdout.decode()
    assert out.splitlines()[0] == f"{path}: user data: 7 errors"
    lines = out.splitlines()
    at = lines.index(' 5 | hostname = "bad_host!"')
    assert lines[at + 1] == "   | ^^^^^^^^ settings.network.hostname: not a valid Linux hostname"
    assert ' 9 | api-server = "not a url"' in lines
    # one summary line on stderr naming the file, the first error and the count
    assert done.stderr.decode().splitlines() == [
        f"kindling validate: {path}:2: settings.motd: expected a string, got an integer (and 6 more errors)"]


def test_a_sensitive_value_is_never_printed(tmp_path: Path) -> None:
    token = "abcdef.0123456789abcdef"
    cases = {
        # a sensitive key given the wrong type, an unknown key (maybe a misspelt secret),
        # an error on a line that also holds a secret
        "types.toml": (f'[settings.kubernetes]\nbootstrap-token = "{token}"\ncluster-name = 5\n'
                       f'[settings]\nuser-data = "{CANARY}"\n'
                       f'aws = {{ credentials = "{CANARY}", config = 3 }}\n[settings.ecs]\nbogus = "{CANARY}"\n'),
        "wrong-type.toml": '[settings.aws]\ncredentials = 42\n',
        # syntax errors: nothing was parsed, the line may hold anything
        "unterminated.toml": f'[settings.kubernetes]\nbootstrap-token = "{CANARY}\n',
        "twice.toml": f'[settings.aws]\nregion = "x"\n[settings]\naws = {{ credentials = "{CANARY}", config = 3 }}\n',
        "one-line.json": f'{{"settings": {{"aws": {{"credentials": "{CANARY}"}}, "motd": 1}}}}',
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text)
        for extra in ((), ("--json",)):
            done = run("validate", str(path), *extra)
            assert done.returncode == 1, (name, done)
            both = done.stdout.decode() + done.stderr.decode()
            assert CANARY not in both and token not in both, (name, both)
            assert "= 42" not in both, (name, both)
    assert "6 | aws = ***" in run("validate", str(tmp_path / "types.toml")).stdout.decode()
    assert "5 | user-data = ***" in run("validate", str(tmp_path / "types.toml")).stdout.decode()
    assert "2 | credentials = ***" in run("validate", str(tmp_path / "wrong-type.toml")).stdout.decode()
    assert "2 | bootstrap-token = ***" in run("validate", str(tmp_path / "unterminated.toml")).stdout.decode()


def test_valid_file_exit_0_and_empty_json(tmp_path: Path) -> None:
    path = tmp_path / "user-data.toml"
    path.write_text('[settings]\nmotd = "hello"\n[settings.kernel.sysctl]\n"vm.swappiness" = "10"\n')
    done = run("validate", str(path))
    assert done.returncode == 0 and done.stdout.decode() == f"{path}: user data: ok\n" and not done.stderr
    done = run("validate", str(path), "--json")
    assert done.returncode == 0 and json.loads(done.stdout) == {"ok": True, "findings": []}


def test_gzip_and_stdin(tmp_path: Path) -> None:
    data = gzip.compress(USER_DATA.encode())
    done = run("validate", "-", "--json", stdin=data)
    assert done.returncode == 1
    found = json.loads(done.stdout)["findings"]
    assert [(f["line"], f["key"]) for f in found] == USER_DATA_ERRORS
    assert {f["file"] for f in found} == {"stdin"}
    assert run("validate", stdin=data).stdout.decode().startswith("stdin: user data (gzip): 7 errors")
    ok = run("validate", "-", stdin=gzip.compress(b'[settings]\nmotd = "x"\n'))
    assert ok.returncode == 0, ok.stdout
    # a gzip bomb is stopped at the user-data limit, as at boot
    bomb = run("validate", "-", stdin=gzip.compress(b"#" * (65 * 1024)))
    assert bomb.returncode == 1 and b"larger than 64 KiB after decompression" in bomb.stdout


def test_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    for args in (("validate", str(tmp_path)), ("validate", str(tmp_path / "absent.toml")),
                 ("validate", "--kind", "nope", "x"), ("validate", "-", "-")):
        done = run(*args)
        assert done.returncode == 2, (args, done)
        assert len(done.stderr.decode().strip().splitlines()) == 1 and b"Traceback" not in done.stderr
    assert b"is a directory" in run("validate", str(tmp_path)).stderr


@pytest.mark.parametrize("data", [
    b"[settings]\n" + b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n",
    b"[settings]\nmotd = \"\xff\xfe\"\n",
    b"\x00\x01\x02\x03binary",
    b"[settings\nmotd = 1\n",
    b'{"settings": [1, 2,',
])
def test_odd_input_is_one_clear_error_never_a_traceback(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "odd.toml"
    path.write_bytes(data)
    done = run("validate", str(path))
    assert done.returncode == 1, done
    assert b"Traceback" not in done.stdout + done.stderr
    assert len(done.stderr.decode().strip().splitlines()) == 1
    assert str(path).encode() in done.stderr


def test_odd_input_lines(tmp_path: Path) -> None:
    assert check(tmp_path, b"[settings]\nmotd = \"\xff\"\n") == [(2, None)]
    assert check(tmp_path, "[settings\nmotd = 1\n") == [(1, None)]
    assert check(tmp_path, '{"settings":\n {"motd": }}') == [(2, None)]
    deep = check(tmp_path, "[settings]\na = " + "[" * 40 + "]" * 40 + "\n")
    assert deep == [(None, None)]


def test_json_user_data_is_a_settings_document_but_not_launch_user_data(tmp_path: Path) -> None:
    text = '{"settings": {\n  "motd": 1,\n  "network": {"hostname": "ok-name"},\n  "ntp": {"time-servers": [5]}\n}}'
    assert check(tmp_path, text, "doc.json") == [(2, "settings.motd"), (4, "settings.ntp.time-servers.0")]
    assert check(tmp_path, '{"settings": {"motd": "x"}}', "doc.json") == []
    refused = validate_data(b'{"settings": {"motd": "x"}}', "doc.json", Host(tmp_path), platform="aws")
    assert [f.message for f in refused.findings] == [
        "launch user data on aws is TOML; JSON is read by 'apiclient apply', not at boot"]


def test_commit_checks_are_part_of_the_verdict(tmp_path: Path) -> None:
    """A hostname the kernel cannot take and a PKI bundle that is no certificate pass
    the model but are refused at commit: validate refuses them too."""
    name = "a" * 60 + "." + "b" * 10
    text = f'[settings.network]\nhostname = "{name}"\n[settings.pki.corp]\ndata = "aGVsbG8="\n'
    assert check(tmp_path, text) == [(2, "settings.network.hostname"), (4, "settings.pki.corp.data")]


NET_TOML = """\
version = 3
[eth0]
dhcp4 = true
bogus = 1
[eth1]
static4 = { addresses = ["10.0.0.1/24", "2001:db8::1/64"] }
[eth2]
[bond0]
kind = "bond"
mode = "round-robin"
interfaces = ["eth5"]
[bond0.monitoring]
miimon-frequency-ms = 100
miimon-updelay-ms = 200
miimon-downdelay-ms = 200
[[eth3.route]]
to = "default"
"""


def test_net_toml_every_interface_error(tmp_path: Path) -> None:
    assert check(tmp_path, NET_TOML, "net.toml") == [
        (4, "eth0.bogus"), (6, "eth1.static4.addresses[1]"), (7, "eth2.dhcp4/dhcp6/static4/static6"),
        (10, "bond0.mode"), (16, "eth3.route")]
    # by content too, and forced
    assert len(check(tmp_path, NET_TOML, "anything.toml")) == 5
    assert len(check(tmp_path, NET_TOML, "stdin", kind="net")) == 5
    assert check(tmp_path, "version = 2\n[eno1]\ndhcp4 = true\n", "net.toml") == []


def test_netdog_validate_is_the_same_engine(tmp_path: Path) -> None:
    path = tmp_path / "net.toml"
    path.write_text(NET_TOML)
    mine = run("validate", str(path), "--json")
    netdog = run("netdog", "validate", str(path), "--json")
    assert mine.returncode == netdog.returncode == 1
    assert json.loads(netdog.stdout)["errors"] == json.loads(mine.stdout)["findings"]
    assert json.loads(netdog.stdout)["ok"] is False
    text = run("netdog", "validate", str(path))
    assert text.stdout == run("validate", str(path)).stdout
    assert text.stderr.decode().startswith(f"kindling netdog: {path}:4: interface eth0: bogus: unknown key")
    # the file in effect under --root, as before
    root = tmp_path / "root"
    (root / "var/lib/kindling").mkdir(parents=True)
    (root / "var/lib/kindling/net.toml").write_text("version = 2\n[eno1]\ndhcp4 = true\n")
    done = run("netdog", "validate", "--root", str(root))
    assert done.returncode == 0 and done.stdout.decode().strip() == "ok: 1 interfaces, primary eno1"


DRIVER = """\
[nvidia-tesla]
lib-modules-path = "/abs/path"
objects-source = "/usr/share/nvidia/tesla/module-objects.d/"
[nvidia-tesla.kernel-modules."nvidia.ko"]
link-objects = ["nvidia.o", "-evil.o"]

[copy-set]
lib-modules-path = "kernel/drivers/extra"
bogus = true
[copy-set.kernel-modules."x.ko"]
copy-source = "/opt/x"
"""


def test_driver_config_every_set_error(tmp_path: Path) -> None:
    (tmp_path / "drivers").mkdir()
    assert check(tmp_path, DRIVER, str(tmp_path / "drivers" / "nvidia.toml")) == [
        (2, "nvidia-tesla.lib-modules-path"), (9, "copy-set.bogus")]
    assert len(check(tmp_path, DRIVER, "stdin")) == 2  # told by content
    good = '[s]\nlib-modules-path = "kernel/x"\n[s.kernel-modules."x.ko"]\ncopy-source = "/opt/x"\n'
    assert check(tmp_path, good, "stdin", kind="driver") == []


BOOTCONFIG = """\
kernel.foo = "bar"
kindling.settings.motd = "hi"
kindling.settings.network.hostname = "bad_x"
kindling {
  settings.kernel.lockdown = "bogus"
  settings.kubernetes.bootstrap-token = "CANARY-s3cr3t-9f8e7d6c", "x"
}
kindling.settings.nope = 1
"""


def test_bootconfig_syntax_and_settings(tmp_path: Path) -> None:
    assert check(tmp_path, BOOTCONFIG, "node.bootconfig") == [
        (3, "kindling.settings.network.hostname"), (5, "kindling.settings.kernel.lockdown"),
        (6, "kindling.settings.kubernetes.bootstrap-token"), (8, "kindling.settings.nope")]
    assert len(check(tmp_path, BOOTCONFIG, "stdin")) == 4  # told by content (not TOML)
    assert check(tmp_path, 'kernel {\n  foo = "bar\n}\n', "x.bootconfig") == [(4, "kernel.foo")]
    report = validate_data(BOOTCONFIG.encode(), "node.bootconfig", Host(tmp_path))
    assert all(CANARY not in (f.shown or "") + f.text for f in report.findings)
    assert check(tmp_path, 'kernel.x = 1\nkindling.settings.motd = "hi"\n', "a.bootconfig") == []


def test_collecting_mode_leaves_the_commit_path_fail_fast(tmp_path: Path) -> None:
    """The boot and the API still stop at the first error, and raise it."""
    from gpu.driver_config import parse_driver_config
    from gpu.errors import DriverConfigError
    from kindling.errors import SettingsError
    from kindling.settings import validate_settings
    from netdog.errors import NetConfigError
    from netdog.parse import parse_net_toml

    with pytest.raises(SettingsError) as settings_error:
        validate_settings({"motd": 5, "network": {"hostname": "bad_host!"}})
    assert settings_error.value.key == "settings.motd"
    with pytest.raises(NetConfigError) as net_error:
        parse_net_toml(NET_TOML, "net.toml")
    assert net_error.value.interface == "eth0"
    with pytest.raises(DriverConfigError):
        parse_driver_config(DRIVER, source="d.toml")
    errors: list[SettingsError] = []
    kept = validate_settings({"motd": 5, "network": {"hostname": "ok-name"}}, errors=errors)
    assert [e.key for e in errors] == ["settings.motd"] and kept == {"network": {"hostname": "ok-name"}}


def test_several_files_one_verdict(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[settings]\nmotd = "x"\n')
    bad = tmp_path / "net.toml"
    bad.write_text("version = 9\n")
    done = run("validate", str(good), str(bad))
    assert done.returncode == 1
    assert done.stdout.decode().splitlines()[0] == f"{good}: user data: ok"
    assert f"{bad}:1: version: unknown network config version" in done.stderr.decode()


def test_a_key_with_control_characters_cannot_forge_an_output_line(tmp_path: Path) -> None:
    path = tmp_path / "user-data.toml"
    path.write_text('[settings.kernel.sysctl]\n"a\\nkindling validate: forged" = "1"\n')
    for extra in ((), ("--json",)):
        done = run("validate", str(path), *extra)
        assert done.returncode == 1
        lines = (done.stdout + done.stderr).decode().splitlines()
        assert not [ln for ln in lines if ln.startswith("kindling validate: forged")], lines
