"""`settings.bootstrap-containers.<name>.*`: containers run before the orchestrator."""

from kindling.settings import orchestrator_types as o
from kindling.settings import types as t
from kindling.settings.model.host_containers import NAME
from kindling.settings.nodes import Leaf, ListOf, MapOf, Struct

MODEL = MapOf(
    NAME,
    Struct({
        "source": Leaf(o.image_reference, doc="image URI"),
        "mode": Leaf(t.enum("off", "once", "always"), doc="off, once (then off), or always", default="off"),
        "essential": Leaf(t.boolean, kind="boolean", doc="a failure fails the boot", default="false"),
        "user-data": Leaf(t.base64_text, sensitive=True, doc="base64 data given to the container"),
        "command": ListOf(Leaf(t.single_line), doc="Kindling: command run instead of the image's"),
    }),
    "not a valid container name",
    owner="applier:bootstrap-containers",  # kindling/bootstrap/instances.py
)
