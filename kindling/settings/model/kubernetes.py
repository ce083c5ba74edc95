"""`settings.kubernetes.*`: the kubelet's configuration, stored for the kubelet.

One line per key, as Bottlerocket's `KubernetesSettings`; the rendering into the
kubelet's files belongs to its consumer (DESIGN §10). `api-server` and
`cluster-domain` also feed the proxy environment's no-proxy list.
"""

from kindling.settings import orchestrator_types as o
from kindling.settings import types as t
from kindling.settings.nodes import Leaf, ListOf, MapOf, Struct

KUBELET = "applier:kubelet"  # kindling/templates/shipped/kubelet-*.toml, kubeconfig.toml, …
_PROXY = ("applier:kubelet", "applier:netdog-proxy")

_I32 = t.integer(0, 2**31 - 1)
_PERCENT = o.int_or_digits(0, 100)
_LABEL_RULE = "not a valid Kubernetes label key"


def _reserved(doc: str) -> MapOf:
    return MapOf(t.enum("cpu", "memory", "ephemeral-storage", "pid"), Leaf(o.k8s_quantity),
                 "not a reservable resource (cpu, memory, ephemeral-storage, pid)", doc=doc)

_SIGNALS = "not a kubelet eviction signal"

MODEL = Struct(
    {
        "cluster-name": Leaf(o.k8s_cluster_name, doc="EKS cluster name"),
        "api-server": Leaf(t.url, owner=_PROXY, doc="the cluster's API endpoint"),
        "cluster-certificate": Leaf(t.base64_text, doc="base64 of the cluster CA certificate"),
        "cluster-dns-ip": Leaf(o.ip_or_ip_list, kind="string-or-json", doc="cluster DNS address, or a list"),
        "cluster-domain": Leaf(t.dns_domain, owner=_PROXY, doc="cluster DNS domain (cluster.local)"),
        "node-ip": Leaf(t.ip_address, doc="this node's address"),
        "node-labels": MapOf(t.k8s_label_key, Leaf(t.k8s_label_value), _LABEL_RULE, doc="labels at registration"),
        "node-taints": MapOf(t.k8s_label_key, ListOf(Leaf(t.k8s_taint_value)), _LABEL_RULE,
                             doc="taints at registration: key = [value:Effect, …]"),
        "allowed-unsafe-sysctls": ListOf(Leaf(t.pattern(r"[A-Za-z0-9_*][A-Za-z0-9_*./-]{0,254}",
                                                        "not a valid sysctl name",
                                                        example="net.core.somaxconn")),
                                         doc="unsafe sysctls pods may set"),
        "authentication-mode": Leaf(t.enum("aws", "tls"), doc="how the kubelet authenticates"),
        "bootstrap-token": Leaf(o.k8s_bootstrap_token, sensitive=True, doc="TLS bootstrap token (tls mode)"),
        "cloud-provider": Leaf(t.enum("aws", "external", ""), doc="in-tree provider, external, or none"),
        "container-log-max-files": Leaf(t.integer(2, 2**31 - 1), kind="integer", doc="log files kept per container"),
        "container-log-max-size": Leaf(o.k8s_quantity, doc="size at which a container log rotates"),
        "cpu-cfs-quota-enforced": Leaf(t.boolean, kind="boolean", doc="enforce CPU CFS quotas"),
        "cpu-manager-policy": Leaf(t.enum("none", "static"), doc="CPU manager policy"),
        "cpu-manager-policy-options": ListOf(Leaf(t.enum("full-pcpus-only")), doc="static policy options"),
        "cpu-manager-reconcile-period": Leaf(o.go_duration, doc="CPU manager reconcile period"),
        "credential-providers": MapOf(
            o.identifier,
            Struct({
                "enabled": Leaf(t.boolean, kind="boolean", doc="use this image credential provider"),
                "cache-duration": Leaf(o.go_duration, doc="how long credentials are cached"),
                "image-patterns": ListOf(Leaf(o.image_reference), doc="registries it answers for (globs)"),
                "environment": MapOf(o.env_var_name, Leaf(t.single_line), "not a valid environment variable name",
                                     doc="environment of the plugin"),
            }),
            "not a valid credential provider name",
            doc="kubelet image credential provider plugins",
        ),
        "event-burst": Leaf(_I32, kind="integer", doc="event creation burst"),
        "event-qps": Leaf(_I32, kind="integer", doc="event creations per second"),
        "eviction-hard": MapOf(o.eviction_signal, Leaf(o.k8s_threshold), _SIGNALS, doc="hard eviction thresholds"),
        "eviction-soft": MapOf(o.eviction_signal, Leaf(o.k8s_threshold), _SIGNALS, doc="soft eviction thresholds"),
        "eviction-soft-grace-period": MapOf(o.eviction_signal, Leaf(o.go_duration), _SIGNALS,
                                            doc="grace period per soft signal"),
        "eviction-max-pod-grace-period": Leaf(t.integer(-1, 2**31 - 1), kind="integer",
                                              doc="seconds a pod may take to stop on soft eviction"),
        "hostname-override": Leaf(t.hostname, doc="node name instead of the hostname"),
        "image-gc-high-threshold-percent": Leaf(_PERCENT, kind="integer-or-digits", doc="disk % forcing image GC"),
        "image-gc-low-threshold-percent": Leaf(_PERCENT, kind="integer-or-digits", doc="disk % below which no GC"),
        "kube-api-burst": Leaf(_I32, kind="integer", doc="API request burst"),
        "kube-api-qps": Leaf(_I32, kind="integer", doc="API requests per second"),
        "kube-reserved": _reserved("reserved for node daemons: cpu, memory, ephemeral-storage"),
        "log-level": Leaf(t.integer(0, 255), kind="integer", doc="kubelet verbosity", default="2"),
        "max-pods": Leaf(t.integer(1, 2**31 - 1), kind="integer", doc="pods this node may run"),
        "memory-manager-policy": Leaf(t.enum("None", "Static"), doc="memory manager policy"),
        "memory-manager-reserved-memory": MapOf(
            t.pattern(r"[0-9]{1,4}", "not a NUMA node index", example="0"),
            Struct({
                "enabled": Leaf(t.boolean, kind="boolean", doc="reserve on this NUMA node"),
                "memory": Leaf(o.k8s_quantity, doc="memory reserved"),
                "hugepages-1Gi": Leaf(o.k8s_quantity, doc="1 GiB huge pages reserved"),
                "hugepages-2Mi": Leaf(o.k8s_quantity, doc="2 MiB huge pages reserved"),
            }),
            "not a NUMA node index",
            doc="memory reserved per NUMA node (Static policy)",
        ),
        "pod-infra-container-image": Leaf(o.image_reference, owner=(KUBELET, "applier:containerd"),
                                          doc="the pause image (kubelet flag, containerd sandbox_image)"),
        "pod-pids-limit": Leaf(t.integer(-1, 2**62), kind="integer", doc="processes per pod (-1: unlimited)"),
        "provider-id": Leaf(o.k8s_provider_id, doc="the cloud provider's node ID"),
        "registry-burst": Leaf(_I32, kind="integer", doc="image pull burst"),
        "registry-qps": Leaf(_I32, kind="integer", doc="image pulls per second"),
        "server-certificate": Leaf(t.base64_text, doc="base64 of the kubelet server certificate"),
        "server-key": Leaf(t.base64_text, sensitive=True, doc="base64 of the kubelet server key"),
        "server-tls-bootstrap": Leaf(t.boolean, kind="boolean", doc="request the server certificate by CSR"),
        "shutdown-grace-period": Leaf(o.go_duration, doc="delay for pods at shutdown"),
        "shutdown-grace-period-for-critical-pods": Leaf(o.go_duration, doc="part of it for critical pods"),
        "standalone-mode": Leaf(t.boolean, kind="boolean", doc="run without an API server"),
        "static-pods": MapOf(
            o.identifier,
            Struct({
                "enabled": Leaf(t.boolean, kind="boolean", doc="run this static pod"),
                "manifest": Leaf(t.base64_text, doc="base64 of the pod manifest"),
            }),
            "not a valid static pod name",
            doc="static pods",
        ),
        "system-reserved": _reserved("reserved for system daemons: cpu, memory, ephemeral-storage"),
        "topology-manager-policy": Leaf(t.enum("none", "restricted", "best-effort", "single-numa-node"),
                                        doc="topology manager policy"),
        "topology-manager-scope": Leaf(t.enum("container", "pod"), doc="topology manager scope"),
    },
    owner=KUBELET,
)
