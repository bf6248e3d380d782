"""Progress for humans on a terminal and for cron logs: one line per stage with elapsed time.

A stage is never silent for long: while it runs, a heartbeat thread re-prints its status when
nothing was printed for `heartbeat` seconds (a line in a log, a redraw on a TTY), so a model
download, a conversion or prompt processing shows the stage is alive. While drafting, the engine
feeds a token meter (`sections`, `tokens`): on a TTY a live bar with each section's tokens and the
tokens per second, in a log a status line at most every `interval` seconds.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class _Meter:
    """Token counts of the sections being drafted (keys and caps known up front)."""

    keys: list[str]
    caps: list[int]
    start: float
    counts: list[int] = field(default_factory=list)
    finished: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.keys)
        self.finished = [False] * len(self.keys)

    def total(self) -> int:
        return sum(self.counts)

    def rate(self, now: float) -> float:
        return self.total() / max(now - self.start, 1e-6)

    def parts(self, compact: bool = False) -> list[str]:
        """`week 12/136` per section; a finished one `week 136/136 done`, or `week ✓136` when
        `compact` (a terminal line must fit 79 columns)."""
        return [(f"{key} ✓{n}" if compact else f"{key} {n}/{cap} done") if fin else f"{key} {n}/{cap}"
                for key, n, cap, fin in zip(self.keys, self.counts, self.caps, self.finished, strict=True)]


class Progress:
    """Stage lines always; an in-place counter only on a TTY (cron logs get plain lines)."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None, *,
                 interval: float | None = None, heartbeat: float = 3.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        # the least time between two token status outputs: a redraw on a TTY, a line in a log
        self.interval = (0.1 if self.tty else 3.0) if interval is None else interval
        self.heartbeat = heartbeat
        self._lock = threading.RLock()
        self._stage: tuple[str, float] | None = None
        self._meter: _Meter | None = None
        self._last_output = time.perf_counter()
        self._in_place = False

    # ---- output -------------------------------------------------------------------------------

    def line(self, text: str) -> None:
        with self._lock:
            self._clear()
            print(text, file=self.stream, flush=True)
            self._last_output = time.perf_counter()

    def _in_place_text(self, text: str) -> None:
        width = max(shutil.get_terminal_size((80, 24)).columns - 1, 20)
        text = text if len(text) <= width else text[: width - 1] + "…"
        print(text.ljust(min(width, 79)), end="\r", file=self.stream, flush=True)
        self._in_place = True
        self._last_output = time.perf_counter()

    def _clear(self) -> None:
        if self.tty and self._in_place:
            width = max(shutil.get_terminal_size((80, 24)).columns - 1, 20)
            print(" " * width, end="\r", file=self.stream, flush=True)
            self._in_place = False

    # ---- stages -------------------------------------------------------------------------------

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        with self._lock:
            self._stage, self._meter = (name, start), None
            if self.tty:
                self._in_place_text(f"… {name}")
        stop = threading.Event()
        beat = None
        if self.heartbeat > 0:
            beat = threading.Thread(target=self._beat, args=(stop,), name="progress-heartbeat", daemon=True)
            beat.start()
        try:
            yield
        except BaseException:
            self._end_stage(stop, beat)
            self.line(f"✗ {name} ({time.perf_counter() - start:.1f}s)")
            raise
        self._end_stage(stop, beat)
        self.line(f"✓ {name} ({time.perf_counter() - start:.1f}s)")

    def _end_stage(self, stop: threading.Event, beat: threading.Thread | None) -> None:
        stop.set()
        if beat is not None:
            beat.join()
        with self._lock:
            self._stage, self._meter = None, None

    def _beat(self, stop: threading.Event) -> None:
        """Re-print the status whenever nothing was printed for `heartbeat` seconds."""
        while not stop.wait(min(self.heartbeat, 1.0)):
            with self._lock:
                if self._stage is not None and time.perf_counter() - self._last_output >= self.heartbeat:
                    self._status()

    def _status(self) -> None:
        """The current stage and meter: redrawn in place on a TTY, one line in a log."""
        if self._stage is None:
            return
        name, start = self._stage
        now = time.perf_counter()
        meter = self._meter
        if meter is None:
            text = f"… {name} ({now - start:.0f}s)"
            if self.tty:
                self._in_place_text(text)
            else:
                self.line(f"  {text}")
            return
        done, n = sum(meter.finished), len(meter.keys)
        tokens = meter.total()
        speed = f"{meter.rate(now):.1f} tok/s" if tokens else "reading the prompts"
        if self.tty:
            width = 16
            filled = int(width * done / max(n, 1))
            bar = "█" * filled + "·" * (width - filled)
            self._in_place_text(f"  [{bar}] {done}/{n} · {tokens} tok · {speed} · {now - start:.0f}s · "
                                + "  ".join(meter.parts(compact=True)))
        else:
            self.line(f"  drafting: {done}/{n} sections, {tokens} tokens, {speed}, {now - start:.0f}s "
                      f"({', '.join(meter.parts())})")

    # ---- what the stages report ---------------------------------------------------------------

    def step(self, label: str, done: int, total: int) -> None:
        """A bar on a TTY, one line per step otherwise."""
        with self._lock:
            if self.tty:
                if self._meter is not None:
                    self._status()
                    return
                width = 24
                filled = int(width * done / max(total, 1))
                bar = "█" * filled + "·" * (width - filled)
                self._in_place_text(f"  [{bar}] {done}/{total} {label}")
            else:
                self.line(f"  {done}/{total} {label}")

    def sections(self, items: list[tuple[str, int]]) -> None:
        """Drafting starts: the sections' keys and token caps, in order."""
        with self._lock:
            self._meter = _Meter([k for k, _ in items], [c for _, c in items], time.perf_counter())
            self._status()

    def tokens(self, index: int, count: int, finished: bool = False) -> None:
        """Section `index` has generated `count` tokens so far (`finished`: it will generate no more)."""
        with self._lock:
            meter = self._meter
            if meter is None or not 0 <= index < len(meter.keys):
                return
            meter.counts[index] = count
            meter.finished[index] = meter.finished[index] or finished
            if finished or time.perf_counter() - self._last_output >= self.interval:
                self._status()
