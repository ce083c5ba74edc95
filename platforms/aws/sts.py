"""STS `AssumeRole` for role profiles in `settings.aws.config` (credential chain, step 2).

A regional call (`sts.<region>.amazonaws.com`, `AWS_ENDPOINT_URL_STS`), signed with
the profile's source credentials through the same Query-API caller, proxy and retry
budget as every other call. It changes nothing on the node, so `--plan` makes it too
(a plan then shows whether the role can be assumed). The returned keys are
registered as secrets by `Credentials` itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from platforms.aws.credentials import Credentials, RoleProfile
from platforms.aws.errors import AwsApiError

if TYPE_CHECKING:
    from kindling.host import Host
    from platforms.aws.node_settings import NodeSettings

__all__ = ["assume_role"]

_CREDS = "AssumeRoleResult/Credentials"


def assume_role(
    host: Host, region: str, settings: NodeSettings, source: Credentials, role: RoleProfile, *, session_name: str
) -> Credentials:
    """Temporary credentials of `role.role_arn`, assumed with `source`."""
    from platforms.aws.query_api import STS, QueryApi, find_text

    params = {"RoleArn": role.role_arn, "RoleSessionName": role.session_name or session_name}
    if role.external_id:
        params["ExternalId"] = role.external_id
    if role.duration:
        params["DurationSeconds"] = str(role.duration)
    api = QueryApi(host, region=region, credentials=lambda: source, https_proxy=settings.https_proxy,
                   no_proxy=settings.no_proxy)
    try:
        root = api.call(STS, "AssumeRole", params, mutating=False)
    finally:
        api.close()
    assert root is not None  # mutating=False: always sent
    access = find_text(root, f"{_CREDS}/AccessKeyId")
    secret = find_text(root, f"{_CREDS}/SecretAccessKey")
    token = find_text(root, f"{_CREDS}/SessionToken")
    if not (access and secret and token):
        raise AwsApiError("sts", "AssumeRole", "answer without credentials")
    return Credentials(access, secret, token, source=f"role from {role.source}")
