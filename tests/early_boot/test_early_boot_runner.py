"""early-boot-config end to end on a real datastore: order, merge, atomicity, marker."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from early_boot.errors import ProviderError
from early_boot.runner import MARKER_PATH, plan_providers, run_early_boot
from kindling.api.service import SettingsService
from kindling.errors import InputError, KindlingError
from kindling.host import Host, RecordingHost
from kindling.providers import UserDataProvider, load_providers
from kindling.user_data import UserData
from tests.early_boot_helpers import live, marker_exists, seed, state

DEFAULTS = "/etc/kindling/user-data-defaults.toml"
LOCAL = "/var/lib/kindling/user-data.toml"
OVERRIDES = "/etc/kindling/user-data-overrides.toml"


def plant(host: Host, path: str, data: str | bytes) -> None:
    real = host.path(path)
    real.parent.mkdir(parents=True, exist_ok=True)
    real.write_bytes(data.encode() if isinstance(data, str) else data)


def test_registered_local_providers_in_design_order() -> None:
    names = [(p.order, p.name) for p in load_providers("metal")]
    assert (10, "local-defaults") in names and (20, "local-user-data") in names
    assert names[-1] == (99, "local-overrides")
    assert [o for o, _ in names] == sorted(o for o, _ in names)


def test_merge_later_wins_per_leaf_maps_merge_lists_replaced(host: Host) -> None:
    plant(
        host,
        DEFAULTS,
        '[settings]\nmotd = "defaults"\n[settings.dns]\n'
        'name-servers = ["1.1.1.1", "8.8.8.8"]\n[settings.kernel.sysctl]\n"a.b" = "1"\n',
    )
    local = b'[settings]\nmotd = "local"\n[settings.kernel.sysctl]\n"c.d" = "2"\n'
    plant(host, LOCAL, gzip.compress(local))
    plant(host, OVERRIDES, '[settings]\n[settings.dns]\nname-servers = ["9.9.9.9"]\n')
    report = run_early_boot(host, "metal")
    assert live(host) == {
        "motd": "local",
        "dns": {"name-servers": ["9.9.9.9"]},
        "kernel": {"sysctl": {"a.b": "1", "c.d": "2"}},
    }
    assert [(p.name, p.keys) for p in report.providers] == [
        ("local-defaults", 3),
        ("local-user-data", 2),
        ("metal-bootconfig", 0),
        ("local-overrides", 1),
    ]
    assert marker_exists(host)
    assert "local" in (host.root / "etc/motd").read_text()  # the motd applier ran


def test_marker_present_skips_and_changes_nothing(host: Host) -> None:
    plant(host, LOCAL, '[settings]\nmotd = "one"\n')
    run_early_boot(host, "metal")
    before = state(host)
    plant(host, LOCAL, '[settings]\nmotd = "two"\n')
    before = state(host)
    report = run_early_boot(host, "metal")
    assert report.skipped and "exists" in report.skipped
    assert state(host) == before
    assert live(host)["motd"] == "one"


def test_no_user_data_anywhere_still_marks(host: Host) -> None:
    report = run_early_boot(host, "metal")
    assert report.changed == [] and marker_exists(host)
    assert not host.path("/var/lib/kindling/datastore.sqlite3").exists()


BAD_LOCAL = [
    ("invalid TOML", b'[settings]\nmotd = "x\n', "invalid TOML", None),
    ("missing [settings]", b'motd = "x"\n', "did not contain a 'settings' table", None),
    (
        "unknown key",
        b'[settings]\nmotd = "x"\n[settings.network]\nbogus = 1\n',
        "unknown key",
        "settings.network.bogus",
    ),
    ("wrong type", b"[settings]\nmotd = 5\n", "expected", "settings.motd"),
    (
        "wrong type in map",
        b'[settings.kernel.sysctl]\n"net.x" = ["a"]\n',
        "",
        'settings.kernel.sysctl."net.x"',
    ),
    (
        "gzip that does not decompress",
        b"\x1f\x8b\x08\x00garbage-garbage-garbage",
        "does not decompress",
        None,
    ),
    (
        "bomb",
        gzip.compress(b"#" * (10 * 1024 * 1024)),
        "larger than 64 KiB after decompression",
        None,
    ),
    ("huge file", b"#" * (200 * 1024), "larger than 128 KiB", None),
    ("not UTF-8", b"[settings]\nmotd = '\xff'\n", "not UTF-8", None),
]


@pytest.mark.parametrize("case, data, rule, key", BAD_LOCAL, ids=[c[0] for c in BAD_LOCAL])
def test_bad_local_user_data_commits_nothing(host: Host, case: str, data: bytes, rule: str, key: str | None) -> None:
    seed(host)
    plant(host, DEFAULTS, '[settings]\nmotd = "good defaults"\n')
    plant(host, LOCAL, data)
    before = state(host)
    with pytest.raises(ProviderError) as info:
        run_early_boot(host, "metal")
    message = str(info.value)
    assert message.startswith(f"provider local-user-data ({LOCAL}): "), message
    assert rule in message
    if key:
        assert key in message
    assert state(host) == before
    assert not marker_exists(host)
    assert live(host)["motd"] == "before"


def test_error_never_echoes_a_secret_value(host: Host) -> None:
    secret = "QUtJQUlPU0ZPRE5ON0VYQU1QTEUK"
    plant(host, LOCAL, f'[settings.aws]\ncredentials = "{secret}"\nregion = "Not A Region {secret}"\n')
    with pytest.raises(ProviderError) as info:
        run_early_boot(host, "aws", providers=load_providers("metal"))
    assert "settings.aws.region" in str(info.value)
    assert secret not in str(info.value)


def test_late_failure_discards_earlier_good_providers(host: Host) -> None:
    seed(host)
    before = state(host)

    def boom(_: Host) -> UserData | None:
        raise InputError("cannot reach", source="somewhere")

    providers = [
        UserDataProvider("first", 10, lambda _h: UserData({"motd": "new"}, "memory")),
        UserDataProvider("second", 40, boom),
    ]
    with pytest.raises(ProviderError, match=r"^provider second \(somewhere\): cannot reach$"):
        run_early_boot(host, "metal", providers=providers)
    assert state(host) == before and not marker_exists(host)


def test_stale_pending_launch_tx_is_not_committed(host: Host) -> None:
    SettingsService(host).patch("kindling-launch", {"network": {"hostname": "stale"}}, source="t")
    plant(host, LOCAL, '[settings]\nmotd = "fresh"\n')
    run_early_boot(host, "metal")
    assert live(host) == {"motd": "fresh"}


def test_plan_changes_nothing(plan_host: RecordingHost) -> None:
    plant(plan_host, LOCAL, '[settings]\nmotd = "planned"\n')
    before = state(plan_host)
    report = run_early_boot(plan_host, "metal")
    assert state(plan_host) == before
    assert any(a.startswith("datastore: commit kindling-launch") for a in plan_host.actions)
    assert any(a.startswith(f"write {MARKER_PATH}") for a in plan_host.actions)
    assert report.changed == ["settings.motd"]


# -- external providers (/etc/kindling/providers.d) -----------------------------------


def script(host: Host, name: str, body: str, mode: int = 0o755) -> None:
    path = host.path(f"/etc/kindling/providers.d/{name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    os.chmod(path, mode)


def test_external_provider_json_and_empty(host: Host) -> None:
    script(
        host,
        "50-json",
        'echo "log line" >&2\n'
        'echo \'{"json": {"motd": "external", "ntp": {"time-servers": ["https://t.example"]}},'
        ' "desc": "from a script"}\'\n',
    )
    script(host, "60-empty", "exit 0\n")
    plant(host, OVERRIDES, '[settings]\nmotd = "override"\n')
    report = run_early_boot(host, "metal")
    assert [p.name for p in report.providers][-3:] == ["50-json", "60-empty", "local-overrides"]
    assert live(host) == {"motd": "override", "ntp": {"time-servers": ["https://t.example"]}}
    assert report.providers[-3].source == "/etc/kindling/providers.d/50-json: from a script"


@pytest.mark.parametrize(
    "name, body, mode, rule",
    [
        (
            "50-fails",
            "echo 'no credentials for the vault'\nexit 3\n",
            0o755,
            "exited 3: no credentials for the vault",
        ),
        ("50-notjson", "echo 'hello'\n", 0o755, "not JSON"),
        ("50-shape", "echo '{\"settings\": {}}'\n", 0o755, "'json' object"),
        ("50-badkey", 'echo \'{"json": {"nope": 1}}\'\n', 0o755, "settings.nope: unknown key"),
        ("50-hangs", "sleep 5\n", 0o755, "timed out after 0.3s"),
        ("50-noexec", "exit 0\n", 0o644, "not an executable file"),
        ("5-badname", "exit 0\n", 0o755, "NN-name"),
        ("20-tooearly", "exit 0\n", 0o755, "orders 50-98"),
    ],
)
def test_external_provider_failures(root: Path, name: str, body: str, mode: int, rule: str) -> None:
    host = Host(root, env={"PATH": os.environ["PATH"], "KINDLING_PROVIDER_TIMEOUT": "0.3"})
    seed(host)
    script(host, name, body, mode)
    before = state(host)
    with pytest.raises(KindlingError, match=rule):
        run_early_boot(host, "metal")
    assert state(host) == before and not marker_exists(host)


def test_plan_providers_lists_externals(host: Host) -> None:
    script(host, "70-x", "exit 0\n")
    script(host, ".hidden", "exit 0\n")
    script(host, "70-x~", "exit 0\n")
    assert [p.name for p in plan_providers(host, "metal")][-2:] == ["70-x", "local-overrides"]


def test_unit_matches_the_stage_and_marker() -> None:
    from configparser import ConfigParser

    from early_boot.stage import STAGE

    assert STAGE.unit is not None and 30 <= STAGE.order <= 39
    unit_file = Path(__file__).resolve().parents[2] / "kindling" / "units" / STAGE.unit
    unit = ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(unit_file.read_text())
    assert unit["Unit"]["ConditionPathExists"] == f"!{MARKER_PATH}"
    after = unit["Unit"]["After"].split()
    assert "kindling-apiserver.service" in after and "network-online.target" in after
    assert unit["Service"]["ExecStart"] == "@KINDLING@ early-boot-config"


def test_cli_human_output_auto_platform_and_skip(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from early_boot.cli import main

    host = Host(root)
    plant(host, LOCAL, '[settings]\nmotd = "cli"\n')
    assert main(["--root", str(root)]) == 0  # no DMI, no kernel argument: metal
    out = capsys.readouterr().out
    assert " 20 local-user-data        1 keys from /var/lib/kindling/user-data.toml" in out
    assert "early-boot-config: platform metal, 1 keys changed" in out
    assert main(["--root", str(root), "--json"]) == 0
    assert '"skipped": "/var/lib/kindling/early-boot-config.ran exists' in capsys.readouterr().out


def test_cli_syncs_the_appliers_files_at_one_barrier_before_the_marker(
        root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from early_boot.cli import main

    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}").replace(str(root), ""))
        real(fd)

    plant(Host(root), LOCAL, '[settings]\nmotd = "cli"\n')
    monkeypatch.setattr(os, "fsync", fsync)
    assert main(["--root", str(root)]) == 0
    assert "/etc/motd" in synced  # the file itself, after its rename: deferred to the barrier
    assert not any(name.startswith("/etc/.motd.") for name in synced)
    marker = next(i for i, name in enumerate(synced) if name.startswith("/var/lib/kindling/.early-boot-config.ran."))
    assert synced.index("/etc/motd") < synced.index("/etc") < marker
    assert synced[marker + 1:] == ["/var/lib/kindling"]  # nothing left behind the marker


def test_import_arrows_point_one_way() -> None:
    """DESIGN §1: early_boot finds providers through the registry; platforms never
    import early_boot (the contract lives in kindling)."""
    import ast

    repo = Path(__file__).resolve().parents[2]

    def imported(package: str) -> set[str]:
        names: set[str] = set()
        for path in (repo / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names.add(node.module.split(".")[0])
        return names

    assert "platforms" not in imported("early_boot")
    assert "early_boot" not in imported("platforms")
    assert not {"early_boot", "platforms"} & imported("kindling")
