"""GUID partition tables, parsed, verified and grown in pure Python (issue 5, item 2).

Pure: this module never opens a file. `read_gpt` takes a `read(offset, length)`
function and the disk's size, so the same code serves block devices, image files and
tests on byte strings. It verifies both headers and both entry arrays with CRC32 (UEFI
2.10 §5.3.2), falls back to the backup when the primary is damaged (and says so),
refuses when neither copy verifies or when the two verified copies disagree, and
checks the protective MBR.

`grow_table` computes the grown table: the partition keeps its start and ends on the
last usable LBA of the grown disk (the end cloud-utils growpart picks: disk sectors
- 34 with a standard 128-entry array), the backup array and header move to the new end
of the disk, and a pure protective MBR gets the new disk size (as sfdisk writes it).
Gains under `min_gain` bytes (1 MiB, cloud-utils' FUDGE) are ignored. Serialisation
patches the bytes that were read, so reserved fields and every other entry survive
bit for bit. The value types are NamedTuples: immutable, and about 8x cheaper than
frozen dataclasses to define at import, which every boot pays (DESIGN §8).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import NamedTuple

from growpart.errors import GptCorruptError, NoGptError, NotLastError, PartitionNotFoundError

__all__ = [
    "MIN_GAIN",
    "SIGNATURE",
    "Gpt",
    "GrownTable",
    "Header",
    "Mbr",
    "Partition",
    "grow_table",
    "parse_entries",
    "parse_header",
    "parse_mbr",
    "probe_sector_size",
    "read_gpt",
    "serialize_header",
]

SIGNATURE = b"EFI PART"
MIN_GAIN = 1024 * 1024
_HEADER = struct.Struct("<8sIIIIQQQQ16sQIII")  # the 92 bytes UEFI defines
_ENTRY = struct.Struct("<16s16sQQQ72s")
_MAX_ENTRIES_BYTES = 4 * 1024 * 1024  # a corrupt count must not make us read gigabytes
_EMPTY_TYPE = bytes(16)
_MBR_MAX = 0xFFFFFFFF

Reader = Callable[[int, int], bytes]


def _crc(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


class Header(NamedTuple):
    """One GPT header; `raw` keeps its `header_size` bytes so reserved bytes survive."""

    raw: bytes
    header_size: int
    my_lba: int
    alternate_lba: int
    first_usable: int
    last_usable: int
    disk_guid: bytes
    entries_lba: int
    num_entries: int
    entry_size: int
    entries_crc: int

    @property
    def array_bytes(self) -> int:
        return self.num_entries * self.entry_size

    def array_sectors(self, sector_size: int) -> int:
        return -(-self.array_bytes // sector_size)


class Partition(NamedTuple):
    """A used GPT entry; `number` is 1-based, as the kernel and sgdisk count."""

    number: int
    type_guid: bytes
    unique_guid: bytes
    first_lba: int
    last_lba: int
    attributes: int
    name: str

    @property
    def sectors(self) -> int:
        return self.last_lba - self.first_lba + 1


class Mbr(NamedTuple):
    """LBA 0 as far as GPT cares: `kind` is protective, hybrid, dos or none."""

    kind: str
    raw: bytes
    ee_index: int | None = None


class Gpt(NamedTuple):
    """A verified table: `header` is in primary form whichever copy it came from."""

    sector_size: int
    total_sectors: int
    header: Header
    array: bytes
    partitions: tuple[Partition, ...]
    mbr: Mbr
    copy: str  # the copy it came from: "primary" | "backup"
    backup_lba: int | None  # where a verified backup header sits, None when none does
    notes: tuple[str, ...]
    device: str = ""  # names the disk in errors

    def partition(self, number: int) -> Partition:
        for part in self.partitions:
            if part.number == number:
                return part
        raise PartitionNotFoundError(f"{self.device}: GPT: partition {number}: no such "
                                     "partition; nothing was changed")

    def by_name(self, name: str) -> list[Partition]:
        return [p for p in self.partitions if p.name == name]

    @property
    def clean(self) -> bool:
        """Both copies verified and the backup sits at the end of the disk."""
        return self.copy == "primary" and self.backup_lba == self.total_sectors - 1


class GrownTable(NamedTuple):
    """What to write: sector-aligned blobs and their LBAs, plus the numbers to report."""

    sector_size: int
    number: int
    start: int
    old_end: int
    new_end: int
    primary_lba: int
    primary: bytes  # header sector followed by the array, when they are contiguous
    primary_array_lba: int
    primary_array: bytes
    backup_array_lba: int
    backup_array: bytes
    backup_lba: int
    backup: bytes
    mbr: bytes | None  # new LBA 0, None when it stays as it is

    @property
    def old_sectors(self) -> int:
        return self.old_end - self.start + 1

    @property
    def new_sectors(self) -> int:
        return self.new_end - self.start + 1


# -- parsing -----------------------------------------------------------------------


def parse_header(sector: bytes, lba: int, sector_size: int) -> Header:
    """Parse and verify the header read at `lba`; raises GptCorruptError with the reason."""
    if len(sector) < _HEADER.size or sector[:8] != SIGNATURE:
        raise GptCorruptError("no 'EFI PART' signature")
    (_sig, _rev, size, crc, _res, my_lba, alt, first, last, guid, elba, num, esize,
     ecrc) = _HEADER.unpack_from(sector)
    if not _HEADER.size <= size <= sector_size:
        raise GptCorruptError(f"header size {size} out of range")
    raw = bytearray(sector[:size])
    raw[16:20] = bytes(4)
    if _crc(bytes(raw)) != crc:
        raise GptCorruptError("header CRC32 mismatch")
    if my_lba != lba:
        raise GptCorruptError(f"header says it sits at LBA {my_lba}, read at LBA {lba}")
    if esize < 128 or esize % 8 or num == 0 or num * esize > _MAX_ENTRIES_BYTES:
        raise GptCorruptError("entry array size out of range")
    if not first <= last + 1:
        raise GptCorruptError("first usable LBA after last usable LBA")
    return Header(bytes(sector[:size]), size, my_lba, alt, first, last, guid, elba, num,
                  esize, ecrc)


def serialize_header(h: Header, sector_size: int) -> bytes:
    """One sector: the header's raw bytes with its fields re-packed and CRC recomputed."""
    raw = bytearray(h.raw)
    _rev = struct.unpack_from("<I", raw, 8)[0]
    _HEADER.pack_into(raw, 0, SIGNATURE, _rev, h.header_size, 0, 0, h.my_lba, h.alternate_lba,
                      h.first_usable, h.last_usable, h.disk_guid, h.entries_lba,
                      h.num_entries, h.entry_size, h.entries_crc)
    struct.pack_into("<I", raw, 16, _crc(bytes(raw)))
    return bytes(raw) + bytes(sector_size - len(raw))


def parse_entries(array: bytes, num_entries: int, entry_size: int) -> tuple[Partition, ...]:
    """The used entries (type GUID not zero), numbered from 1."""
    found: list[Partition] = []
    for i in range(num_entries):
        off = i * entry_size
        tguid, uguid, first, last, attrs, name = _ENTRY.unpack_from(array, off)
        if tguid == _EMPTY_TYPE:
            continue
        text = name.decode("utf-16-le", "replace").split("\x00", 1)[0]
        found.append(Partition(i + 1, tguid, uguid, first, last, attrs, text))
    return tuple(found)


def parse_mbr(sector0: bytes) -> Mbr:
    """Classify LBA 0: a protective MBR has one 0xEE entry and nothing else."""
    if len(sector0) < 512 or sector0[510:512] != b"\x55\xaa":
        return Mbr("none", bytes(sector0[:512]))
    types = [sector0[446 + 16 * i + 4] for i in range(4)]
    ee = [i for i, t in enumerate(types) if t == 0xEE]
    if not ee:
        return Mbr("dos", bytes(sector0[:512]))
    others = [t for t in types if t not in (0, 0xEE)]
    return Mbr("hybrid" if others else "protective", bytes(sector0[:512]), ee[0])


def probe_sector_size(read: Reader) -> int:
    """512 unless the GPT signature sits at 4096 and not at 512 (4Kn image files)."""
    if read(512, 8) == SIGNATURE:
        return 512
    if read(4096, 8) == SIGNATURE:
        return 4096
    return 512


def _load_copy(read: Reader, lba: int, ss: int) -> tuple[Header, bytes]:
    header = parse_header(read(lba * ss, ss), lba, ss)
    array = read(header.entries_lba * ss, header.array_bytes)
    if len(array) != header.array_bytes or _crc(array) != header.entries_crc:
        raise GptCorruptError("entry array CRC32 mismatch")
    return header, array


def _mbr_old_last(mbr: Mbr) -> int | None:
    """The last LBA a protective MBR was written for: where an old backup header sits."""
    if mbr.ee_index is None:
        return None
    off = 446 + 16 * mbr.ee_index
    start, size = struct.unpack_from("<II", mbr.raw, off + 8)
    if start != 1 or size in (0, _MBR_MAX):
        return None
    return int(start + size - 1)


def read_gpt(read: Reader, size_bytes: int, sector_size: int, *, source: str) -> Gpt:
    """Read and verify the GPT of a disk of `size_bytes`; `source` names it in errors.

    The primary wins when it verifies; its backup is looked for where its alternate
    LBA points. When the primary fails, the backup is looked for at the last LBA of the
    disk, then at the last LBA the protective MBR was written for (a grown disk whose
    backup still sits at the old end), and the caller is told.
    """
    ss = sector_size
    total = size_bytes // ss
    if total < 68:
        raise NoGptError("too small to hold a GPT", source=source)
    mbr = parse_mbr(read(0, 512))
    notes: list[str] = []
    primary: tuple[Header, bytes] | None = None
    why_primary = ""
    try:
        primary = _load_copy(read, 1, ss)
    except GptCorruptError as exc:
        why_primary = str(exc)
    if mbr.kind == "dos" and primary is None:
        raise NoGptError("no GPT: the disk holds a dos (MBR) partition table", source=source)
    if mbr.kind == "dos":
        raise NoGptError("GPT without a protective MBR (LBA 0 holds dos partitions): "
                         "refusing to guess which table is meant", source=source)

    if mbr.kind == "none":
        notes.append("no protective MBR at LBA 0: left as it is")
    backup: tuple[Header, bytes] | None = None
    why_backup = ""
    candidates: list[int] = []
    if primary is not None:
        candidates.append(primary[0].alternate_lba)
    else:
        candidates.append(total - 1)
        old_last = _mbr_old_last(mbr)
        if old_last is not None and old_last < total - 1:
            candidates.append(old_last)
    for lba in candidates:
        if not 1 < lba < total:
            why_backup = why_backup or f"backup LBA {lba} is outside the disk"
            continue
        try:
            backup = _load_copy(read, lba, ss)
            break
        except GptCorruptError as exc:
            why_backup = why_backup or f"at LBA {lba}: {exc}"

    if primary is None and backup is None:
        if mbr.kind == "none":
            raise NoGptError("no GPT: the disk holds no MBR and no GPT", source=source)
        if mbr.kind == "protective" and why_primary == "no 'EFI PART' signature" and (
            why_backup.endswith("no 'EFI PART' signature")
        ):
            raise NoGptError("protective MBR only: no GPT header at LBA 1 nor at the end "
                             "of the disk", source=source)
        raise GptCorruptError(f"GPT: primary header unusable ({why_primary}) and backup "
                              f"header unusable ({why_backup}): refusing to write",
                              source=source)
    if primary is not None:
        header, array = primary
        if backup is None:
            notes.append(f"GPT backup header unusable ({why_backup}): rebuilt from the primary")
        else:
            _check_agree(primary[0], primary[1], backup[0], backup[1], source)
        src = "primary"
    else:
        assert backup is not None
        bh, array = backup
        notes.append(f"GPT primary header unusable ({why_primary}): using the backup header "
                     f"at LBA {bh.my_lba}; the primary will be rewritten from it")
        entries_lba = 2
        if entries_lba + bh.array_sectors(ss) > bh.first_usable:
            raise GptCorruptError("GPT: backup header's first usable LBA leaves no room for the "
                                  "primary entry array: refusing to write", source=source)
        header = bh._replace(my_lba=1, alternate_lba=bh.my_lba,
                                     entries_lba=entries_lba)
        src = "backup"
    if header.last_usable >= total:
        raise GptCorruptError("GPT: last usable LBA is beyond the end of the disk (the disk "
                              "shrank?): refusing to write", source=source)
    parts = parse_entries(array, header.num_entries, header.entry_size)
    for p in parts:
        if not header.first_usable <= p.first_lba <= p.last_lba <= header.last_usable:
            raise GptCorruptError(f"GPT: partition {p.number}: outside the usable area",
                                  source=source)
    return Gpt(ss, total, header, array, parts, mbr, src,
               backup[0].my_lba if backup is not None else None, tuple(notes), source)


def _check_agree(ph: Header, pa: bytes, bh: Header, ba: bytes, source: str) -> None:
    same = (ph.disk_guid == bh.disk_guid and ph.first_usable == bh.first_usable
            and ph.last_usable == bh.last_usable and ph.num_entries == bh.num_entries
            and ph.entry_size == bh.entry_size and pa == ba)
    if not same:
        raise GptCorruptError("GPT: primary and backup copies both verify but disagree: "
                              "refusing to choose (repair with sgdisk -v first)", source=source)


# -- growing -----------------------------------------------------------------------


def _set_last(array: bytes, entry_size: int, number: int, last: int) -> bytes:
    out = bytearray(array)
    struct.pack_into("<Q", out, (number - 1) * entry_size + 40, last)
    return bytes(out)


def _grow_mbr(mbr: Mbr, total: int) -> bytes | None:
    """A pure protective MBR covers the whole disk (capped at 2^32-1), as sfdisk writes it."""
    if mbr.kind != "protective" or mbr.ee_index is None:
        return None
    off = 446 + 16 * mbr.ee_index + 12
    want = min(total - 1, _MBR_MAX)
    if struct.unpack_from("<I", mbr.raw, off)[0] == want:
        return None
    raw = bytearray(mbr.raw)
    struct.pack_into("<I", raw, off, want)
    return bytes(raw)


def grow_table(gpt: Gpt, number: int, *, source: str, min_gain: int = MIN_GAIN
               ) -> GrownTable | None:
    """The table with partition `number` grown to the end; None when nothing is to gain.

    Refuses (NotLastError) when another partition starts after this one: cloud-utils
    would grow it up to that neighbour, but the data partition is meant to take the
    disk, and a partial grow every boot would hide the layout mistake.
    """
    ss, total, h = gpt.sector_size, gpt.total_sectors, gpt.header
    part = gpt.partition(number)
    later = [p.number for p in gpt.partitions if p.number != number
             and p.first_lba > part.first_lba]
    if later:
        raise NotLastError(f"{source}: partition {number} is not the last on the disk "
                           f"(partition {later[0]} follows it): it cannot take the free space; "
                           "nothing was changed")
    asec = h.array_sectors(ss)
    backup_lba = total - 1
    backup_array_lba = backup_lba - asec
    last_usable = backup_array_lba - 1
    if last_usable < part.last_lba:
        raise GptCorruptError(f"partition {number} ends beyond the last usable LBA of this "
                              "disk (the disk shrank?): refusing to write", source=source)
    gain = (last_usable - part.last_lba) * ss
    if gain < min_gain and gpt.clean:
        return None
    new_end = part.last_lba if gain < min_gain else last_usable
    array = _set_last(gpt.array, h.entry_size, number, new_end)
    crc = _crc(array)
    padded = array + bytes(asec * ss - len(array))
    primary = h._replace(alternate_lba=backup_lba, last_usable=last_usable,
                                  entries_crc=crc)
    backup = primary._replace(my_lba=backup_lba, alternate_lba=1,
                                 entries_lba=backup_array_lba)
    phead = serialize_header(primary, ss)
    contiguous = primary.entries_lba == 2
    return GrownTable(
        ss, number, part.first_lba, part.last_lba, new_end,
        1, phead + padded if contiguous else phead,
        primary.entries_lba, padded,
        backup_array_lba, padded,
        backup_lba, serialize_header(backup, ss),
        _grow_mbr(gpt.mbr, total),
    )
