"""Who makes each settings key take effect, read from the model (DESIGN §6, §10).

Every key of the model has an owner (`kindling.settings.nodes`): an applier that acts
on it now, a boot stage that reads it at boot, or an external consumer it is stored
for. This module answers from that one table: the owners of a key or a subtree
(`GET /metadata/affected-services`), the keys of the whole model (the owner test,
`settings describe`), and what happened to each changed key after a commit (the
lines `apiclient set`, `early-boot-config` and `boot` print).

A *key* here is what a commit changes: a `Leaf`, or a `ListOf` (lists are replaced
whole). Map keys and list indices read `*` in patterns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from kindling.dotted import format_key, parse_key
from kindling.errors import InputError
from kindling.settings.nodes import Leaf, ListOf, MapOf, Node, Owners, Struct, parse_owner

if TYPE_CHECKING:
    from kindling.appliers import Applier, ApplyOutcome

__all__ = [
    "KeyEffect",
    "ModelKey",
    "affected_services",
    "applier_gaps",
    "covers",
    "describe_owner",
    "effects",
    "model_keys",
    "owners_of",
]


class ModelKey:
    """One key of the model: its pattern (`("kernel", "sysctl", "*")`), node, owners,
    and its description (a map entry's is the map's: `kernel.sysctl.*`)."""

    __slots__ = ("doc", "node", "owners", "pattern")

    def __init__(self, pattern: tuple[str, ...], node: Leaf | ListOf, owners: Owners, doc: str = "") -> None:
        self.pattern = pattern
        self.node = node
        self.owners = owners
        self.doc = node.doc or doc

    @property
    def dotted(self) -> str:
        return format_key(("settings", *self.pattern))


def _merge(inherited: Owners, own: Owners) -> Owners:
    return own if own else inherited


def model_keys(
    node: Node | None = None, prefix: tuple[str, ...] = (), inherited: Owners = (), doc: str = ""
) -> Iterator[ModelKey]:
    """Every key below `node` (the whole model by default), owners resolved."""
    if node is None:
        from kindling.settings.model import SETTINGS

        node = SETTINGS
    owners = _merge(inherited, node.owners)
    if isinstance(node, Leaf | ListOf):
        yield ModelKey(prefix, node, owners, doc)
    elif isinstance(node, MapOf):
        yield from model_keys(node.value, (*prefix, "*"), owners, node.doc)
    else:
        for name, child in node.fields.items():
            yield from model_keys(child, (*prefix, name), owners)


def _descend(segments: list[str]) -> tuple[Node | None, Owners]:
    """The node at `segments` (below `settings`) and the owners in force there."""
    from kindling.settings.model import SETTINGS

    node: Node = SETTINGS
    owners: Owners = node.owners
    for segment in segments:
        if isinstance(node, Struct):
            found = node.fields.get(node.aliases.get(segment, segment))
        elif isinstance(node, MapOf):
            try:
                node.key(segment)
            except ValueError:
                return None, owners
            found = node.value
        elif isinstance(node, ListOf):
            break  # inside a list: the list is the key
        else:
            return None, owners  # below a leaf
        if found is None:
            return None, owners
        node = found
        owners = _merge(owners, node.owners)
    return node, owners


def owners_of(segments: list[str] | tuple[str, ...]) -> Owners:
    """Owners of a key or subtree (below `settings`): a subtree answers for all its keys,
    in model order, each owner once. Unknown keys have none."""
    node, owners = _descend(list(segments))
    if node is None:
        return ()
    if isinstance(node, Leaf | ListOf):
        return owners
    seen: dict[str, None] = {}
    for key in model_keys(node, (), owners):
        for owner in key.owners:
            seen.setdefault(owner, None)
    return tuple(seen)


def covers(prefix: str, pattern: tuple[str, ...]) -> bool:
    """An applier prefix (`kernel.sysctl`) covers a key pattern below it (`*` matches any)."""
    wanted = parse_key(prefix)
    if len(wanted) > len(pattern):
        return False
    return all(p in ("*", w) for w, p in zip(wanted, pattern, strict=False))


def affected_services(keys: Iterable[str]) -> dict[str, list[str]]:
    """`GET /metadata/affected-services?keys=…`: each key → the names of its owners.

    Bottlerocket answers with service names; here an owner's name is the applier, the
    boot stage or the consumer (`motd`, `cfsignal`, `kubelet`). A key the model does
    not have is refused with its name, as everywhere else."""
    out: dict[str, list[str]] = {}
    for key in keys:
        segments = parse_key(key, source="keys")
        if segments[0] != "settings":
            raise InputError("keys must start with 'settings'", source="keys")
        owners = owners_of(segments[1:])
        if not owners:
            raise InputError(f"{format_key(segments)}: unknown key", source="keys")
        names: dict[str, None] = {}
        for owner in owners:
            names.setdefault(parse_owner(owner)[1], None)
        out[key] = list(names)
    return out


def describe_owner(owner: str, outcomes: dict[str, ApplyOutcome] | None = None) -> str:
    """One owner as the report says it: applied by X / read by Y at boot / stored for Z."""
    kind, name = parse_owner(owner)
    if kind == "service":
        return f"read by {name} at boot"
    if kind == "stored":
        return f"stored for {name}"
    if outcomes is None:
        return f"applied by {name}"
    outcome = outcomes.get(name)
    if outcome is None:
        return f"stored: applier {name} did not run"
    return f"applied by {name}" if outcome.ok else f"not applied: {name} failed"


class KeyEffect:
    """What a commit did with one changed key."""

    __slots__ = ("effect", "key", "owners")

    def __init__(self, key: str, owners: Owners, effect: str) -> None:
        self.key = key
        self.owners = owners
        self.effect = effect

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "owners": list(self.owners), "effect": self.effect}

    def line(self) -> str:
        return f"{self.key}: {self.effect}"


def effects(changed: Iterable[str], outcomes: Iterable[ApplyOutcome] | None) -> list[KeyEffect]:
    """Per changed key (`settings.…`), what happened, from the owners and the appliers'
    outcomes (None: nothing was applied yet, e.g. a plan)."""
    by_name = {o.name: o for o in outcomes} if outcomes is not None else None
    out: list[KeyEffect] = []
    for key in changed:
        segments = parse_key(key)
        owners = owners_of(segments[1:] if segments[0] == "settings" else segments)
        text = "; ".join(describe_owner(o, by_name) for o in owners) or "stored (no owner declared)"
        out.append(KeyEffect(key, owners, text))
    return out


def applier_gaps(appliers: Iterable[Applier]) -> list[str]:
    """Model/registry disagreements, one line each (empty when they agree):
    an `applier:` owner that is not registered or whose prefixes miss the key, a
    registered applier covering a key that does not name it, a key with no owner."""
    registered = {a.name: a for a in appliers}
    problems: list[str] = []
    keys = list(model_keys())
    for key in keys:
        if not key.owners:
            problems.append(f"{key.dotted}: no owner")
        for owner in key.owners:
            kind, name = parse_owner(owner)
            if kind != "applier":
                continue
            applier = registered.get(name)
            if applier is None:
                problems.append(f"{key.dotted}: owner {owner} is not a registered applier")
            elif not any(covers(p, key.pattern) for p in applier.prefixes):
                problems.append(f"{key.dotted}: owner {owner} has no prefix covering it")
    for applier in registered.values():
        for prefix in applier.prefixes:
            hit = [k for k in keys if covers(prefix, k.pattern)]
            if not hit:
                problems.append(f"applier {applier.name}: prefix {prefix} names no key of the model")
            for key in hit:
                if f"applier:{applier.name}" not in key.owners:
                    problems.append(f"{key.dotted}: applier {applier.name} covers it but is not an owner")
    return problems
