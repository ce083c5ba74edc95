"""`settings.autoscaling.*`: warm-pool wait and lifecycle-hook completion."""

from kindling.settings import types as t
from kindling.settings.nodes import Leaf, Struct

MODEL = Struct(
    {
        "should-wait": Leaf(t.boolean, kind="boolean", owner="service:warm-pool-wait",
                            doc="wait for InService before joining the cluster", default="false"),
        "lifecycle-hook-name": Leaf(t.single_line, owner="service:lifecycle-complete", example="my-launch-hook",
                                    doc="Kindling: lifecycle hook to complete once booted"),
    }
)
