"""Metal: user data from the kernel's bootconfig (`/proc/bootconfig`), order 30.

On metal there is no metadata service; what the boot loader hands the kernel is the
one channel an operator controls per machine without touching the disk. Keys under
`kindling.settings.` become settings (`kindling.settings.motd = "hi"` →
`settings.motd`); every other key (kernel.*, init.*) is left to the kernel.

Bootconfig values are strings and its key words cannot contain dots, so the words
are mapped onto the settings model: a free-form map whose values are plain values
(`kernel.sysctl`) takes the rest of the words as one dotted map key
(`kindling.settings.kernel.sysctl.net.ipv4.ip_forward = "1"`); booleans and
integers are parsed as the model types them; a list setting takes the bootconfig
array (`kindling.settings.dns.name-servers = "1.1.1.1", "9.9.9.9"`). The file is
parsed by `kindling.bootconfig` (the kernel's exact grammar and limits). Absent
file (a kernel without CONFIG_BOOT_CONFIG) or no `kindling.settings` keys = no data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kindling.errors import HostError, InputError
from kindling.host import Host
from kindling.merge import unflatten
from kindling.nesting import loads_json
from kindling.providers import UserDataProvider
from kindling.user_data import UserData

__all__ = ["BOOTCONFIG", "PREFIX", "PROC_BOOTCONFIG", "read_bootconfig", "settings_from_bootconfig", "settings_leaves"]

PROC_BOOTCONFIG = "/proc/bootconfig"
PREFIX = "kindling.settings"


def _path_and_node(words: list[str]) -> tuple[tuple[str, ...], Any]:
    """Map key words onto the model: (settings path, model node or None if unknown)."""
    from kindling.settings.schema import SETTINGS, Leaf, ListOf, MapOf, Struct

    node: Any = SETTINGS
    path: list[str] = []
    i = 0
    while i < len(words):
        if isinstance(node, Struct) and words[i] in node.fields:
            path.append(words[i])
            node = node.fields[words[i]]
            i += 1
        elif isinstance(node, MapOf) and isinstance(node.value, Leaf | ListOf):
            path.append(".".join(words[i:]))
            return tuple(path), node.value
        elif isinstance(node, MapOf):
            path.append(words[i])
            node = node.value
            i += 1
        else:  # unknown key, or words below a leaf: validation names the exact key
            return (*path, *words[i:]), None
    return tuple(path), node


def _coerce(node: Any, values: tuple[str, ...], key: str, source: str) -> Any:
    from kindling.settings.schema import Leaf, ListOf

    if isinstance(node, ListOf):
        return [_coerce(node.item, (v,), key, source) for v in values]
    if len(values) != 1:
        raise InputError(f"{key}: expected exactly one value", source=source)
    raw = values[0]
    kind = node.kind if isinstance(node, Leaf) else "string"
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise InputError(f"{key}: expected true or false", source=source)
        return raw == "true"
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise InputError(f"{key}: expected an integer", source=source) from None
    if kind == "json":
        try:
            return loads_json(raw, source=source)
        except ValueError:
            raise InputError(f"{key}: expected a JSON value", source=source) from None
    return raw


def settings_leaves(
    config: Mapping[str, tuple[str, ...]], *, source: str, errors: list[InputError] | None = None
) -> list[tuple[str, tuple[str, ...], Any]]:
    """(bootconfig key, settings path, value) of each `kindling.settings.*` key.

    With `errors`, a value that cannot be read as its setting's type is appended there
    and left out (`kindling validate` reports them all); without, the first raises."""
    leaves = []
    for key, values in config.items():
        if not key.startswith(PREFIX + "."):
            continue
        path, node = _path_and_node(key[len(PREFIX) + 1 :].split("."))
        try:
            leaves.append((key, path, _coerce(node, values, key, source)))
        except InputError as exc:
            if errors is None:
                raise
            errors.append(exc)
    return leaves


def settings_from_bootconfig(text: str | bytes, *, source: str) -> dict[str, Any]:
    """The settings tree (no outer key) carried by `kindling.settings.*` keys; pure."""
    from kindling.bootconfig import parse_bootconfig

    config = parse_bootconfig(text, source=source, allow_empty=True)
    return unflatten([(path, value) for _key, path, value in settings_leaves(config, source=source)])


def read_bootconfig(host: Host) -> UserData | None:
    """Settings from `/proc/bootconfig`; None when the kernel shows none."""
    from kindling.bootconfig import MAX_TEXT_BYTES

    if not host.exists(PROC_BOOTCONFIG):
        return None
    try:
        # /proc/bootconfig re-renders the config (`key = "value"` per line), which can
        # be longer than the 32 KiB the kernel accepted: allow for the quoting.
        data = host.read_bytes(PROC_BOOTCONFIG, limit=4 * MAX_TEXT_BYTES)
    except HostError as exc:
        raise InputError(f"cannot read: {exc}", source=PROC_BOOTCONFIG) from exc
    tree = settings_from_bootconfig(_fit(data), source=PROC_BOOTCONFIG)
    return UserData(tree, PROC_BOOTCONFIG) if tree else None


def _fit(data: bytes) -> bytes:
    """Keep only what could carry settings when the rendering exceeds the parser's limit.

    `/proc/bootconfig` is one `key = value` line per key, so dropping the lines of
    other keys (kernel.*, init.*) changes nothing for us and keeps the parse exact.
    """
    from kindling.bootconfig import MAX_TEXT_BYTES

    if len(data) <= MAX_TEXT_BYTES:
        return data
    lines = [ln for ln in data.splitlines(keepends=True) if ln.lstrip().startswith(b"kindling.")]
    return b"".join(lines)


BOOTCONFIG = UserDataProvider(
    name="metal-bootconfig",
    order=30,
    read=read_bootconfig,
    platforms=("metal",),
    description=PROC_BOOTCONFIG,
)
