"""Command wiring for `kindling cfsignal`, `kindling warm-pool-wait` and
`kindling lifecycle complete` (DESIGN §4): one module per command, as netdog's
`cli/`; logic lives in the service modules beside this package."""

from __future__ import annotations

import argparse

__all__ = ["ENVIRONMENT", "seconds"]

ENVIRONMENT = """environment:
  AWS_EC2_METADATA_SERVICE_ENDPOINT[_MODE]  IMDS (instance id, region, instance profile, lifecycle state)
  AWS_ENDPOINT_URL_CLOUDFORMATION / _AUTO_SCALING / _STS / AWS_ENDPOINT_URL  API endpoints
  credentials, first found: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN; skipped when
  a profile is named); settings.aws.credentials / .config for settings.aws.profile (else AWS_PROFILE),
  else AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE; the instance profile from IMDS
  AWS_CA_BUNDLE  extra trust roots; HTTPS_PROXY / NO_PROXY when settings.network.https-proxy is unset
  DBUS_SYSTEM_BUS_ADDRESS  the system bus systemd is asked on
  KINDLING_AWS_BUDGET / KINDLING_AWS_TIMEOUT  API retry budget (120 s) / per-request timeout (15 s)
  KINDLING_IMDS_BUDGET / KINDLING_IMDS_TIMEOUT  the same for IMDS (300 s / 5 s)"""


def seconds(text: str) -> float:
    """argparse type: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value
