"""Entry-point registries: boot stages, appliers and user-data providers (DESIGN §1).

Services add themselves through entry points in their distribution's metadata
(`kindling.boot_stages`, `kindling.appliers`, `kindling.user_data_providers`), so the
hub never imports a service by name. `importlib.metadata` costs 30-90 ms to import
on these machines (DESIGN §8 budgets are 2x a bare interpreter), so this module reads
`*.dist-info/entry_points.txt` itself: the format is a tiny INI file.
"""

from __future__ import annotations

import os
import sys

from kindling.errors import KindlingError
from kindling.record import record

__all__ = ["EntryPoint", "distribution_version", "entry_points", "forget", "load", "path_stamps", "restore", "settled",
           "snapshot", "stamp"]


@record(frozen=True)
class EntryPoint:
    """`name = module:attr` in `group`, from distribution `dist`."""

    group: str
    name: str
    value: str
    dist: str

    def load(self) -> object:
        module_name, _, attr = self.value.partition(":")
        try:
            # importlib.import_module, without importing importlib and warnings (~0.2 ms a boot)
            __import__(module_name.strip())
            obj: object = sys.modules[module_name.strip()]
            for part in attr.strip().split(".") if attr.strip() else []:
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            raise KindlingError(
                f"entry point {self.group}/{self.name} ({self.value}) from {self.dist}: {exc}"
            ) from exc
        return obj


def _parse(text: str, dist: str) -> list[EntryPoint]:
    found: list[EntryPoint] = []
    group = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
            continue
        name, sep, value = line.partition("=")
        if sep and group:
            found.append(EntryPoint(group, name.strip(), value.strip(), dist))
    return found


# what `restore` found still true of a scan a previous process made (`snapshot`): one or none
_RESTORED: list[tuple[tuple[tuple[str, str, str], ...], tuple[EntryPoint, ...]]] = []
# this process's scan, each part made once (functools.cache's job, without importing
# functools and the collections it pulls in: ~1 ms of a later boot)
_DISTS: list[tuple[tuple[str, str, str], ...]] = []
_EPS: list[tuple[EntryPoint, ...]] = []


def forget() -> None:
    """Drop this process's scan (tests that install or remove a distribution)."""
    _DISTS.clear()
    _EPS.clear()


def _distributions() -> tuple[tuple[str, str, str], ...]:
    """(name, version, metadata dir) of every distribution on sys.path, first one of a
    name only, as pip resolves them (`foo_bar-1.2.dist-info` -> foo-bar, 1.2)."""
    if not _DISTS:
        _DISTS.append(_scan_distributions())
    return _DISTS[0]


def _scan_distributions() -> tuple[tuple[str, str, str], ...]:
    if _RESTORED:
        return _RESTORED[0][0]
    seen: set[str] = set()
    found: list[tuple[str, str, str]] = []
    for base in sys.path:
        try:
            names = os.listdir(base or ".")
        except OSError:
            continue
        for name in sorted(names):
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            stem = name[: -len(".dist-info")] if name.endswith(".dist-info") else name[:-9]
            dist, _, version = stem.partition("-")
            dist = dist.lower().replace("_", "-")
            if dist in seen:
                continue
            seen.add(dist)
            found.append((dist, version.partition("-")[0], os.path.join(base or ".", name)))
    return tuple(found)


def distribution_version(name: str) -> str | None:
    """The installed version of distribution `name` (no importlib.metadata: see above)."""
    return next((version for dist, version, _ in _distributions() if dist == name), None)


def _all_entry_points() -> tuple[EntryPoint, ...]:
    """Every entry point on sys.path; the first distribution of a name wins, as pip's."""
    if not _EPS:
        _EPS.append(_scan_entry_points())
    return _EPS[0]


def _scan_entry_points() -> tuple[EntryPoint, ...]:
    if _RESTORED:
        return _RESTORED[0][1]
    found: list[EntryPoint] = []
    for dist, _version, where in _distributions():
        try:
            with open(os.path.join(where, "entry_points.txt"), encoding="utf-8") as fh:
                found.extend(_parse(fh.read(), dist))
        except OSError:
            continue
    return tuple(found)


def entry_points(group: str) -> list[EntryPoint]:
    """The entry points of `group`, sorted by name for a stable order."""
    return sorted((ep for ep in _all_entry_points() if ep.group == group), key=lambda e: e.name)


def load(group: str) -> list[object]:
    """Load every object registered in `group`."""
    return [ep.load() for ep in entry_points(group)]


# -- a scan kept across processes (kindling/boot.py `registered_stages`) -------------------
# A later boot finds the same distributions as the last one; what could change them is
# a sys.path directory (a distribution installed, removed, upgraded: its metadata
# directory comes or goes), a metadata directory (a file added or removed in place) or
# an entry_points.txt (edited in place). Their stamps (inode, mtime, ctime, size) are
# ~30 stats; the scan they stand for lists every sys.path directory and opens every
# distribution's entry_points.txt (~0.6 ms of a later boot).


def stamp(p: str) -> str:
    """What changes whenever `p` (a file or directory) does: '-' when it does not exist."""
    try:
        st = os.stat(p)
    except OSError:
        return "-"
    return f"{st.st_ino}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_size}"


def settled(stamps: list[str], now_ns: int) -> bool:
    """Whether every stamp was last modified over a second before `now_ns`: a change
    within the same clock tick as a stamp taken of it would leave the stamp as it was
    (file times are as coarse as the kernel's tick), so a recent one is not trusted to
    stand for its file, as git treats a racily clean index entry."""
    return all(s == "-" or int(s.split(":")[1]) < now_ns - 1_000_000_000 for s in stamps)


def path_stamps() -> list[list[str]]:
    """[sys.path entry, its stamp], in order: taken before a scan, they cover it."""
    return [[p, stamp(p or ".")] for p in sys.path]


def snapshot(paths: list[list[str]], now_ns: int) -> dict[str, object] | None:
    """The scan (distributions, entry points) with the stamps `restore` checks; `paths`
    from `path_stamps()` taken before the scan. None when a stamp is not `settled`."""
    dists = [[d, v, w, stamp(w), stamp(os.path.join(w, "entry_points.txt"))] for d, v, w in _distributions()]
    if not settled([s for _p, s in paths] + [s for row in dists for s in row[3:]], now_ns):
        return None
    return {"path": paths, "dists": dists,
            "entry_points": [[e.group, e.name, e.value, e.dist] for e in _all_entry_points()]}


def restore(snap: object) -> bool:
    """Take a `snapshot` as this process's scan when nothing it depends on changed;
    False (and no change) when anything did, or it is not one."""
    try:
        paths, dists, eps = snap["path"], snap["dists"], snap["entry_points"]  # type: ignore[index]
        if [p for p, _ in paths] != sys.path or any(stamp(p or ".") != s for p, s in paths):
            return False
        # an entry_points.txt: its own stamp (edited, removed); none: its directory's (one added)
        if any(stamp(os.path.join(w, "entry_points.txt")) != es if es != "-" else stamp(w) != ws
               for _d, _v, w, ws, es in dists):
            return False
        found = (tuple((str(d), str(v), str(w)) for d, v, w, _ws, _es in dists),
                 tuple(EntryPoint(str(g), str(n), str(v), str(d)) for g, n, v, d in eps))
    except (TypeError, ValueError, KeyError):
        return False
    _RESTORED[:] = [found]
    return True
