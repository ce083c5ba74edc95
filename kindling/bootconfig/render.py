"""Write a `BootConfig` as text, in the three shapes the kernel world uses.

- `render_bootconfig`: Kindling's canonical file text, one full key per line —
  `key = "v1", "v2"` or a bare `key` for a key without value. This is the shape
  Bottlerocket's prairiedog writes into bootconfig.data and the only one that keeps
  "no value" apart from `""`, so parse(render(cfg)) == cfg.
- `render_compact`: what `tools/bootconfig <file>` prints (tabs, braces, `;`, single
  child chains folded with dots) — the `exp-good-*` conformance outputs.
- `render_proc`: what the kernel shows in /proc/bootconfig (fs/proc/bootconfig.c):
  `key = "v1", "v2"`, and `key = ""` for a key without value.

Quoting follows the kernel: `"` unless the value contains `"`, then `'`. Values
holding both cannot be written and were refused when the `BootConfig` was built.
"""

from __future__ import annotations

from collections.abc import Iterable

from kindling.bootconfig.model import BootConfig, TreeNode, build_tree

__all__ = ["quote_value", "render_bootconfig", "render_compact", "render_proc"]


def quote_value(value: str) -> str:
    q = "'" if '"' in value else '"'
    return f"{q}{value}{q}"


def _values(values: Iterable[str]) -> str:
    return ", ".join(quote_value(v) for v in values)


def render_bootconfig(cfg: BootConfig) -> str:
    """Canonical text: `key = "v"…` per line, bare `key` when it has no value."""
    return "".join(f"{k} = {_values(v)}\n" if v else f"{k}\n" for k, v in cfg.items())


def render_proc(cfg: BootConfig) -> str:
    """The text the kernel exposes as /proc/bootconfig for this configuration."""
    return "".join(f"{k} = {_values(v) if v else chr(34) * 2}\n" for k, v in cfg.items())


class _N:
    """A node in the kernel's first-child / next-sibling shape (values are one node)."""

    __slots__ = ("child", "is_value", "key", "next", "parent")

    def __init__(self, key: TreeNode, is_value: bool, parent: _N | None) -> None:
        self.key = key
        self.is_value = is_value
        self.parent = parent
        self.child: _N | None = None
        self.next: _N | None = None


def _link(nodes: Iterable[TreeNode], parent: _N | None) -> _N | None:
    first: _N | None = None
    prev: _N | None = None
    for tn in nodes:
        node = _N(tn, False, parent)
        kids: list[_N] = []
        if tn.values:
            kids.append(_N(tn, True, node))
        sub = _link(tn.keys.values(), node)
        if kids:
            kids[0].next = sub
            node.child = kids[0]
        else:
            node.child = sub
        if prev is None:
            first = node
        else:
            prev.next = node
        prev = node
    return first


def render_compact(cfg: BootConfig) -> str:
    """`tools/bootconfig` show output (xbc_show_compact_tree), byte for byte."""
    roots = build_tree((tuple(k.split(".")), v) for k, v in cfg.items())
    out: list[str] = []
    node = _link(roots.values(), None)
    cnode: _N | None = None
    depth = 0
    while node is not None and not node.is_value:
        out.append("\t" * depth)
        if cnode is None:
            cnode = node.child
        while cnode is not None and not cnode.is_value and cnode.next is None:
            vnode = cnode.child
            if vnode is not None and vnode.is_value and vnode.next is not None:
                break
            out.append(node.key.name + ".")
            node, cnode = cnode, vnode
        if cnode is not None and not cnode.is_value:
            out.append(node.key.name + " {\n")
            depth += 1
            node, cnode = cnode, None
            continue
        if cnode is not None and cnode.is_value:
            out.append(f"{node.key.name} = {_values(cnode.key.values or ())};\n")
            if cnode.next is not None:
                cnode = cnode.next
                continue
        else:
            out.append(node.key.name + ";\n")
        cnode = None
        if node.next is not None:
            node = node.next
            continue
        while node.next is None:
            parent = node.parent
            if parent is None:
                return "".join(out)
            node = parent
            first = node.child
            if first is None or first.next is None:
                continue
            if depth:
                depth -= 1
                out.append("\t" * depth + "}\n")
        node = node.next
    return "".join(out)
