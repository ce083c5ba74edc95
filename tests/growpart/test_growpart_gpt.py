"""The pure GPT layer: parse agrees with sgdisk, headers round-trip, the grown table
has the expected geometry, and no single corrupted byte anywhere in either copy can
change which partitions we see (CRC32 + backup) — it is refused or read the same."""

from __future__ import annotations

from pathlib import Path

import pytest
from growpart_rig import MiB
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from growpart.errors import NotLastError, PartitionNotFoundError
from growpart.gpt import grow_table, parse_header, read_gpt, serialize_header
from kindling.errors import InputError

SIZE = 8 * MiB


def reader(data: bytes):  # type: ignore[no-untyped-def]
    return lambda off, n: data[off:off + n]


@pytest.fixture(scope="module")
def one(images) -> bytes:  # type: ignore[no-untyped-def]
    return Path(images.one()).read_bytes()


def test_parse_matches_sgdisk_layout(one: bytes) -> None:
    gpt = read_gpt(reader(one), SIZE, 512, source="one")
    assert gpt.copy == "primary" and gpt.clean and gpt.notes == ()
    (part,) = gpt.partitions
    assert (part.number, part.first_lba, part.last_lba, part.name) == (
        1, 2048, SIZE // 512 - 34, "KINDLING-DATA")
    assert gpt.mbr.kind == "protective"
    assert gpt.header.num_entries == 128 and gpt.header.entry_size == 128


def test_header_round_trips(one: bytes) -> None:
    h = parse_header(one[512:1024], 1, 512)
    assert serialize_header(h, 512) == one[512:1024]


def test_grown_geometry(one: bytes) -> None:
    data = one + bytes(SIZE)  # the disk doubled
    gpt = read_gpt(reader(data), 2 * SIZE, 512, source="one")
    assert not gpt.clean
    grown = grow_table(gpt, 1, source="one")
    assert grown is not None
    total = 2 * SIZE // 512
    assert (grown.backup_lba, grown.backup_array_lba, grown.new_end) == (
        total - 1, total - 33, total - 34)
    assert len(grown.primary) == 33 * 512 and len(grown.backup) == 512
    assert grown.mbr is not None
    backup = parse_header(grown.backup, total - 1, 512)
    assert (backup.alternate_lba, backup.entries_lba, backup.last_usable) == (
        1, total - 33, total - 34)
    assert grow_table(read_gpt(reader(one), SIZE, 512, source="one"), 1, source="one") is None
    with pytest.raises(PartitionNotFoundError):
        grow_table(gpt, 2, source="one")


def test_not_last(images) -> None:  # type: ignore[no-untyped-def]
    data = Path(images.two()).read_bytes()
    gpt = read_gpt(reader(data), SIZE, 512, source="two")
    with pytest.raises(NotLastError, match="partition 2 follows"):
        grow_table(gpt, 1, source="two")


REGIONS = [(0, 34 * 512), (SIZE - 33 * 512, SIZE)]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(region=st.sampled_from(REGIONS), where=st.integers(0, 34 * 512 - 1),
       bit=st.integers(0, 7))
def test_one_flipped_bit_is_refused_or_harmless(one: bytes, region: tuple[int, int],
                                                where: int, bit: int) -> None:
    start, end = region
    offset = start + where % (end - start)

    def flipped(off: int, n: int) -> bytes:
        chunk = bytearray(one[off:off + n])
        if off <= offset < off + n:
            chunk[offset - off] ^= 1 << bit
        return bytes(chunk)

    expected = read_gpt(reader(one), SIZE, 512, source="x").partitions
    try:
        gpt = read_gpt(flipped, SIZE, 512, source="x")
    except InputError:
        return
    assert gpt.partitions == expected
