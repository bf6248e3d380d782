"""Progress for humans on a terminal and for cron logs: one line per stage with elapsed time."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """Stage lines always; an in-place counter only on a TTY (cron logs get plain lines)."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty

    def line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        if self.tty:
            print(f"… {name}", end="\r", file=self.stream, flush=True)
        try:
            yield
        except BaseException:
            self._clear()
            self.line(f"✗ {name} ({time.perf_counter() - start:.1f}s)")
            raise
        self._clear()
        self.line(f"✓ {name} ({time.perf_counter() - start:.1f}s)")

    def step(self, label: str, done: int, total: int) -> None:
        """A bar on a TTY, one line per step otherwise."""
        if self.tty:
            width = 24
            filled = int(width * done / max(total, 1))
            bar = "█" * filled + "·" * (width - filled)
            print(f"  [{bar}] {done}/{total} {label}".ljust(72), end="\r", file=self.stream, flush=True)
        else:
            self.line(f"  {done}/{total} {label}")

    def _clear(self) -> None:
        if self.tty:
            print(" " * 79, end="\r", file=self.stream, flush=True)
