"""`settings.container-runtime.*`: containerd's behaviour."""

from kindling.settings import types as t
from kindling.settings.nodes import Leaf, Struct

MODEL = Struct(
    {
        "enable-unprivileged-icmp": Leaf(t.boolean, kind="boolean", doc="unprivileged ICMP echo sockets"),
        "enable-unprivileged-ports": Leaf(t.boolean, kind="boolean", doc="unprivileged binds below 1024"),
        "max-concurrent-downloads": Leaf(t.integer(1, 2**31 - 1), kind="integer", doc="layer downloads per image"),
        "max-container-log-line-size": Leaf(t.integer(-1, 2**31 - 1), kind="integer",
                                            doc="log line length (-1: unlimited)"),
    },
    owner="applier:containerd"  # kindling/templates/shipped/containerd-cri.toml,
)
