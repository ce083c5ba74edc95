"""`settings.host-containers.<name>.*`: long-running host containers (systemd units)."""

from kindling.settings import orchestrator_types as o
from kindling.settings import types as t
from kindling.settings.nodes import Leaf, ListOf, MapOf, Struct

NAME = t.pattern(r"[a-z0-9][a-z0-9_-]{0,62}", "not a valid container name", example="admin")

MODEL = MapOf(
    NAME,
    Struct({
        "source": Leaf(o.image_reference, doc="image URI"),
        "enabled": Leaf(t.boolean, kind="boolean", doc="start it at boot", default="false"),
        "superpowered": Leaf(t.boolean, kind="boolean", doc="root-level access to the host", default="false"),
        "user-data": Leaf(t.base64_text, sensitive=True, doc="base64 data given to the container"),
        "command": ListOf(Leaf(t.single_line), doc="Kindling: command run instead of the image's"),
    }),
    "not a valid container name",
    owner="applier:host-containers",  # kindling/bootstrap/instances.py
)
