"""Undo what a benchmark created — loop devices, namespaces, daemons, temp roots — by
its own name or id, in reverse order, also when a measurement fails or the run is
interrupted (SIGINT/SIGTERM). Nothing is ever cleaned up by a broad name."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

__all__ = ["Janitor"]


class Janitor:
    def __init__(self) -> None:
        self._undo: list[tuple[str, Callable[[], None]]] = []
        self.problems: list[str] = []

    def push(self, what: str, undo: Callable[[], None]) -> None:
        self._undo.append((what, undo))

    def tempdir(self, prefix: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=f"kindling-bench-{prefix}-"))
        self.push(f"remove {path}", lambda: shutil.rmtree(path, ignore_errors=True))
        return path

    def run(self, argv: list[str], what: str | None = None) -> None:
        """An undo step that is a command; failures are recorded, not raised."""
        res = subprocess.run(argv, capture_output=True, text=True)
        if res.returncode != 0:
            self.problems.append(f"{what or ' '.join(argv)}: rc {res.returncode}: {res.stderr.strip()[:200]}")

    def cleanup_last(self, count: int) -> None:
        """Undo the `count` most recent steps now (a per-run resource)."""
        for _ in range(min(count, len(self._undo))):
            what, undo = self._undo.pop()
            try:
                undo()
            except Exception as exc:
                self.problems.append(f"{what}: {exc}")

    def cleanup(self) -> None:
        while self._undo:
            what, undo = self._undo.pop()
            try:
                undo()
            except Exception as exc:  # cleanup must go on with the next item
                self.problems.append(f"{what}: {exc}")

    @contextlib.contextmanager
    def scope(self) -> Iterator[Janitor]:
        """Clean up on exit, and turn SIGTERM into an exception so `finally` runs."""

        def _term(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt(f"signal {signum}")

        old = signal.signal(signal.SIGTERM, _term)
        try:
            yield self
        finally:
            self.cleanup()
            signal.signal(signal.SIGTERM, old)
            for p in self.problems:
                sys.stderr.write(f"bench: cleanup: {p}\n")
