"""`settings.kdump.*` (Kindling's own): crash-kernel reservation and dump retention."""

from kindling.settings import types as t
from kindling.settings.nodes import Leaf, Struct

MODEL = Struct(
    {
        "enabled": Leaf(t.boolean, kind="boolean", owner=("service:kdump-reserve", "service:kdump-load"),
                        doc="reserve memory and load a crash kernel", default="true"),
        "crashkernel": Leaf(t.crashkernel, owner="service:kdump-reserve", doc="crashkernel= size or ranges",
                           default="sized from the node's memory (see kindling kdump plan)"),
        "keep": Leaf(t.integer(1, 1000), kind="integer", owner="service:kdump-load",
                     doc="dumps kept under /var/log/kdump", default="3", example=5),
    }
)
