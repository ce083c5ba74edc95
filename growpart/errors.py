"""Errors of `kindling growpart` (STYLE: Errors; DESIGN §4 exit codes).

    KindlingError
    ├── InputError
    │   ├── NoGptError            the disk holds no GPT (blank, dos MBR, protective MBR only)
    │   └── GptCorruptError       both headers unusable, or the two disagree: refused
    ├── NotFoundError
    │   └── PartitionNotFoundError  label / partition number not on the disk(s)
    ├── ConflictError
    │   ├── NotLastError          another partition follows: growing would overlap it
    │   ├── AmbiguousLabelError   the label is on several disks
    │   └── DeviceBusyError       another process holds the disk's lock
    └── HostError
        └── FilesystemError       the filesystem could not be grown (the partition was)

Every message starts with the device it is about and names the structure (`GPT
primary header`, `partition 3`); partition names are labels we were asked to look
for, never user secrets, so they may be printed.
"""

from __future__ import annotations

from kindling.errors import ConflictError, HostError, InputError, NotFoundError

__all__ = [
    "AmbiguousLabelError",
    "DeviceBusyError",
    "FilesystemError",
    "GptCorruptError",
    "NoGptError",
    "NotLastError",
    "PartitionNotFoundError",
]


class NoGptError(InputError):
    """The disk has no GUID partition table we could use."""


class GptCorruptError(InputError):
    """Neither GPT copy verifies, or both verify and disagree: nothing is written."""


class PartitionNotFoundError(NotFoundError):
    """The partition asked for (by label or number) does not exist."""


class NotLastError(ConflictError):
    """The partition is not the last on the disk, so it cannot take the free space."""


class AmbiguousLabelError(ConflictError):
    """The label was found on more than one disk; refusing to guess."""


class DeviceBusyError(ConflictError):
    """Another process holds the disk's BSD lock (udev, a partitioner)."""


class FilesystemError(HostError):
    """The filesystem was not grown; the message says whether the partition was."""
