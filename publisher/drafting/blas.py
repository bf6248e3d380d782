"""Route MLX's CPU matrix products to OpenBLAS from PyPI alone: scipy-openblas32, symbols renamed.

The `mlx-cpu` wheel links a reference BLAS (5 GFLOP/s or less on a 512x576x1536 sgemm, 20-40x
slower than OpenBLAS): drafting then costs minutes. Loading an OpenBLAS with RTLD_GLOBAL before
MLX is imported makes the dynamic linker bind MLX's `cblas_*` and LAPACK calls to it.

Which OpenBLAS (measured and argued in docs/drafting.md): `scipy-openblas32` is a manylinux wheel
that needs nothing but libc and libm (no Fortran runtime), picks its kernels for the CPU at run
time (DYNAMIC_ARCH), and uses 32-bit integers as MLX does; but it exports every symbol with a
`scipy_` prefix. At first use a copy with the prefix removed is written to the user cache with
`lief` (about a second, once per OpenBLAS version), and that copy is loaded. `cmeel-openblas`, the
former choice, needs the system's libgfortran5 and is built for AVX-512 only (it dies with an
illegal instruction on AVX2 CPUs); numpy's own OpenBLAS uses 64-bit integers, which MLX's calls
do not pass.

One thread: on two cores a second BLAS thread fights the generation thread (measured: half the
speed), unless OPENBLAS_NUM_THREADS says otherwise.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PREFIX = "scipy_"
PACKAGE = "scipy-openblas32"


@dataclass(frozen=True)
class BlasState:
    """What MLX's CPU matmuls run on in this process: `path` is the loaded OpenBLAS, or None and why."""

    path: str | None
    detail: str

    def describe(self) -> str:
        return f"OpenBLAS ({self.detail}): {self.path}" if self.path else f"reference BLAS of the mlx-cpu wheel ({self.detail})"


_state: list[BlasState] = []


def scipy_openblas_source() -> Path | None:
    """libscipy_openblas.so of the installed scipy-openblas32 wheel (found without importing it)."""
    spec = importlib.util.find_spec("scipy_openblas32")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        lib = Path(folder) / "lib" / "libscipy_openblas.so"
        if lib.is_file():
            return lib
    return None


def blas_cache_dir() -> Path:
    """Where the renamed copy lives: PUBLISHER_BLAS_DIR, else the user cache (next to the models)."""
    env = os.environ.get("PUBLISHER_BLAS_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("publisher")) / "blas"


def renamed_copy(source: Path, cache_dir: Path) -> Path:
    """A copy of `source` whose `scipy_`-prefixed dynamic symbols lose the prefix; made once, atomically.

    The file name carries a digest of the source's path, size and mtime, so an upgraded wheel gets
    a new copy and a half-written one is never loaded (written to a temp file, then renamed).
    """
    stat = source.stat()
    key = hashlib.sha256(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    target = cache_dir / f"libopenblas-{key}.so"
    if target.is_file():
        return target
    import lief

    lib = lief.ELF.parse(str(source))
    if lib is None:
        raise OSError(f"lief could not read {source}")
    for symbol in lib.dynamic_symbols:
        name = str(symbol.name)
        if name.startswith(PREFIX):
            symbol.name = name[len(PREFIX):]
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".libopenblas-", suffix=".so", dir=cache_dir)
    os.close(fd)
    try:
        lib.write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _threads() -> int:
    try:
        return max(1, int(os.environ.get("OPENBLAS_NUM_THREADS", "1")))
    except ValueError:
        return 1


def _load(path: Path) -> str:
    """dlopen with RTLD_GLOBAL, check it is an OpenBLAS with cblas_sgemm, set its threads; the core name."""
    lib = ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
    if not hasattr(lib, "cblas_sgemm"):
        raise OSError(f"{path} exports no cblas_sgemm")
    lib.openblas_set_num_threads(_threads())
    lib.openblas_get_corename.restype = ctypes.c_char_p
    return (lib.openblas_get_corename() or b"?").decode("ascii", "replace")


def preload_openblas(enabled: bool | None = None) -> str | None:
    """Load OpenBLAS into the process once; returns its path, or None (see `blas_state` for why).

    Must run before the first `import mlx`; afterwards it cannot change what MLX already bound.
    `PUBLISHER_OPENBLAS=0` turns it off (the benchmark uses that to measure the difference).
    """
    return blas_state(enabled).path


def blas_state(enabled: bool | None = None) -> BlasState:
    """Preload OpenBLAS on the first call; what MLX's matmuls run on, with the reason when not OpenBLAS."""
    if _state:
        return _state[0]
    if enabled is None:
        enabled = os.environ.get("PUBLISHER_OPENBLAS", "1").lower() not in ("0", "false", "no", "off")
    _state.append(_preload(enabled))
    return _state[0]


def _preload(enabled: bool) -> BlasState:
    if not sys.platform.startswith("linux"):
        return BlasState(None, "not needed: MLX uses the GPU and Accelerate on macOS")
    if not enabled:
        return BlasState(None, "turned off by PUBLISHER_OPENBLAS=0")
    if "mlx.core" in sys.modules:
        return BlasState(None, "MLX was imported before OpenBLAS could be loaded")
    source = scipy_openblas_source()
    if source is None:
        return BlasState(None, f"{PACKAGE} is not installed: reinstall publisher")
    try:
        path = renamed_copy(source, blas_cache_dir())
        try:
            core = _load(path)
        except OSError:  # a damaged copy in the cache (dlopen refused it): write it again, once
            path.unlink(missing_ok=True)
            path = renamed_copy(source, blas_cache_dir())
            core = _load(path)
    except Exception as exc:  # a broken cache or an odd platform: drafting still works, only slower
        return BlasState(None, f"could not load it ({type(exc).__name__}: {exc})")
    from importlib.metadata import version

    return BlasState(str(path), f"{PACKAGE} {version(PACKAGE)}, {core} kernels, {_threads()} thread(s)")
