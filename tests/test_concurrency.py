"""The trading bot keeps writing while we read: `publish facts` and `publish weekly` run against a
book that another process changes hundreds of times a second (WAL mode, as bots run SQLite).

Soundness of the checks:
- The writer uses a busy timeout of 0, so any lock we took would surface in it at once as
  "database is locked"; it counts such errors and the test requires none (and many commits).
- Each writer step is one transaction that closes trade i (PnL p(i), a post-mortem if it lost) and
  opens trade i+1 at the same second. Any consistent snapshot therefore holds exactly one open
  position, opened k seconds after the week start, and all its figures are a known function of
  the number of round-trips k. A fact sheet assembled from more than one snapshot would pair the
  round-trips of one moment with the PnL, the post-mortem count or the open position of another.
- "We never write": an idle copy of the book, read by the same commands, keeps its main file
  byte-identical (same SHA-256 and mtime) and gains no WAL content; SQLite's -shm read marks are
  SQLite's own bookkeeping, not the book. On the busy book the data at the end equals exactly
  what the writer's reported steps produce.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bookmaker import make_native_book, trade
from click.testing import CliRunner
from hostile.cases import CLEAN_ENV

from publisher.cli import main

WEEK = "2026-W16"
W16_START = 1776038400  # 2026-04-13T00:00:00Z

WRITER = r"""
import datetime as dt, json, os, sqlite3, sys, time
path, start, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]  # runs until the file `stop` exists
iso = lambda t: dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
conn = sqlite3.connect(path, timeout=0, isolation_level=None)  # busy timeout 0: a lock shows at once
conn.execute("PRAGMA journal_mode=WAL"); conn.execute("PRAGMA synchronous=NORMAL")
errors, i, deadline = [], 1, time.monotonic() + 600  # a safety net: the test stops it
print("ready", flush=True)
while not os.path.exists(stop) and time.monotonic() < deadline:
    pnl = -1.25 if i % 3 == 0 else 2.5
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE trades SET closed_at = ?, exit_price = ?, realized_pnl = ?, "
                     "close_reason = ? WHERE id = ?", (iso(start + i), 100 + pnl, pnl,
                     "stop_loss" if pnl < 0 else "take_profit", i))
        if pnl < 0:
            conn.execute("INSERT INTO failure_vault (trade_id, root_cause, note, created_at) "
                         "VALUES (?, 'technical', 'stopped out', ?)", (i, iso(start + i)))
        conn.execute("INSERT INTO trades (id, book_id, symbol, side, quantity, entry_price, opened_at) "
                     "VALUES (?, 1, 'BTC/USDT', 'long', 1, 100, ?)", (i + 1, iso(start + i)))
        conn.execute("COMMIT")
        i += 1
    except sqlite3.OperationalError as exc:
        errors.append(str(exc))
        conn.execute("ROLLBACK") if conn.in_transaction else None
    time.sleep(0.0005)  # about a thousand commits a second: a busy bot, and a book that stays small
print(json.dumps({"steps": i - 1, "errors": errors[:5], "error_count": len(errors)}), flush=True)
"""


def expected(k: int) -> dict[str, float]:
    """The all-books figures after k writer steps (computed from the writer's rule, not by the tool)."""
    losses = k // 3
    wins = k - losses
    return {"round_trips": k, "wins": wins, "losses": losses, "realized_pnl": 2.5 * wins - 1.25 * losses,
            "open": 1, "open_since": k, "post_mortems": losses}


def observed(facts: dict) -> dict[str, float | None]:
    """The same figures read from a fact sheet; `open_since` (seconds after the week start at which the
    open position was opened) pins the moment its open-positions query saw."""
    week = facts["all_books"]["week"]
    positions = facts["all_books"]["open_positions"]["positions"]
    since = (dt.datetime.fromisoformat(positions[0]["opened_at"]).timestamp() - W16_START
             if len(positions) == 1 else None)
    return {"round_trips": week["round_trips"]["value"], "wins": week["wins"]["value"],
            "losses": week["losses"]["value"], "realized_pnl": week["realized_pnl"]["value"],
            "open": facts["all_books"]["open_positions"]["count"]["value"], "open_since": since,
            "post_mortems": facts["vault"]["with_post_mortem"]["value"]}


def new_book(path: Path) -> Path:
    return make_native_book(path, wal=True, books=[{"id": 1, "name": "bot", "role": "standard",
                                                    "starting_balance": 1000.0}],
                            trades=[trade(1, "BTC/USDT", entry=100, opened="2026-04-13T00:00:00Z", id=1)])


def project(root: Path, book: Path) -> Path:
    root.mkdir()
    (root / "publisher.toml").write_text(f'[site]\nurl = "https://ex.org/"\n[book]\npath = "{book}"\n'
                                         '[llm]\nbackend = "none"\n', encoding="utf-8")
    return root


def cli(root: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["-C", str(root), *args], env=CLEAN_ENV)
    assert result.exit_code == 0, result.output[-2000:]
    return result.stdout


def fingerprint(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_size


def test_readers_never_block_the_bot_and_see_one_snapshot(tmp_path: Path) -> None:
    busy = new_book(tmp_path / "busy.sqlite")
    idle = new_book(tmp_path / "idle.sqlite")
    idle_before = fingerprint(idle)
    busy_root, idle_root = project(tmp_path / "busy", busy), project(tmp_path / "idle", idle)

    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(busy), str(W16_START), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    seen: list[dict[str, float]] = []
    try:
        for step in range(12):
            seen.append(observed(json.loads(cli(busy_root, "facts", "--week", WEEK, "--json"))))
            cli(idle_root, "facts", "--week", WEEK, "--json")
            if step == 4:  # weekly renders charts (seconds): once, in the middle of the bot's run
                cli(busy_root, "weekly", "--week", WEEK, "--publish")
                facts_file = busy_root / "content" / "weekly" / f"{WEEK}.facts.json"
                seen.append(observed(json.loads(facts_file.read_text("utf-8"))))
    finally:
        stop.touch()
    out, err = writer.communicate(timeout=300)
    report = json.loads(out.strip().splitlines()[-1])

    assert report["error_count"] == 0, report["errors"]  # never "database is locked"
    assert report["steps"] > 300, f"the writer made only {report['steps']} commits; the test proves nothing"
    for snapshot in seen:  # every read is exactly the state after some whole number of steps
        assert snapshot == pytest.approx(expected(int(snapshot["round_trips"]))), snapshot
    counts = [s["round_trips"] for s in seen]
    assert counts[-1] > counts[0] and len(set(counts)) > 2, counts  # we read while it wrote

    final = observed(json.loads(cli(busy_root, "facts", "--week", WEEK, "--json")))
    assert final == pytest.approx(expected(report["steps"]))  # the book holds exactly the writer's steps
    with sqlite3.connect(busy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    cli(idle_root, "weekly", "--week", WEEK, "--publish")
    assert fingerprint(idle) == idle_before  # main file: same bytes, same mtime
    wal = Path(f"{idle}-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # no write went to the log either
    assert not Path(f"{idle}-journal").exists()


def test_writer_rule_matches_an_independent_count(tmp_path: Path) -> None:
    """The expected() rule itself is checked against SQL over a finished writer run."""
    book = new_book(tmp_path / "b.sqlite")
    stop = tmp_path / "stop"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(book), str(W16_START), str(stop)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    stop.touch()
    out, _ = proc.communicate(timeout=300)
    steps = json.loads(out.strip().splitlines()[-1])["steps"]
    with sqlite3.connect(book) as conn:
        closed, wins, pnl = conn.execute("SELECT COUNT(*), SUM(realized_pnl > 0), SUM(realized_pnl) FROM trades "
                                         "WHERE closed_at IS NOT NULL").fetchone()
        open_count = conn.execute("SELECT COUNT(*) FROM trades WHERE closed_at IS NULL").fetchone()[0]
        vault = conn.execute("SELECT COUNT(*) FROM failure_vault").fetchone()[0]
    want = expected(steps)
    assert (closed, wins, pnl, open_count, vault) == (want["round_trips"], want["wins"], want["realized_pnl"],
                                                      want["open"], want["post_mortems"])


HOLDER = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
conn.execute("BEGIN IMMEDIATE")  # the write lock, held while we read
conn.execute("UPDATE trades SET closed_at = '2026-04-14T10:00:00Z', exit_price = 200, realized_pnl = 100 WHERE id = 1")
print("holding", flush=True)
sys.stdin.read()
conn.execute("COMMIT")
"""


def test_an_open_write_transaction_neither_blocks_nor_leaks_into_a_read(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """While the bot sits inside an uncommitted write, facts come at once and from the last commit.

    "At once" is shown without a clock: our busy timeout is set to 0, so a read that had to wait for
    the writer's lock would fail with "database is locked" instead of succeeding."""
    import publisher.book.reader as reader

    connect = reader.connect_read_only
    monkeypatch.setattr(reader, "connect_read_only", lambda path, timeout=5.0, clock=None: connect(path, 0, clock))
    book = new_book(tmp_path / "held.sqlite")
    root = project(tmp_path / "p", book)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(book)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        during = observed(json.loads(cli(root, "facts", "--week", WEEK, "--json")))
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        assert holder.wait(timeout=300) == 0  # the bot's commit went through after our read
    assert during == pytest.approx(expected(0))  # the uncommitted close is invisible
    after = observed(json.loads(cli(root, "facts", "--week", WEEK, "--json")))
    assert (after["round_trips"], after["realized_pnl"], after["open"]) == (1, 100, 0)
