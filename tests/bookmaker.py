"""Small hand-built books for tests: native, Freqtrade and a custom layout.

Any stage's tests can build a book in `tmp_path`:

    from bookmaker import make_native_book, trade   # tests/ is on sys.path under pytest
    path = make_native_book(tmp_path / "book.sqlite", trades=[
        trade(1, "BTC/USDT", entry=100, exit=110, qty=1, opened="2026-04-14T09:00:00Z",
              closed="2026-04-14T10:00:00Z", fee_open=0.1, fee_close=0.11)])

`trade()` derives realized PnL net of fees from the prices, so expected figures in a test can be
written from the same few numbers by hand.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from publisher.book.reader import NATIVE_SCHEMA

DEFAULT_BOOKS: tuple[dict[str, Any], ...] = (
    {"id": 1, "name": "standard", "role": "standard", "starting_balance": 1000.0, "quote_currency": "USDT"},
    {"id": 2, "name": "inverted", "role": "inverted", "starting_balance": 1000.0, "quote_currency": "USDT"},
)


def trade(
    book_id: int,
    symbol: str,
    *,
    entry: float,
    exit: float | None = None,
    qty: float = 1.0,
    side: str = "long",
    opened: str,
    closed: str | None = None,
    fee_open: float = 0.0,
    fee_close: float = 0.0,
    leverage: float = 1.0,
    lane: str = "spot",
    reason: str | None = None,
    pnl: Any = "derive",
    id: int | None = None,
) -> dict[str, Any]:
    """A native trades row. Open when `closed` is None; `pnl` overrides the derived realized PnL."""
    direction = 1 if side == "long" else -1
    if pnl == "derive":
        pnl = None if closed is None or exit is None else (exit - entry) * qty * direction - fee_open - fee_close
    return {"id": id, "book_id": book_id, "lane": lane, "symbol": symbol, "side": side, "quantity": qty,
            "leverage": leverage, "entry_price": entry, "exit_price": exit if closed else None,
            "opened_at": opened, "closed_at": closed, "fee_open": fee_open,
            "fee_close": fee_close if closed else 0.0, "realized_pnl": pnl,
            "close_reason": reason or (None if closed is None else "take_profit" if (pnl or 0) > 0 else "stop_loss")}


def _insert(conn: sqlite3.Connection, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
    for row in rows:
        cols = [k for k, v in row.items() if not (k == "id" and v is None)]
        conn.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                     [row[c] for c in cols])


def make_native_book(
    path: Path | str,
    *,
    books: Iterable[Mapping[str, Any]] = DEFAULT_BOOKS,
    trades: Iterable[Mapping[str, Any]] = (),
    vault: Iterable[Mapping[str, Any]] = (),
    adjustments: Iterable[Mapping[str, Any]] = (),
    news: Iterable[Mapping[str, Any]] = (),
    wal: bool = False,
) -> Path:
    """Create a book with the native schema. Rows are dicts keyed by native column names.

    vault rows: trade_id, root_cause, note, created_at. adjustments: created_at, scope, change,
    confidence (0..1), status, targets, book_id. news: published_at, rank, title, source, url.
    """
    path = Path(path)
    conn = sqlite3.connect(path)
    try:
        if wal:
            conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(NATIVE_SCHEMA)
        with conn:
            _insert(conn, "books", books)
            _insert(conn, "trades", trades)
            _insert(conn, "failure_vault", vault)
            _insert(conn, "strategy_adjustments", adjustments)
            _insert(conn, "news_items", news)
    finally:
        conn.close()
    return path


# Freqtrade's own `trades` table as SQLAlchemy creates it in tradesv3.sqlite
# (freqtrade/persistence/trade_model.py), with its two indexes, and its `orders` table.
FREQTRADE_DDL = """
CREATE TABLE trades (
    id INTEGER NOT NULL, exchange VARCHAR(25) NOT NULL, pair VARCHAR(25) NOT NULL,
    base_currency VARCHAR(25), stake_currency VARCHAR(25), is_open BOOLEAN NOT NULL,
    fee_open FLOAT NOT NULL, fee_open_cost FLOAT, fee_open_currency VARCHAR(25),
    fee_close FLOAT NOT NULL, fee_close_cost FLOAT, fee_close_currency VARCHAR(25),
    open_rate FLOAT, open_rate_requested FLOAT, open_trade_value FLOAT, close_rate FLOAT,
    close_rate_requested FLOAT, realized_profit FLOAT, close_profit FLOAT, close_profit_abs FLOAT,
    stake_amount FLOAT NOT NULL, max_stake_amount FLOAT, amount FLOAT, amount_requested FLOAT,
    open_date DATETIME NOT NULL, close_date DATETIME, stop_loss FLOAT, stop_loss_pct FLOAT,
    initial_stop_loss FLOAT, initial_stop_loss_pct FLOAT, is_stop_loss_trailing BOOLEAN NOT NULL,
    max_rate FLOAT, min_rate FLOAT, exit_reason VARCHAR(255), exit_order_status VARCHAR(100),
    strategy VARCHAR(100), enter_tag VARCHAR(255), timeframe INTEGER, trading_mode VARCHAR(7),
    amount_precision FLOAT, price_precision FLOAT, precision_mode INTEGER, contract_size FLOAT,
    leverage FLOAT, is_short BOOLEAN NOT NULL, liquidation_price FLOAT, interest_rate FLOAT NOT NULL,
    funding_fees FLOAT, funding_fee_running FLOAT, record_version INTEGER NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX ix_trades_pair ON trades (pair);
CREATE INDEX ix_trades_is_open ON trades (is_open);
CREATE TABLE orders (
    id INTEGER NOT NULL, ft_trade_id INTEGER, ft_order_side VARCHAR(25) NOT NULL,
    ft_pair VARCHAR(25) NOT NULL, ft_is_open BOOLEAN NOT NULL, order_id VARCHAR(255) NOT NULL,
    status VARCHAR(255), symbol VARCHAR(25), order_type VARCHAR(50), side VARCHAR(25), price FLOAT,
    average FLOAT, amount FLOAT, filled FLOAT, remaining FLOAT, cost FLOAT, order_date DATETIME,
    order_filled_date DATETIME, order_update_date DATETIME, PRIMARY KEY (id),
    FOREIGN KEY(ft_trade_id) REFERENCES trades (id)
);
"""


def freqtrade_trade(
    pair: str,
    *,
    open_rate: float,
    close_rate: float | None = None,
    amount: float = 1.0,
    is_short: bool = False,
    leverage: float = 1.0,
    fee: float = 0.001,
    open_date: str,
    close_date: str | None = None,
    exit_reason: str | None = None,
    trading_mode: str = "SPOT",
) -> dict[str, Any]:
    """A Freqtrade trades row; close_profit_abs follows Freqtrade (trade values net of fees)."""
    is_open = close_date is None
    open_value = amount * open_rate
    row: dict[str, Any] = {
        "exchange": "binance", "pair": pair, "base_currency": pair.split("/")[0],
        "stake_currency": pair.split("/")[1].split(":")[0], "is_open": int(is_open),
        "fee_open": fee, "fee_open_cost": open_value * fee, "fee_open_currency": "USDT",
        "fee_close": fee, "fee_close_cost": None, "open_rate": open_rate, "close_rate": close_rate,
        "stake_amount": open_value / leverage, "amount": amount, "open_date": open_date,
        "close_date": close_date, "is_stop_loss_trailing": 0, "exit_reason": exit_reason,
        "strategy": "SampleStrategy", "trading_mode": trading_mode, "leverage": leverage,
        "is_short": int(is_short), "interest_rate": 0.0, "record_version": 1,
        "close_profit_abs": None,
    }
    if not is_open:
        assert close_rate is not None
        close_value = amount * close_rate
        row["fee_close_cost"] = close_value * fee
        if is_short:
            row["close_profit_abs"] = open_value * (1 - fee) - close_value * (1 + fee)
        else:
            row["close_profit_abs"] = close_value * (1 - fee) - open_value * (1 + fee)
        row["close_profit"] = row["close_profit_abs"] / (open_value / leverage)
    return row


def make_freqtrade_book(path: Path | str, trades: Iterable[Mapping[str, Any]]) -> Path:
    path = Path(path)
    conn = sqlite3.connect(path)
    try:
        conn.executescript(FREQTRADE_DDL)
        with conn:
            _insert(conn, "trades", trades)
    finally:
        conn.close()
    return path


def make_sqlite(path: Path | str, script: str, rows: Mapping[str, Iterable[Mapping[str, Any]]] = ()) -> Path:
    """Any layout: run `script` (DDL), then insert `rows` per table. For mapped-layout tests."""
    path = Path(path)
    conn = sqlite3.connect(path)
    try:
        conn.executescript(script)
        with conn:
            for table, table_rows in dict(rows).items():
                _insert(conn, table, table_rows)
    finally:
        conn.close()
    return path
