"""OpenBLAS from PyPI for MLX's CPU matmuls: the renamed scipy-openblas32 copy, and what MLX binds to."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from publisher.drafting.blas import renamed_copy, scipy_openblas_source

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MLX uses Accelerate on macOS")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PUBLISHER_BLAS_DIR": str(tmp_path / "blas"),
            "PUBLISHER_MODELS_DIR": str(tmp_path / "models"), **extra}


def test_the_renamed_copy_computes_sgemm_under_the_plain_cblas_name(tmp_path):
    source = scipy_openblas_source()
    assert source is not None, "scipy-openblas32 is a core dependency on Linux"
    copy = renamed_copy(source, tmp_path)
    assert renamed_copy(source, tmp_path) == copy  # made once, then reused
    lib = ctypes.CDLL(str(copy))
    assert not hasattr(lib, "scipy_cblas_sgemm")
    rng = np.random.default_rng(1)
    a, b = rng.random((7, 5), dtype=np.float32), rng.random((5, 3), dtype=np.float32)
    c = np.zeros((7, 3), dtype=np.float32)
    ptr = ctypes.c_void_p
    lib.cblas_sgemm.argtypes = [ctypes.c_int] * 6 + [ctypes.c_float, ptr, ctypes.c_int, ptr, ctypes.c_int,
                                                     ctypes.c_float, ptr, ctypes.c_int]
    lib.cblas_sgemm(101, 111, 111, 7, 3, 5, 1.0, a.ctypes.data, 5, b.ctypes.data, 3, 0.0, c.ctypes.data, 3)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5)
    assert [p.name for p in tmp_path.iterdir()] == [copy.name]  # no temp file left behind


def test_mlx_matmuls_bind_to_openblas_in_a_fresh_process(tmp_path):
    """The dynamic linker's own record (LD_DEBUG=bindings): libmlx's cblas_sgemm goes to the copy."""
    code = ("from publisher.drafting.blas import blas_state; s = blas_state(); print('PATH', s.path)\n"
            "import mlx.core as mx; a = mx.ones((64, 64)); mx.eval(a @ a); print('SUM', (a @ a).sum().item())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env=_env(tmp_path, LD_DEBUG="bindings"))
    assert out.returncode == 0, out.stderr[-2000:]
    path = next(line.split(" ", 1)[1] for line in out.stdout.splitlines() if line.startswith("PATH "))
    assert path.startswith(str(tmp_path / "blas"))
    assert "SUM 262144.0" in out.stdout
    bindings = [line for line in out.stderr.splitlines() if "libmlx" in line and "`cblas_sgemm'" in line]
    assert bindings and all(Path(path).name in line for line in bindings), bindings


def test_model_list_says_which_blas_is_active(tmp_path):
    cmd = [sys.executable, "-m", "publisher", "model", "list"]
    on = subprocess.run(cmd, capture_output=True, text=True, env=_env(tmp_path), timeout=300)
    assert on.returncode == 0, on.stderr
    line = next(x for x in on.stdout.splitlines() if x.startswith("BLAS for MLX on the CPU:"))
    assert "OpenBLAS (scipy-openblas32" in line and "1 thread" in line and str(tmp_path / "blas") in line
    off = subprocess.run(cmd, capture_output=True, text=True, env=_env(tmp_path, PUBLISHER_OPENBLAS="0"), timeout=300)
    assert "BLAS for MLX on the CPU: reference BLAS of the mlx-cpu wheel (turned off by PUBLISHER_OPENBLAS=0)" in off.stdout


def test_a_damaged_copy_in_the_cache_is_written_again(tmp_path):
    copy = renamed_copy(scipy_openblas_source(), tmp_path / "blas")
    copy.write_bytes(b"not an ELF file")
    out = subprocess.run([sys.executable, "-m", "publisher", "model", "list"], capture_output=True, text=True,
                         env=_env(tmp_path), timeout=300)
    assert out.returncode == 0, out.stderr
    assert "BLAS for MLX on the CPU: OpenBLAS (scipy-openblas32" in out.stdout
    assert copy.read_bytes()[:4] == b"\x7fELF"


def test_without_scipy_openblas_drafting_stays_on_the_reference_blas_and_says_why(tmp_path):
    hide = tmp_path / "hide"
    (hide / "scipy_openblas32").mkdir(parents=True)  # a package without its library shadows the wheel
    (hide / "scipy_openblas32" / "__init__.py").write_text("")
    out = subprocess.run([sys.executable, "-m", "publisher", "model", "list"], capture_output=True, text=True,
                         env=_env(tmp_path, PYTHONPATH=str(hide)), timeout=300)
    assert out.returncode == 0, out.stderr
    assert "reference BLAS of the mlx-cpu wheel (scipy-openblas32 is not installed: reinstall publisher)" in out.stdout
