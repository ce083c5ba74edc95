"""`kindling boot`'s plain options are read without argparse (kindling/quick_argv.py),
exactly as argparse reads them; every other form still goes to argparse."""

from __future__ import annotations

import pytest

from kindling.boot_cli import BootOptions, build_parser, quick_options

QUICK = [
    [], ["--root", "/r"], ["--root", ""], ["--full"], ["--plan", "--json"], ["--dry-run", "--root", "/r"],
    ["--platform", "aws", "--root", "/r", "--json"], ["--platform", "metal", "--full", "--log-format", "json"],
    ["--log-level", "debug", "--platform", "auto"],
]
TO_ARGPARSE = [
    ["--help"], ["-h"], ["--root=/r"], ["--ro", "/r"], ["--plat", "aws"], ["--root"], ["--root", "-x"],
    ["--platform", "gce"], ["--log-level", "loud"], ["--json", "--json"], ["--root", "/a", "--root", "/b"],
    ["extra"], ["--", "--json"], ["--timeout", "5"],
]


def _argparse(argv: list[str]) -> dict[str, object]:
    args = build_parser().parse_args(argv)
    return {n: getattr(args, n) for n in BootOptions.__slots__}


@pytest.mark.parametrize("argv", QUICK, ids=lambda a: " ".join(a) or "none")
def test_plain_boot_options_read_without_argparse_as_argparse_reads_them(argv: list[str]) -> None:
    quick = quick_options(argv)
    assert quick is not None
    assert {n: getattr(quick, n) for n in BootOptions.__slots__} == _argparse(argv)


@pytest.mark.parametrize("argv", TO_ARGPARSE, ids=" ".join)
def test_anything_else_goes_to_argparse(argv: list[str]) -> None:
    assert quick_options(argv) is None
