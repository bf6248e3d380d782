"""Freqtrade's tradesv3.sqlite, in Freqtrade's own table layout, read without any configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from bookmaker import freqtrade_trade, make_freqtrade_book

from publisher.book.reader import open_book
from publisher.config import BookConfig
from publisher.facts.compute import compute_facts


@pytest.fixture
def ft_book(tmp_path: Path) -> Path:
    return make_freqtrade_book(tmp_path / "tradesv3.sqlite", [
        # Spot long, ROI exit: 0.01 BTC 60000 -> 61200, fee 0.1% each side.
        freqtrade_trade("BTC/USDT", open_rate=60000, close_rate=61200, amount=0.01,
                        open_date="2026-04-14 08:00:00.000000", close_date="2026-04-14 09:30:00.000000",
                        exit_reason="roi"),
        # Futures short 3x, stop loss: 2 ETH 3000 -> 3030.
        freqtrade_trade("ETH/USDT:USDT", open_rate=3000, close_rate=3030, amount=2, is_short=True, leverage=3,
                        fee=0.0005, open_date="2026-04-15 08:00:00.000000",
                        close_date="2026-04-15 10:00:00.000000", exit_reason="stop_loss", trading_mode="FUTURES"),
        # Closed the week before.
        freqtrade_trade("BTC/USDT", open_rate=60000, close_rate=59000, amount=0.01,
                        open_date="2026-04-08 08:00:00.000000", close_date="2026-04-08 09:00:00.000000",
                        exit_reason="exit_signal"),
        # Still open.
        freqtrade_trade("SOL/USDT:USDT", open_rate=140, amount=5, leverage=2, is_short=True,
                        open_date="2026-04-18 08:00:00.000000", trading_mode="FUTURES"),
    ])


def test_freqtrade_book_is_detected_and_read(ft_book: Path) -> None:
    with open_book(ft_book) as book:
        assert book.format == "freqtrade"
        facts = compute_facts(book, "2026-W16", "UTC")
    assert facts["stamp"]["book_format"] == "freqtrade"
    assert [b["name"] for b in facts["books"]] == ["freqtrade"]
    w = facts["books"][0]["week"]
    # BTC: 612*(1-0.001) - 600*(1+0.001) = 10.788; ETH short: 6000*(1-0.0005) - 6060*(1+0.0005) = -66.03
    assert w["round_trips"]["value"] == 2
    assert (w["wins"]["value"], w["losses"]["value"]) == (1, 1)
    assert w["realized_pnl"]["value"] == pytest.approx(10.788 - 66.03)
    assert w["fees"]["value"] == pytest.approx(0.6 + 0.612 + 3.0 + 3.03)
    assert w["gross_pnl"]["value"] == pytest.approx(12 - 60)
    assert w["equity_start"]["value"] == pytest.approx(1000 + (590 * 0.999 - 600 * 1.001))
    assert {s["symbol"] for s in w["symbols"]} == {"BTC/USDT", "ETH/USDT:USDT"}
    positions = facts["books"][0]["open_positions"]["positions"]
    assert [(p["symbol"], p["side"], p["lane"], p["leverage"]) for p in positions] == [
        ("SOL/USDT:USDT", "short", "futures", 2.0)]
    assert positions[0]["opened_at"] == "2026-04-18T08:00:00+00:00"
    # Freqtrade has no failure vault, adjustments or news.
    assert facts["vault"]["clusters"] == [] and facts["vault"]["losing_trades"]["value"] == 1
    assert facts["adjustments"] == [] and facts["news"] == []


def test_freqtrade_starting_balance_from_the_mapping(ft_book: Path) -> None:
    config = BookConfig(format="freqtrade", mapping={"starting_balance": 250.0, "book_name": "dry-run"})
    with open_book(ft_book, config) as book:
        facts = compute_facts(book, "2026-W16", "UTC")
    assert facts["books"][0]["name"] == "dry-run"
    assert facts["books"][0]["starting_balance"]["value"] == 250.0
