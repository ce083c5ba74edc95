"""`settings.cloudformation.*`: the CloudFormation signal sent at the end of boot."""

from kindling.settings import types as t
from kindling.settings.nodes import Leaf, Struct

MODEL = Struct(
    {
        "should-signal": Leaf(t.boolean, kind="boolean", doc="send the signal", default="false"),
        "stack-name": Leaf(t.single_line, doc="stack to signal", example="my-stack"),
        "logical-resource-id": Leaf(t.single_line, doc="logical ID of the Auto Scaling group",
                                    example="MyAutoScalingGroup"),
    },
    owner="service:cfsignal",
)
