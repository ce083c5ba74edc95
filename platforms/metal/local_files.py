"""Local user-data files (DESIGN §3, §5): defaults (10), the local file (20), overrides (99).

Bottlerocket ships these as its `-local` provider package, which every platform
requires, so they serve every platform here too; they live with metal because on
metal the local file is the main way in (PROVISIONING-METAL). Defaults let an image
builder preset values that user data may change; overrides win over everything.
A missing file is no data; an empty file is no data; anything else must be valid
user data (gzip allowed, 64 KiB).
"""

from __future__ import annotations

from kindling.errors import HostError, InputError
from kindling.host import Host
from kindling.providers import UserDataProvider
from kindling.user_data import MAX_USER_DATA, UserData, parse_user_data

__all__ = [
    "DEFAULTS",
    "DEFAULTS_PATH",
    "LOCAL_FILE",
    "LOCAL_FILE_PATH",
    "OVERRIDES",
    "OVERRIDES_PATH",
    "read_user_data_file",
]

DEFAULTS_PATH = "/etc/kindling/user-data-defaults.toml"
LOCAL_FILE_PATH = "/var/lib/kindling/user-data.toml"
OVERRIDES_PATH = "/etc/kindling/user-data-overrides.toml"

# Compressed input is never larger than its content by more than gzip's framing; a
# cap on the raw read keeps a huge file from being read whole before the 64 KiB check.
_RAW_LIMIT = 2 * MAX_USER_DATA


def read_user_data_file(host: Host, path: str) -> UserData | None:
    """User data from a file under the root; None when the file is absent or blank."""
    if not host.path(path).is_file():
        if host.path(path).exists():
            raise InputError("not a regular file", source=path)
        return None
    try:
        if host.path(path).stat().st_size > _RAW_LIMIT:
            raise InputError(f"larger than {_RAW_LIMIT // 1024} KiB", source=path)
        data = host.read_bytes(path, limit=_RAW_LIMIT)
    except (HostError, OSError) as exc:
        raise InputError("cannot read user data", source=path) from exc
    return parse_user_data(data, source=path)


DEFAULTS = UserDataProvider(
    name="local-defaults",
    order=10,
    read=lambda host: read_user_data_file(host, DEFAULTS_PATH),
    description=DEFAULTS_PATH,
)
LOCAL_FILE = UserDataProvider(
    name="local-user-data",
    order=20,
    read=lambda host: read_user_data_file(host, LOCAL_FILE_PATH),
    description=LOCAL_FILE_PATH,
)
OVERRIDES = UserDataProvider(
    name="local-overrides",
    order=99,
    read=lambda host: read_user_data_file(host, OVERRIDES_PATH),
    description=OVERRIDES_PATH,
)
