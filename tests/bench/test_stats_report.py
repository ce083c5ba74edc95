"""The arithmetic and formatting RESULTS.md rests on: summaries, percentiles, A B A B
pairing, per-pair ratios, budgets and the Markdown tables (bench/, issue 9)."""

from __future__ import annotations

import pytest

from bench.report import NOT_PRESENT, Block, Budget, Machine, PairRow, Report, Row, fmt
from bench.stats import Summary, pair_ratios, paired, percentile, series

MACHINE = Machine("2026-11-22 01:00 UTC", 2, "Test CPU", "3.11.7", "/usr/bin/python3.11", "Linux 6.1 x86_64",
                  "Debian 12", 7, 1, "0.10 / 0.20 / 0.30", "0.40 / 0.50 / 0.60", 42.0)  # fmt: skip


def test_summary_median_min_max() -> None:
    s = Summary.of([5.0, 1.0, 3.0, 9.0])
    assert (s.n, s.median, s.min, s.max) == (4, 4.0, 1.0, 9.0)
    assert Summary.of([2.0]).median == 2.0
    assert Summary.of([0.001, 0.003, 0.002]).scaled(1000) == Summary(3, 2.0, 1.0, 3.0)


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")]])
def test_summary_refuses_nothing_and_nan(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        Summary.of(bad)


def test_percentile_interpolates_like_numpy() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # order does not matter
    with pytest.raises(ValueError):
        percentile(values, 101)
    with pytest.raises(ValueError):
        percentile([], 50)


def test_paired_alternates_a_b_after_warmup() -> None:
    calls: list[str] = []
    counter = {"a": 0, "b": 0}

    def make(name: str):  # type: ignore[no-untyped-def]
        def run() -> int:
            calls.append(name)
            counter[name] += 1
            return counter[name]

        return run

    a, b = paired(make("a"), make("b"), runs=3, warmup=2)
    assert calls == ["a", "b"] * 5
    assert a == [3, 4, 5] and b == [3, 4, 5]  # warm-up results are dropped


def test_series_drops_warmup_and_checks_arguments() -> None:
    it = iter(range(10))
    assert series(lambda: next(it), runs=3, warmup=1) == [1, 2, 3]
    with pytest.raises(ValueError):
        series(lambda: 0, runs=0)
    with pytest.raises(ValueError):
        paired(lambda: 0, lambda: 0, runs=1, warmup=-1)


def test_pair_ratios_are_per_pair_not_of_medians() -> None:
    # medians 20 and 40 would give 2.0; pair by pair the ratios are 1, 3, 2
    assert pair_ratios([10.0, 20.0, 30.0], [10.0, 60.0, 60.0]) == [1.0, 3.0, 2.0]
    with pytest.raises(ValueError):
        pair_ratios([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        pair_ratios([0.0], [1.0])


def test_budget_checks_and_prints() -> None:
    assert Budget("<=", 150, "ms").met(150) and not Budget("<=", 150, "ms").met(150.1)
    assert Budget(">=", 5, "x").met(6.2) and not Budget(">=", 5, "x").met(4.9)
    assert str(Budget("<=", 40, "MB")) == "≤ 40.0 MB"
    assert str(Budget(">=", 5, "x")) == "≥ 5.00x"
    with pytest.raises(ValueError):
        Budget("<", 1)


def test_fmt_keeps_three_significant_digits() -> None:
    assert [fmt(v) for v in (0.41234, 4.1234, 41.234, 412.34)] == ["0.412", "4.12", "41.2", "412"]


def test_row_verdicts() -> None:
    s = Summary.of([100.0, 120.0, 200.0])
    assert Row("S", "x", "ms", s, Budget("<=", 150, "ms")).verdict() == "ok"
    assert Row("S", "x", "ms", s, Budget("<=", 110, "ms")).verdict() == "OVER BUDGET"
    assert Row("S", "x", "ms", s).verdict() == "—"
    assert Row("S", "x", "ms", None).verdict() == NOT_PRESENT
    assert Row("S", "x", "ms", s, status="failed: boom").verdict() == "failed: boom"
    ratio = Summary.of([6.0, 7.0])
    assert PairRow("S", "p", "a", "b", "ms", s, s, ratio, Budget(">=", 5, "x")).verdict() == "ok"
    assert PairRow("S", "p", "a", "b", "ms").verdict() == NOT_PRESENT


def test_report_renders_machine_tables_and_blocks() -> None:
    report = Report(MACHINE)
    report.rows.append(Row("Suite", "`kindling boot --plan`", "ms", Summary.of([90.0, 100.0, 110.0]),
                           Budget("<=", 150, "ms"), note="a|b"))  # fmt: skip
    report.rows.append(Row("Suite", "`kindling gpu detect`", "MB", None, Budget("<=", 40, "MB")))
    a, b = [100.0, 110.0], [700.0, 880.0]
    ratio = Summary.of(pair_ratios(a, b))
    report.pairs.append(PairRow("Peers", "first boot", "kindling", "cloud-init", "ms", Summary.of(a), Summary.of(b),
                                ratio, Budget(">=", 5, "x")))  # fmt: skip
    report.notes.append("a note")
    report.blocks.append(Block("Profile", "line 1\nline 2\n"))
    text = report.render()
    assert "| CPUs | 2 x Test CPU |" in text
    assert "| Python | 3.11.7 (`/usr/bin/python3.11`) |" in text
    assert "| kernel | Linux 6.1 x86_64 |" in text
    assert "0.10 / 0.20 / 0.30 at start" in text
    assert "| `kindling boot --plan` | 100 ms | 90.0 | 110 | 3 | ≤ 150 ms | ok | a\\|b |" in text
    assert "| `kindling gpu detect` | — | — | — | 0 | ≤ 40.0 MB | not present |  |" in text
    # ratio per pair: 7.0 and 8.0 → median 7.5
    assert "| 105 ms (100-110) | 790 ms (700-880) | 7.50x (7.00-8.00) | ≥ 5.00x | ok |" in text
    assert text.index("## Suite") < text.index("## Peers") < text.index("## Notes") < text.index("## Profile")
    report.order = ["Peers", "Absent", "Suite"]
    text = report.render()
    assert text.index("## Peers") < text.index("## Suite")
    assert "## Absent" not in text
    assert "```\nline 1\nline 2\n```" in text
    glance = text[text.index("## Budgets at a glance") : text.index("## Suite")]
    assert "| `kindling boot --plan` | 100 ms | ≤ 150 ms | ok |" in glance
    assert "| `kindling gpu detect` | — | ≤ 40.0 MB | not present |" in glance
    assert "| first boot: cloud-init / kindling | 7.50x | ≥ 5.00x | ok |" in glance
    assert text.endswith("```\n")
