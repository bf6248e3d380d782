"""Fact-sheet figures on small native books, against values worked out by hand in the comments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bookmaker import make_native_book, trade

from publisher.book.reader import open_book
from publisher.facts.compute import compute_facts, wilson_interval

W16 = "2026-W16"  # 2026-04-13T00:00Z .. 2026-04-20T00:00Z


def v(figure: dict[str, Any]) -> Any:
    return figure["value"]


@pytest.fixture
def two_books(tmp_path: Path) -> Path:
    trades = [
        # Book 1 history: +50 on 2 March (aggregated by day) and -30 on 12 April (the day before the week).
        trade(1, "BTC/USDT", entry=100, exit=150, opened="2026-03-01T10:00:00Z", closed="2026-03-02T10:00:00Z"),
        trade(1, "BTC/USDT", entry=100, exit=70, opened="2026-04-12T08:00:00Z", closed="2026-04-12T10:00:00Z"),
        # Week 16, book 1, in close order:
        # t1 long spot, closes exactly at the week start: gross +12, fees 0.6 + 0.612 -> +10.788
        trade(1, "BTC/USDT", entry=60000, exit=61200, qty=0.01, opened="2026-04-12T20:00:00Z",
              closed="2026-04-13T00:00:00Z", fee_open=0.6, fee_close=0.612),
        # t2 short futures 5x: price up 60 on 1 unit: gross -60, fees 1.5 + 1.53 -> -63.03
        trade(1, "ETH/USDT", entry=3000, exit=3060, qty=1, side="short", leverage=5, lane="futures",
              opened="2026-04-14T08:00:00Z", closed="2026-04-14T09:00:00Z", fee_open=1.5, fee_close=1.53),
        # t3 breakeven: 0 exactly
        trade(1, "SOL/USDT", entry=100, exit=100, qty=10, opened="2026-04-15T08:00:00Z",
              closed="2026-04-15T09:00:00Z"),
        # t4 short: price down 5 on 4 units: gross +20, fees 0.2 + 0.19 -> +19.61 (space-separated ISO)
        trade(1, "SOL/USDT", entry=100, exit=95, qty=4, side="short", opened="2026-04-16 08:00:00",
              closed="2026-04-16 09:00:00", fee_open=0.2, fee_close=0.19),
        # Closes exactly at the week end: next week, not this one (a bug would show +1000).
        trade(1, "BTC/USDT", entry=100, exit=1100, opened="2026-04-19T08:00:00Z", closed="2026-04-20T00:00:00Z"),
        # Open at the week end: closed after it, and never closed.
        trade(1, "ETH/USDT", entry=3000, exit=3100, opened="2026-04-19T09:00:00Z", closed="2026-04-21T00:00:00Z"),
        trade(1, "SOL/USDT", entry=90, qty=2, side="short", leverage=3, lane="futures",
              opened="2026-04-18T09:00:00Z"),
        # Opened after the week: not an open position of week 16.
        trade(1, "SOL/USDT", entry=90, opened="2026-04-20T01:00:00Z"),
        # Book 2, one loss: gross -6, fees 0.6 + 0.594 -> -7.194
        trade(2, "BTC/USDT", entry=60000, exit=59400, qty=0.01, opened="2026-04-17T08:00:00Z",
              closed="2026-04-17T09:00:00Z", fee_open=0.6, fee_close=0.594),
    ]
    vault = [
        {"trade_id": 4, "root_cause": "execution_slippage", "note": "exit slipped <b>12 bps</b>",
         "created_at": "2026-04-14T09:05:00Z"},
        {"trade_id": 11, "root_cause": "technical", "note": "breakout failed", "created_at": "2026-04-17T09:05:00Z"},
        {"trade_id": 2, "root_cause": "news", "note": "before the week", "created_at": "2026-04-12T10:05:00Z"},
    ]
    adjustments = [
        {"created_at": "2026-04-18T12:00:00Z", "scope": "Scanner-wide", "change": "cut size 25%",
         "confidence": 0.65, "status": "shipped", "targets": "technical"},
        {"created_at": "2026-04-21T12:00:00Z", "scope": "Global", "change": "next week", "confidence": 0.5,
         "status": "queued", "targets": None},
    ]
    news = [
        {"published_at": "2026-04-15T08:00:00Z", "rank": 2, "title": "Second", "source": "S", "url": "https://b"},
        {"published_at": "2026-04-16T08:00:00Z", "rank": 1, "title": "First", "source": "S", "url": "https://a"},
        {"published_at": "2026-04-10T08:00:00Z", "rank": 1, "title": "Old", "source": "S", "url": "https://c"},
    ]
    return make_native_book(tmp_path / "book.sqlite", trades=trades, vault=vault, adjustments=adjustments,
                            news=news)


def facts_of(path: Path, week: str = W16, tz: str = "UTC") -> dict[str, Any]:
    with open_book(path) as book:
        return compute_facts(book, week, tz)


def test_book_one_week_figures(two_books: Path) -> None:
    facts = facts_of(two_books)
    b1 = facts["books"][0]
    w = b1["week"]
    assert (b1["id"], b1["name"], b1["role"]) == (1, "standard", "standard")
    assert (v(w["round_trips"]), v(w["wins"]), v(w["losses"]), v(w["breakeven"])) == (4, 2, 1, 1)
    assert v(w["win_rate"]) == pytest.approx(50.0)
    pnl = 10.788 - 63.03 + 0 + 19.61
    assert v(w["realized_pnl"]) == pytest.approx(pnl)
    assert v(w["fees"]) == pytest.approx(0.6 + 0.612 + 1.5 + 1.53 + 0.2 + 0.19)
    assert v(w["gross_pnl"]) == pytest.approx(12 - 60 + 0 + 20)
    assert v(w["equity_start"]) == pytest.approx(1000 + 50 - 30)
    assert v(w["equity_end"]) == pytest.approx(1020 + pnl)
    assert v(w["return"]) == pytest.approx(pnl / 1020 * 100)
    # Path 1020 -> 1030.788 -> 967.758 -> 967.758 -> 987.368: peak 1030.788, trough 967.758.
    assert v(w["max_drawdown"]) == pytest.approx(63.03 / 1030.788 * 100)
    assert v(w["avg_win"]) == pytest.approx((10.788 + 19.61) / 2)
    assert v(w["avg_loss"]) == pytest.approx(-63.03)
    assert v(w["rr_ratio"]) == pytest.approx(15.199 / 63.03)
    assert v(w["profit_factor"]) == pytest.approx(30.398 / 63.03)
    assert v(w["expectancy"]) == pytest.approx(pnl / 4)
    assert w["best_symbol"]["symbol"] == "SOL/USDT" and v(w["best_symbol"]["pnl"]) == pytest.approx(19.61)
    assert w["worst_symbol"]["symbol"] == "ETH/USDT" and v(w["worst_symbol"]["pnl"]) == pytest.approx(-63.03)
    sol = next(s for s in w["symbols"] if s["symbol"] == "SOL/USDT")
    assert (v(sol["round_trips"]), v(sol["wins"]), v(sol["win_rate"])) == (2, 1, 50.0)
    assert w["small_sample"] is True
    low, high = v(w["win_rate_ci95"]["low"]), v(w["win_rate_ci95"]["high"])
    assert low == pytest.approx(15.00, abs=0.01) and high == pytest.approx(85.00, abs=0.01)
    assert w["realized_pnl"]["unit"] == "USDT" and w["win_rate"]["unit"] == "%"
    assert w["rr_ratio"]["unit"] == "x" and w["expectancy"]["unit"] == "USDT/trade"


def test_book_one_all_time_and_open_positions(two_books: Path) -> None:
    b1 = facts_of(two_books)["books"][0]
    pnl = 10.788 - 63.03 + 19.61
    assert v(b1["all_time"]["round_trips"]) == 6  # the trade closing at the week end is not counted
    assert v(b1["all_time"]["realized_pnl"]) == pytest.approx(50 - 30 + pnl)
    assert v(b1["all_time"]["cumulative_return"]) == pytest.approx((50 - 30 + pnl) / 1000 * 100)
    # 1000 -> 1050 (peak) -> ... -> 967.758 (trough)
    assert v(b1["all_time"]["max_drawdown"]) == pytest.approx((1050 - 967.758) / 1050 * 100)
    positions = b1["open_positions"]
    # Closing exactly at the week end counts as open at the week end (it is next week's round-trip).
    assert v(positions["count"]) == 3
    assert [(p["symbol"], p["side"], p["leverage"], p["lane"]) for p in positions["positions"]] == [
        ("SOL/USDT", "short", 3.0, "futures"), ("BTC/USDT", "long", 1.0, "spot"), ("ETH/USDT", "long", 1.0, "spot")]
    assert positions["positions"][0]["opened_at"] == "2026-04-18T09:00:00+00:00"
    curve = b1["equity_curve"]
    assert [round(p["equity"], 3) for p in curve] == [1020.0, 1030.788, 967.758, 967.758, 987.368]
    assert curve[0]["t"] == "2026-04-13T00:00:00+00:00"


def test_all_books_and_comparison(two_books: Path) -> None:
    facts = facts_of(two_books)
    total = facts["all_books"]
    assert total["id"] is None
    w = total["week"]
    assert (v(w["round_trips"]), v(w["wins"]), v(w["losses"]), v(w["breakeven"])) == (5, 2, 2, 1)
    assert v(w["realized_pnl"]) == pytest.approx(10.788 - 63.03 + 19.61 - 7.194)
    assert v(w["equity_start"]) == pytest.approx(2020.0)
    assert v(total["starting_balance"]) == 2000.0
    b2 = facts["books"][1]["week"]
    assert v(b2["win_rate"]) == 0.0 and v(b2["avg_win"]) is None and v(b2["rr_ratio"]) is None
    assert v(b2["profit_factor"]) == 0.0  # no wins: 0 / 7.194
    comparison = facts["comparison"]
    assert comparison["book_ids"] == [1, 2]
    rows = {r["symbol"]: r["books"] for r in comparison["rows"]}
    assert sorted(rows) == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    assert v(rows["BTC/USDT"]["2"]["pnl"]) == pytest.approx(-7.194)
    assert v(rows["SOL/USDT"]["2"]["round_trips"]) == 0 and v(rows["SOL/USDT"]["2"]["win_rate"]) is None


def test_vault_adjustments_and_news(two_books: Path) -> None:
    facts = facts_of(two_books)
    vault = facts["vault"]
    # Book 2 is book 1's inverted mirror: the vault reports the headline book, not the control's loss.
    assert facts["headline"]["book_ids"] == [1]
    assert v(vault["losing_trades"]) == 1
    assert v(vault["total_loss"]) == pytest.approx(-63.03)
    assert v(vault["with_post_mortem"]) == 1
    assert [(c["root_cause"], v(c["count"]), c["symbols"]) for c in vault["clusters"]] == [
        ("execution_slippage", 1, ["ETH/USDT"])]
    assert vault["worst"]["symbol"] == "ETH/USDT" and vault["worst"]["root_cause"] == "execution_slippage"
    assert v(vault["worst"]["avg_loss"]) == pytest.approx(-63.03)
    assert vault["notes"][0]["note"] == "exit slipped <b>12 bps</b>"  # raw: escaping is the renderer's job
    assert [a["change"] for a in facts["adjustments"]] == ["cut size 25%"]
    assert v(facts["adjustments"][0]["confidence"]) == pytest.approx(65.0)
    assert [(n["rank"], n["title"]) for n in facts["news"]] == [(1, "First"), (2, "Second")]
    assert facts["stamp"]["book_format"] == "native" and len(facts["stamp"]["book_sha256"]) == 64
    assert all(c["passed"] for c in facts["checks"]) and len(facts["checks"]) > 20
    assert any("closed 4 round-trips (< 30)" in warning for warning in facts["warnings"])


def test_vault_follows_the_headline_book(two_books: Path) -> None:
    with open_book(two_books) as book:
        facts = compute_facts(book, W16, "UTC", primary="inverted")
    vault = facts["vault"]
    assert facts["headline"]["book_ids"] == [2]
    assert v(vault["losing_trades"]) == 1 and v(vault["total_loss"]) == pytest.approx(-7.194)
    assert [(c["root_cause"], c["symbols"]) for c in vault["clusters"]] == [("technical", ["BTC/USDT"])]
    assert [n["note"] for n in vault["notes"]] == ["breakout failed"]


def test_week_with_no_trades_is_well_defined(two_books: Path) -> None:
    facts = facts_of(two_books, "2026-W11")
    w = facts["books"][0]["week"]
    assert v(w["round_trips"]) == 0 and v(w["realized_pnl"]) == 0.0
    assert v(w["win_rate"]) is None and v(w["win_rate_ci95"]["low"]) is None
    assert v(w["return"]) == 0.0 and v(w["max_drawdown"]) == 0.0
    assert w["best_symbol"] is None and w["symbols"] == []
    assert v(w["equity_start"]) == pytest.approx(1050.0)  # after the +50 of 2 March
    assert facts["books"][0]["equity_curve"] == [{"t": "2026-03-09T00:00:00+00:00", "equity": 1050.0}]
    assert facts["vault"]["clusters"] == [] and facts["vault"]["worst"] is None
    assert facts["news"] == [] and facts["comparison"]["rows"] == []
    assert "closed no round-trips" in facts["warnings"][0]


def test_week_bounds_in_another_timezone(two_books: Path) -> None:
    # In Asia/Tokyo (UTC+9) W16 is 2026-04-12T15:00Z .. 2026-04-19T15:00Z: the -30 trade of
    # 12 April 10:00Z is before it, the trade closing 20 April is not in it either.
    facts = facts_of(two_books, W16, "Asia/Tokyo")
    assert facts["week"]["start"] == "2026-04-13T00:00:00+09:00"
    w = facts["books"][0]["week"]
    assert v(w["round_trips"]) == 4
    assert v(w["equity_start"]) == pytest.approx(1020.0)
    assert facts["books"][0]["equity_curve"][1]["t"] == "2026-04-13T09:00:00+09:00"


def test_only_open_trades(tmp_path: Path) -> None:
    path = make_native_book(tmp_path / "open.sqlite", books=[
        {"id": 1, "name": "solo", "role": "standard", "starting_balance": 500.0, "quote_currency": "USDC"}],
        trades=[trade(1, "BTC/USDC", entry=60000, qty=0.001, opened="2026-04-14T08:00:00Z"),
                trade(1, "ETH/USDC", entry=3000, qty=0.1, side="short", opened="2026-04-15T08:00:00Z")])
    facts = facts_of(path)
    book = facts["books"][0]
    assert facts["currency"] == "USDC" and book["week"]["realized_pnl"]["unit"] == "USDC"
    assert v(book["week"]["round_trips"]) == 0
    assert v(book["open_positions"]["count"]) == 2
    assert v(book["all_time"]["round_trips"]) == 0 and v(book["all_time"]["cumulative_return"]) == 0.0


def test_wilson_interval_matches_published_values() -> None:
    low, high = wilson_interval(5, 12)
    assert (round(low, 1), round(high, 1)) == (19.3, 68.0)
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(27.75, abs=0.01)
