"""`pki.<bundle>.data`: base64 of a PEM bundle of X.509 certificates (Bottlerocket's
`PemCertificateString`), checked before anything reaches a trust store.

The check is structural, without a crypto library (none on the boot path, DESIGN §8):
the outer base64 decodes, the text holds one or more `CERTIFICATE` blocks and nothing
else but blanks, and each block's body is base64 of a DER SEQUENCE whose length
matches. An empty string is allowed: it clears a bundle, as in Bottlerocket.
"""

from __future__ import annotations

import re
from typing import Any

from kindling.settings.types import Invalid, base64_text, described

__all__ = ["pem_bundle_base64", "pem_certificates"]

_BLOCK = r"-----BEGIN CERTIFICATE-----\s*\n([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----"


def _der_length_ok(der: bytes) -> bool:
    """A DER SEQUENCE (0x30) whose encoded length is the whole buffer."""
    if len(der) < 2 or der[0] != 0x30:
        return False
    first = der[1]
    if first < 0x80:
        return 2 + first == len(der)
    count = first & 0x7F
    if count == 0 or count > 4 or len(der) < 2 + count:
        return False
    return 2 + count + int.from_bytes(der[2 : 2 + count], "big") == len(der)


def pem_certificates(text: str) -> list[bytes]:
    """The DER of each certificate in a PEM bundle; raises `Invalid` on anything else."""
    import base64
    import binascii

    blocks = list(re.finditer(_BLOCK, text))
    if not blocks:
        raise Invalid("not a PEM certificate bundle (no BEGIN CERTIFICATE block)")
    if re.sub(_BLOCK, "", text).strip():
        raise Invalid("not a PEM certificate bundle (text outside CERTIFICATE blocks)")
    out: list[bytes] = []
    for index, block in enumerate(blocks):
        body = "".join(block.group(1).split())
        try:
            der = base64.b64decode(body, validate=True)
        except binascii.Error:
            raise Invalid(f"certificate {index}: not valid base64 inside the PEM block") from None
        if not _der_length_ok(der):
            raise Invalid(f"certificate {index}: not a DER-encoded certificate")
        out.append(der)
    return out


@described("base64 of a PEM bundle of X.509 certificates (base64 -w0 ca.pem); an empty string clears it",
           None)
def pem_bundle_base64(value: Any) -> str:
    import base64

    s: str = base64_text(value)
    if not s:
        return s
    try:
        text = base64.b64decode(s).decode("ascii")
    except UnicodeDecodeError:
        raise Invalid("not a PEM certificate bundle (decoded data is not text)") from None
    pem_certificates(text)
    return s
