"""Template consumers as appliers: one per `service` named by the declarations.

Registered through the `kindling.applier_sources` entry point, because user
declarations live under the root (`/etc/kindling/templates.d`) and so are known only
once there is a Host. With no Host (the model's owner check, docs) the shipped ones
are listed. A user declaration that fails to parse becomes an applier that fails with
its error, so a boot reports it instead of skipping it silently.
"""

from __future__ import annotations

import re
from typing import Any

from kindling.appliers import Applier
from kindling.host import Host
from kindling.templates.declaration import Declaration, load_declarations
from kindling.templates.errors import TemplateError

__all__ = ["template_appliers"]


def _glob(path: str) -> str:
    """`/etc/x/{{ name }}.yaml` -> `/etc/x/*.yaml`; `{% … %}` tags drop out."""
    return re.sub(r"\{%.*?%\}", "", re.sub(r"\{\{.*?\}\}", "*", path))


def _service_applier(service: str, decls: list[Declaration]) -> Applier:
    def apply(host: Host, settings: dict[str, Any]) -> list[str]:
        from kindling.templates.writer import apply_service, restart_consumer

        done, changed = apply_service(host, decls, settings)
        if changed:
            done.extend(restart_consumer(host, decls))
        return done

    prefixes = tuple(dict.fromkeys(p for d in decls for p in d.prefixes))
    # a per-entry (`each`) path is a template over the entry: each {{ … }} matches any name
    outputs = tuple(d.path if d.each is None else _glob(d.path) for d in decls)
    return Applier(name=service, prefixes=prefixes, apply=apply, outputs=outputs)


def _broken_applier(name: str, error: TemplateError) -> Applier:
    def apply(host: Host, settings: dict[str, Any]) -> list[str]:
        raise error

    return Applier(name=name, prefixes=(), apply=apply)


def grouped(decls: dict[str, Declaration]) -> dict[str, list[Declaration]]:
    """service -> its declarations in name order."""
    by_service: dict[str, list[Declaration]] = {}
    for decl in sorted(decls.values(), key=lambda d: d.name):
        by_service.setdefault(decl.service, []).append(decl)
    return dict(sorted(by_service.items()))


def template_appliers(host: Host | None) -> list[Applier]:
    """One applier per consumer of the shipped and the user's declarations."""
    decls, broken = load_declarations(host)
    found = [_service_applier(service, group) for service, group in grouped(decls).items()]
    found.extend(_broken_applier(name, err) for name, err in sorted(broken.items()))
    return found
