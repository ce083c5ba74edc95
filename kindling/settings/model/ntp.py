"""`settings.ntp.*`: time servers and their options."""

from kindling.settings import orchestrator_types as o
from kindling.settings import types as t
from kindling.settings.nodes import Leaf, ListOf, Struct

MODEL = Struct(
    {
        "time-servers": ListOf(Leaf(t.url), doc="NTP servers (hostnames, addresses or URLs)"),
        "options": ListOf(Leaf(o.option_words), doc="options for each server, e.g. iburst, minpoll 4"),
    },
    owner="applier:ntp",
)
