"""The short content digest Kindling's own caches compare across runs (the boot
fingerprint, template manifests, the precompiled and shipped-declaration tables):
BLAKE2b, 16 bytes, hex. From the built-in `_blake2`: hashlib would load OpenSSL
(~2 ms) for it."""

from __future__ import annotations

from _blake2 import blake2b

__all__ = ["digest"]


def digest(data: bytes) -> str:
    return blake2b(data, digest_size=16).hexdigest()
