"""`netdog apply`'s plain options are read without argparse (issue 20: ~4 ms of a lease),
exactly as argparse reads them; every other form still goes to argparse."""

from __future__ import annotations

import pytest

from netdog.cli import ApplyOptions, build_parser, quick_apply

QUICK = [
    ["apply"], ["apply", "--root", "/r"], ["apply", "--root", ""], ["apply", "--timeout", "20"],
    ["apply", "--timeout", "0.5", "--root", "/r", "--json"], ["apply", "--plan", "--json"],
    ["apply", "--dry-run", "--root", "/r", "--log-format", "json", "--log-level", "debug"],
    ["apply", "--timeout", "1e1"], ["apply", "--timeout", "inf", "--log-level", "error"],
]
TO_ARGPARSE = [
    [], ["apply", "--help"], ["apply", "-h"], ["apply", "--root=/r"], ["apply", "--ro", "/r"],
    ["apply", "--time", "5"], ["apply", "--root"], ["apply", "--root", "-x"], ["apply", "--timeout", "soon"],
    ["apply", "--timeout", "-1"], ["apply", "--log-level", "loud"], ["apply", "--json", "--json"],
    ["apply", "--root", "/a", "--root", "/b"], ["apply", "extra"], ["apply", "--", "--json"],
    ["dhcp"], ["node-ip"], ["--root", "/r", "apply"], ["apply", "--networkctl-json", "f"],
]


def _argparse(argv: list[str]) -> dict[str, object]:
    args = build_parser().parse_args(argv)
    return {n: getattr(args, n) for n in ApplyOptions.__slots__}


@pytest.mark.parametrize("argv", QUICK, ids=" ".join)
def test_plain_apply_options_read_without_argparse_as_argparse_reads_them(argv: list[str]) -> None:
    quick = quick_apply(argv)
    assert quick is not None
    assert {n: getattr(quick, n) for n in ApplyOptions.__slots__} == _argparse(argv)


@pytest.mark.parametrize("argv", TO_ARGPARSE, ids=lambda a: " ".join(a) or "none")
def test_anything_else_goes_to_argparse(argv: list[str]) -> None:
    assert quick_apply(argv) is None
