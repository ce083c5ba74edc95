"""`settings.oci-hooks.*`: opt-in OCI hooks for orchestrated containers."""

from kindling.settings import types as t
from kindling.settings.nodes import Leaf, Struct

MODEL = Struct(
    {"log4j-hotpatch-enabled": Leaf(t.boolean, kind="boolean", doc="inject the Log4j hot patch")},
    owner="stored:containerd",
)
