"""The settings model: typed, strict, full dotted paths, never the value."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kindling.errors import SettingsError
from kindling.settings import is_sensitive, validate_settings
from kindling.settings import types as t

SECRET = "c2VjcmV0LWNhbmFyeS12YWx1ZS0xMjM0"


def error_of(tree: dict[str, Any]) -> str:
    with pytest.raises(SettingsError) as info:
        validate_settings(tree, source="user-data")
    return str(info.value)


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        ({"network": {"hostname": "-bad"}}, "settings.network.hostname: not a valid Linux hostname"),
        ({"network": {"hostname": "UPPER"}}, "settings.network.hostname: not a valid Linux hostname"),
        ({"network": {"hostname": "a" * 64}}, "settings.network.hostname: not a valid Linux hostname"),
        ({"network": {"colour": "x"}}, "settings.network.colour: unknown key"),
        ({"nope": 1}, "settings.nope: unknown key"),
        ({"motd": 5}, "settings.motd: expected a string, got an integer"),
        ({"network": "x"}, "settings.network: expected a table, got a string"),
        ({"dns": {"name-servers": ["1.1.1.1", "one"]}}, "settings.dns.name-servers.1: not a valid IP address"),
        ({"dns": {"name-servers": "1.1.1.1"}}, "settings.dns.name-servers: expected a list, got a string"),
        ({"network": {"https-proxy": "http://exa mple"}}, "settings.network.https-proxy: not a valid URL"),
        ({"kernel": {"sysctl": {"net.ipv4.ip_forward": 1}}},
         'settings.kernel.sysctl."net.ipv4.ip_forward": expected a string, got an integer'),
        ({"kernel": {"sysctl": {"bad key": "1"}}}, 'settings.kernel.sysctl."bad key": not a valid sysctl key'),
        ({"kernel": {"lockdown": "max"}}, "settings.kernel.lockdown: must be one of none, integrity, confidentiality"),
        ({"aws": {"credentials": "not base64!"}}, "settings.aws.credentials: not valid base64"),
        ({"cloudformation": {"stack-name": "a\nb"}}, "settings.cloudformation.stack-name: must be a single line"),
        ({"cloudformation": {"should-signal": "yes"}},
         "settings.cloudformation.should-signal: expected a boolean, got a string"),
        ({"kdump": {"keep": 0}}, "settings.kdump.keep: must be between 1 and 1000"),
        ({"kdump": {"keep": True}}, "settings.kdump.keep: expected an integer, got a boolean"),
        ({"boot": {"kernel-parameters": {"a..b": ["1"]}}},
         'settings.boot.kernel-parameters."a..b": not a valid bootconfig key'),
        ({"boot": {"kernel-parameters": {"console": ["a'\""]}}},
         "settings.boot.kernel-parameters.console.0: not a valid bootconfig value"),
        ({"kubernetes": {"node-taints": {"dedicated": ["gpu:Sometimes"]}}},
         "settings.kubernetes.node-taints.dedicated.0: not a valid Kubernetes taint"),
        ({"host-containers": {"Admin": {"enabled": True}}},
         "settings.host-containers.Admin: not a valid container name"),
        ({"network": {"hosts": [["10.0.0.1", ["ok", "-no"]]]}},
         "settings.network.hosts: entry 0: not a valid Linux hostname"),
    ],
)
def test_errors_name_the_full_key_and_rule(tree: dict[str, Any], message: str) -> None:
    assert error_of(tree).startswith("user-data: " + message)


def test_values_are_never_echoed() -> None:
    for tree in (
        {"aws": {"credentials": SECRET + "!"}},
        {"network": {"hostname": SECRET}},
        {"motd": SECRET + "\x00"},
        {"network": {"https-proxy": SECRET + " x"}},
    ):
        assert SECRET not in error_of(tree)


def test_a_full_valid_tree_round_trips() -> None:
    tree = {
        "motd": "hello\nworld",
        "aws": {"region": "us-west-2", "credentials": "YWJj", "profile": "default"},
        "network": {
            "hostname": "ip-10-0-0-1.us-west-2.compute.internal",
            "hosts": [["10.0.0.1", ["a", "b.c"]]],
            "https-proxy": "proxy.local:3128",
            "no-proxy": [".local", "10.0.0.0/8"],
        },
        "dns": {"name-servers": ["1.1.1.1", "2606:4700::1111"], "search-list": ["a.b"]},
        "ntp": {"time-servers": ["169.254.169.123", "time.aws.com"]},
        "kernel": {
            "sysctl": {"net.ipv4.ip_forward": "1", "vm.max_map_count": "262144"},
            "lockdown": "integrity",
            "modules": {"sctp": {"allowed": False}},
        },
        "boot": {
            "reboot-to-reconcile": True,
            "kernel-parameters": {"console": ["tty0", "ttyS0,115200n8"], "crashkernel": ["256M"]},
            "init-parameters": {"log_level": ["debug"]},
        },
        "kdump": {"enabled": True, "crashkernel": "1G-4G:192M,4G-64G:256M,64G-:512M", "keep": 3},
        "cloudformation": {"should-signal": True, "stack-name": "s", "logical-resource-id": "ASG"},
        "autoscaling": {"should-wait": True, "lifecycle-hook-name": "launch-hook"},
        "kubernetes": {
            "cluster-name": "prod-1",
            "api-server": "https://api.example.com:6443",
            "cluster-domain": "cluster.local",
            "node-ip": "10.0.0.1",
            "node-labels": {"node.kubernetes.io/pool": "gpu", "team": ""},
            "node-taints": {"nvidia.com/gpu": ["true:NoSchedule", ":NoExecute"]},
        },
        "gpu": {"nvidia": {"flavor": "open"}},
        "host-containers": {"admin": {"source": "repo/admin:v1", "enabled": True,
                                      "superpowered": True, "user-data": "e30="}},
        "bootstrap-containers": {"setup": {"source": "s", "mode": "once", "essential": False}},
    }
    assert validate_settings(tree) == tree


@pytest.mark.parametrize("name", ["a", "a.b", "ip-10-0-0-1.ec2.internal", "a" * 63, "x-1.", "0.0"])
def test_hostname_accepts(name: str) -> None:
    assert t.hostname(name) == name


@pytest.mark.parametrize("name", ["", "-a", ".a", "a..b", "a.-b", "a_b", "A", "a" * 254])
def test_hostname_refuses(name: str) -> None:
    with pytest.raises(t.Invalid):
        t.hostname(name)


@pytest.mark.parametrize("url", ["https://example.com", "example.com:3128", "10.0.0.1", "http://[::1]:80/x",
                                 "proxy", "socks5://u:p@h:1080"])
def test_url_accepts_with_or_without_scheme(url: str) -> None:
    assert t.url(url) == url


@pytest.mark.parametrize("url", ["", "http://", "a b", "http://host:99999", "http://exa_m ple", "://x"])
def test_url_refuses(url: str) -> None:
    with pytest.raises(t.Invalid):
        t.url(url)


def test_sensitive_keys() -> None:
    assert is_sensitive(["aws", "credentials"])
    assert is_sensitive(["aws", "config"])
    assert is_sensitive(["host-containers", "admin", "user-data"])
    assert not is_sensitive(["motd"])


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=10), c, max_size=3),
                    max_leaves=12))
def test_only_settings_errors_escape(tree: Any) -> None:
    try:
        validate_settings({"network": tree, "kernel": {"sysctl": tree}})
    except SettingsError as exc:
        assert str(exc).startswith("settings.")
