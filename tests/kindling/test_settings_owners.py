"""Every key of the settings model has an owner, and the registries agree (DESIGN §6, §10).

An `applier:` owner must be a registered applier whose prefixes cover the key; a
registered applier may only cover keys that name it; a `service:` owner must be a
registered boot stage. This is what makes "nothing silently ignored" checkable.
"""

from __future__ import annotations

from collections import Counter

import pytest

from kindling.appliers import Applier, ApplyOutcome, load_appliers
from kindling.boot import load_stages
from kindling.errors import InputError
from kindling.settings.nodes import Leaf, parse_owner
from kindling.settings.owners import affected_services, applier_gaps, covers, effects, model_keys, owners_of


def test_every_key_has_an_owner_and_every_applier_owner_is_registered_and_covers_it() -> None:
    problems = applier_gaps(load_appliers())
    assert problems == [], "\n".join(problems)


def test_service_owners_are_registered_boot_stages() -> None:
    stages = {s.name for s in load_stages()}
    wrong = [
        f"{k.dotted}: {o}"
        for k in model_keys()
        for o in k.owners
        if parse_owner(o)[0] == "service" and parse_owner(o)[1] not in stages
    ]
    assert wrong == []


def test_owner_counts_cover_the_three_kinds() -> None:
    counts = Counter(parse_owner(o)[0] for k in model_keys() for o in k.owners)
    assert set(counts) == {"applier", "service", "stored"}
    assert sum(1 for _ in model_keys()) > 150  # the whole Bottlerocket model, not a sample


def test_gaps_are_reported_for_an_unregistered_or_uncovering_applier() -> None:
    registered = load_appliers()
    without_motd = [a for a in registered if a.name != "motd"]
    assert "settings.motd: owner applier:motd is not a registered applier" in applier_gaps(without_motd)
    narrowed = [*without_motd, Applier("motd", ("kernel.sysctl",), lambda h, s: [])]
    gaps = applier_gaps(narrowed)
    assert "settings.motd: owner applier:motd has no prefix covering it" in gaps
    assert any(g.startswith("settings.kernel.sysctl.*: applier motd covers it") for g in gaps)
    stray = [*registered, Applier("stray", ("no-such-namespace",), lambda h, s: [])]
    assert "applier stray: prefix no-such-namespace names no key of the model" in applier_gaps(stray)


def test_malformed_owner_is_a_model_bug() -> None:
    with pytest.raises(ValueError, match="malformed owner"):
        Leaf(str, owner="kubelet")
    with pytest.raises(ValueError, match="malformed owner"):
        Leaf(str, owner="applier:")


def test_covers_matches_map_keys() -> None:
    assert covers("kernel.sysctl", ("kernel", "sysctl", "*"))
    assert covers("kernel", ("kernel", "modules", "*", "allowed"))
    assert not covers("kernel.sysctl", ("kernel", "lockdown"))
    assert not covers("kernel.sysctl.x.y", ("kernel", "sysctl", "*"))


def test_owners_are_inherited_and_overridden() -> None:
    assert owners_of(["kubernetes", "max-pods"]) == ("applier:kubelet",)
    assert "applier:netdog-proxy" in owners_of(["kubernetes", "api-server"])
    assert owners_of(["kernel", "sysctl", "vm.swappiness"]) == owners_of(["kernel", "sysctl"])
    assert owners_of(["autoscaling", "should-wait"]) == ("service:warm-pool-wait",)
    assert owners_of(["nope"]) == ()
    # a subtree answers for every key below it, each owner once
    assert set(owners_of(["autoscaling"])) == {"service:warm-pool-wait", "service:lifecycle-complete"}


def test_affected_services_names_owners_and_refuses_unknown_keys() -> None:
    got = affected_services(["settings.motd", "settings.kubernetes.max-pods", "settings.cloudformation"])
    assert got == {"settings.motd": ["motd"], "settings.kubernetes.max-pods": ["kubelet"],
                   "settings.cloudformation": ["cfsignal"]}
    with pytest.raises(InputError, match=r"settings\.nope: unknown key"):
        affected_services(["settings.nope"])
    with pytest.raises(InputError, match="must start with 'settings'"):
        affected_services(["motd"])


def test_effects_say_applied_read_or_stored() -> None:
    outcomes = [ApplyOutcome("motd", True, "wrote /etc/motd"), ApplyOutcome("netdog-proxy", False, "disk full")]
    lines = [e.line() for e in effects(
        ["settings.motd", "settings.updates.ignore-waves", "settings.cloudformation.should-signal",
         "settings.network.https-proxy"], outcomes)]
    assert lines == [
        "settings.motd: applied by motd",
        "settings.updates.ignore-waves: stored for updater",
        "settings.cloudformation.should-signal: read by cfsignal at boot",
        "settings.network.https-proxy: not applied: netdog-proxy failed",
    ]
    assert effects(["settings.motd"], [])[0].effect == "stored: applier motd did not run"
    assert effects(["settings.motd"], None)[0].effect == "applied by motd"


def test_a_commit_of_one_namespace_imports_only_that_namespace() -> None:
    """The root loads namespace modules on first lookup (DESIGN §8): validating
    `settings.motd` must not import the kubernetes or ecs tables."""
    import subprocess
    import sys

    code = ("import sys; from kindling.settings import validate_settings; validate_settings({'motd': 'x'}); "
            "print(sorted(m for m in sys.modules if m.startswith('kindling.settings.model.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['kindling.settings.model.motd']"


def test_every_key_is_described() -> None:
    missing = [k.dotted for k in model_keys() if not k.doc]
    assert missing == []
