"""The shipped consumers against their real readers: the kubelet's type definitions,
a YAML loader for kubeconfigs, openssl for the CA, `containerd config dump`, and every
kubernetes / ecs / container-registry / container-runtime example of the settings
reference committed on top of an aws-k8s node's user data."""

from __future__ import annotations

import base64
import copy
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from kindling.api.service import SettingsService
from kindling.errors import SettingsError
from kindling.merge import merge
from kindling.templates.declaration import shipped_declarations
from kindling.templates.render import render_declaration
from tests.templates.conftest import commit, host_of, outcomes

DATA = Path(__file__).parent / "data"


def _ca_b64(tmp: Path) -> str:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp / "ca.key"),
                    "-out", str(tmp / "ca.pem"), "-days", "1", "-subj", "/CN=kindling-test-cluster-ca"],
                   check=True, capture_output=True)
    return base64.b64encode((tmp / "ca.pem").read_bytes()).decode()


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _ca_b64(tmp_path_factory.mktemp("ca"))


def aws_k8s(ca: str) -> dict[str, Any]:
    """What an EKS node's user data holds (Bottlerocket's aws-k8s quickstart)."""
    return {
        "kubernetes": {"api-server": "https://ABCDEF.gr7.us-west-2.eks.amazonaws.com",
                       "cluster-certificate": ca, "cluster-name": "bottlerocket",
                       "cluster-dns-ip": "10.100.0.10"},
        "aws": {"region": "us-west-2"},
    }


def maximal_kubernetes(ca: str) -> dict[str, Any]:
    """Every kubernetes key that reaches the kubelet configuration, set."""
    k = aws_k8s(ca)
    k["kubernetes"].update({
        "cluster-dns-ip": ["10.0.0.1", "10.0.0.2"], "cluster-domain": "k8s.example", "max-pods": 58,
        "node-ip": "192.0.2.10", "hostname-override": "node-1.example", "provider-id": "aws:///us-west-2a/i-0123",
        "node-labels": {"label1": "foo", "example.com/role": "web"},
        "node-taints": {"dedicated": ["experimental:PreferNoSchedule", "experimental:NoExecute"],
                        "special": ["true:NoSchedule"]},
        "allowed-unsafe-sysctls": ["net.core.somaxconn", "net.ipv4.ip_local_port_range"],
        "container-log-max-files": 4, "container-log-max-size": "20Mi", "cpu-cfs-quota-enforced": False,
        "cpu-manager-policy": "static", "cpu-manager-policy-options": ["full-pcpus-only"],
        "cpu-manager-reconcile-period": "1h5m", "event-burst": 20, "event-qps": 10,
        "eviction-hard": {"memory.available": "15%"}, "eviction-soft": {"memory.available": "12%"},
        "eviction-soft-grace-period": {"memory.available": "30s"}, "eviction-max-pod-grace-period": 40,
        "image-gc-high-threshold-percent": "85", "image-gc-low-threshold-percent": 80,
        "kube-api-burst": 20, "kube-api-qps": 10, "log-level": 4,
        "kube-reserved": {"cpu": "80m", "memory": "893Mi", "ephemeral-storage": "1Gi"},
        "system-reserved": {"cpu": "10m", "memory": "100Mi", "ephemeral-storage": "1Gi"},
        "memory-manager-policy": "Static",
        "memory-manager-reserved-memory": {"0": {"enabled": True, "memory": "674Mi", "hugepages-1Gi": "1Gi"},
                                           "1": {"enabled": True, "hugepages-2Mi": "2148Mi"}},
        "pod-pids-limit": 1024, "registry-burst": 20, "registry-qps": 10, "server-tls-bootstrap": True,
        "shutdown-grace-period": "30s", "shutdown-grace-period-for-critical-pods": "10s",
        "topology-manager-policy": "single-numa-node", "topology-manager-scope": "pod",
        "pod-infra-container-image": "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.9",
        "credential-providers": {"ecr-credential-provider": {
            "enabled": True, "cache-duration": "30m",
            "image-patterns": ["*.dkr.ecr.us-east-2.amazonaws.com", "*.dkr.ecr.us-west-2.amazonaws.com"],
            "environment": {"KEY": "abc123xyz", "GOMAXPROCS": "2"}}},
        "static-pods": {"web": {"enabled": True, "manifest": base64.b64encode(b"apiVersion: v1\nkind: Pod\n").decode()},
                        "off": {"enabled": False, "manifest": base64.b64encode(b"kind: Pod\n").decode()}},
    })
    return k


def _render(name: str, settings: dict[str, Any]) -> list[Any]:
    return render_declaration(shipped_declarations()[name], settings)


# -- KubeletConfiguration field by field against the upstream type definitions ----------

def _upstream() -> dict[str, dict[str, str]]:
    structs: dict[str, dict[str, str]] = {}
    for line in (DATA / "kubelet-config-fields.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        struct, field, gotype = line.split()
        if struct == "alias":
            structs.setdefault("alias", {})[field] = gotype
            continue
        structs.setdefault(struct, {})[field] = gotype
    return structs


_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+")
_INTS = {"int32", "*int32", "int64", "*int64", "int", "uint32"}


def _check(value: Any, gotype: str, where: str, structs: dict[str, dict[str, str]]) -> None:
    """Does `value` decode into Go type `gotype` (as the kubelet's strict decoder would)?"""
    base = gotype.lstrip("*")
    base = structs.get("alias", {}).get(base, base)
    if base in ("bool",):
        assert isinstance(value, bool), where
    elif gotype in _INTS or base in _INTS:
        assert isinstance(value, int) and not isinstance(value, bool), where
    elif base == "string":
        assert isinstance(value, str), where
    elif base in ("metav1.Duration", "TimeOrMetaDuration"):
        assert isinstance(value, str) and _DURATION.fullmatch(value), where
    elif base.startswith("map[string]"):
        assert isinstance(value, dict), where
        for k, v in value.items():
            _check(v, base[len("map[string]"):], f"{where}.{k}", structs)
    elif base in ("v1.ResourceList",):
        assert isinstance(value, dict) and all(isinstance(v, str) for v in value.values()), where
    elif base.startswith("[]"):
        assert isinstance(value, list), where
        for i, v in enumerate(value):
            _check(v, base[2:], f"{where}[{i}]", structs)
    else:
        struct = base.split(".")[-1] if base not in structs else base
        fields = structs.get(base) or structs.get(struct)
        assert fields is not None, f"{where}: no upstream struct {gotype}"
        assert isinstance(value, dict), where
        for k, v in value.items():
            assert k in fields, f"{where}.{k}: not a field of upstream {base}"
            _check(v, fields[k], f"{where}.{k}", structs)


def test_kubelet_configuration_matches_upstream_types_field_by_field(ca: str) -> None:
    structs = _upstream()
    structs["MemoryReservation"]["limits"] = "v1.ResourceList"
    (out,) = _render("kubelet-config", maximal_kubernetes(ca))
    config = json.loads(out.text)
    assert config.pop("kind") == "KubeletConfiguration"
    assert config.pop("apiVersion") == "kubelet.config.k8s.io/v1beta1"
    _check(config, "KubeletConfiguration", "config", structs)
    # and the settings arrived where the kubelet reads them
    assert config["clusterDNS"] == ["10.0.0.1", "10.0.0.2"] and config["maxPods"] == 58
    assert config["imageGCHighThresholdPercent"] == 85 and config["cpuCFSQuota"] is False
    assert config["cpuManagerPolicyOptions"] == {"full-pcpus-only": "true"}
    assert config["registerWithTaints"][2] == {"key": "special", "value": "true", "effect": "NoSchedule"}
    assert config["reservedMemory"] == [{"numaNode": 0, "limits": {"memory": "674Mi", "hugepages-1Gi": "1Gi"}},
                                        {"numaNode": 1, "limits": {"hugepages-2Mi": "2148Mi"}}]
    assert config["logging"] == {"verbosity": 4} and config["providerID"] == "aws:///us-west-2a/i-0123"
    assert config["kubeReserved"]["memory"] == "893Mi" and config["evictionMaxPodGracePeriod"] == 40


def test_the_field_list_is_the_upstream_one() -> None:
    """The test data names its source; a hand-edited list would lose these."""
    text = (DATA / "kubelet-config-fields.txt").read_text()
    assert re.search(r"kubernetes/kubelet@[0-9a-f]{40}", text)
    structs = _upstream()
    assert len(structs["KubeletConfiguration"]) > 100
    assert structs["KubeletConfiguration"]["registerWithTaints"] == "[]v1.Taint"


# -- kubeconfigs, CA, credential providers, flags ---------------------------------------

def test_kubeconfig_aws_mode_parses_and_execs_the_authenticator(ca: str) -> None:
    (out,) = _render("kubeconfig", aws_k8s(ca))
    doc = yaml.safe_load(out.text)
    assert doc["clusters"][0]["cluster"] == {"certificate-authority": "/etc/kubernetes/pki/ca.crt",
                                             "server": "https://ABCDEF.gr7.us-west-2.eks.amazonaws.com"}
    user = doc["users"][0]["user"]
    assert user["exec"]["args"] == ["token", "-i", "bottlerocket", "--region", "us-west-2"]
    assert doc["current-context"] == "kubelet" and out.mode == 0o600
    assert _render("bootstrap-kubeconfig", aws_k8s(ca)) == []


def test_kubeconfig_tls_mode_with_a_bootstrap_token(ca: str) -> None:
    s = aws_k8s(ca)
    s["kubernetes"].update({"authentication-mode": "tls", "bootstrap-token": "abcdef.0123456789abcdef"})
    (out,) = _render("kubeconfig", s)
    user = yaml.safe_load(out.text)["users"][0]["user"]
    assert user == {"client-certificate": "/var/lib/kubelet/pki/kubelet-client-current.pem",
                    "client-key": "/var/lib/kubelet/pki/kubelet-client-current.pem"}
    (boot,) = _render("bootstrap-kubeconfig", s)
    assert yaml.safe_load(boot.text)["users"][0]["user"] == {"token": "abcdef.0123456789abcdef"}
    assert boot.mode == 0o600
    (dropin,) = _render("kubelet-dropin", s)
    assert "--bootstrap-kubeconfig=/etc/kubernetes/kubelet/bootstrap-kubeconfig" in dropin.text


def test_ca_file_is_a_certificate_openssl_reads(ca: str, tmp_path: Path) -> None:
    (out,) = _render("kubelet-ca", aws_k8s(ca))
    (tmp_path / "ca.crt").write_text(out.text)
    done = subprocess.run(["openssl", "x509", "-in", str(tmp_path / "ca.crt"), "-noout", "-subject"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "kindling-test-cluster-ca" in done.stdout


def test_credential_provider_config_and_static_pods(ca: str) -> None:
    s = maximal_kubernetes(ca)
    (out,) = _render("credential-provider-config", s)
    doc = yaml.safe_load(out.text)
    assert doc["kind"] == "CredentialProviderConfig" and doc["apiVersion"] == "kubelet.config.k8s.io/v1"
    structs = _upstream()
    for provider in doc["providers"]:
        assert set(provider) <= set(structs["v1:CredentialProvider"])
    (p,) = doc["providers"]
    assert p["matchImages"] == ["*.dkr.ecr.us-east-2.amazonaws.com", "*.dkr.ecr.us-west-2.amazonaws.com"]
    assert p["defaultCacheDuration"] == "30m"
    assert {e["name"]: e["value"] for e in p["env"]} == {"AWS_REGION": "us-west-2", "KEY": "abc123xyz",
                                                         "GOMAXPROCS": "2"}
    pods = _render("kubelet-static-pods", s)
    assert [(f.path, f.text) for f in pods] == [("/etc/kubernetes/static-pods/web", "apiVersion: v1\nkind: Pod\n")]


def test_kubelet_dropin_verifies_with_a_distribution_kubelet_unit(ca: str, tmp_path: Path) -> None:
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed")
    (out,) = _render("kubelet-dropin", maximal_kubernetes(ca))
    units = tmp_path / "units"
    (units / "kubelet.service.d").mkdir(parents=True)
    # the unit pkgs.k8s.io's kubelet package ships (its ExecStart is replaced by the drop-in)
    kubelet = tmp_path / "kubelet"
    kubelet.write_text("#!/bin/sh\n")
    kubelet.chmod(0o755)
    (units / "kubelet.service").write_text("[Unit]\nDescription=kubelet\n[Service]\nExecStart=/usr/bin/kubelet\n"
                                           "Restart=always\n[Install]\nWantedBy=multi-user.target\n")
    text = out.text.replace("/usr/bin/kubelet", str(kubelet))
    (units / "kubelet.service.d/90-kindling.conf").write_text(text)
    for name in ("kindling-configured.target", "containerd.service"):
        (units / name).write_text("[Unit]\nDescription=stand-in\n" + (
            "[Service]\nExecStart=/bin/true\n" if name.endswith(".service") else ""))
    done = subprocess.run(["systemd-analyze", "verify", "kubelet.service"], cwd=units, capture_output=True,
                          text=True, env={"SYSTEMD_UNIT_PATH": f"{units}:", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
    line = next(x for x in text.splitlines() if x.startswith("ExecStart=/"))
    assert "--node-labels=example.com/role=web,label1=foo" in line
    assert "--node-ip=192.0.2.10" in line and "--hostname-override=node-1.example" in line
    assert "--image-credential-provider-config=/etc/kubernetes/kubelet/credential-provider-config.yaml" in line


# -- containerd ---------------------------------------------------------------------------

REGISTRY = {
    "container-registry": {
        "mirrors": [{"registry": "*", "endpoint": ["https://mirror.example", "https://mirror-2.example"]},
                    {"registry": "docker.io", "endpoint": ["https://hub.example:5000", "hub-2.example"]}],
        "credentials": [{"registry": "docker.io", "username": "foo", "password": 'p"a\\ss'},
                        {"registry": "gcr.io", "auth": "ZXhhbXBsZTpzZWNyZXQ="}],
    },
    "container-runtime": {"max-container-log-line-size": -1, "max-concurrent-downloads": 4,
                          "enable-unprivileged-icmp": True, "enable-unprivileged-ports": True},
    "kubernetes": {"pod-infra-container-image": "registry.example/pause:3.9"},
}


def test_containerd_hosts_files_and_cri_dropin_accepted_by_containerd(root: Path, tmp_path: Path) -> None:
    if not shutil.which("containerd"):
        pytest.skip("containerd not installed (apt: containerd)")
    report = commit(root, copy.deepcopy(REGISTRY))
    assert outcomes(report)["containerd"][0], outcomes(report)
    certs = root / "etc/containerd/certs.d"
    default = tomllib.loads((certs / "_default/hosts.toml").read_text())
    assert list(default["host"]) == ["https://mirror.example", "https://mirror-2.example"]
    hub = tomllib.loads((certs / "docker.io/hosts.toml").read_text())
    assert hub["server"] == "https://registry-1.docker.io"
    assert list(hub["host"]) == ["https://hub.example:5000", "https://hub-2.example"]
    assert all(h["capabilities"] == ["pull", "resolve"] for h in hub["host"].values())
    dropin = root / "etc/containerd/conf.d/90-kindling.toml"
    assert (dropin.stat().st_mode & 0o777) == 0o600
    main = tmp_path / "config.toml"
    main.write_text(f'version = 2\nroot = "{tmp_path}/lib"\nstate = "{tmp_path}/run"\n'
                    f'imports = ["{root}/etc/containerd/conf.d/*.toml"]\n')
    done = subprocess.run(["containerd", "--config", str(main), "config", "dump"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    dumped = tomllib.loads(done.stdout)
    cri = dumped["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["registry"]["config_path"] == "/etc/containerd/certs.d"
    assert cri["max_concurrent_downloads"] == 4 and cri["max_container_log_line_size"] == -1
    assert cri["enable_unprivileged_icmp"] is True and cri["enable_unprivileged_ports"] is True
    assert cri["sandbox_image"] == "registry.example/pause:3.9"
    auth = cri["registry"]["configs"]
    assert auth["docker.io"]["auth"]["username"] == "foo" and auth["docker.io"]["auth"]["password"] == 'p"a\\ss'
    assert auth["gcr.io"]["auth"]["auth"] == "ZXhhbXBsZTpzZWNyZXQ="


def test_a_mirror_that_is_not_a_url_is_refused_and_files_stay(root: Path) -> None:
    commit(root, copy.deepcopy(REGISTRY))
    hosts = root / "etc/containerd/certs.d/docker.io/hosts.toml"
    before = hosts.read_text()
    svc = SettingsService(host_of(root))
    live = svc.get_settings()
    # not a URL at all: the model refuses it, nothing is committed
    bad = {"container-registry": {"mirrors": [{"registry": "docker.io", "endpoint": ["https://<my-mirror>"]}]}}
    with pytest.raises(SettingsError, match=r"settings\.container-registry\.mirrors\.0\.endpoint\.0"):
        svc.set_tree(bad, tx="bad", source="user data")
    assert svc.get_settings() == live and hosts.read_text() == before
    # a URL containerd cannot use (ftp): the containerd applier refuses, naming template and key
    ftp = {"container-registry": {"mirrors": [{"registry": "docker.io", "endpoint": ["ftp://mirror.example"]}]}}
    ok, detail = outcomes(commit(root, ftp))["containerd"]
    assert not ok and "template containerd-hosts" in detail
    assert "settings.container-registry.mirrors.0.endpoint.0" in detail and "not an http" in detail
    assert hosts.read_text() == before


def test_invalid_base64_cluster_certificate_is_refused_with_its_key(root: Path, ca: str) -> None:
    commit(root, aws_k8s(ca))
    ca_file = root / "etc/kubernetes/pki/ca.crt"
    before = ca_file.read_text()
    svc = SettingsService(host_of(root))
    live = svc.get_settings()
    with pytest.raises(SettingsError, match=r"settings\.kubernetes\.cluster-certificate: .*base64"):
        svc.set_tree({"kubernetes": {"cluster-certificate": "not base64!"}}, tx="bad", source="user data")
    assert svc.get_settings() == live and ca_file.read_text() == before
    # valid base64 that is not a certificate: the kubelet applier refuses, nothing of the kubelet's changes
    config = (root / "etc/kubernetes/kubelet/config.json").read_text()
    junk = base64.b64encode(b"hello").decode()
    ok, detail = outcomes(commit(root, {"kubernetes": {"cluster-certificate": junk, "max-pods": 7}}))["kubelet"]
    assert not ok and "template kubelet-ca" in detail and "not a PEM certificate" in detail
    assert ca_file.read_text() == before
    assert (root / "etc/kubernetes/kubelet/config.json").read_text() == config  # all or nothing per consumer


# -- ECS ----------------------------------------------------------------------------------

def test_ecs_config(root: Path) -> None:
    s = {"ecs": {"cluster": "my-cluster", "instance-attributes": {"attribute1": "foo", "attribute2": "bar"},
                 "allow-privileged-containers": True, "logging-drivers": ["json-file", "awslogs"],
                 "metadata-service-rps": 100, "metadata-service-burst": 150, "image-cleanup-enabled": True,
                 "container-stop-timeout": "1m1s", "reserved-memory": 32}}
    report = commit(root, s)
    assert outcomes(report)["ecs"][0]
    env = dict(line.split("=", 1) for line in (root / "etc/ecs/ecs.config").read_text().splitlines()
               if line and not line.startswith("#"))
    assert env["ECS_CLUSTER"] == "my-cluster"
    assert json.loads(env["ECS_INSTANCE_ATTRIBUTES"]) == {"attribute1": "foo", "attribute2": "bar"}
    assert json.loads(env["ECS_AVAILABLE_LOGGING_DRIVERS"]) == ["json-file", "awslogs"]
    assert env["ECS_DISABLE_PRIVILEGED"] == "false" and env["ECS_DISABLE_IMAGE_CLEANUP"] == "false"
    assert env["ECS_TASK_METADATA_RPS_LIMIT"] == "100,150" and env["ECS_CONTAINER_STOP_TIMEOUT"] == "1m1s"
    assert env["ECS_RESERVED_MEMORY"] == "32"


# -- every example of the settings reference ----------------------------------------------

_PLACEHOLDERS = {"<example-mirror>": "mirror.example", "<example-mirror-2>": "mirror-2.example",
                 "<my-docker-hub-mirror-host>": "hub.example", "<my-docker-hub-mirror-host-2>": "hub-2.example",
                 "example_base64_encoded_auth_string": "ZXhhbXBsZTpzZWNyZXQ="}
_NAMESPACES = ("kubernetes", "ecs", "container-registry", "container-runtime")


def _reference_examples() -> list[tuple[int, str]]:
    from tests.kindling.test_settings_reference import _examples

    found = []
    for line, example in _examples():
        if set(tomllib.loads(example)["settings"]) & set(_NAMESPACES):
            filled = example
            for placeholder, value in _PLACEHOLDERS.items():
                filled = filled.replace(placeholder, value)
            found.append((line, filled))
    return found


def test_every_consumer_example_of_the_reference_renders(root: Path, tmp_path: Path, ca: str) -> None:
    examples = _reference_examples()
    if not examples:
        pytest.skip("the settings reference is not beside the checkout")
    assert len(examples) >= 10, [e[0] for e in examples]
    for index, (line, toml) in enumerate(examples):
        node = tmp_path / f"node{index}"
        tree = merge(aws_k8s(ca), tomllib.loads(toml)["settings"])
        report = commit(node, tree)
        failed = {n: d for n, (ok, d) in outcomes(report).items() if not ok}
        assert not failed, f"reference line {line}: {failed}"
        for path in ("etc/kubernetes/kubelet/config.json", "etc/kubernetes/kubelet/kubeconfig",
                     "etc/kubernetes/pki/ca.crt"):
            assert (node / path).is_file(), f"reference line {line}: {path}"
        json.loads((node / "etc/kubernetes/kubelet/config.json").read_text())
        if "ecs" in tree:
            assert (node / "etc/ecs/ecs.config").is_file()
        if "container-registry" in tree or "container-runtime" in tree:
            assert (node / "etc/containerd/conf.d/90-kindling.toml").is_file()
