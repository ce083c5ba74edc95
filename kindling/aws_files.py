"""`aws.config` and `aws.credentials` → `/root/.aws/config`, `/root/.aws/credentials`
(Bottlerocket's aws-config templates, DESIGN §10).

The settings hold base64 (they are secrets: never logged, never echoed in errors); the
files hold the decoded text, mode 0600 in a 0700 directory, for the AWS SDKs that root
services use (the credential chain reads exactly these paths). An unset key leaves the
path alone: these are well-known files an operator may have written by hand, and the
boot-time run of every applier must never delete them.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from kindling.errors import SettingsError
from kindling.host import Host

__all__ = ["AWS_DIR", "FILES", "apply_aws_files"]

AWS_DIR = "/root/.aws"
FILES = {"config": f"{AWS_DIR}/config", "credentials": f"{AWS_DIR}/credentials"}


def _decode(key: str, value: Any) -> bytes:
    try:
        return base64.b64decode(str(value).encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise SettingsError(f"settings.aws.{key}", "not valid base64") from None


def apply_aws_files(host: Host, settings: dict[str, Any]) -> list[str]:
    aws = settings.get("aws") or {}
    decoded = {k: _decode(k, aws[k]) for k in FILES if aws.get(k)}
    done: list[str] = []
    for key, path in FILES.items():
        if key not in decoded:
            continue
        host.makedirs(AWS_DIR, mode=0o700)
        if host.write_file(path, decoded[key], mode=0o600):
            done.append(f"wrote {path} (0600)")
    return done
