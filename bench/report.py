"""The results model and its Markdown rendering (`bench/RESULTS.md`).

A measurement is a `Row` (one command or figure: median/min/max of n runs, a budget
if DESIGN §8 or an issue sets one) or a `PairRow` (two commands run A B A B … in the
same run, with the per-pair ratio B/A). Anything that could not be measured is kept as
a row with a status — "not present" for a component not written yet, "failed: …" when
it broke — so the table never silently drops a line and never shows a made-up figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.stats import Summary

__all__ = ["Block", "Budget", "Machine", "PairRow", "Report", "Row", "fmt"]

NOT_PRESENT = "not present"


@dataclass(frozen=True)
class Budget:
    """`value op limit` must hold, e.g. Budget("<=", 150, "ms") or Budget(">=", 5, "x")."""

    op: str
    limit: float
    unit: str = ""

    def __post_init__(self) -> None:
        if self.op not in ("<=", ">="):
            raise ValueError(f"budget operator must be <= or >=, not {self.op!r}")

    def met(self, value: float) -> bool:
        return value <= self.limit if self.op == "<=" else value >= self.limit

    def __str__(self) -> str:
        sign = "≤" if self.op == "<=" else "≥"
        unit = self.unit if self.unit in ("x", "") else f" {self.unit}"
        return f"{sign} {fmt(self.limit)}{unit}"


@dataclass(frozen=True)
class Row:
    section: str
    name: str
    unit: str
    summary: Summary | None = None
    budget: Budget | None = None
    note: str = ""
    status: str | None = None  # None → derived from summary and budget

    def verdict(self) -> str:
        if self.status is not None:
            return self.status
        if self.summary is None:
            return NOT_PRESENT
        if self.budget is None:
            return "—"
        return "ok" if self.budget.met(self.summary.median) else "OVER BUDGET"


@dataclass(frozen=True)
class PairRow:
    section: str
    name: str
    a_label: str
    b_label: str
    unit: str
    a: Summary | None = None
    b: Summary | None = None
    ratio: Summary | None = None  # of b[i] / a[i]
    budget: Budget | None = None  # on the median ratio
    note: str = ""
    status: str | None = None

    def verdict(self) -> str:
        if self.status is not None:
            return self.status
        if self.ratio is None:
            return NOT_PRESENT
        if self.budget is None:
            return "—"
        return "ok" if self.budget.met(self.ratio.median) else "OVER BUDGET"


@dataclass(frozen=True)
class Block:
    """Free text under a heading: a profile, a component module's own output."""

    title: str
    text: str
    code: bool = True


@dataclass(frozen=True)
class Machine:
    date: str
    cpus: int
    cpu_model: str
    python: str
    interpreter: str
    kernel: str
    os: str
    runs: int
    warmup: int
    load_start: str = ""
    load_end: str = ""
    duration_s: float = 0.0


@dataclass
class Report:
    machine: Machine
    rows: list[Row] = field(default_factory=list)
    pairs: list[PairRow] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # sections listed first, in this order

    def sections(self) -> list[str]:
        seen: dict[str, None] = dict.fromkeys(self.order)
        for section in [r.section for r in self.rows] + [p.section for p in self.pairs]:
            seen.setdefault(section, None)
        present = {r.section for r in self.rows} | {p.section for p in self.pairs}
        return [s for s in seen if s in present]

    def render(self) -> str:
        m = self.machine
        out = [
            "# Kindling benchmark results",
            "",
            f"Measured {m.date} by `make bench` (`bench/run.py`); see bench/README.md for how to read this.",
            "",
            "| machine | |",
            "|---|---|",
            f"| CPUs | {m.cpus} x {m.cpu_model} |",
            f"| Python | {m.python} (`{m.interpreter}`) |",
            f"| kernel | {m.kernel} |",
            f"| OS | {m.os} |",
            f"| runs | {m.runs} kept after {m.warmup} warm-up per figure; median (min-max) |",
            f"| load average (1/5/15 min) | {m.load_start} at start, {m.load_end} at end |",
            f"| whole run | {m.duration_s:.0f} s |",
            "",
        ]
        out += self._summary()
        for section in self.sections():
            out += [f"## {section}", ""]
            rows = [r for r in self.rows if r.section == section]
            if rows:
                out += [*_rows_table(rows), ""]
            pairs = [p for p in self.pairs if p.section == section]
            if pairs:
                out += [*_pairs_table(pairs), ""]
        if self.notes:
            out += ["## Notes", "", *(f"- {n}" for n in self.notes), ""]
        for block in self.blocks:
            out += [f"## {block.title}", ""]
            out += ["```", block.text.rstrip("\n"), "```"] if block.code else [block.text.rstrip("\n")]
            out.append("")
        return "\n".join(out).rstrip("\n") + "\n"


    def _summary(self) -> list[str]:
        """Every budgeted figure in one table: what a README quotes."""
        lines = ["## Budgets at a glance", "", "| what | median | budget | status |", "|---|--:|---|---|"]
        count = 0
        for r in self.rows:
            if r.budget is not None:
                value = f"{fmt(r.summary.median)} {r.unit}" if r.summary else "—"
                lines.append("| " + " | ".join(_cell(c) for c in [r.name, value, str(r.budget), r.verdict()]) + " |")
                count += 1
        for p in self.pairs:
            if p.budget is not None:
                what = f"{p.name}: {p.b_label} / {p.a_label}"
                value = f"{fmt(p.ratio.median)}x" if p.ratio else "—"
                lines.append("| " + " | ".join(_cell(c) for c in [what, value, str(p.budget), p.verdict()]) + " |")
                count += 1
        return [*lines, ""] if count else []


def fmt(value: float) -> str:
    """Three significant-ish digits: 0.412, 4.12, 41.2, 412."""
    a = abs(value)
    if a >= 100:
        return f"{value:.0f}"
    if a >= 10:
        return f"{value:.1f}"
    if a >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _spread(s: Summary | None, unit: str) -> str:
    if s is None:
        return "—"
    suffix = "x" if unit == "x" else f" {unit}" if unit else ""
    return f"{fmt(s.median)}{suffix} ({fmt(s.min)}-{fmt(s.max)})"


def _rows_table(rows: list[Row]) -> list[str]:
    lines = ["| measurement | median | min | max | n | budget | status | note |", "|---|--:|--:|--:|--:|---|---|---|"]
    for r in rows:
        s = r.summary
        nums = (
            [f"{fmt(s.median)} {r.unit}", fmt(s.min), fmt(s.max), str(s.n)] if s is not None else ["—", "—", "—", "0"]
        )
        budget = str(r.budget) if r.budget else ""
        lines.append("| " + " | ".join(_cell(c) for c in [r.name, *nums, budget, r.verdict(), r.note]) + " |")
    return lines


def _pairs_table(pairs: list[PairRow]) -> list[str]:
    lines = [
        "| pair (A vs B, run A B A B …) | A: median (min-max) | B: median (min-max) | ratio B/A per pair "
        "| budget | status | note |",
        "|---|--:|--:|--:|---|---|---|",
    ]
    for p in pairs:
        cells = [
            f"{p.name}: A = {p.a_label}; B = {p.b_label}",
            _spread(p.a, p.unit),
            _spread(p.b, p.unit),
            _spread(p.ratio, "x"),
            str(p.budget) if p.budget else "",
            p.verdict(),
            p.note,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines
