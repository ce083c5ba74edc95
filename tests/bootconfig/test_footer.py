"""The initrd footer: prairiedog's golden file and tools/bootconfig's rules."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from kindling.bootconfig import (
    MAGIC,
    BootconfigError,
    has_footer,
    read_footer,
    split_footer,
    write_footer,
)

GOLDEN = "bottlerocket/prairiedog/tests/data"


def test_golden_bootconfig_data_is_byte_equal(conformance: Path) -> None:
    text = (conformance / GOLDEN / "ser_good_bootconfig").read_text()
    golden = (conformance / GOLDEN / "initrd_from_good_bootconfig").read_bytes()
    assert write_footer(text) == golden
    assert read_footer(golden) == text
    size, csum = struct.unpack_from("<II", golden, len(golden) - 20)
    assert (len(text), size, csum) == (321, 324, 27038)


def test_apply_to_an_initrd_aligns_the_whole_file() -> None:
    initrd = bytes(4096)
    out = initrd + write_footer("key = value;\n", offset=len(initrd))
    assert len(out) == 4132  # round_up(4096 + 13 + 9 + 12, 4)
    rest, text = split_footer(out)
    assert rest == initrd  # delete restores the original size
    assert text == "key = value;\n"
    again = rest + write_footer("key = value;\n", offset=len(rest))
    assert again == out  # applying twice replaces, never stacks


def test_always_at_least_one_nul() -> None:
    for n in range(1, 9):
        data = write_footer("k" * n + "\n")
        size = struct.unpack_from("<I", data, len(data) - 20)[0]
        assert data[n + 1] == 0 and size >= n + 2 and len(data) % 4 == 0


def test_grub_padding_after_the_magic_is_tolerated() -> None:
    data = write_footer("a = 1\n") + b"\0\0\0"
    assert read_footer(data) == "a = 1\n"


def test_no_footer() -> None:
    assert not has_footer(bytes(4096))
    assert split_footer(b" \0\0\0 \0\0\0") == (b" \0\0\0 \0\0\0", None)
    with pytest.raises(BootconfigError, match="no bootconfig footer"):
        read_footer(bytes(64), source="initrd.img")


def test_corrupt_footers_are_refused() -> None:
    good = bytearray(write_footer("a = 1\n"))
    bad_sum = bytearray(good)
    bad_sum[0] ^= 1
    with pytest.raises(BootconfigError, match="checksum"):
        read_footer(bytes(bad_sum))
    too_big = good[:-20] + struct.pack("<II", 10_000, 0) + MAGIC
    with pytest.raises(BootconfigError, match="larger than the file"):
        read_footer(bytes(too_big))


def test_invalid_text_is_never_written() -> None:
    with pytest.raises(BootconfigError, match="unexpected closing brace"):
        write_footer("a }\n", source="settings.boot")
    with pytest.raises(BootconfigError, match="at most 32766"):
        write_footer("a = " + "x" * 32766 + "\n")
