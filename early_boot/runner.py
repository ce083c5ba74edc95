"""Run the providers, merge, validate, commit once, mark (DESIGN §5, §7).

Bottlerocket PATCHes each provider's data as soon as it arrives, so a failing
provider leaves earlier data pending in `bottlerocket-launch`. Here every provider
runs first, each result is validated on its own (so an error can name the provider,
its source and the key), the merge is validated as a whole, and only then one
`set_tree` commits the lot in a single datastore transaction. Any failure before
that point has not opened the datastore at all; the marker is written last, so a
failed run is retried on the next boot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from early_boot import MARKER_PATH
from early_boot.errors import ProviderError
from kindling import log
from kindling.dotted import parse_key
from kindling.errors import InputError, KindlingError, PlanBoundary, SettingsError
from kindling.host import Host
from kindling.merge import flatten, merge
from kindling.providers import UserDataProvider, load_providers
from kindling.record import field, record
from kindling.settings import validate_settings
from kindling.user_data import register_secrets

if TYPE_CHECKING:
    from kindling.api.service import SettingsService
    from kindling.settings.owners import KeyEffect

__all__ = [
    "LAUNCH_TX",
    "MARKER_PATH",
    "UNREAD",
    "EarlyBootReport",
    "ProviderOutcome",
    "effect_line",
    "plan_providers",
    "run_early_boot",
]

LAUNCH_TX = "kindling-launch"
UNREAD = "not read: a plan sends no request"


@record(frozen=True)
class ProviderOutcome:
    """One provider's result: the source it read and how many keys it gave (no values)."""

    name: str
    order: int
    source: str | None
    keys: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "order": self.order, "source": self.source, "keys": self.keys}


@record
class EarlyBootReport:
    platform: str
    skipped: str | None = None
    providers: list[ProviderOutcome] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    applier_failures: list[str] = field(default_factory=list)
    effects: list[KeyEffect] = field(default_factory=list)
    generated: list[str] = field(default_factory=list)  # one line per generator that ran

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "skipped": self.skipped,
            "providers": [p.to_json() for p in self.providers],
            "changed": self.changed,
            "applier_failures": self.applier_failures,
            "effects": [e.to_json() for e in self.effects],
            "generated": self.generated,
        }


def effect_line(host: Host, effect: KeyEffect) -> str:
    """A changed key's effect; under `--plan` nothing was applied, so it says what would be."""
    line = effect.line()
    if host.recording:
        for sep in (": ", "; "):
            line = line.replace(f"{sep}applied by ", f"{sep}would be applied by ")
    return line


def plan_providers(host: Host, platform: str) -> list[UserDataProvider]:
    """The built-in providers for `platform` plus the external ones, in run order."""
    from early_boot.external import discover_external

    providers = load_providers(platform) + discover_external(host, platform)
    return sorted(providers, key=lambda p: (p.order, p.name))


def _unwrap(exc: InputError) -> str:
    """The message of `exc` without its `source: ` prefix (the caller re-attaches it)."""
    text = str(exc)
    prefix = f"{exc.source}: " if exc.source else ""
    return text[len(prefix) :] if prefix and text.startswith(prefix) else text


def _read(provider: UserDataProvider, host: Host) -> tuple[dict[str, Any], str] | None:
    try:
        data = provider.read(host)
    except PlanBoundary:
        raise
    except InputError as exc:
        raise ProviderError(provider.name, _unwrap(exc), source=exc.source) from exc
    except KindlingError as exc:
        raise ProviderError(provider.name, str(exc), source=provider.description or None) from exc
    if data is None:
        return None
    register_secrets(data.settings)
    try:
        tree = validate_settings(data.settings, source=data.source)
    except SettingsError as exc:
        raise ProviderError(provider.name, _unwrap(exc), source=data.source) from exc
    return tree, data.source


def run_early_boot(
    host: Host,
    platform: str,
    *,
    providers: list[UserDataProvider] | None = None,
) -> EarlyBootReport:
    """Read every provider for `platform` and commit their merged settings, or nothing."""
    logger = log.get("early-boot-config")
    report = EarlyBootReport(platform)
    from kindling.first_boot import marker_done

    if marker_done(host, MARKER_PATH, "early-boot-config"):
        report.skipped = f"{MARKER_PATH} exists (user data already applied)"
        return report
    chosen = providers if providers is not None else plan_providers(host, platform)
    merged: dict[str, Any] = {}
    origin: dict[tuple[str, ...], tuple[str, str]] = {}
    for provider in chosen:
        try:
            found = _read(provider, host)
        except PlanBoundary as stop:
            # a plan sends no request: this provider's user data stays unknown
            host.actions.append(f"{stop.what} (provider {provider.name}; its user data is not part of this plan)")
            report.providers.append(ProviderOutcome(provider.name, provider.order, UNREAD, 0))
            continue
        if found is None:
            logger.info("no user data", provider=provider.name)
            report.providers.append(ProviderOutcome(provider.name, provider.order, None, 0))
            continue
        tree, source = found
        leaves = [path for path, _ in flatten(tree)]
        logger.info("user data found", provider=provider.name, source=source, keys=len(leaves))
        report.providers.append(ProviderOutcome(provider.name, provider.order, source, len(leaves)))
        merged = merge(merged, tree)
        origin.update(dict.fromkeys(leaves, (provider.name, source)))
    try:
        merged = validate_settings(merged, source="merged user data")
    except SettingsError as exc:
        # Each provider's data passed on its own; name the one that set the key last.
        last = origin.get(tuple(parse_key(exc.key)[1:]))
        name, source = last if last else ("merge", "merged user data")
        raise ProviderError(name, _unwrap(exc), source=source) from exc
    from kindling.api.service import SettingsService
    from kindling.datastore import DATASTORE_PATH
    from kindling.generators import run_generators

    service = SettingsService(host)
    existing = host.path(DATASTORE_PATH).exists()  # a fresh node has nothing stale (and no file)
    live = service.get_settings() if existing else {}
    # Generators fill only keys that neither user data nor the live tree set; their
    # values join the user data in the same launch transaction (sundog's place).
    generated = run_generators(host, platform, merge(live, merged))
    report.generated = generated.lines
    for line in generated.lines:
        logger.info("generator", detail=line)
    if generated.tree:
        merged = merge(merged, generated.tree)
        origin.update(dict.fromkeys((p for p, _ in flatten(generated.tree)), ("generators", "generated")))
    if merged:
        if existing:
            _drop_stale_launch_tx(service)
        sources = ", ".join(sorted({f"{name} ({src})" for name, src in origin.values()}))
        commit = service.set_tree(merged, tx=LAUNCH_TX, source=f"early-boot-config: {sources}")
        report.changed = commit.changed
        report.effects = commit.effects()
        report.applier_failures = [f"{o.name}: {o.detail}" for o in commit.applied if not o.ok]
        for failure in report.applier_failures:
            logger.warning("applier failed after commit", detail=failure)
    _write_marker(host, report)
    return report


def _drop_stale_launch_tx(service: SettingsService) -> None:
    """A run killed between PATCH and commit leaves pending keys: never commit those."""
    from contextlib import suppress

    from kindling.errors import NotFoundError

    with suppress(NotFoundError):
        service.delete_tx(LAUNCH_TX)


def _write_marker(host: Host, report: EarlyBootReport) -> None:
    """The marker says which sources were read and how many keys changed (no values)."""
    body = {
        "platform": report.platform,
        "at": round(host.clock.time(), 3),
        "providers": [p.to_json() for p in report.providers],
        "changed_keys": len(report.changed),
    }
    from kindling.first_boot import write_marker

    write_marker(host, MARKER_PATH, body)
