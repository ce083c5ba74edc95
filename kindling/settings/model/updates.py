"""`settings.updates.*`: stored for an external updater (Kindling does not update the OS)."""

from kindling.settings import types as t
from kindling.settings.nodes import Leaf, Struct

MODEL = Struct(
    {
        "ignore-waves": Leaf(t.boolean, kind="boolean", doc="update at once, ignoring waves"),
        "metadata-base-url": Leaf(t.url, doc="base URL of update metadata"),
        "targets-base-url": Leaf(t.url, doc="base URL of update files"),
        "seed": Leaf(t.integer(0, 2**32 - 1), kind="integer", doc="place in the update schedule (u32)"),
        "version-lock": Leaf(t.pattern(r"latest|v?[0-9]+\.[0-9]+\.[0-9]+", "not latest or a version such as v1.0.0",
                                       example="latest"),
                             doc="version to update to, or latest"),
    },
    owner="stored:updater",
)
