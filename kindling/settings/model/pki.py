"""`settings.pki.<bundle>.*`: extra CA certificates and whether they are trusted."""

from kindling.settings import types as t
from kindling.settings.nodes import Leaf, MapOf, Struct
from kindling.settings.pem import pem_bundle_base64

MODEL = MapOf(
    t.pattern(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", "not a valid bundle name", example="my-trusted-bundle"),
    Struct({
        "data": Leaf(pem_bundle_base64, doc="base64 of a PEM bundle of certificates"),
        "trusted": Leaf(t.boolean, kind="boolean", doc="trust the bundle", default="false"),
    }),
    "not a valid bundle name",
    owner="applier:pki",
)
