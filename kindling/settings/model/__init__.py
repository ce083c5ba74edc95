"""The settings model, one module per top-level namespace (DESIGN §6, STYLE "the
settings model stays data").

Each `kindling/settings/model/<ns>.py` holds `MODEL`, a tree of `nodes` with the owner
of each key beside it (DESIGN §10). The root loads a namespace's module the first time
a key under it is looked up: a commit of `settings.motd` imports one small module, not
the whole Bottlerocket model (DESIGN §8). Walking everything (OpenAPI, the owner test,
`settings describe`) loads them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from kindling.settings.nodes import Node, Struct

__all__ = ["NAMESPACES", "SETTINGS"]

# top-level key -> module under kindling.settings.model (the one list of namespaces)
NAMESPACES: dict[str, str] = {
    "motd": "motd",
    "aws": "aws",
    "cloudformation": "cloudformation",
    "autoscaling": "autoscaling",
    "network": "network",
    "dns": "dns",
    "ntp": "ntp",
    "kernel": "kernel",
    "boot": "boot",
    "kdump": "kdump",
    "gpu": "gpu",
    "pki": "pki",
    "kubernetes": "kubernetes",
    "ecs": "ecs",
    "container-registry": "container_registry",
    "container-runtime": "container_runtime",
    "oci-defaults": "oci_defaults",
    "oci-hooks": "oci_hooks",
    "updates": "updates",
    "metrics": "metrics",
    "host-containers": "host_containers",
    "bootstrap-containers": "bootstrap_containers",
    "bootstrap-commands": "bootstrap_commands",
}


class _Namespaces(Mapping[str, Node]):
    """The root's fields, imported on first lookup."""

    __slots__ = ("_loaded",)

    def __init__(self) -> None:
        self._loaded: dict[str, Node] = {}

    def __getitem__(self, name: str) -> Node:
        node = self._loaded.get(name)
        if node is None:
            module = importlib.import_module(f"{__name__}.{NAMESPACES[name]}")
            node = module.MODEL
            self._loaded[name] = node
        return node

    def __iter__(self) -> Iterator[str]:
        return iter(NAMESPACES)

    def __len__(self) -> int:
        return len(NAMESPACES)


SETTINGS = Struct(_Namespaces(), doc="Bottlerocket's settings, plus Kindling's own")
