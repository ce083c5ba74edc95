"""`settings.gpu.*` (Kindling's own): NVIDIA kernel-module flavour."""

from kindling.settings import types as t
from kindling.settings.nodes import Leaf, Struct

MODEL = Struct(
    {"nvidia": Struct({"flavor": Leaf(t.enum("auto", "open", "proprietary"), doc="driver flavour", default="auto")})},
    owner="service:gpu-drivers",
)
