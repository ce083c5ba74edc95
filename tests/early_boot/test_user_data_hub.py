"""The shared user-data decoding (kindling/user_data.py) against Bottlerocket's vectors."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from kindling.errors import InputError
from kindling.user_data import MAX_USER_DATA, decompress, parse_settings_toml, parse_user_data


def _vectors(conformance: Path) -> dict[str, object]:
    path = conformance / "bottlerocket/early-boot-config/derived/compression_vectors.json"
    data: dict[str, object] = json.loads(path.read_text())
    return data


def test_compression_vectors(conformance: Path) -> None:
    doc = _vectors(conformance)
    vectors = doc["vectors"]
    assert isinstance(vectors, list) and vectors
    for v in vectors:
        packed = bytes.fromhex(v["gzip_hex"])
        assert packed.startswith(bytes.fromhex(str(doc["gzip_magic_hex"])))
        assert decompress(packed, source="t") == v["plain"].encode()
        assert decompress(v["plain"].encode(), source="t") == v["plain"].encode()
    prefix = doc["prefix_case"]
    assert isinstance(prefix, dict)
    assert decompress(bytes.fromhex(prefix["input_hex"]), source="t") == bytes.fromhex(prefix["expected_output_hex"])


def test_multi_member_gzip() -> None:
    data = gzip.compress(b"[settings]\n") + gzip.compress(b'motd = "x"\n')
    ud = parse_user_data(data, source="t")
    assert ud is not None and ud.settings == {"motd": "x"}


def test_bomb_refused_with_bounded_output() -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))  # 64 MiB of zeros, ~64 KiB packed
    assert len(bomb) < 200 * 1024
    with pytest.raises(InputError, match="larger than 64 KiB after decompression"):
        decompress(bomb, source="imds user-data")


def test_exact_limit_accepted_and_one_more_refused() -> None:
    assert len(decompress(gzip.compress(b"a" * MAX_USER_DATA), source="t")) == MAX_USER_DATA
    with pytest.raises(InputError, match="larger than 64 KiB"):
        decompress(gzip.compress(b"a" * (MAX_USER_DATA + 1)), source="t")
    with pytest.raises(InputError, match="larger than 64 KiB"):
        decompress(b"a" * (MAX_USER_DATA + 1), source="t")


@pytest.mark.parametrize(
    "data, rule",
    [
        (b"\x1f\x8b" + os.urandom(40), "does not decompress"),
        (gzip.compress(b"[settings]\nmotd='x'\n")[:-12], "truncated"),
        (gzip.compress(b"[settings]\n") + b"junk", "trailing data"),
    ],
)
def test_bad_gzip(data: bytes, rule: str) -> None:
    with pytest.raises(InputError, match=rule) as info:
        decompress(data, source="guestinfo")
    assert str(info.value).startswith("guestinfo: ")


def test_toml_cases(conformance: Path) -> None:
    contract = json.loads((conformance / "bottlerocket/early-boot-config/derived/provider_contract.json").read_text())
    for case in contract["from_toml_str_cases"]:
        if "expected_json" in case:
            assert parse_settings_toml(case["input"], source="t") == case["expected_json"]
        else:
            with pytest.raises(InputError):
                parse_settings_toml(case["input"], source="t")


def test_errors_never_echo_values() -> None:
    secret = "hunter2-very-secret"
    with pytest.raises(InputError) as info:
        parse_settings_toml(f'[settings]\nmotd = "{secret}\n', source="t")
    assert secret not in str(info.value)
    with pytest.raises(InputError, match="did not contain a 'settings' table"):
        parse_settings_toml(f'motd = "{secret}"', source="t")


def test_blank_and_non_utf8() -> None:
    assert parse_user_data(b"", source="t") is None
    assert parse_user_data(gzip.compress(b"  \n"), source="t") is None
    with pytest.raises(InputError, match="not UTF-8"):
        parse_user_data(b"\xff\xfe[settings]", source="t")
