"""The demo book: realistic, mirrored, deterministic, and readable by every stage."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from publisher.book.demo import DemoSpec, make_demo_book
from publisher.book.reader import open_book
from publisher.cli import main
from publisher.common.weeks import IsoWeek
from publisher.errors import BookError
from publisher.facts.compute import compute_facts

SPEC = DemoSpec(weeks=3, trades_per_week=120, seed=11, end_week=IsoWeek(2026, 16))
SCHEMA = json.loads((Path(__file__).parents[2] / "publisher" / "facts" / "facts.schema.json").read_text())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_book(tmp_path_factory.mktemp("demo") / "demo.sqlite", SPEC).path


def table_digest(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        rows = [conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
                for t in ("books", "trades", "failure_vault", "strategy_adjustments", "news_items")]
    finally:
        conn.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_same_seed_same_book_other_seed_other_book(demo: Path, tmp_path: Path) -> None:
    again = make_demo_book(tmp_path / "again.sqlite", SPEC).path
    other = make_demo_book(tmp_path / "other.sqlite", DemoSpec(weeks=3, trades_per_week=120, seed=12,
                                                               end_week=IsoWeek(2026, 16))).path
    assert table_digest(again) == table_digest(demo)
    assert table_digest(other) != table_digest(demo)


def test_two_mirrored_books_on_thirty_pairs(demo: Path) -> None:
    conn = sqlite3.connect(demo)
    books = conn.execute("SELECT id, name, role, starting_balance, quote_currency FROM books").fetchall()
    assert books == [(1, "standard", "standard", 1000.0, "USDT"), (2, "inverted", "inverted", 1000.0, "USDT")]
    symbols = {s for (s,) in conn.execute("SELECT DISTINCT symbol FROM trades")}
    assert len(symbols) == 30 and all(s.endswith("/USDT") for s in symbols)
    assert {lane for (lane,) in conn.execute("SELECT DISTINCT lane FROM trades")} == {"spot", "futures"}
    assert conn.execute("SELECT max(leverage) FROM trades WHERE lane = 'futures'").fetchone()[0] > 1
    assert conn.execute("SELECT max(leverage) FROM trades WHERE lane = 'spot'").fetchone()[0] == 1
    # Every standard trade has a mirror: same entry, quantity, times and fees, the other side.
    pairs = conn.execute(
        "SELECT a.side, b.side, a.realized_pnl, b.realized_pnl, a.fee_open + a.fee_close "
        "FROM trades a JOIN trades b ON b.id = a.id + 1 AND b.book_id = 2 WHERE a.book_id = 1 "
        "AND a.symbol = b.symbol AND a.entry_price = b.entry_price AND a.quantity = b.quantity "
        "AND a.opened_at = b.opened_at AND a.closed_at IS b.closed_at AND a.fee_open = b.fee_open").fetchall()
    assert len(pairs) == conn.execute("SELECT count(*) FROM trades WHERE book_id = 1").fetchone()[0]
    closed = [p for p in pairs if p[2] is not None]
    assert all({a, b} == {"long", "short"} for a, b, *_ in pairs)
    # Gross PnL mirrors exactly; fees are paid by both: pnl_std + pnl_inv = -2 x fees.
    assert all(abs(p[2] + p[3] + 2 * p[4]) < 1e-9 for p in closed)
    assert all(p[4] > 0 for p in closed)
    reasons = {r for (r,) in conn.execute("SELECT DISTINCT close_reason FROM trades WHERE closed_at IS NOT NULL")}
    assert {"take_profit", "stop_loss", "signal"} <= reasons
    conn.close()


def test_every_losing_trade_has_a_post_mortem(demo: Path) -> None:
    conn = sqlite3.connect(demo)
    losing = conn.execute("SELECT count(*) FROM trades WHERE realized_pnl < 0").fetchone()[0]
    covered = conn.execute("SELECT count(DISTINCT v.trade_id) FROM failure_vault v JOIN trades t ON t.id = v.trade_id "
                           "WHERE t.realized_pnl < 0").fetchone()[0]
    assert losing > 0 and covered == losing
    assert conn.execute("SELECT count(*) FROM failure_vault").fetchone()[0] == losing
    causes = {c for (c,) in conn.execute("SELECT DISTINCT root_cause FROM failure_vault")}
    assert causes == {"technical", "news", "execution_slippage"}
    notes = [n for (n,) in conn.execute("SELECT note FROM failure_vault")]
    assert len(set(notes)) > len(notes) // 2  # varied, not one canned sentence
    adjustments = conn.execute("SELECT confidence, status FROM strategy_adjustments").fetchall()
    assert adjustments and all(0 < c < 1 for c, _ in adjustments)
    assert {s for _, s in adjustments} <= {"shipped", "queued"}
    news = conn.execute("SELECT rank, title, source, url FROM news_items").fetchall()
    assert news and all(r >= 1 and t and s and u.startswith("https://") for r, t, s, u in news)
    conn.close()


def test_open_trades_remain_at_the_end(demo: Path) -> None:
    conn = sqlite3.connect(demo)
    open_rows = conn.execute("SELECT opened_at FROM trades WHERE closed_at IS NULL").fetchall()
    conn.close()
    assert open_rows and all(o >= "2026-04-1" for (o,) in open_rows)


def test_demo_facts_validate_against_the_schema(demo: Path) -> None:
    with open_book(demo) as book:
        facts = compute_facts(book, "2026-W16")
    jsonschema.validate(facts, SCHEMA)
    week = facts["all_books"]["week"]
    assert week["round_trips"]["value"] > 150
    assert facts["vault"]["with_post_mortem"]["value"] == facts["vault"]["losing_trades"]["value"]
    assert {c["root_cause"] for c in facts["vault"]["clusters"]} == {"technical", "news", "execution_slippage"}
    assert facts["news"] and facts["adjustments"]
    assert facts["books"][0]["open_positions"]["count"]["value"] > 0
    # The inverted control: both books pay the same fees, their gross PnL is opposite.
    b1, b2 = (b["week"] for b in facts["books"])
    assert b1["fees"]["value"] == pytest.approx(b2["fees"]["value"])
    assert b1["gross_pnl"]["value"] == pytest.approx(-b2["gross_pnl"]["value"])


def test_cli_demo_book_then_facts(tmp_path: Path) -> None:
    runner = CliRunner()
    path = tmp_path / "demo.sqlite"
    result = runner.invoke(main, ["demo-book", str(path), "--weeks", "2", "--trades-per-week", "40",
                                  "--end-week", "2026-W16"])
    assert result.exit_code == 0, result.output
    assert "2026-W15 to 2026-W16" in result.output
    again = runner.invoke(main, ["demo-book", str(path)])
    assert again.exit_code == 1 and "already exists" in again.stderr
    facts = runner.invoke(main, ["-C", str(tmp_path), "facts", "--book", str(path), "--week", "2026-W16", "--json"])
    assert facts.exit_code == 0, facts.output
    jsonschema.validate(json.loads(facts.stdout), SCHEMA)
    table = runner.invoke(main, ["-C", str(tmp_path), "facts", "--book", str(path), "--week", "2026-W16"])
    assert "Round-trips" in table.stdout and "Failure vault" in table.stdout


def test_invalid_spec_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BookError, match="at least 1"):
        make_demo_book(tmp_path / "x.sqlite", DemoSpec(weeks=0))
