"""`settings.container-registry.*`: registry mirrors and credentials, for containerd."""

from kindling.settings import types as t
from kindling.settings.nodes import Leaf, ListOf, Struct

_REGISTRY = Leaf(t.pattern(r"\*|[A-Za-z0-9][A-Za-z0-9.:_-]{0,253}(?:/[A-Za-z0-9._/-]+)?",
                           "not a registry host (or *)", example="docker.io"), doc="registry host, or * for all")

MODEL = Struct(
    {
        "mirrors": ListOf(
            Struct({"registry": _REGISTRY, "endpoint": ListOf(Leaf(t.url, example="https://mirror.example.com"),
                                                                  doc="mirror URLs, tried in order")}),
            doc="registry mirrors",
        ),
        "credentials": ListOf(
            Struct({
                "registry": _REGISTRY,
                "username": Leaf(t.single_line, sensitive=True, doc="user name"),
                "password": Leaf(t.single_line, sensitive=True, doc="password"),
                "auth": Leaf(t.base64_text, sensitive=True, doc="base64 of user:password"),
                "identitytoken": Leaf(t.single_line, sensitive=True, doc="identity token"),
            }),
            doc="registry credentials",
        ),
    },
    owner="applier:containerd"  # kindling/templates/shipped/containerd-*.toml,
)
