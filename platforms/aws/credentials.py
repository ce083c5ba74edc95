"""AWS credentials for the node's own API calls: the SDK chain, narrowed to a node.

Order (the AWS SDKs' default chain, without the parts a boot service has no use for:
SSO, web identity, ECS task roles):

1. Environment: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`),
   from the Host environment. Skipped when a profile is named explicitly, as botocore
   does, so a stale key pair in the unit's environment cannot shadow the profile.
2. `settings.aws.credentials` (shared-credentials INI, base64) and then
   `settings.aws.config` (config INI, `[profile NAME]` / `[default]`), for the profile
   `settings.aws.profile`, else `AWS_PROFILE`, else `default`. When the settings carry
   no file, `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE` (read through the Host).
3. The instance profile, read through THE IMDS client (`platforms.aws.imds`): the
   role under `meta-data/iam/security-credentials/`, then its JSON.

The settings files are decoded and parsed in memory: the secrets never touch a disk
(a temp file, even 0600, outlives a crash), and no parser error that could quote a
line of them is ever passed on. Secret values are registered with the logger so no
line can print them. A profile holds static keys, or a `role_arn` to assume through STS
with the credentials of its `source_profile` (static keys) or its `credential_source`
(`Ec2InstanceMetadata`, `Environment`) — the form Bottlerocket users put in
`settings.aws.config` for ECR. `credential_process`, SSO and chained roles are refused
by name.
"""

from __future__ import annotations

import base64
import binascii
import configparser
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from kindling import log
from kindling.nesting import loads_json
from kindling.record import field, record
from platforms.aws.errors import CredentialsError

if TYPE_CHECKING:
    from kindling.host import Host
    from platforms.aws.imds import ImdsClient
    from platforms.aws.node_settings import NodeSettings

__all__ = ["Credentials", "RoleProfile", "parse_profile", "resolve_credentials"]

_UNSUPPORTED = ("credential_process", "sso_start_url", "sso_session", "web_identity_token_file")
_SOURCES = ("Ec2InstanceMetadata", "Environment")
_ROLES = "meta-data/iam/security-credentials/"


@record(frozen=True)
class Credentials:
    """A key pair and optional session token; `source` names where they came from."""

    access_key: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    source: str = ""

    def __post_init__(self) -> None:
        for secret in (self.secret_key, self.token):
            if secret:
                log.register_secret(secret)


@record(frozen=True)
class RoleProfile:
    """A profile that assumes `role_arn` with the credentials of one named source."""

    role_arn: str
    source: str  # where the profile was read (settings.aws.config …)
    source_profile: str | None = None
    credential_source: str | None = None
    external_id: str | None = field(default=None, repr=False)
    session_name: str | None = None
    duration: int | None = None


Assume = Callable[[Credentials, RoleProfile], Credentials]


def _decode(b64: str, key: str) -> str:
    try:
        return base64.b64decode(b64.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError):
        raise CredentialsError("not base64 of UTF-8 text", source=key) from None


def parse_profile(
    text: str, profile: str, *, config_style: bool, source: str
) -> Credentials | RoleProfile | None:
    """Static keys or the role of `profile` in an INI text; None when it has neither.

    `config_style`: sections are `[profile NAME]` (and `[default]`), as in
    ~/.aws/config; otherwise `[NAME]`, as in ~/.aws/credentials.
    """
    parser = configparser.ConfigParser(interpolation=None, default_section="\0none")
    try:
        parser.read_string(text)
    except configparser.Error:
        raise CredentialsError("not a valid INI file", source=source) from None
    names = [profile] if not config_style or profile == "default" else [f"profile {profile}"]
    if config_style and profile == "default":
        names.append("profile default")
    section = next((parser[n] for n in names if parser.has_section(n)), None)
    if section is None:
        return None
    access, secret = section.get("aws_access_key_id"), section.get("aws_secret_access_key")
    if access and secret:
        return Credentials(access.strip(), secret.strip(), (section.get("aws_session_token") or "").strip() or None,
                           source=source)
    if section.get("role_arn"):
        return _role(section, source)
    unsupported = [k for k in _UNSUPPORTED if k in section]
    if unsupported:
        raise CredentialsError(
            f"profile uses {unsupported[0]}, which Kindling does not support (give static keys "
            "or rely on the instance profile)",
            source=source,
        )
    if access or secret:
        raise CredentialsError("profile has only one of aws_access_key_id / aws_secret_access_key", source=source)
    return None


def _role(section: configparser.SectionProxy, source: str) -> RoleProfile:
    source_profile = (section.get("source_profile") or "").strip() or None
    credential_source = (section.get("credential_source") or "").strip() or None
    if (source_profile is None) == (credential_source is None):
        raise CredentialsError("a role_arn profile needs exactly one of source_profile / credential_source",
                               source=source)
    if credential_source is not None and credential_source not in _SOURCES:
        raise CredentialsError(f"credential_source must be one of {', '.join(_SOURCES)}", source=source)
    duration_text = (section.get("duration_seconds") or "").strip()
    if duration_text and not (duration_text.isdigit() and 900 <= int(duration_text) <= 43200):
        raise CredentialsError("duration_seconds must be 900-43200", source=source)
    return RoleProfile(
        role_arn=(section.get("role_arn") or "").strip(),
        source=source,
        source_profile=source_profile,
        credential_source=credential_source,
        external_id=(section.get("external_id") or "").strip() or None,
        session_name=(section.get("role_session_name") or "").strip() or None,
        duration=int(duration_text) if duration_text else None,
    )


def _from_env(env: Mapping[str, str]) -> Credentials | None:
    access = env.get("AWS_ACCESS_KEY_ID", "").strip()
    secret = env.get("AWS_SECRET_ACCESS_KEY", "").strip()
    if not access and not secret:
        return None
    if not (access and secret):
        raise CredentialsError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together",
                               source="environment")
    token = env.get("AWS_SESSION_TOKEN", "").strip() or None
    return Credentials(access, secret, token, source="environment")


def _profile_files(host: Host, settings: NodeSettings) -> list[tuple[str, str, bool]]:
    """(text, source name, config_style) for each credentials/config file in force."""
    files: list[tuple[str, str, bool]] = []
    if settings.aws_credentials:
        files.append((_decode(settings.aws_credentials, "settings.aws.credentials"), "settings.aws.credentials", False))
    else:
        path = host.env.get("AWS_SHARED_CREDENTIALS_FILE", "").strip()
        text = host.read_optional(path) if path else None
        if text is not None:
            files.append((text, "AWS_SHARED_CREDENTIALS_FILE", False))
    if settings.aws_config:
        files.append((_decode(settings.aws_config, "settings.aws.config"), "settings.aws.config", True))
    else:
        path = host.env.get("AWS_CONFIG_FILE", "").strip()
        text = host.read_optional(path) if path else None
        if text is not None:
            files.append((text, "AWS_CONFIG_FILE", True))
    return files


def _from_instance_profile(imds: ImdsClient) -> Credentials | None:
    listing = imds.get_text(_ROLES)
    roles = [line.strip() for line in (listing or "").splitlines() if line.strip()]
    if not roles:
        return None
    body = imds.get_text(_ROLES + roles[0])
    if body is None:
        return None
    try:
        doc = loads_json(body, source="imds")
    except json.JSONDecodeError:
        raise CredentialsError("instance profile credentials are not JSON", source="imds") from None
    if not isinstance(doc, dict) or doc.get("Code", "Success") != "Success":
        raise CredentialsError("instance profile credentials are not available (Code is not Success)",
                               source="imds")
    access, secret, token = doc.get("AccessKeyId"), doc.get("SecretAccessKey"), doc.get("Token")
    if not (isinstance(access, str) and isinstance(secret, str) and access and secret):
        raise CredentialsError("instance profile credentials lack AccessKeyId/SecretAccessKey", source="imds")
    return Credentials(access, secret, token if isinstance(token, str) and token else None,
                       source="instance profile")


def _source_credentials(
    host: Host, role: RoleProfile, files: list[tuple[str, str, bool]], imds: Callable[[], ImdsClient]
) -> Credentials:
    """The credentials a role profile assumes its role with."""
    if role.credential_source == "Environment":
        found = _from_env(host.env)
    elif role.credential_source == "Ec2InstanceMetadata":
        found = _from_instance_profile(imds())
    else:
        found = None
        for text, source, config_style in files:
            candidate = parse_profile(text, role.source_profile or "", config_style=config_style, source=source)
            if isinstance(candidate, RoleProfile):
                raise CredentialsError("source_profile is itself a role profile (chained roles are not supported)",
                                       source=role.source)
            if candidate is not None:
                found = candidate
                break
    if found is None:
        what = role.credential_source or "source_profile"
        raise CredentialsError(f"the role profile's {what} has no credentials", source=role.source)
    return found


def resolve_credentials(
    host: Host, settings: NodeSettings, imds: Callable[[], ImdsClient], *, assume: Assume | None = None
) -> Credentials:
    """The first source of the chain that has credentials; CredentialsError naming all tried.

    `assume(source_credentials, role)` turns a role profile into credentials (STS).
    """
    explicit = settings.aws_profile or host.env.get("AWS_PROFILE", "").strip()
    profile = explicit or "default"
    tried: list[str] = []
    if not explicit:
        found = _from_env(host.env)
        if found is not None:
            return found
        tried.append("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
    files = _profile_files(host, settings)
    for text, source, config_style in files:
        parsed = parse_profile(text, profile, config_style=config_style, source=source)
        if isinstance(parsed, RoleProfile):
            if assume is None:
                raise CredentialsError("role profiles need an STS caller", source=source)
            return assume(_source_credentials(host, parsed, files, imds), parsed)
        if parsed is not None:
            return parsed
        tried.append(source)
    if explicit:
        key = "settings.aws.profile" if settings.aws_profile else "AWS_PROFILE"
        where = ", ".join(s for _, s, _ in files) or "no credentials or config file"
        raise CredentialsError(f"profile not found with static keys or a role in: {where}", source=key)
    found = _from_instance_profile(imds())
    if found is not None:
        return found
    tried.append("IMDS instance profile")
    raise CredentialsError(f"no AWS credentials found (tried {', '.join(tried)})", source="aws")
