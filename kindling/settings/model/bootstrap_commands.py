"""`settings.bootstrap-commands.<name>.*`: apiclient commands run at boot, by name order."""

from kindling.settings import orchestrator_types as o
from kindling.settings import types as t
from kindling.settings.nodes import Leaf, ListOf, MapOf, Struct

MODEL = MapOf(
    t.pattern(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}", "not a valid bootstrap command name",
              example="001-set-motd"),
    Struct({
        "commands": ListOf(Leaf(o.apiclient_command), doc='[["apiclient", "set", "k=v"], …], run in order'),
        "mode": Leaf(t.enum("off", "once", "always"), doc="off, once (then off), or always", default="off"),
        "essential": Leaf(t.boolean, kind="boolean", doc="a failure fails the boot"),
    }),
    "not a valid bootstrap command name",
    owner="applier:bootstrap-commands",  # kindling/bootstrap/instances.py
)
