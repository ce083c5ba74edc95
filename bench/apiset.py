"""`kindling apiclient set` of one key, end to end: the process starting, PATCH,
commit, the affected applier (motd) and the per-key report, through the server's
socket and directly on the datastore (`--direct`), paired A B A B on one booted root.

Each run sets a new value, so every run really commits and applies (an unchanged value
would measure a no-op). No budget in DESIGN §8; the socket/direct ratio says what the
server round trip costs a user.
"""

from __future__ import annotations

import itertools
from functools import partial

from bench.apiload import SECTION, _start
from bench.janitor import Janitor
from bench.measure import Sample, run_once
from bench.report import PairRow, Row
from bench.stats import Summary, pair_ratios, paired
from bench.target import Kindling

__all__ = ["apiclient_set_rows"]


def _set(k: Kindling, root: str, mode: tuple[str, ...], counter: itertools.count[int]) -> Sample:
    argv = k.argv("apiclient", "--root", root, *mode, "set", f"motd=bench {next(counter)}")
    sample = run_once(argv, env=k.env())
    if sample.rc != 0 or "settings.motd: applied by motd" not in sample.stdout:
        raise RuntimeError(f"apiclient set failed (exit {sample.rc}): {sample.stdout.strip()[-200:]}")
    return sample


def apiclient_set_rows(k: Kindling, janitor: Janitor, runs: int, warmup: int) -> tuple[list[Row], PairRow]:
    name = "`apiclient set motd=…` end to end (commit + motd applier + report)"
    if not k.has("apiclient") or not k.has("apiserver"):
        return [], PairRow(SECTION, name, "direct", "socket", "ms")
    root = k.demo_copy(janitor, "apiset")
    run_once(k.argv("boot", "--root", str(root), "--platform", "metal"), env=k.env())
    server = _start(k, root, janitor)
    counter = itertools.count()
    direct, sock = paired(
        partial(_set, k, str(root), ("--direct",), counter),
        partial(_set, k, str(root), (), counter),
        runs,
        warmup,
    )
    server.stop()
    k.record_rss("apiclient set (direct)", direct)
    k.record_rss("apiclient set (socket)", sock)
    rows = [
        Row(SECTION, f"{name}, direct", "ms", Summary.of([s.wall_ms for s in direct])),
        Row(SECTION, f"{name}, over the socket", "ms", Summary.of([s.wall_ms for s in sock])),
    ]
    pair = PairRow(
        SECTION,
        name,
        "`--direct` (datastore in the process)",
        "over the API socket",
        "ms",
        Summary.of([s.wall_ms for s in direct]),
        Summary.of([s.wall_ms for s in sock]),
        Summary.of(pair_ratios([s.wall_ms for s in direct], [s.wall_ms for s in sock])),
        note="ratio = socket / direct, per pair",
    )
    return rows, pair
