"""Rigs for the AWS signalling tests: the IMDS emulator (tests/imds_emulator.py), the
SigV4-verifying AWS endpoint, a real dbus-daemon with a stand-in systemd, and a Host
wired to all three through the environment variables the code honours."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kindling.host import FakeClock, Host
from tests.imds_emulator import ImdsEmulator
from tests.platforms.aws.aws_endpoint import AwsEndpoint
from tests.platforms.aws.dbus_rig import DbusDaemon, FakeSystemd

INSTANCE_ID = "i-0123456789abcdef0"
ROLE_KEY = "ASIAROLEKEY000000001"
ROLE_SECRET = "role-secret-key-do-not-print-0001"
ROLE_TOKEN = "role-session-token-do-not-print-0001"


class PollClock(FakeClock):
    """A FakeClock that runs `hooks[n]` after the n-th sleep of exactly `interval` s.

    The warm-pool loop sleeps `interval` between polls; IMDS retries sleep other
    amounts, so hooks fire per poll, whatever the client does in between.
    """

    def __init__(self, interval: float = 5.0) -> None:
        super().__init__()
        self.interval = interval
        self.polls = 0
        self.hooks: dict[int, Callable[[], None]] = {}

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if seconds == self.interval:
            self.polls += 1
            hook = self.hooks.get(self.polls)
            if hook is not None:
                hook()


@pytest.fixture
def aws_imds() -> Iterator[ImdsEmulator]:
    """IMDS with an instance id, identity document and an instance-profile role."""
    with ImdsEmulator() as imds:
        imds.set("meta-data/instance-id", INSTANCE_ID)
        imds.identity("us-west-2")
        imds.set("meta-data/iam/security-credentials/", "node-role\n")
        imds.set(
            "meta-data/iam/security-credentials/node-role",
            json.dumps({"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": ROLE_KEY,
                        "SecretAccessKey": ROLE_SECRET, "Token": ROLE_TOKEN,
                        "Expiration": "2099-01-01T00:00:00Z"}),
        )
        yield imds


@pytest.fixture
def endpoint() -> Iterator[AwsEndpoint]:
    with AwsEndpoint() as ep:
        ep.add_key(ROLE_KEY, ROLE_SECRET, ROLE_TOKEN)
        ep.add_stack("node-stack", "NodeGroup")
        ep.add_instance(INSTANCE_ID, "node-asg", "Pending:Wait", hook="launch-hook")
        yield ep


@pytest.fixture(scope="session")
def dbus_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbusDaemon]:
    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon is not installed (apt: dbus-daemon)")
    daemon = DbusDaemon(tmp_path_factory.mktemp("dbus"))
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture
def systemd(dbus_daemon: DbusDaemon) -> Iterator[FakeSystemd]:
    fake = FakeSystemd(dbus_daemon.address, state="starting")
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def poll_clock() -> PollClock:
    return PollClock()


def rig_env(imds: ImdsEmulator, endpoint: AwsEndpoint, bus: str, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url,
        "AWS_ENDPOINT_URL_CLOUDFORMATION": endpoint.url,
        "AWS_ENDPOINT_URL_AUTO_SCALING": endpoint.url,
        "AWS_ENDPOINT_URL_STS": endpoint.url,
        "DBUS_SYSTEM_BUS_ADDRESS": bus,
        "KINDLING_IMDS_BUDGET": "3",
        "KINDLING_AWS_BUDGET": "5",
        **extra,
    }


@pytest.fixture
def rig_host(
    root: Path, poll_clock: PollClock, aws_imds: ImdsEmulator, endpoint: AwsEndpoint, dbus_daemon: DbusDaemon
) -> Host:
    """A real Host on a temporary root, pointed at every rig; settings via `commit`."""
    return Host(root, clock=poll_clock, env=rig_env(aws_imds, endpoint, dbus_daemon.address))


def commit(host: Host, tree: dict[str, Any]) -> None:
    """Commit settings (without the outer key) through the real settings service."""
    from kindling.api.service import SettingsService

    SettingsService(host).set_tree(tree, tx="test", source="test")


SIGNAL = {"cloudformation": {"should-signal": True, "stack-name": "node-stack", "logical-resource-id": "NodeGroup"}}
