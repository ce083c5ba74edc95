"""`settings.dns.*`: resolvers and search domains."""

from kindling.settings import types as t
from kindling.settings.nodes import Leaf, ListOf, Struct

MODEL = Struct(
    {
        "name-servers": ListOf(Leaf(t.ip_address), doc="resolver addresses"),
        "search-list": ListOf(Leaf(t.hostname), doc="search domains"),
    },
    owner="applier:netdog-dns",
)
