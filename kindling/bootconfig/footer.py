"""The initrd footer that carries bootconfig to the kernel (DESIGN §5).

Layout, as `tools/bootconfig -a` writes it and init/main.c reads it:

    [config text][NUL][zero padding][size le32][checksum le32]["#BOOTCONFIG\n"]

`size` counts text + NUL + padding; `checksum` is the 32-bit sum of those bytes
(the zeros add nothing); the padding makes the whole file a multiple of 4
(BOOTCONFIG_ALIGN). For a standalone bootconfig.data (Bottlerocket's grub loads it as
a second initrd) the file starts at offset 0, which gives byte-equal output to
prairiedog's `initrd.rs` golden file. The kernel finds the magic at the end of the
initrd or up to 3 bytes earlier (GRUB may pad initrds to 4 bytes): so does the reader.
"""

from __future__ import annotations

import struct

from kindling.bootconfig.errors import BootconfigError
from kindling.bootconfig.model import MAX_TEXT_BYTES
from kindling.bootconfig.parse import parse_bootconfig

__all__ = ["MAGIC", "has_footer", "read_footer", "split_footer", "write_footer"]

MAGIC = b"#BOOTCONFIG\n"
_TRAILER = 8 + len(MAGIC)
ALIGN = 4


def checksum(data: bytes) -> int:
    """xbc_calc_checksum: the byte sum, modulo 2**32."""
    return sum(data) & 0xFFFFFFFF


def write_footer(text: str, *, offset: int = 0, source: str = "bootconfig") -> bytes:
    """The bytes to append at `offset` (the initrd's size; 0 for bootconfig.data).

    The text is parsed first: the kernel silently ignores a bootconfig it cannot
    parse, so a bad one must never be written.
    """
    parse_bootconfig(text, source=source)
    raw = text.encode("ascii", "strict") if text.isascii() else text.encode("utf-8")
    body = raw + b"\0"
    total = offset + len(body) + _TRAILER
    body += b"\0" * (-total % ALIGN)
    return body + struct.pack("<II", len(body), checksum(body)) + MAGIC


def _locate(data: bytes) -> int | None:
    """Index of the magic (end, or up to 3 bytes before it); None when absent."""
    for back in range(ALIGN):
        start = len(data) - len(MAGIC) - back
        if start < 8:
            return None
        if data[start : start + len(MAGIC)] == MAGIC:
            return start
    return None


def has_footer(data: bytes) -> bool:
    return _locate(data) is not None


def split_footer(data: bytes, *, source: str = "initrd") -> tuple[bytes, str | None]:
    """(initrd without bootconfig, bootconfig text or None when it carries none)."""
    magic_at = _locate(data)
    if magic_at is None:
        return data, None
    size, csum = struct.unpack_from("<II", data, magic_at - 8)
    start = magic_at - 8 - size
    if start < 0:
        raise BootconfigError(
            f"footer size {size} is larger than the file", source=source
        )
    body = data[start : magic_at - 8]
    if checksum(body) != csum:
        raise BootconfigError("footer checksum does not match its data", source=source)
    raw = body.split(b"\0", 1)[0]
    if len(raw) > MAX_TEXT_BYTES:
        raise BootconfigError(
            f"bootconfig is {len(raw)} bytes; the kernel accepts at most {MAX_TEXT_BYTES}",
            source=source,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BootconfigError("bootconfig is not UTF-8 text", source=source) from None
    return data[:start], text


def read_footer(data: bytes, *, source: str = "initrd") -> str:
    """The bootconfig text carried by an initrd (or a bootconfig.data file)."""
    _, text = split_footer(data, source=source)
    if text is None:
        raise BootconfigError("no bootconfig footer (#BOOTCONFIG magic not found)", source=source)
    return text
