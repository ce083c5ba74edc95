"""The settings model of DESIGN §6: a typed tree, strict, with full dotted paths.

Why not msgspec or pydantic: msgspec (28 ms import) reports a bad map entry as
`$.kernel.sysctl[...]`, losing the key users need; pydantic costs 80-120 ms, most of
the `boot --plan` budget. This walker costs about a millisecond, names the exact key
(`settings.kernel.sysctl."net.ipv4.ip_forward"`) and never the value.

Nodes: `Struct` (fixed keys, unknown rejected), `MapOf` (free keys checked by a key
type), `ListOf`, `Leaf` (a checker from `types`). Every key is optional: the model
describes what may be set, and the services hold their own defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kindling.dotted import format_key
from kindling.errors import SettingsError
from kindling.settings import types as t

__all__ = [
    "SETTINGS",
    "Leaf",
    "ListOf",
    "MapOf",
    "Node",
    "Struct",
    "is_sensitive",
    "node_at",
    "validate_settings",
]


@dataclass(frozen=True)
class Leaf:
    check: t.Check
    sensitive: bool = False
    kind: str = "string"  # how the CLI coerces `set k=v`: string, boolean, integer, json


@dataclass(frozen=True)
class ListOf:
    item: Node
    max_items: int = 1024


@dataclass(frozen=True)
class MapOf:
    key: t.Check
    value: Node
    key_rule: str = "not a valid key"


@dataclass(frozen=True)
class Struct:
    fields: Mapping[str, Node] = field(default_factory=dict)


Node = Leaf | ListOf | MapOf | Struct

_STR = Leaf(t.single_line)
_BOOL = Leaf(t.boolean, kind="boolean")
_B64_SECRET = Leaf(t.base64_text, sensitive=True)

_BOOT_PARAMS = MapOf(t.bootconfig_key, ListOf(Leaf(t.bootconfig_value)), "not a valid bootconfig key")

SETTINGS = Struct(
    {
        "motd": Leaf(t.text),
        "aws": Struct(
            {
                "region": Leaf(t.pattern(r"[a-z0-9-]{1,64}", "not a valid AWS region name")),
                "config": _B64_SECRET,
                "credentials": _B64_SECRET,
                "profile": _STR,
            }
        ),
        "network": Struct(
            {
                "hostname": Leaf(t.hostname),
                "hosts": Leaf(t.etc_hosts_entries, kind="json"),
                "https-proxy": Leaf(t.url),
                "no-proxy": ListOf(_STR),
            }
        ),
        "dns": Struct(
            {
                "name-servers": ListOf(Leaf(t.ip_address)),
                "search-list": ListOf(Leaf(t.hostname)),
            }
        ),
        "ntp": Struct({"time-servers": ListOf(Leaf(t.url))}),
        "kernel": Struct(
            {
                "sysctl": MapOf(
                    t.pattern(
                        r"[A-Za-z0-9_*][A-Za-z0-9_*./-]{0,254}", "not a valid sysctl key"
                    ),
                    _STR,
                    "not a valid sysctl key",
                ),
                "lockdown": Leaf(t.enum("none", "integrity", "confidentiality")),
                "modules": MapOf(
                    t.pattern(r"[A-Za-z0-9_-]{1,64}", "not a valid kernel module name"),
                    Struct({"allowed": _BOOL}),
                    "not a valid kernel module name",
                ),
            }
        ),
        "boot": Struct(
            {
                "reboot-to-reconcile": _BOOL,
                "kernel-parameters": _BOOT_PARAMS,
                "init-parameters": _BOOT_PARAMS,
            }
        ),
        "kdump": Struct(
            {
                "enabled": _BOOL,
                "crashkernel": Leaf(t.crashkernel),
                "keep": Leaf(t.integer(1, 1000), kind="integer"),
            }
        ),
        "cloudformation": Struct(
            {"should-signal": _BOOL, "stack-name": _STR, "logical-resource-id": _STR}
        ),
        "autoscaling": Struct({"should-wait": _BOOL, "lifecycle-hook-name": _STR}),
        "kubernetes": Struct(
            {
                "cluster-name": Leaf(
                    t.pattern(r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}", "not a valid cluster name")
                ),
                "api-server": Leaf(t.url),
                "cluster-domain": Leaf(t.dns_domain),
                "node-ip": Leaf(t.ip_address),
                "node-labels": MapOf(
                    t.k8s_label_key, Leaf(t.k8s_label_value), "not a valid Kubernetes label key"
                ),
                "node-taints": MapOf(
                    t.k8s_label_key,
                    ListOf(Leaf(t.k8s_taint_value)),
                    "not a valid Kubernetes label key",
                ),
            }
        ),
        "gpu": Struct(
            {"nvidia": Struct({"flavor": Leaf(t.enum("auto", "open", "proprietary"))})}
        ),
        "host-containers": MapOf(
            t.pattern(r"[a-z0-9][a-z0-9_-]{0,62}", "not a valid container name"),
            Struct(
                {
                    "source": _STR,
                    "enabled": _BOOL,
                    "superpowered": _BOOL,
                    "user-data": _B64_SECRET,
                }
            ),
            "not a valid container name",
        ),
        "bootstrap-containers": MapOf(
            t.pattern(r"[a-z0-9][a-z0-9_-]{0,62}", "not a valid container name"),
            Struct(
                {
                    "source": _STR,
                    "mode": Leaf(t.enum("off", "once", "always")),
                    "essential": _BOOL,
                    "user-data": _B64_SECRET,
                }
            ),
            "not a valid container name",
        ),
    }
)


def _walk(node: Node, value: Any, path: tuple[str, ...], source: str | None) -> Any:
    key = format_key(path)
    if isinstance(node, Leaf):
        try:
            return node.check(value)
        except t.Invalid as exc:
            raise SettingsError(key, exc.rule, source=source) from None
    if isinstance(node, ListOf):
        if not isinstance(value, list):
            raise SettingsError(key, f"expected a list, got {t.kind_of(value)}", source=source)
        if len(value) > node.max_items:
            raise SettingsError(key, f"more than {node.max_items} items", source=source)
        return [_walk(node.item, v, (*path, str(i)), source) for i, v in enumerate(value)]
    if not isinstance(value, Mapping):
        raise SettingsError(key, f"expected a table, got {t.kind_of(value)}", source=source)
    out: dict[str, Any] = {}
    if isinstance(node, Struct):
        for name, child in value.items():
            sub = node.fields.get(name) if isinstance(name, str) else None
            if sub is None:
                raise SettingsError(format_key((*path, str(name))), "unknown key", source=source)
            out[name] = _walk(sub, child, (*path, name), source)
        return out
    for name, child in value.items():
        try:
            node.key(name)
        except t.Invalid:
            raise SettingsError(
                format_key((*path, str(name))), node.key_rule, source=source
            ) from None
        out[name] = _walk(node.value, child, (*path, name), source)
    return out


def validate_settings(tree: Any, *, source: str | None = None) -> dict[str, Any]:
    """Check a (partial) settings tree, without the outer `settings` key.

    Returns the normalised tree; raises `SettingsError` with the full dotted key,
    e.g. `settings.network.hostname: not a valid Linux hostname`.
    """
    result: dict[str, Any] = _walk(SETTINGS, tree, ("settings",), source)
    return result


def node_at(segments: list[str] | tuple[str, ...]) -> Node | None:
    """The model node at a path below `settings` (None when the model has no such key)."""
    node: Node = SETTINGS
    for segment in segments:
        if isinstance(node, Struct):
            found = node.fields.get(segment)
            if found is None:
                return None
            node = found
        elif isinstance(node, MapOf):
            try:
                node.key(segment)
            except t.Invalid:
                return None
            node = node.value
        else:
            return None
    return node


def is_sensitive(segments: list[str] | tuple[str, ...]) -> bool:
    """True for keys whose values must never be logged (credentials, user data)."""
    node = node_at(segments)
    return isinstance(node, Leaf) and node.sensitive
