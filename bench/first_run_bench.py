"""What a new user waits for: the BLAS behind MLX, warm demo-week drafting, and README command 1 cold.

    .venv/bin/python bench/first_run_bench.py blas       # sgemm GFLOP/s through MLX, per BLAS and threads
    .venv/bin/python bench/first_run_bench.py dtype      # demo-week drafting per weight dtype (f32/f16/bf16)
    .venv/bin/python bench/first_run_bench.py warm       # demo-week drafting, model installed and loaded
    .venv/bin/python bench/first_run_bench.py warm --baseline   # ... and on the reference BLAS (minutes)
    .venv/bin/python bench/first_run_bench.py readme     # README command 1 in a fresh clone, empty caches

Every measurement runs in a child process, so each one loads its own BLAS before MLX. `blas`
compares, in the same run, MLX's `a @ b` (512x576 by 576x1536, float32, best of 5x5) on the
reference BLAS of the mlx-cpu wheel (the baseline), on scipy-openblas32 with 1 and 2 threads, and
on cmeel-openblas when it can load. `readme` clones the committed HEAD, points XDG_CACHE_HOME at an
empty folder (no pip, model or BLAS cache) and runs the README's first set-up command, printing
each output line with the seconds since start. The machine's load average is printed with every
figure: on a shared 2-core machine it moves them by 2x.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHAPE = (512, 576, 1536)


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def _child(code: str, env: dict[str, str] | None = None, args: tuple = (), timeout: int = 900) -> dict:
    """Run `code` in a fresh interpreter (its own BLAS), `args` as JSON in argv[1]; its last stdout line as JSON."""
    out = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, **(env or {})})
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1][:200]}
    return json.loads(out.stdout.strip().splitlines()[-1])


GFLOPS = """
import ctypes, json, os, sys, time
lib = os.environ.get("BENCH_LIB")
if lib:
    h = ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
    h.openblas_set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", "1")))
    state = lib
else:
    from publisher.drafting.blas import blas_state
    state = blas_state().describe()
import mlx.core as mx
m, k, n = json.loads(sys.argv[1])
dtype = getattr(mx, os.environ.get("BENCH_DTYPE", "float32"))
a = mx.random.normal((m, k)).astype(dtype); b = mx.random.normal((k, n)).astype(dtype)
mx.eval(a @ b)
best = 1e9
for _ in range(5):
    t = time.perf_counter()
    for _ in range(5):
        mx.eval(a @ b)
    best = min(best, (time.perf_counter() - t) / 5)
print(json.dumps({"gflops": 2 * m * n * k / best / 1e9, "blas": state}))
"""


def bench_blas() -> None:
    runs = [("reference BLAS (mlx-cpu wheel), baseline", {"PUBLISHER_OPENBLAS": "0"}),
            ("scipy-openblas32, renamed copy, 1 thread", {"OPENBLAS_NUM_THREADS": "1"}),
            ("scipy-openblas32, renamed copy, 2 threads", {"OPENBLAS_NUM_THREADS": "2"})]
    cmeel = next((p for base in map(Path, sys.path) for p in [base / "cmeel.prefix/lib/libopenblas.so.0"]
                  if p.exists()), None)
    if cmeel:
        runs.append(("cmeel-openblas, 1 thread", {"BENCH_LIB": str(cmeel), "OPENBLAS_NUM_THREADS": "1"}))
    else:
        print("cmeel-openblas: not installed (pip install cmeel-openblas to compare)")
    base = None
    print(f"MLX sgemm {SHAPE[0]}x{SHAPE[1]}x{SHAPE[2]}, float32, best of 5x5:")
    for label, env in runs:
        before = load()
        r = _child(GFLOPS, env, SHAPE)
        if "error" in r:
            print(f"  {label:<44} could not run: {r['error']}")
            continue
        base = base or r["gflops"]
        print(f"  {label:<44} {r['gflops']:7.1f} GFLOP/s  {r['gflops'] / base:6.1f}x baseline  ({before})")


DRAFT = """
import json, pathlib, sys, tempfile, time
model, options, repeat = json.loads(sys.argv[1])
from publisher.drafting.blas import blas_state
blas = blas_state().describe()
from publisher.book.demo import make_demo_book
from publisher.book.reader import open_book
from publisher.config import LLMConfig, SiteConfig
from publisher.drafting.engine import draft_sections, make_backend
from publisher.drafting.guard import index_facts
from publisher.drafting.plan import drafting_line, weekly_sections
from publisher.facts.compute import compute_facts
demo = make_demo_book(pathlib.Path(tempfile.mkdtemp()) / "demo.sqlite")
with open_book(demo.path) as book:
    facts = compute_facts(book, demo.end_week, "UTC")
llm = LLMConfig(model=model, **options)
site = SiteConfig()
t = time.perf_counter()
backend = make_backend(llm)
load_s = time.perf_counter() - t
index = index_facts(facts, extra_texts=[*site.stack, drafting_line(llm)])
runs = []
for _ in range(repeat):
    t = time.perf_counter()
    draft = draft_sections(weekly_sections(facts, site, llm), llm, index, backend=backend)
    runs.append(time.perf_counter() - t)
print(json.dumps({"load_s": load_s, "runs": runs, "blas": blas, "week": str(demo.end_week),
                  "tokens": sum(s["tokens"] for s in draft["sections"]),
                  "fallbacks": sum(s["fallback"] for s in draft["sections"])}))
"""


def bench_warm(model: str, repeat: int, llm: dict | None = None, label: str = "",
               env: dict[str, str] | None = None) -> dict:
    before = load()
    r = _child(DRAFT, env, (model, llm or {}, repeat))
    if "error" in r:
        print(f"  {label or model}: could not run: {r['error']}")
        return r
    runs = ", ".join(f"{s:.1f}" for s in r["runs"])
    print(f"  {label or model:<28} load {r['load_s']:5.1f} s; drafting {min(r['runs']):6.1f} s (runs: {runs}); "
          f"{r['tokens']} tokens, {r['fallbacks']} fallbacks, week {r['week']} ({before}, after: {load()})")
    return r


def bench_dtype(model: str, repeat: int) -> None:
    from publisher.drafting.models import locate_model

    located = locate_model(model, print)
    assert located is not None
    src = Path(located[0])
    print(f"MLX matmul {SHAPE[0]}x{SHAPE[1]}x{SHAPE[2]} per dtype, OpenBLAS as installed:")
    for dtype in ("float32", "float16", "bfloat16"):
        r = _child(GFLOPS, {"BENCH_DTYPE": dtype}, SHAPE)
        print(f"  {dtype:<9} {r.get('gflops', 0):7.1f} GFLOP/s ({load()})")
    if repeat == 0:
        return
    base = None
    with tempfile.TemporaryDirectory(prefix="dtype-") as tmp:
        for dtype in ("float32", "float16", "bfloat16"):
            path = src
            if dtype != "float32":
                path = Path(tmp) / dtype
                _child(f"""
import json, shutil, pathlib, mlx.core as mx
src, dst = pathlib.Path({str(src)!r}), pathlib.Path({str(path)!r})
shutil.copytree(src, dst)
for f in dst.glob("*.safetensors"):
    w = mx.load(str(f)); mx.save_safetensors(str(f), {{k: v.astype(mx.{dtype}) for k, v in w.items()}})
print(json.dumps({{}}))""")
            r = bench_warm(str(path), repeat, label=dtype)
            if "runs" in r:
                base = base or min(r["runs"])
                print(f"    {dtype}: {base / min(r['runs']):.2f}x the speed of float32")


def bench_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- setup:begin -->", 1)[1].split("<!-- setup:end -->", 1)[0]
    commands = [line for line in block.splitlines() if line.strip() and not line.startswith(("```", "#", "<!--"))]
    command = commands[0]
    with tempfile.TemporaryDirectory(prefix="first-run-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        cache = Path(tmp) / "cache"
        cache.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PUBLISHER_MODELS_DIR",
                                                                  "PUBLISHER_BLAS_DIR", "PIP_CACHE_DIR")}
        env.update(XDG_CACHE_HOME=str(cache), PYTHONUNBUFFERED="1")
        print(f"README command 1 in {clone} (HEAD {_head()}), XDG_CACHE_HOME empty, {load()}:\n  $ {command}")
        start = time.perf_counter()
        proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", command], cwd=clone, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            print(f"  {time.perf_counter() - start:7.1f}s | {line.rstrip()}", flush=True)
        code = proc.wait()
        total = time.perf_counter() - start
        print(f"README command 1: exit {code}, {total:.1f} s (target <= 300 s: {'met' if total <= 300 else 'MISSED'}), "
              f"{load()}; libgfortran5 present: {_has_gfortran()}")
        shutil.rmtree(cache, ignore_errors=True)


def _head() -> str:
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()


def _has_gfortran() -> bool:
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    return "libgfortran.so.5" in out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["blas", "dtype", "warm", "readme"])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--baseline", action="store_true", help="warm: also draft on the reference BLAS (minutes)")
    args = ap.parse_args()
    if args.what == "blas":
        bench_blas()
    elif args.what == "dtype":
        bench_dtype(args.model, args.repeat)
    elif args.what == "warm":
        print("demo week, bundled model installed, drafting with the loaded model (target <= 30 s):")
        r = bench_warm(args.model, args.repeat, label="OpenBLAS as installed")
        if "runs" in r:
            print(f"  target {'met' if min(r['runs']) <= 30 else 'MISSED'}")
        if args.baseline:
            base = bench_warm(args.model, 1, label="baseline: reference BLAS", env={"PUBLISHER_OPENBLAS": "0"})
            if "runs" in r and "runs" in base:
                print(f"  OpenBLAS / reference: {min(base['runs']) / min(r['runs']):.1f}x faster")
    else:
        bench_readme()


if __name__ == "__main__":
    main()
