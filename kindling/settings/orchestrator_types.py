"""Modeled types of the orchestrator namespaces (kubernetes, ecs, containers), as
Bottlerocket's `modeled-types` (`kubernetes.rs`, `ecs.rs`, `oci_defaults.rs`) define them.

Same contract as `types`: a checker takes a decoded value and returns the normalised
value or raises `Invalid(rule)` naming the rule, never the value. Regexes are compiled
on first use (`re` caches them), so importing the model costs nothing (DESIGN §8).
"""

from __future__ import annotations

import re
from typing import Any

from kindling.settings.types import Check, Invalid, described, integer, kind_of, single_line

__all__ = [
    "apiclient_command",
    "ecs_attribute_key",
    "ecs_attribute_value",
    "ecs_duration",
    "env_var_name",
    "eviction_signal",
    "go_duration",
    "identifier",
    "image_reference",
    "int_or_digits",
    "ip_or_ip_list",
    "k8s_bootstrap_token",
    "k8s_cluster_name",
    "k8s_provider_id",
    "k8s_quantity",
    "k8s_threshold",
    "option_words",
]


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f"expected a string, got {kind_of(value)}")
    return value


def _matching(regex: str, rule: str, example: str) -> Check:
    def check(value: Any) -> str:
        s = _string(value)
        if not re.fullmatch(regex, s):
            raise Invalid(rule)
        return s

    check.__name__ = rule.replace(" ", "_")
    return described(rule[4:] if rule.startswith("not ") else rule, example)(check)


# Kubernetes resource.Quantity: a signed decimal, then a binary/decimal suffix or exponent.
k8s_quantity = _matching(
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?",
    "not a valid Kubernetes quantity (e.g. 100Mi, 10m, 1Gi)",
    "100Mi",
)


@described("a quantity (100Mi) or a percentage (15%)", "10%")
def k8s_threshold(value: Any) -> str:
    """Eviction threshold: a quantity (`100Mi`) or a percentage (`15%`, `2.5%`)."""
    s = _string(value)
    if re.fullmatch(r"(?:[0-9]+(?:\.[0-9]+)?)%", s) and float(s[:-1]) <= 100:
        return s
    try:
        return str(k8s_quantity(s))
    except Invalid:
        raise Invalid("not a valid eviction threshold (a quantity such as 100Mi, or a percentage)") from None


eviction_signal = _matching(
    r"memory\.available|nodefs\.available|nodefs\.inodesFree|imagefs\.available|imagefs\.inodesFree"
    r"|containerfs\.available|containerfs\.inodesFree|pid\.available",
    "not a kubelet eviction signal (memory.available, nodefs.available, nodefs.inodesFree, "
    "imagefs.available, imagefs.inodesFree, containerfs.available, containerfs.inodesFree, pid.available)",
    "memory.available",
)

# Go's time.ParseDuration units, which the kubelet reads: `30s`, `1h5m`, `1.5h`, `300ms`.
go_duration = _matching(
    r"(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+",
    "not a valid duration (e.g. 30s, 1h5m, 300ms)",
    "30s",
)

# The ECS agent's durations: hours, minutes, seconds in that order (`1h`, `1m1s`).
ecs_duration = _matching(
    r"(?=.)(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?",
    "not a valid ECS duration (units h, m, s, e.g. 1h, 1m1s)",
    "1h",
)

k8s_cluster_name = _matching(r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}", "not a valid cluster name", "my-cluster")

k8s_bootstrap_token = _matching(
    r"[a-z0-9]{6}\.[a-z0-9]{16}", "not a valid bootstrap token (6 and 16 characters of a-z0-9, joined by '.')",
    "abcdef.0123456789abcdef",
)

# A cloud provider's node ID, e.g. `aws:///us-west-2a/i-0123`: scheme, `://`, no blanks.
k8s_provider_id = _matching(r"[A-Za-z][A-Za-z0-9+.-]*://[!-~]*", "not a valid provider ID (scheme://…)",
                            "aws:///us-west-2a/i-0123456789abcdef0")

# A container image reference or URI: one token of printable ASCII.
image_reference = _matching(r"[!-~]{1,1024}", "not a valid image reference (one token, no blanks)",
                            "public.ecr.aws/docker/library/busybox:latest")

# Names under maps (static pods, credential providers, bootstrap commands…).
identifier = _matching(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}", "not a valid name (letters, digits, _ . -)", "my-name")

env_var_name = _matching(r"[A-Za-z_][A-Za-z0-9_]{0,255}", "not a valid environment variable name", "HTTPS_PROXY")

# ECS container-instance attributes (RegisterContainerInstance rules).
ecs_attribute_key = _matching(r"[A-Za-z0-9_./@:-]{1,128}", "not a valid ECS attribute name", "team")
ecs_attribute_value = _matching(r"[A-Za-z0-9_./@: -]{1,128}", "not a valid ECS attribute value", "web")

# Daemon options such as chrony's `iburst`, `minpoll 4`: words, single spaces, no quoting.
option_words = _matching(r"[A-Za-z0-9_.:-]+(?: [A-Za-z0-9_.:-]+)*", "not a valid option (words, single spaces)",
                         "iburst")


def int_or_digits(lo: int, hi: int) -> Check:
    """An integer in [lo, hi], also given as a string of digits (Bottlerocket before 1.14
    took image-gc thresholds as strings; both forms are accepted and stored as numbers)."""
    as_int = integer(lo, hi)

    def check(value: Any) -> int:
        if isinstance(value, str):
            if not re.fullmatch(r"[0-9]{1,10}", value):
                raise Invalid(f"expected an integer between {lo} and {hi}")
            value = int(value)
        result: int = as_int(value)
        return result

    return described(f"an integer from {lo} to {hi} (also as a string of digits)", lo if lo > 0 else min(hi, 1))(check)


@described("an IP address, or a list of them", "10.100.0.10")
def ip_or_ip_list(value: Any) -> str | list[str]:
    """kubernetes.cluster-dns-ip: one address, or a list of them (Bottlerocket's
    `KubernetesClusterDnsIp`: scalar or list)."""
    from kindling.settings.types import ip_address

    if isinstance(value, list):
        if not value:
            raise Invalid("expected an IP address or a non-empty list of them")
        out: list[str] = []
        for index, item in enumerate(value):
            try:
                out.append(ip_address(item))
            except Invalid as exc:
                raise Invalid(f"item {index}: {exc.rule}") from None
        return out
    result: str = ip_address(value)
    return result


@described('an argument list that starts with "apiclient"', ["apiclient", "set", "motd=hello"])
def apiclient_command(value: Any) -> list[str]:
    """One bootstrap command: `["apiclient", verb, …]`, each argument one line
    (Bottlerocket's bootstrap-commands run only apiclient)."""
    if not isinstance(value, list):
        raise Invalid(f"expected a list of arguments, got {kind_of(value)}")
    if not value or value[0] != "apiclient":
        raise Invalid("a bootstrap command must start with \"apiclient\"")
    if len(value) > 256:
        raise Invalid("more than 256 arguments")
    out: list[str] = []
    for index, arg in enumerate(value):
        try:
            out.append(single_line(arg))
        except Invalid as exc:
            raise Invalid(f"argument {index}: {exc.rule}") from None
    return out
