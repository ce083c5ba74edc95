"""Generators: values computed at first boot for settings the user left unset
(Bottlerocket's sundog and its setting generators).

A service registers a `Generator` under the entry-point group `kindling.generators`
for one key (`network.hostname`, `kubernetes.node-ip`, …). early-boot-config calls
`run_generators` after merging user data and before its one commit, so generated values
go into the same launch transaction as the user data (all or nothing, DESIGN §7).
Rules kept from sundog: a key that is set (by user data or already live) is never
generated, so a user's value is never overwritten; a generator that fails or has no
answer leaves its key unset and says so, without failing the boot; a generated value
passes the same model as user data. A generator may require a prefix to be set first
(`requires="kubernetes"`): Kindling has no variants, so a node that configures nothing
for Kubernetes gets no generated `kubernetes.*` keys. Under `--plan` nothing is asked of the network:
each key that would be generated is reported as "would generate".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kindling.dotted import parse_key
from kindling.errors import KindlingError
from kindling.host import Host
from kindling.record import field, record

__all__ = ["GenerateReport", "Generator", "load_generators", "run_generators"]

# (value, which source gave it) or None when no source answered
Generated = tuple[Any, str] | None


@record(frozen=True)
class Generator:
    """`generate(host, platform)` computes `key` (dotted, below `settings`)."""

    name: str
    key: str
    generate: Callable[[Host, str], Generated]
    sources: str  # what it asks, in order, for plans and reports
    platforms: tuple[str, ...] | None = None
    # a settings prefix that must hold something first (the kubernetes.* generators run
    # only on a node configured for Kubernetes, as Bottlerocket runs pluto only on its
    # Kubernetes variants)
    requires: str | None = None


@record
class GenerateReport:
    tree: dict[str, Any] = field(default_factory=dict)
    generated: list[str] = field(default_factory=list)  # dotted keys, with `settings.`
    lines: list[str] = field(default_factory=list)


def load_generators() -> list[Generator]:
    from kindling.registry import load

    found = [g for g in load("kindling.generators") if isinstance(g, Generator)]
    return sorted(found, key=lambda g: (g.key, g.name))


def _is_set(tree: dict[str, Any], segments: list[str]) -> bool:
    node: Any = tree
    for segment in segments:
        if not isinstance(node, dict) or segment not in node:
            return False
        node = node[segment]
    return node is not None


def _nest(segments: list[str], value: Any) -> dict[str, Any]:
    out: Any = value
    for segment in reversed(segments):
        out = {segment: out}
    result: dict[str, Any] = out
    return result


def run_generators(
    host: Host,
    platform: str,
    present: dict[str, Any],
    generators: list[Generator] | None = None,
) -> GenerateReport:
    """Generate every unset key whose generator serves `platform`; `present` is the
    live settings merged with this boot's user data."""
    from kindling.merge import merge
    from kindling.settings import validate_settings

    report = GenerateReport()
    for gen in generators if generators is not None else load_generators():
        if gen.platforms is not None and platform not in gen.platforms:
            continue
        segments = parse_key(gen.key)
        key = "settings." + gen.key
        if _is_set(present, segments):
            continue
        if gen.requires is not None and not _is_set(present, parse_key(gen.requires)):
            continue
        if host.recording:
            report.lines.append(f"would generate {key} ({gen.sources})")
            continue
        try:
            found = gen.generate(host, platform)
        except KindlingError as exc:
            report.lines.append(f"{key} not generated: {exc}")
            continue
        if found is None:
            report.lines.append(f"{key} not generated: no answer from {gen.sources}")
            continue
        value, source = found
        try:
            piece = validate_settings(_nest(segments, value), source=f"generator {gen.name}")
        except KindlingError as exc:
            report.lines.append(f"{key} not generated: {exc}")
            continue
        report.tree = merge(report.tree, piece)
        report.generated.append(key)
        report.lines.append(f"generated {key} from {source}")
    return report
