"""`kubernetes.max-pods` from the instance type (Bottlerocket's pluto with its
`eni-max-pods` table, shipped unchanged as package data: `data/eni-max-pods.txt`).

The table gives, per EC2 instance type, ENIs x (IPv4 addresses per ENI - 1) + 2 (the
AWS VPC CNI's limit). An instance type that is not in the table gets no value here
(pluto would ask the EC2 API; a first boot does not), so kubelet keeps its own default.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["max_pods_for", "parse_table"]


def parse_table(text: str) -> dict[str, int]:
    """`<instance-type> <max-pods>` lines; `#` comments and blank lines skipped."""
    table: dict[str, int] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, count = line.partition(" ")
        if count.strip().isdigit():
            table[name] = int(count)
    return table


@cache
def _table() -> dict[str, int]:
    text = resources.files("platforms.aws").joinpath("data/eni-max-pods.txt").read_text(encoding="utf-8")
    return parse_table(text)


def max_pods_for(instance_type: str) -> int | None:
    return _table().get(instance_type.strip())
