"""The credential chain: environment, settings.aws.{credentials,config,profile}, instance profile."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest

from kindling import log
from kindling.host import Host
from platforms.aws.credentials import Credentials, parse_profile, resolve_credentials
from platforms.aws.errors import CredentialsError
from platforms.aws.imds import ImdsClient
from platforms.aws.node_settings import NodeSettings
from tests.imds_emulator import ImdsEmulator
from tests.platforms.aws.conftest import ROLE_KEY, ROLE_SECRET, ROLE_TOKEN

CREDS_INI = "[default]\naws_access_key_id = AKIADEFAULT000000000\naws_secret_access_key = default-secret-000000\n" \
            "[ops]\naws_access_key_id = AKIAOPS0000000000000\naws_secret_access_key = ops-secret-0000000000\n"
CONFIG_INI = "[profile cfg]\naws_access_key_id = AKIACFG0000000000000\naws_secret_access_key = cfg-secret-000000000\n" \
             "[profile assumed]\nrole_arn = arn:aws:iam::123456789012:role/x\ncredential_source = Ec2InstanceMetadata\n"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def resolve(root: Path, settings: NodeSettings, imds: ImdsEmulator | None = None, **env: str) -> Credentials:
    full_env = {"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url if imds else "http://127.0.0.1:9",
                "KINDLING_IMDS_BUDGET": "1", **env}
    host = Host(root, env=full_env)
    return resolve_credentials(host, settings, lambda: ImdsClient(host))


def test_environment_first(root: Path, aws_imds: ImdsEmulator) -> None:
    found = resolve(root, NodeSettings(aws_credentials=b64(CREDS_INI)), aws_imds,
                    AWS_ACCESS_KEY_ID="AKIAENV0000000000000", AWS_SECRET_ACCESS_KEY="env-secret-00000000")
    assert (found.access_key, found.source) == ("AKIAENV0000000000000", "environment")
    assert aws_imds.requests == []


def test_half_an_environment_pair_is_an_error(root: Path) -> None:
    with pytest.raises(CredentialsError, match="environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        resolve(root, NodeSettings(), AWS_ACCESS_KEY_ID="AKIAENV0000000000000")


def test_settings_credentials_default_and_named_profile(root: Path) -> None:
    found = resolve(root, NodeSettings(aws_credentials=b64(CREDS_INI)))
    assert (found.access_key, found.source) == ("AKIADEFAULT000000000", "settings.aws.credentials")
    found = resolve(root, NodeSettings(aws_credentials=b64(CREDS_INI), aws_profile="ops"),
                    AWS_ACCESS_KEY_ID="AKIAENV0000000000000", AWS_SECRET_ACCESS_KEY="env-secret-00000000")
    assert found.access_key == "AKIAOPS0000000000000"  # an explicit profile skips the environment


def test_settings_config_profile(root: Path) -> None:
    found = resolve(root, NodeSettings(aws_config=b64(CONFIG_INI), aws_profile="cfg"))
    assert (found.access_key, found.source) == ("AKIACFG0000000000000", "settings.aws.config")


def test_unknown_profile_names_the_key_not_the_value(root: Path) -> None:
    with pytest.raises(CredentialsError, match=r"settings\.aws\.profile: profile not found") as info:
        resolve(root, NodeSettings(aws_credentials=b64(CREDS_INI), aws_profile="nope-profile"))
    assert "nope-profile" not in str(info.value)


def test_role_profile_without_a_caller_is_refused(root: Path) -> None:
    with pytest.raises(CredentialsError, match=r"settings\.aws\.config: role profiles need an STS caller"):
        resolve(root, NodeSettings(aws_config=b64(CONFIG_INI), aws_profile="assumed"))


@pytest.mark.parametrize(
    ("section", "rule"),
    [
        ("role_arn = arn:x\n", "needs exactly one of source_profile / credential_source"),
        ("role_arn = arn:x\nsource_profile = a\ncredential_source = Environment\n", "needs exactly one"),
        ("role_arn = arn:x\ncredential_source = EcsContainer\n", "credential_source must be one of"),
        ("role_arn = arn:x\nsource_profile = a\nduration_seconds = 5\n", "duration_seconds must be 900-43200"),
        ("credential_process = /bin/steal\n", "profile uses credential_process"),
    ],
)
def test_bad_role_profiles_name_the_rule(root: Path, section: str, rule: str) -> None:
    with pytest.raises(CredentialsError, match=rule):
        resolve(root, NodeSettings(aws_config=b64("[profile p]\n" + section), aws_profile="p"))


def test_broken_ini_never_quotes_its_lines(root: Path) -> None:
    text = "aws_secret_access_key = leaked-secret-value\n[default\n"
    with pytest.raises(CredentialsError, match=r"settings\.aws\.credentials: not a valid INI file") as info:
        resolve(root, NodeSettings(aws_credentials=b64(text)))
    assert "leaked" not in str(info.value)


def test_shared_files_named_by_the_environment_are_read_under_the_root(root: Path) -> None:
    (root / "etc").mkdir()
    (root / "etc" / "aws-creds").write_text(CREDS_INI)
    found = resolve(root, NodeSettings(), AWS_SHARED_CREDENTIALS_FILE="/etc/aws-creds", AWS_PROFILE="ops")
    assert (found.access_key, found.source) == ("AKIAOPS0000000000000", "AWS_SHARED_CREDENTIALS_FILE")


def test_instance_profile_through_the_one_imds_client(root: Path, aws_imds: ImdsEmulator) -> None:
    stream = io.StringIO()
    log.configure(stream=stream)
    try:
        found = resolve(root, NodeSettings(), aws_imds)
        log.get("t").info("echo", value=found.secret_key, token=found.token)
    finally:
        log.configure()
    assert (found.access_key, found.secret_key, found.token) == (ROLE_KEY, ROLE_SECRET, ROLE_TOKEN)
    assert found.source == "instance profile"
    assert aws_imds.count("PUT") == 1  # one token for both reads
    assert ROLE_SECRET not in stream.getvalue() and ROLE_TOKEN not in stream.getvalue()
    assert ROLE_SECRET not in repr(found)


def test_no_credentials_anywhere_names_every_source(root: Path, aws_imds: ImdsEmulator) -> None:
    aws_imds.remove("meta-data/iam/security-credentials/")
    with pytest.raises(CredentialsError, match=r"no AWS credentials found \(tried AWS_ACCESS_KEY_ID/"
                                               r"AWS_SECRET_ACCESS_KEY, IMDS instance profile\)"):
        resolve(root, NodeSettings(), aws_imds)


def test_instance_profile_error_code(root: Path, aws_imds: ImdsEmulator) -> None:
    aws_imds.set("meta-data/iam/security-credentials/node-role", json.dumps({"Code": "Failure"}))
    with pytest.raises(CredentialsError, match="imds: instance profile credentials are not available"):
        resolve(root, NodeSettings(), aws_imds)


def test_parse_profile_pure() -> None:
    assert parse_profile(CREDS_INI, "zzz", config_style=False, source="s") is None
    cfg = "[default]\naws_access_key_id = A\naws_secret_access_key = B\naws_session_token = T\n"
    found = parse_profile(cfg, "default", config_style=True, source="s")
    assert found is not None and (found.access_key, found.token) == ("A", "T")
