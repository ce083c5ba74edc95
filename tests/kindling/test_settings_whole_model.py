"""The keys beyond the settings reference's examples: each accepted with its type, and
bad values refused naming the full key and the rule (DESIGN §6)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kindling.errors import SettingsError
from kindling.settings import is_sensitive, validate_settings
from kindling.settings.pem import pem_bundle_base64
from kindling.settings.types import Invalid

# A structurally valid DER SEQUENCE in a PEM block (the check is structural, DESIGN §6)
_DER = bytes([0x30, 0x03, 0x02, 0x01, 0x01])
PEM = "-----BEGIN CERTIFICATE-----\n" + base64.b64encode(_DER).decode() + "\n-----END CERTIFICATE-----\n"
PEM_B64 = base64.b64encode(PEM.encode()).decode()


@pytest.mark.parametrize(
    "tree",
    [
        {"kernel": {"modules": {"nvme_tcp": {"autoload": True, "allowed": True}}}},
        {"ntp": {"time-servers": ["time.aws.com"], "options": ["iburst", "minpoll 4", "maxpoll 10"]}},
        {"bootstrap-commands": {"001-set": {"commands": [["apiclient", "set", "motd=hi"]], "mode": "once",
                                            "essential": True}}},
        {"host-containers": {"tools": {"source": "public.ecr.aws/x/y:1", "enabled": True,
                                       "command": ["/bin/sh", "-c", "sleep infinity"]}}},
        {"bootstrap-containers": {"init": {"source": "img:1", "mode": "always", "command": ["/setup"]}}},
        {"kubernetes": {"max-pods": 110, "provider-id": "aws:///us-west-2a/i-0123456789", "node-ip": "10.0.0.5",
                        "bootstrap-token": "abcdef.0123456789abcdef", "shutdown-grace-period": "1m30s",
                        "static-pods": {"web": {"enabled": True, "manifest": "YQ=="}},
                        "kube-reserved": {"cpu": "100m", "memory": "1.5Gi"}, "pod-pids-limit": -1,
                        "topology-manager-scope": "pod", "cloud-provider": ""}},
        {"ecs": {"container-stop-timeout": "1m1s", "loglevel": "crit", "reserved-memory": 256,
                 "logging-drivers": ["json-file", "awslogs", "none"]}},
        {"updates": {"version-lock": "v1.20.3", "seed": 4294967295, "ignore-waves": False,
                     "metadata-base-url": "https://updates.example/v1/"}},
        {"metrics": {"send-metrics": False, "service-checks": ["chronyd", "containerd.service"]}},
        {"oci-defaults": {"capabilities": {"sys-admin": False, "net-raw": True},
                          "resource-limits": {"max-open-files": {"hard-limit": 1048576, "soft-limit": 65536}}}},
        {"oci-hooks": {"log4j-hotpatch-enabled": True}},
        {"pki": {"corp": {"data": PEM_B64, "trusted": True}, "cleared": {"data": ""}}},
    ],
)
def test_whole_model_accepts(tree: dict[str, Any]) -> None:
    assert validate_settings(tree) == tree


def test_boot_aliases_are_stored_under_the_long_names() -> None:
    assert validate_settings({"boot": {"kernel": {"quiet": []}, "init": {"splash": []}}}) == {
        "boot": {"kernel-parameters": {"quiet": []}, "init-parameters": {"splash": []}}}
    with pytest.raises(SettingsError, match=r"settings\.boot\.kernel-parameters: given twice"):
        validate_settings({"boot": {"kernel": {"quiet": []}, "kernel-parameters": {"x": []}}})


def test_image_gc_thresholds_as_strings_are_stored_as_numbers() -> None:
    got = validate_settings({"kubernetes": {"image-gc-high-threshold-percent": "85"}})
    assert got == {"kubernetes": {"image-gc-high-threshold-percent": 85}}


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        ({"kernel": {"modules": {"a/b": {"allowed": False}}}},
         "settings.kernel.modules.a/b: not a valid kernel module name"),
        ({"kernel": {"modules": {"sctp": {"autoload": "yes"}}}},
         "settings.kernel.modules.sctp.autoload: expected a boolean"),
        ({"ntp": {"options": ["iburst\nserver evil"]}}, "settings.ntp.options.0: not a valid option"),
        ({"ntp": {"options": ["minpoll  4"]}}, "settings.ntp.options.0: not a valid option"),
        ({"ntp": {"time-servers": ["time .aws.com"]}}, "settings.ntp.time-servers.0: not a valid URL"),
        ({"bootstrap-commands": {"x": {"commands": [["rm", "-rf", "/"]]}}},
         'settings.bootstrap-commands.x.commands.0: a bootstrap command must start with "apiclient"'),
        ({"bootstrap-commands": {"x": {"commands": ["apiclient set motd=hi"]}}},
         "settings.bootstrap-commands.x.commands.0: expected a list of arguments"),
        ({"kubernetes": {"max-pods": 0}}, "settings.kubernetes.max-pods: must be between 1"),
        ({"kubernetes": {"eviction-hard": {"memory.free": "1%"}}},
         'settings.kubernetes.eviction-hard."memory.free": not a kubelet eviction signal'),
        ({"kubernetes": {"eviction-hard": {"memory.available": "150%"}}},
         'settings.kubernetes.eviction-hard."memory.available": not a valid eviction threshold'),
        ({"kubernetes": {"system-reserved": {"cpu": "ten"}}},
         "settings.kubernetes.system-reserved.cpu: not a valid Kubernetes quantity"),
        ({"kubernetes": {"system-reserved": {"gpu": "1"}}},
         "settings.kubernetes.system-reserved.gpu: not a reservable resource"),
        ({"kubernetes": {"cpu-manager-reconcile-period": "5 minutes"}},
         "settings.kubernetes.cpu-manager-reconcile-period: not a valid duration"),
        ({"kubernetes": {"bootstrap-token": "short"}}, "settings.kubernetes.bootstrap-token: not a valid bootstrap"),
        ({"kubernetes": {"image-gc-low-threshold-percent": "101"}},
         "settings.kubernetes.image-gc-low-threshold-percent: must be between 0 and 100"),
        ({"kubernetes": {"cluster-dns-ip": ["10.0.0.1", "x"]}},
         "settings.kubernetes.cluster-dns-ip: item 1: not a valid IP address"),
        ({"kubernetes": {"max-pod": 3}}, "settings.kubernetes.max-pod: unknown key"),
        ({"ecs": {"task-cleanup-wait": "3d"}}, "settings.ecs.task-cleanup-wait: not a valid ECS duration"),
        ({"ecs": {"image-pull-behavior": "never"}}, "settings.ecs.image-pull-behavior: must be one of"),
        ({"updates": {"version-lock": "newest"}}, "settings.updates.version-lock: not latest or a version"),
        ({"updates": {"seed": -1}}, "settings.updates.seed: must be between 0 and 4294967295"),
        ({"oci-defaults": {"capabilities": {"sys-everything": True}}},
         "settings.oci-defaults.capabilities.sys-everything: unknown key"),
        ({"container-runtime": {"max-container-log-line-size": -2}},
         "settings.container-runtime.max-container-log-line-size: must be between -1"),
        ({"host-containers": {"admin": {"source": "has blank"}}},
         "settings.host-containers.admin.source: not a valid image reference"),
        ({"pki": {"corp": {"data": base64.b64encode(b"hello").decode()}}},
         "settings.pki.corp.data: not a PEM certificate bundle"),
        ({"pki": {"corp": {"data": "W3N..."}}}, "settings.pki.corp.data: not valid base64"),
    ],
)
def test_whole_model_refuses_naming_key_and_rule(tree: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        validate_settings(tree, source="user-data")
    assert str(info.value).startswith("user-data: " + message), str(info.value)


def test_pem_checks_each_block() -> None:
    not_der = "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n"
    with pytest.raises(Invalid, match="certificate 0: not a DER-encoded certificate"):
        pem_bundle_base64(base64.b64encode(not_der.encode()).decode())
    bad_b64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"
    with pytest.raises(Invalid, match=r"not a PEM certificate bundle|not valid base64"):
        pem_bundle_base64(base64.b64encode(bad_b64.encode()).decode())
    key_too = PEM + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    with pytest.raises(Invalid, match="text outside CERTIFICATE blocks"):
        pem_bundle_base64(base64.b64encode(key_too.encode()).decode())
    assert pem_bundle_base64(base64.b64encode((PEM + PEM).encode()).decode())


@pytest.mark.parametrize(
    "key",
    [("kubernetes", "bootstrap-token"), ("kubernetes", "server-key"), ("aws", "credentials"), ("aws", "config"),
     ("container-registry", "credentials", "0", "password"), ("container-registry", "credentials", "1", "auth"),
     ("host-containers", "admin", "user-data"), ("bootstrap-containers", "x", "user-data")],
)
def test_sensitive_keys(key: tuple[str, ...]) -> None:
    assert is_sensitive(key)


def test_secret_values_never_appear_in_errors() -> None:
    secret = "abcdef.0123456789abcdeX"
    with pytest.raises(SettingsError) as info:
        validate_settings({"kubernetes": {"bootstrap-token": secret}})
    assert secret not in str(info.value)
