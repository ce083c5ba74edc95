"""What a `--plan` run would have written, so its later steps read it back (DESIGN §2).

A plan that forgets its own writes predicts a different node than the boot makes:
`kindling boot --plan` would report `write-network-status` as "no primary interface
recorded" although `generate-network-config` one stage earlier would have recorded
it, and every applier would "write" files again that the boot writes once. The
recording Host keeps this overlay of planned files (content and mode, or removed) and
directories; its reads look here first, then at the real tree, which stays untouched.
"""

from __future__ import annotations

from kindling.record import field, record

__all__ = ["PlannedFiles"]


@record
class PlannedFiles:
    """Planned state by absolute path (below the root): bytes and mode, or None = removed."""

    files: dict[str, tuple[bytes, int] | None] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)

    def planned(self, p: str) -> bool:
        """Whether this plan wrote or removed `p` (then `lookup` is the truth)."""
        return _norm(p) in self.files

    def lookup(self, p: str) -> tuple[bytes, int] | None:
        """The planned (content, mode); None when planned removed (or not planned)."""
        return self.files.get(_norm(p))

    def write(self, p: str, data: bytes, mode: int) -> None:
        self.files[_norm(p)] = (data, mode)

    def remove(self, p: str) -> None:
        self.files[_norm(p)] = None

    def mkdir(self, p: str) -> None:
        self.dirs.add(_norm(p))

    def is_dir(self, p: str) -> bool:
        key = _norm(p)
        return key in self.dirs or any(f.startswith(key.rstrip("/") + "/") for f, v in self.files.items() if v)

    def children(self, p: str) -> tuple[set[str], set[str]]:
        """(names planned present, names planned removed) directly below directory `p`."""
        prefix = _norm(p).rstrip("/") + "/"
        present: set[str] = set()
        removed: set[str] = set()
        for path, value in self.files.items():
            if path.startswith(prefix) and path != prefix:
                name = path[len(prefix):].split("/", 1)[0]
                (present if value is not None or "/" in path[len(prefix):] else removed).add(name)
        for d in self.dirs:
            if d.startswith(prefix) and d != prefix:
                present.add(d[len(prefix):].split("/", 1)[0])
        return present, removed - present


def _norm(p: str) -> str:
    import posixpath

    return posixpath.normpath("/" + p.lstrip("/"))
