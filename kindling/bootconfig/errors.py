"""Errors of the bootconfig format (STYLE: Errors).

    InputError (kindling.errors)
    └── BootconfigError      text that the kernel's parser would reject, a value that
                             cannot be written, or an initrd footer that is broken

Messages name the source, the key (when one is known) and the line:column, the way
the kernel's `tools/bootconfig` reports `Parse Error: <msg> at <line>:<col>`; they
never quote a value, because bootconfig can carry user data.
"""

from __future__ import annotations

from kindling.errors import InputError

__all__ = ["BootconfigError"]


class BootconfigError(InputError):
    """Bootconfig input that fails the kernel's rules; `key`/`line` say where."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        key: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.key = key
        self.rule = message
        self.line = line
        self.column = column
        where = []
        if key:
            where.append(key)
        if line is not None:
            where.append(f"line {line}:{column}")
        text = ": ".join([*where, message])
        super().__init__(text, source=source or "bootconfig")
