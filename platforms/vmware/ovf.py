"""OVF environment documents (`ovf-env.xml`): the `user-data` property, parsed safely.

VMware hands vApp properties to the guest as an OVF environment on a CD-ROM:
`Environment/PropertySection/Property` with `key`/`value` attributes, usually
namespaced (`oe:key`, `oe:value`). As Bottlerocket's provider, namespaces are
ignored, the first `user-data` property is taken and its value is base64 (standard
alphabet) of the user data, which may itself be gzip (sniffed later).

Parsing uses defusedxml with DTDs, entities and external references forbidden:
the document comes from outside the node, and a billion-laughs or an external
entity must be refused, not expanded. Pure: bytes in, bytes out, no Host.
"""

from __future__ import annotations

import base64
import binascii

from kindling.errors import InputError

__all__ = ["ovf_user_data"]


_REFUSED = {
    "DTDForbidden": "a DTD",
    "EntitiesForbidden": "entity declarations",
    "ExternalReferenceForbidden": "an external reference",
}


def _local(name: str) -> str:
    """`{namespace}key` or `oe:key` → `key`."""
    return name.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def ovf_user_data(document: bytes, *, source: str) -> bytes | None:
    """The decoded `user-data` property of an OVF environment; None when it has none."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root = fromstring(document, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        kind = _REFUSED.get(type(exc).__name__, "construct")
        raise InputError(f"OVF uses {kind}: refused", source=source) from None
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise InputError(f"OVF is not well-formed XML (line {line}, column {column})", source=source) from None
    for section in root.iter():
        if _local(section.tag) != "PropertySection":
            continue
        for prop in section:
            if _local(prop.tag) != "Property":
                continue
            attrs = {_local(k): v for k, v in prop.attrib.items()}
            if attrs.get("key") != "user-data":
                continue
            value = attrs.get("value", "")
            try:
                return base64.b64decode("".join(value.split()), validate=True)
            except (binascii.Error, ValueError):
                raise InputError("OVF property user-data: not valid base64", source=source) from None
    return None
