"""The pure GPT layer: parse agrees with sgdisk, headers round-trip, the grown table
has the expected geometry, and no single corrupted byte anywhere in either copy can
change which partitions we see (CRC32 + backup) — it is refused or read the same."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from growpart.errors import NotLastError, PartitionNotFoundError
from growpart.gpt import grow_table, parse_header, read_gpt, serialize_header
from kindling.errors import InputError
from tests.growpart.growpart_rig import MiB

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


def sector_writes(grown) -> list[list[tuple[int, bytes]]]:  # type: ignore[no-untyped-def]
    """The writes of `write_table`, step by step, cut into sectors."""
    ss = grown.sector_size
    steps = [[(grown.backup_array_lba, grown.backup_array), (grown.backup_lba, grown.backup)],
             [(grown.primary_lba, grown.primary)]]
    if grown.mbr is not None:
        steps[1].append((0, grown.mbr))
    return [[(lba + i, data[i * ss:(i + 1) * ss]) for lba, data in step
             for i in range(len(data) // ss)] for step in steps]


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(done=st.integers(0, 2), torn=st.lists(st.booleans(), min_size=34, max_size=34))
def test_power_loss_at_any_sector_leaves_old_or_new(one: bytes, done: int,
                                                    torn: list[bool]) -> None:
    """The first `done` steps reached the disk whole, the next one only in the sectors
    `torn` picks (a device may persist a multi-sector write in any order): the table read
    back is always the old or the new one, never an error."""
    written: dict[int, bytes] = {}

    def read(off: int, n: int) -> bytes:  # `one` doubled in size, plus the sectors written
        out = bytearray(one[off:off + n].ljust(n, b"\0"))
        for lba, data in written.items():
            lo, hi = max(off, lba * 512), min(off + n, lba * 512 + 512)
            if lo < hi:
                out[lo - off:hi - off] = data[lo - lba * 512:hi - lba * 512]
        return bytes(out)

    grown = grow_table(read_gpt(read, 2 * SIZE, 512, source="x"), 1, source="x")
    assert grown is not None
    steps = sector_writes(grown)
    for k, step in enumerate(steps[:done + 1]):
        for j, (lba, data) in enumerate(step):
            if k < done or torn[j % len(torn)]:
                written[lba] = data
    after = read_gpt(read, 2 * SIZE, 512, source="x")
    assert after.partition(1).last_lba in (grown.old_end, grown.new_end)
    if done >= len(steps):  # every step done: the new table, whole
        assert after.clean and after.partition(1).last_lba == grown.new_end
