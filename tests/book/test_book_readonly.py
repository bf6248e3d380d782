"""The book is never written: byte-identical after commands, and a WAL writer is never blocked."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from bookmaker import make_native_book, trade
from click.testing import CliRunner

from publisher.book.reader import open_book
from publisher.cli import main
from publisher.facts.compute import compute_facts


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sample_trades(n: int) -> list[dict]:
    return [trade(1 + i % 2, "BTC/USDT", entry=100, exit=100 + (i % 7) - 3, opened="2026-04-14T08:00:00Z",
                  closed=f"2026-04-{14 + i % 5}T09:{i % 60:02d}:00Z", fee_open=0.01, fee_close=0.01)
            for i in range(n)]


def test_book_is_byte_identical_after_commands(tmp_path: Path) -> None:
    path = make_native_book(tmp_path / "book.sqlite", trades=sample_trades(50))
    before, mtime = digest(path), path.stat().st_mtime_ns
    runner = CliRunner()
    for args in (["facts", "--week", "2026-W16"], ["facts", "--week", "2026-W16", "--json"],
                 ["facts", "--week", "2026-W02"]):
        result = runner.invoke(main, ["-C", str(tmp_path), *args, "--book", str(path)])
        assert result.exit_code == 0, result.output
    assert digest(path) == before and path.stat().st_mtime_ns == mtime
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("book")] == ["book.sqlite"]  # no journal


def test_read_only_connection_refuses_writes(tmp_path: Path) -> None:
    path = make_native_book(tmp_path / "book.sqlite", trades=sample_trades(3))
    with open_book(path) as book, pytest.raises(sqlite3.OperationalError, match="readonly|read-only|query_only"):
        book.conn.execute("DELETE FROM trades")


WRITER = textwrap.dedent("""
    import os, sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)  # never wait: a block would fail
    conn.execute("PRAGMA busy_timeout = 0")
    deadline = time.monotonic() + 600  # a safety net; the test creates the stop file
    n = 0
    print("ready", flush=True)
    while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO trades (book_id, lane, symbol, side, quantity, leverage, entry_price, "
                     "exit_price, opened_at, closed_at, fee_open, fee_close, realized_pnl, close_reason) VALUES "
                     "(1, 'spot', 'ETH/USDT', 'long', 1, 1, 100, 101, '2026-04-15T08:00:00Z', "
                     "'2026-04-15T09:00:00Z', 0.1, 0.1, 0.8, 'signal')")
        conn.execute("COMMIT")
        n += 1
    print(n, flush=True)
""")


def test_concurrent_wal_writer_is_never_blocked(tmp_path: Path) -> None:
    path = make_native_book(tmp_path / "book.sqlite", trades=sample_trades(200), wal=True)
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(stop)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "ready"
    counts: list[int] = []
    try:  # read until the reads have seen the book grow twice, however slow this machine is
        while writer.poll() is None and len(set(counts)) < 3 and len(counts) < 500:
            with open_book(path) as book:
                facts = compute_facts(book, "2026-W16")
            week = facts["books"][0]["week"]
            counts.append(week["round_trips"]["value"])
            # One snapshot: every figure agrees with every other (the checks passed), whatever the writer did.
            assert all(c["passed"] for c in facts["checks"])
    finally:
        stop.touch()
    out, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err  # 'database is locked' would have killed the writer
    assert "locked" not in err
    inserted = int(out.strip())
    assert inserted > 0 and len(set(counts)) >= 3  # the reads ran while the writer wrote
    assert counts == sorted(counts)  # the reader saw the book grow, never shrink or tear
    with open_book(path) as book:
        final = compute_facts(book, "2026-W16")["books"][0]["week"]["round_trips"]["value"]
    assert final == 100 + inserted
