"""`kindling validate` gives the verdict the boot gives: every TOML example of
Bottlerocket's settings reference (and a few broken documents) is both validated and
fed, as user data, to the real early-boot-config run (provider → parse → merge →
model → commit checks → one datastore transaction) on a fresh root. A file validate
passes is committed; a file it refuses is refused at boot, for a key it reported."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from early_boot.runner import run_early_boot
from kindling.api.service import SettingsService
from kindling.errors import KindlingError, SettingsError
from kindling.host import FakeClock, Host
from kindling.providers import UserDataProvider
from kindling.user_data import parse_user_data
from kindling.validate.engine import validate_data
from tests.kindling.test_settings_reference import EXPECTED_EXAMPLES, EXPECTED_REFUSALS, _examples

# documents the reference does not have: refusals only the commit checks find, syntax, shape
BROKEN = [
    '[settings.network]\nhostname = "' + "a" * 60 + "." + "b" * 10 + '"\n',  # kernel's 64-byte limit
    '[settings.pki.corp]\ndata = "aGVsbG8="\ntrusted = true\n',  # base64, but no certificate
    '[settings.ntp]\ntime-servers = ["https://pool.ntp.org"]\noptions = ["iburst", "bad option;"]\n',
    '[settings]\nmotd = "x"\nbogus = 1\n',
    '[settings]\nmotd = "unterminated\n',
    '[setting]\nmotd = "typo in the table name"\n',
    "",
    '[settings]\nmotd = "fine"\n',
]


def _boot(root: Path, data: bytes) -> tuple[bool, str | None]:
    """(committed, the key refused) from the real early-boot-config path."""
    host = Host(root, clock=FakeClock(), env={"PATH": "/usr/bin:/bin"})
    provider = UserDataProvider("validate-test", 20, lambda _h: parse_user_data(data, source="user-data"))
    try:
        run_early_boot(host, "metal", providers=[provider])
    except SettingsError as exc:
        return False, exc.key
    except KindlingError as exc:
        message = str(exc).split("): ", 1)[-1]
        return False, message.split(": ", 1)[0] if message.startswith("settings") else None
    return True, None


def _documents() -> list[tuple[str, str]]:
    return [(f"reference line {line}", toml) for line, toml in _examples()] + [
        (f"broken {i}", text) for i, text in enumerate(BROKEN)]


def test_the_examples_are_all_there() -> None:
    found = _examples()
    if not found:
        pytest.skip("bottlerocket-settings-reference.md not found beside the checkout")
    assert len(found) == EXPECTED_EXAMPLES


@pytest.mark.parametrize("compress", [False, True], ids=["toml", "gzip"])
def test_validate_verdict_is_the_boots_verdict(tmp_path: Path, compress: bool) -> None:
    documents = _documents()
    refused_keys = []
    for index, (what, text) in enumerate(documents):
        data = gzip.compress(text.encode()) if compress else text.encode()
        committed, key = _boot(tmp_path / f"boot{index}", data)
        report = validate_data(data, "user-data", Host(tmp_path / f"check{index}"))
        reported = [f.key for f in report.findings]
        assert report.ok == committed, (what, reported, key)
        if not committed:
            refused_keys.append(key)
            if key is not None:
                assert key in reported, (what, key, reported)
            else:
                assert report.findings, what
            # the refused boot stored nothing
            assert SettingsService(Host(tmp_path / f"boot{index}")).get_settings() == {}, what
    if _examples():
        assert [k for k in refused_keys[: len(EXPECTED_REFUSALS)]] == [r[1] for r in EXPECTED_REFUSALS]
    assert refused_keys[-6:] == [  # the last two broken documents commit (empty, fine)
        "settings.network.hostname", "settings.pki.corp.data", "settings.ntp.options.1", "settings.bogus",
        None, None]
