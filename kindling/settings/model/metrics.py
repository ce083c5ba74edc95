"""`settings.metrics.*`: stored for an external metrics reporter."""

from kindling.settings import types as t
from kindling.settings.nodes import Leaf, ListOf, Struct

MODEL = Struct(
    {
        "metrics-url": Leaf(t.url, doc="where metrics are sent"),
        "send-metrics": Leaf(t.boolean, kind="boolean", doc="send anonymous metrics"),
        "service-checks": ListOf(Leaf(t.pattern(r"[A-Za-z0-9:_.@\\-]{1,255}", "not a valid systemd unit name",
                                                example="chronyd.service")),
                                 doc="systemd units checked for health"),
    },
    owner="stored:metrics-reporter",
)
