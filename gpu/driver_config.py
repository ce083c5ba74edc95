"""driverdog configuration: TOML files of module sets, parsed and validated (DESIGN §5).

Format (Bottlerocket driverdog, kept): each top-level table is a *modules set*,
either **link mode**

    [nvidia-tesla]
    lib-modules-path = "kernel/drivers/extra/video/nvidia/tesla"
    objects-source = "/usr/share/nvidia/tesla/module-objects.d/"
    [nvidia-tesla.object-files."nvidia.o"]
    link-objects = ["nv-interface.o", "nv-kernel.o"]
    [nvidia-tesla.kernel-modules."nvidia.ko"]
    link-objects = ["nvidia.o", "nvidia.mod.o"]

or **copy mode** (`[set.kernel-modules."x.ko"] copy-source = "/dir"`).

Deliberate differences, each a safety fix:
- Paths may not escape their directories: `lib-modules-path` is relative and stays
  inside `/lib/modules/<kernel>/`; object, module and link-object names are single
  file names inside `objects-source` / the destination; sources are absolute paths
  without `..`. Names may not start with `-` (they reach `ld` and `modprobe` argv).
- Unknown keys are errors (a typo must not silently drop a module).
- A set defined in two files is an error; driverdog let the later file win, in an
  unspecified directory order. Files (`*.toml`, DESIGN §3) are read in name order.
Errors name the file and the key path, never a value.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from gpu.errors import DriverConfigError, ModulesSetNotFound
from kindling import log
from kindling.dotted import format_key
from kindling.host import Host
from kindling.nesting import TomlError, loads_toml
from kindling.record import record

__all__ = [
    "DEFAULT_CONFIG_DIR",
    "CopySet",
    "DriverSet",
    "LinkSet",
    "load_driver_configs",
    "module_name",
    "parse_driver_config",
    "select_sets",
]

DEFAULT_CONFIG_DIR = "/etc/kindling/drivers"
_LOG = log.get("gpu")
MAX_CONFIG_BYTES = 1 << 20
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,254}")
_SET_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


@record(frozen=True)
class LinkSet:
    """Link mode: object files linked from `objects-source` into kernel modules."""

    name: str
    source: str
    lib_modules_path: str
    objects_source: str
    object_files: tuple[tuple[str, tuple[str, ...]], ...]
    kernel_modules: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def module_files(self) -> list[str]:
        return [m for m, _ in self.kernel_modules]


@record(frozen=True)
class CopySet:
    """Copy mode: prebuilt modules copied from their `copy-source` directories."""

    name: str
    source: str
    lib_modules_path: str
    kernel_modules: tuple[tuple[str, str], ...]

    @property
    def module_files(self) -> list[str]:
        return [m for m, _ in self.kernel_modules]


DriverSet = LinkSet | CopySet


def module_name(file_name: str) -> str:
    """`nvidia-modeset.ko` -> `nvidia-modeset` (driverdog: text before the first dot)."""
    return file_name.split(".", 1)[0]


class _Ctx:
    """Where an error is: the file and the key path inside it."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: list[str], rule: str, index: int | None = None) -> DriverConfigError:
        where = format_key(path) + (f"[{index}]" if index is not None else "")
        segments = (*path, str(index)) if index is not None else tuple(path)
        return DriverConfigError(f"{where}: {rule}", source=self.source, path=segments, rule=rule)

    def table(self, value: Any, path: list[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "must be a table")
        return value

    def only(self, table: dict[str, Any], allowed: tuple[str, ...], path: list[str]) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail([*path, key], "unknown key")

    def file_name(self, value: Any, path: list[str], index: int | None = None) -> str:
        if not isinstance(value, str) or not _FILE_NAME.fullmatch(value):
            rule = "must be a plain file name (no '/', not starting with '.' or '-')"
            raise self.fail(path, rule, index)
        return value

    def abs_dir(self, value: Any, path: list[str]) -> str:
        if not isinstance(value, str) or not value.startswith("/") or "\0" in value:
            raise self.fail(path, "must be an absolute path")
        parts = PurePosixPath(value).parts
        if ".." in parts or "." in value.split("/"):
            raise self.fail(path, "may not contain '.' or '..' components")
        return str(PurePosixPath(value))

    def rel_dir(self, value: Any, path: list[str]) -> str:
        if not isinstance(value, str) or not value.strip("/") or "\0" in value:
            raise self.fail(path, "must be a non-empty relative path")
        if value.startswith("/"):
            raise self.fail(path, "must be relative to /lib/modules/<kernel>/")
        segments = value.rstrip("/").split("/")
        if any(s in ("", ".", "..") for s in segments):
            raise self.fail(path, "may not contain empty, '.' or '..' components")
        return "/".join(segments)

    def name_list(self, value: Any, path: list[str]) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(path, "must be a non-empty list of file names")
        return tuple(self.file_name(v, path, i) for i, v in enumerate(value))


def _parse_set(ctx: _Ctx, name: str, raw: Any) -> DriverSet:
    path = [name]
    if not _SET_NAME.fullmatch(name):
        raise ctx.fail(path, "set names are letters, digits, '.', '_' and '-'")
    table = ctx.table(raw, path)
    ctx.only(table, ("lib-modules-path", "objects-source", "object-files", "kernel-modules"), path)
    if "lib-modules-path" not in table:
        raise ctx.fail([*path, "lib-modules-path"], "required")
    lib_path = ctx.rel_dir(table["lib-modules-path"], [*path, "lib-modules-path"])
    modules = ctx.table(table.get("kernel-modules"), [*path, "kernel-modules"])
    if not modules:
        raise ctx.fail([*path, "kernel-modules"], "must name at least one module")
    entries = {m: ctx.table(v, [*path, "kernel-modules", m]) for m, v in modules.items()}
    linking = [m for m, e in entries.items() if "link-objects" in e]
    copying = [m for m, e in entries.items() if "copy-source" in e]
    for m, e in entries.items():
        mpath = [*path, "kernel-modules", m]
        ctx.file_name(m, mpath)
        ctx.only(e, ("link-objects", "copy-source"), mpath)
        if "link-objects" in e and "copy-source" in e:
            raise ctx.fail(mpath, "link-objects and copy-source exclude each other")
        if not e:
            raise ctx.fail(mpath, "needs link-objects (link mode) or copy-source (copy mode)")
    if linking and copying:
        raise ctx.fail([*path, "kernel-modules"], "mixes link-objects and copy-source")
    if linking:
        if "objects-source" not in table:
            raise ctx.fail([*path, "objects-source"], "required in link mode")
        objects = ctx.table(table.get("object-files", {}), [*path, "object-files"])
        object_files = []
        for obj, raw_spec in objects.items():
            opath = [*path, "object-files", obj]
            ctx.file_name(obj, opath)
            spec = ctx.table(raw_spec, opath)
            ctx.only(spec, ("link-objects",), opath)
            if "link-objects" not in spec:
                raise ctx.fail([*opath, "link-objects"], "required")
            object_files.append((obj, ctx.name_list(spec["link-objects"], [*opath, "link-objects"])))
        return LinkSet(
            name=name,
            source=ctx.source,
            lib_modules_path=lib_path,
            objects_source=ctx.abs_dir(table["objects-source"], [*path, "objects-source"]),
            object_files=tuple(object_files),
            kernel_modules=tuple(
                (m, ctx.name_list(e["link-objects"], [*path, "kernel-modules", m, "link-objects"]))
                for m, e in entries.items()
            ),
        )
    for key in ("objects-source", "object-files"):
        if key in table:
            raise ctx.fail([*path, key], "only allowed in link mode")
    return CopySet(
        name=name,
        source=ctx.source,
        lib_modules_path=lib_path,
        kernel_modules=tuple(
            (m, ctx.abs_dir(e["copy-source"], [*path, "kernel-modules", m, "copy-source"]))
            for m, e in entries.items()
        ),
    )


def parse_driver_config(
    text: str, *, source: str, errors: list[DriverConfigError] | None = None
) -> dict[str, DriverSet]:
    """Parse one driverdog TOML file into validated sets (pure).

    With `errors`, each set's first error is appended there and the other sets are
    still checked (`kindling validate`); the result holds the sets that passed."""
    try:
        doc = loads_toml(text, source=source)
    except TomlError as exc:
        failed = DriverConfigError(f"not valid TOML: {exc}", source=source)
        if errors is None:
            raise failed from None
        errors.append(failed)
        return {}
    ctx = _Ctx(source)
    if not doc:
        if errors is None:
            raise DriverConfigError("defines no modules set", source=source)
        errors.append(DriverConfigError("defines no modules set", source=source))
    sets: dict[str, DriverSet] = {}
    for name, raw in doc.items():
        try:
            sets[name] = _parse_set(ctx, name, raw)
        except DriverConfigError as exc:
            if errors is None:
                raise
            errors.append(exc)
    return sets


def load_driver_configs(host: Host, directory: str = DEFAULT_CONFIG_DIR) -> dict[str, DriverSet]:
    """Every `*.toml` of `directory` (DESIGN §3; name order), merged; duplicates refused.

    driverdog parsed every file; other files (`x.toml.rpmsave`, `x.toml~`) are skipped
    here with a warning, so a package manager's leftovers cannot define a set twice.
    """
    sets: dict[str, DriverSet] = {}
    for entry in host.listdir(directory):
        file = f"{directory.rstrip('/')}/{entry}"
        if entry.startswith(".") or not host.path(file).is_file():
            continue
        if not entry.endswith(".toml"):
            _LOG.warning("ignoring driver config file without .toml suffix", file=file)
            continue
        text = host.read_text(file, limit=MAX_CONFIG_BYTES)  # HostError names the file
        for name, driver_set in parse_driver_config(text, source=file).items():
            if name in sets:
                raise DriverConfigError(
                    f"{name}: modules set already defined in {sets[name].source}", source=file
                )
            sets[name] = driver_set
    return sets


def select_sets(
    sets: dict[str, DriverSet], name: str | None, *, directory: str = DEFAULT_CONFIG_DIR
) -> list[DriverSet]:
    """The named set, or every set (in name order) when `name` is None."""
    if name is None:
        return [sets[n] for n in sorted(sets)]
    if name not in sets:
        raise ModulesSetNotFound(f"{directory}: no modules set named {name}")
    return [sets[name]]
