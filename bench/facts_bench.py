"""Benchmark: one week's fact sheet on a 10-million-trade book, against a naive pandas baseline.

    .venv/bin/python bench/facts_bench.py            # builds bench/.cache/book-10m.sqlite once
    .venv/bin/python bench/facts_bench.py --weeks 52 --trades-per-week 9616   # a 1M-trade book

Both contenders run as child processes on the same book in the same run; wall time is measured
around the child and peak RSS is the child's own (os.wait4 rusage). The naive baseline is what a
script would do without this tool: read the whole trades table into pandas, then filter the week.
`publish facts` is timed twice: its first run on the book (no cache: it aggregates the whole
history and hashes the file) and later runs (the .publisher/cache keeps the per-day history and
the file hash, so only the week and the days since the last run are read).
Targets (issue 2): `publish facts` <= 2 s and <= 300 MB peak RSS, >= 10x faster than the baseline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
PUBLISH = Path(sys.executable).with_name("publish")
WEEK = "2026-W16"

NAIVE = """
import sqlite3, sys
import pandas as pd
conn = sqlite3.connect(sys.argv[1])
trades = pd.read_sql_query("SELECT * FROM trades", conn)
closed = pd.to_datetime(trades["closed_at"], utc=True, format="ISO8601")
week = trades[(closed >= "2026-04-13T00:00:00Z") & (closed < "2026-04-20T00:00:00Z")]
history = trades[closed < "2026-04-13T00:00:00Z"]
g = week.groupby("book_id")["realized_pnl"]
print(g.count().to_dict(), g.sum().to_dict(), history.groupby("book_id")["realized_pnl"].sum().to_dict())
"""


def run_child(args: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} … failed ({proc.returncode}): {err.strip()[:300]}")
    return wall, usage.ru_maxrss / 1024  # Linux reports kilobytes


def build(path: Path, weeks: int, per_week: int) -> None:
    if path.exists():
        print(f"book: {path.relative_to(ROOT)} (cached, {path.stat().st_size / 1e9:.2f} GB)")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    subprocess.run([str(PUBLISH), "demo-book", str(path), "--weeks", str(weeks), "--trades-per-week",
                    str(per_week), "--seed", "7", "--end-week", WEEK], check=True)
    print(f"built in {time.perf_counter() - start:.0f} s ({path.stat().st_size / 1e9:.2f} GB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=520)
    parser.add_argument("--trades-per-week", type=int, default=9616, help="signals per week (x2 books)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of publish facts (median reported)")
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    path = CACHE / f"book-w{args.weeks}-t{args.trades_per_week}.sqlite"
    build(path, args.weeks, args.trades_per_week)
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = conn.execute("SELECT max(id) FROM trades").fetchone()[0]
    conn.close()
    print(f"trades: {rows:,}; week {WEEK}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}; "
          f"SQLite {sqlite3.sqlite_version}")

    facts_cmd = [str(PUBLISH), "-C", str(CACHE), "facts", "--book", str(path), "--week", WEEK, "--json"]
    shutil.rmtree(CACHE / ".publisher", ignore_errors=True)
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)  # same warm page cache for all
    cold_wall, cold_rss = run_child(facts_cmd)  # first run: reads all history, hashes, fills the cache
    print(f"publish facts, first run (no cache)   : {cold_wall:6.2f} s  peak RSS {cold_rss:7.1f} MB")
    samples = [run_child(facts_cmd) for _ in range(args.runs)]
    ours_wall = statistics.median(s[0] for s in samples)
    ours_rss = max(s[1] for s in samples)
    print(f"publish facts, later runs (cache)     : {ours_wall:6.2f} s  peak RSS {ours_rss:7.1f} MB  "
          f"(median of {', '.join(f'{s[0]:.2f}' for s in samples)})")
    if args.skip_naive:
        return
    naive_wall, naive_rss = run_child([sys.executable, "-c", NAIVE, str(path)])
    print(f"naive pandas (whole table)            : {naive_wall:6.2f} s  peak RSS {naive_rss:7.1f} MB")
    print(f"ratio, first run                      : {naive_wall / cold_wall:6.1f}x faster, "
          f"{naive_rss / cold_rss:.1f}x less memory")
    print(f"ratio, later runs                     : {naive_wall / ours_wall:6.1f}x faster, "
          f"{naive_rss / ours_rss:.1f}x less memory")
    verdict = [f"time {'OK' if ours_wall <= 2 else 'MISSED'} (<= 2 s)",
               f"RSS {'OK' if max(ours_rss, cold_rss) <= 300 else 'MISSED'} (<= 300 MB)",
               f"speed-up {'OK' if naive_wall / ours_wall >= 10 else 'MISSED'} (>= 10x)"]
    print("targets (later runs)                  : " + ", ".join(verdict))


if __name__ == "__main__":
    main()
