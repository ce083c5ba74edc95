"""The settings the AWS signalling services read, typed once (DESIGN §6).

`settings.cloudformation.*`, `settings.autoscaling.*`, `settings.aws.*` and the
proxy keys of `settings.network`, taken from the live settings tree (already
validated by the model when committed) into one frozen record, so each service
works on typed values and never on raw dicts. Pure: tree in, record out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kindling.errors import SettingsError
from kindling.record import field, record

if TYPE_CHECKING:
    from kindling.host import Host

__all__ = ["NodeSettings", "load_node_settings", "parse_node_settings"]


@record(frozen=True)
class NodeSettings:
    should_signal: bool = False
    stack_name: str = ""
    logical_resource_id: str = ""
    should_wait: bool = False
    lifecycle_hook_name: str = ""
    region: str = ""
    aws_config: str = field(default="", repr=False)  # base64, sensitive
    aws_credentials: str = field(default="", repr=False)  # base64, sensitive
    aws_profile: str = ""
    https_proxy: str = ""
    no_proxy: tuple[str, ...] = ()

    def require_signal_target(self) -> None:
        """`should-signal` without a stack is a settings error, caught before any wait."""
        if not self.should_signal:
            return
        for key, value in (
            ("settings.cloudformation.stack-name", self.stack_name),
            ("settings.cloudformation.logical-resource-id", self.logical_resource_id),
        ):
            if not value.strip():
                raise SettingsError(
                    key, "required when settings.cloudformation.should-signal is true", source="settings"
                )


def _section(tree: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = tree.get(name)
    return value if isinstance(value, Mapping) else {}


def _text(section: Mapping[str, Any], key: str) -> str:
    value = section.get(key)
    return value if isinstance(value, str) else ""


def parse_node_settings(tree: Mapping[str, Any]) -> NodeSettings:
    """The record from a settings tree without the outer `settings` key."""
    cfn = _section(tree, "cloudformation")
    asg = _section(tree, "autoscaling")
    aws = _section(tree, "aws")
    net = _section(tree, "network")
    no_proxy = net.get("no-proxy")
    return NodeSettings(
        should_signal=cfn.get("should-signal") is True,
        stack_name=_text(cfn, "stack-name"),
        logical_resource_id=_text(cfn, "logical-resource-id"),
        should_wait=asg.get("should-wait") is True,
        lifecycle_hook_name=_text(asg, "lifecycle-hook-name"),
        region=_text(aws, "region"),
        aws_config=_text(aws, "config"),
        aws_credentials=_text(aws, "credentials"),
        aws_profile=_text(aws, "profile"),
        https_proxy=_text(net, "https-proxy"),
        no_proxy=tuple(str(v) for v in no_proxy) if isinstance(no_proxy, list) else (),
    )


def load_node_settings(host: Host) -> NodeSettings:
    """Read the live settings through the settings service (the datastore under the root)."""
    from kindling.api.service import SettingsService

    tree = SettingsService(host).get_settings()
    return parse_node_settings(tree)
