"""The build's fork pool, in one place: run a function over many items on every core.

Workers are forked, so they inherit the items and every loaded module: only an item's index and
its result cross the pipe (nothing is pickled on the way in). Below PARALLEL_MIN_ITEMS, or where
fork is unavailable, the items are processed in this process.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

PARALLEL_MIN_ITEMS = 48  # below this a process pool costs more than it saves
CHUNK = 16  # items per task: small enough that no core idles long at the end, large enough to batch IPC
MAX_WORKERS = 8

# What a forked worker runs, set only while map_forked runs: the fork copies them into the worker.
_TASK: Callable[[Any], Any] | None = None
_ITEMS: Sequence[Any] = ()


def _run_task(index: int) -> Any:
    assert _TASK is not None, "map_forked sets the task before forking"
    return _TASK(_ITEMS[index])


def map_forked(task: Callable[[Item], Result], items: Sequence[Item], meanwhile: Callable[[], None]) -> list[Result]:
    """`[task(item) for item in items]`, on forked workers when there are enough items;
    `meanwhile` (work that needs none of the results) runs in this process in the meantime."""
    global _TASK, _ITEMS
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    if len(items) < PARALLEL_MIN_ITEMS or workers < 2 or "fork" not in mp.get_all_start_methods():
        meanwhile()
        return [task(item) for item in items]
    _TASK, _ITEMS = task, items
    # frozen objects are left alone by the workers' GC (no copy-on-write of the whole heap)
    gc.freeze()
    try:
        with mp.get_context("fork").Pool(workers) as pool:
            job = pool.map_async(_run_task, range(len(items)), chunksize=CHUNK)
            meanwhile()
            return job.get()
    finally:
        gc.unfreeze()
        _TASK, _ITEMS = None, ()
