"""crashkernel= syntax and the documented range table."""

from __future__ import annotations

import pytest

from kdump.errors import CrashkernelError
from kdump.sizing import DEFAULT_CRASHKERNEL, format_bytes, parse_crashkernel, parse_size

GiB, MiB = 1 << 30, 1 << 20


@pytest.mark.parametrize(
    ("memory", "reserved"),
    [
        (512 * MiB, 0),
        (1 * GiB - 1, 0),
        (1 * GiB, 192 * MiB),
        (2 * GiB, 192 * MiB),
        (4 * GiB - 1, 192 * MiB),
        (4 * GiB, 256 * MiB),
        (64 * GiB - 1, 256 * MiB),
        (64 * GiB, 512 * MiB),
        (4096 * GiB, 512 * MiB),
    ],
)
def test_default_table(memory: int, reserved: int) -> None:
    assert parse_crashkernel(DEFAULT_CRASHKERNEL).reserve_for(memory) == reserved


def test_bottlerocket_fixed_value_and_other_forms() -> None:
    br = parse_crashkernel("2G-:256M")
    assert (br.reserve_for(2 * GiB - 1), br.reserve_for(2 * GiB)) == (0, 256 * MiB)
    simple = parse_crashkernel("256M@16M")
    assert simple.reserve_for(8 * GiB) == 256 * MiB and simple.offset == 16 * MiB
    high = parse_crashkernel("512M,high")
    assert high.placement == "high" and high.reserve_for(8 * GiB) == 512 * MiB
    assert parse_crashkernel("1g-2g:64m").reserve_for(GiB) == 64 * MiB
    assert parse_crashkernel("256M").reserve_for(128 * MiB) == 0  # never all of RAM
    assert parse_size("1T") == 1 << 40


@pytest.mark.parametrize(
    "text", ["", "abc", "1G-:", "1G:256M", "4G-1G:256M", "1G-4G:1M,2G-8G:2M", "1G-:1M,2G-:2M",
             "256M@", "256X"]
)
def test_invalid_values_are_refused_without_echo(text: str) -> None:
    with pytest.raises(CrashkernelError) as info:
        parse_crashkernel(text)
    assert str(info.value).startswith("settings.kdump.crashkernel: ")
    if text:
        assert text not in str(info.value)


def test_format_bytes() -> None:
    assert format_bytes(256 * MiB) == "256 MiB"
    assert format_bytes(GiB + GiB // 2) == "1.5 GiB"
    assert format_bytes(12) == "12 B"
