"""What the signalling services need to know about this instance, fetched once.

Instance id and region come from IMDS through THE client (`platforms.aws.imds`,
shared per Host so one token serves every read); the region falls back to
`settings.aws.region` when the identity document has none. The API caller is built
lazily with the credential chain, so a service that ends early (nothing to do)
never resolves credentials. Also: the verdict on the boot, which every signal
(CloudFormation, lifecycle hook) derives the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kindling.errors import InputError

if TYPE_CHECKING:
    from kindling.host import Host
    from platforms.aws.credentials import Credentials
    from platforms.aws.imds import ImdsClient
    from platforms.aws.node_settings import NodeSettings
    from platforms.aws.query_api import QueryApi
    from platforms.aws.system_state import SystemStatus

__all__ = ["TARGET_LIFECYCLE_STATE", "Instance", "boot_verdict"]

TARGET_LIFECYCLE_STATE = "meta-data/autoscaling/target-lifecycle-state"


class Instance:
    """Lazy, cached facts and clients for one run of one service."""

    def __init__(self, host: Host, settings: NodeSettings, *, imds: ImdsClient | None = None) -> None:
        self.host = host
        self.settings = settings
        self._imds = imds
        self._instance_id: str | None = None
        self._region: str | None = None
        self._api: QueryApi | None = None

    @property
    def imds(self) -> ImdsClient:
        if self._imds is None:
            from platforms.aws.imds import client_for

            self._imds = client_for(self.host)
        return self._imds

    def instance_id(self) -> str:
        if self._instance_id is None:
            found = self.imds.instance_id()
            if not found:
                raise InputError("meta-data/instance-id is absent", source="imds")
            self._instance_id = found
        return self._instance_id

    def region(self) -> str:
        if self._region is None:
            found = self.imds.region() or self.settings.region
            if not found:
                raise InputError(
                    "no region: the identity document has none and settings.aws.region is unset", source="imds"
                )
            self._region = found
        return self._region

    def credentials(self) -> Credentials:
        from platforms.aws.credentials import RoleProfile, resolve_credentials

        def assume(source: Credentials, role: RoleProfile) -> Credentials:
            from platforms.aws.sts import assume_role

            return assume_role(self.host, self.region(), self.settings, source, role,
                               session_name=f"kindling-{self.instance_id()}")

        return resolve_credentials(self.host, self.settings, lambda: self.imds, assume=assume)

    def api(self) -> QueryApi:
        if self._api is None:
            from platforms.aws.query_api import QueryApi

            self._api = QueryApi(
                self.host,
                region=self.region(),
                credentials=self.credentials,
                https_proxy=self.settings.https_proxy,
                no_proxy=self.settings.no_proxy,
            )
        return self._api

    def target_lifecycle_state(self) -> str | None:
        text = self.imds.get_text(TARGET_LIFECYCLE_STATE)
        return text.strip() or None if text else None

    def close(self) -> None:
        if self._api is not None:
            self._api.close()


def boot_verdict(
    instance: Instance,
    *,
    timeout: float,
    tick: float | None = None,
    on_tick: Callable[[str], None] | None = None,
) -> SystemStatus:
    """Did the boot go well? systemd's settled state, waited for — with one exception.

    On a warm-pool warm-up boot (`settings.autoscaling.should-wait` and a target state
    `Warmed:*`) warm-pool-wait holds the boot open on purpose until the instance is
    stopped, so waiting for `running` would wait forever: the state is read once and
    the boot is judged by the units failed so far.
    """
    from platforms.aws.system_state import read_system, wait_for_system

    if instance.settings.should_wait:
        target = instance.target_lifecycle_state()
        if target is not None and target.startswith("Warmed:"):
            return read_system(instance.host)
    return wait_for_system(instance.host, timeout=timeout, tick=tick, on_tick=on_tick)
