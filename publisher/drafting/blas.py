"""Route MLX's CPU matrix products to OpenBLAS when the optional `fast` extra is installed.

The `mlx-cpu` wheel links a reference BLAS: prompt processing runs ~20x slower than with OpenBLAS,
and batching sections gains nothing. Loading `libopenblas` with RTLD_GLOBAL before MLX is imported
makes the dynamic linker bind MLX's `cblas_*`/`sgemm_` calls to it. One thread: on two cores a
second BLAS thread fights the generation thread and makes decode speed erratic.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

_state: dict[str, str | None] = {}


def openblas_path() -> Path | None:
    """libopenblas from the cmeel-openblas wheel, if installed in this environment."""
    for base in map(Path, sys.path):
        for rel in ("cmeel.prefix/lib/libopenblas.so.0", "cmeel.prefix/lib/libopenblas.so"):
            candidate = base / rel
            if candidate.exists():
                return candidate
    return None


def preload_openblas(enabled: bool | None = None) -> str | None:
    """Load OpenBLAS into the process once; returns its path, or None when absent or disabled.

    Must run before the first `import mlx`; afterwards it cannot change what MLX already bound.
    `PUBLISHER_OPENBLAS=0` turns it off (the benchmark uses that to measure the difference).
    """
    if "path" in _state:
        return _state["path"]
    if enabled is None:
        enabled = os.environ.get("PUBLISHER_OPENBLAS", "1").lower() not in ("0", "false", "no", "off")
    path = openblas_path() if enabled and sys.platform.startswith("linux") else None
    if path is not None and "mlx.core" in sys.modules:
        path = None  # too late: MLX is already bound to the BLAS it was linked with
    if path is not None:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        try:
            ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
        except OSError:
            path = None
    _state["path"] = str(path) if path else None
    return _state["path"]
