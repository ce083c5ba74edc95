"""`settings.ecs.*`: the ECS agent's configuration, stored for the agent."""

from kindling.settings import orchestrator_types as o
from kindling.settings import types as t
from kindling.settings.nodes import Leaf, ListOf, MapOf, Struct

_I32 = t.integer(0, 2**31 - 1)

MODEL = Struct(
    {
        "cluster": Leaf(t.single_line, doc="cluster name or ARN"),
        "instance-attributes": MapOf(o.ecs_attribute_key, Leaf(o.ecs_attribute_value),
                                     "not a valid ECS attribute name", doc="attributes at registration"),
        "allow-privileged-containers": Leaf(t.boolean, kind="boolean", doc="allow privileged containers"),
        "container-stop-timeout": Leaf(o.ecs_duration, doc="wait before containers are killed"),
        "enable-spot-instance-draining": Leaf(t.boolean, kind="boolean", doc="drain on a spot interruption notice"),
        "image-pull-behavior": Leaf(t.enum("default", "always", "once", "prefer-cached"), doc="image pull behaviour"),
        "logging-drivers": ListOf(Leaf(t.pattern(r"[a-z0-9_-]{1,64}", "not a valid logging driver name",
                                                 example="json-file")),
                                  doc="logging drivers offered"),
        "loglevel": Leaf(t.enum("debug", "info", "warn", "error", "crit"), doc="agent log level"),
        "metadata-service-rps": Leaf(_I32, kind="integer", doc="task metadata requests per second"),
        "metadata-service-burst": Leaf(_I32, kind="integer", doc="task metadata burst"),
        "reserved-memory": Leaf(t.integer(0, 65535), kind="integer", doc="MiB reserved for the system"),
        "task-cleanup-wait": Leaf(o.ecs_duration, doc="wait before stopped containers are removed"),
        "image-cleanup-wait": Leaf(o.ecs_duration, doc="interval between image cleanups"),
        "image-cleanup-delete-per-cycle": Leaf(_I32, kind="integer", doc="images deleted per cleanup"),
        "image-cleanup-enabled": Leaf(t.boolean, kind="boolean", doc="clean up unused images"),
        "image-cleanup-age": Leaf(o.ecs_duration, doc="age before an image may be cleaned up"),
    },
    owner="applier:ecs"  # kindling/templates/shipped/ecs-config.toml,
)
