"""`settings.oci-defaults.*`: the default OCI spec of workload containers."""

from kindling.settings import types as t
from kindling.settings.nodes import Leaf, Struct

# CAP_<NAME> as kebab-case (Bottlerocket's OciDefaultsCapability)
CAPABILITIES = (
    "audit-control", "audit-read", "audit-write", "block-suspend", "bpf", "checkpoint-restore", "chown",
    "dac-override", "dac-read-search", "fowner", "fsetid", "ipc-lock", "ipc-owner", "kill", "lease",
    "linux-immutable", "mac-admin", "mac-override", "mknod", "net-admin", "net-bind-service",
    "net-broadcast", "net-raw", "perfmon", "setfcap", "setgid", "setpcap", "setuid", "sys-admin",
    "sys-boot", "sys-chroot", "sys-module", "sys-nice", "sys-pacct", "sys-ptrace", "sys-rawio",
    "sys-resource", "sys-time", "sys-tty-config", "syslog", "wake-alarm",
)
_U32 = t.integer(0, 2**32 - 1)

MODEL = Struct(
    {
        "capabilities": Struct(
            {cap: Leaf(t.boolean, kind="boolean", doc=f"grant CAP_{cap.upper().replace('-', '_')}")
             for cap in CAPABILITIES}
        ),
        "resource-limits": Struct({
            "max-open-files": Struct({
                "hard-limit": Leaf(_U32, kind="integer", doc="RLIMIT_NOFILE hard limit"),
                "soft-limit": Leaf(_U32, kind="integer", doc="RLIMIT_NOFILE soft limit"),
            }),
        }),
    },
    owner="stored:containerd",
)
