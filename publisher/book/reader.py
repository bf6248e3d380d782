"""The trading book: opened read-only, any supported layout normalised into one shape.

Three layouts are read through one code path. Each maps *logical* columns (the native schema's
names) to SQL expressions over the operator's tables: the native schema maps every column to
itself, Freqtrade's `tradesv3.sqlite` is a built-in mapping, and any other database is described
in `[book.mapping]` of publisher.toml (docs/schema.md). Filtering and aggregation run inside
SQLite inside one read transaction, so a week of a 10-million-trade book is read without loading
the table, and every figure comes from one consistent snapshot while the bot keeps writing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from publisher.common.fsutil import atomic_write_text
from publisher.config import BookConfig
from publisher.errors import BookError, one_line

NATIVE_SCHEMA = """\
-- The native book schema (publish schema). Timestamps: ISO-8601 TEXT in UTC, e.g. 2026-04-14T09:30:00Z.
CREATE TABLE IF NOT EXISTS books (
    id               INTEGER PRIMARY KEY,
    name             TEXT    NOT NULL,                  -- e.g. 'standard', 'inverted'
    role             TEXT    NOT NULL DEFAULT 'standard', -- standard | inverted (mirror of the same signals)
    starting_balance REAL    NOT NULL,                  -- quote currency
    quote_currency   TEXT    NOT NULL DEFAULT 'USDT',
    created_at       TEXT
);
CREATE TABLE IF NOT EXISTS trades (
    id           INTEGER PRIMARY KEY,
    book_id      INTEGER NOT NULL REFERENCES books(id),
    lane         TEXT    NOT NULL DEFAULT 'spot',   -- spot | futures
    symbol       TEXT    NOT NULL,                  -- e.g. 'BTC/USDT'
    side         TEXT    NOT NULL DEFAULT 'long',   -- long | short
    quantity     REAL    NOT NULL,                  -- base units (the whole position, leverage included)
    leverage     REAL    NOT NULL DEFAULT 1,
    entry_price  REAL    NOT NULL,
    exit_price   REAL,                              -- NULL while open
    opened_at    TEXT    NOT NULL,
    closed_at    TEXT,                              -- NULL while open
    fee_open     REAL    NOT NULL DEFAULT 0,        -- quote currency
    fee_close    REAL    NOT NULL DEFAULT 0,        -- quote currency, 0 while open
    realized_pnl REAL,                              -- quote currency, net of both fees, NULL while open
    close_reason TEXT                               -- take_profit | stop_loss | signal | liquidation | manual
);
CREATE INDEX IF NOT EXISTS trades_closed_at ON trades(closed_at);
CREATE INDEX IF NOT EXISTS trades_open ON trades(opened_at) WHERE closed_at IS NULL;
CREATE TABLE IF NOT EXISTS failure_vault (       -- one post-mortem per losing trade
    id         INTEGER PRIMARY KEY,
    trade_id   INTEGER NOT NULL REFERENCES trades(id),
    root_cause TEXT    NOT NULL,                    -- technical | news | execution_slippage
    note       TEXT,
    created_at TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS failure_vault_trade ON failure_vault(trade_id);
CREATE TABLE IF NOT EXISTS strategy_adjustments (
    id         INTEGER PRIMARY KEY,
    book_id    INTEGER REFERENCES books(id),        -- NULL: every book
    created_at TEXT    NOT NULL,
    scope      TEXT    NOT NULL,                    -- e.g. 'Scanner-wide', 'APT/USDT'
    change     TEXT    NOT NULL,
    confidence REAL    NOT NULL,                    -- 0..1
    status     TEXT    NOT NULL DEFAULT 'queued',   -- shipped | queued
    targets    TEXT                                 -- the root-cause class it addresses
);
CREATE INDEX IF NOT EXISTS strategy_adjustments_at ON strategy_adjustments(created_at);
CREATE TABLE IF NOT EXISTS news_items (
    id           INTEGER PRIMARY KEY,
    published_at TEXT    NOT NULL,
    rank         INTEGER,                           -- 1 = most relevant / trending rank
    title        TEXT    NOT NULL,
    source       TEXT,
    url          TEXT
);
CREATE INDEX IF NOT EXISTS news_items_at ON news_items(published_at);
"""

MAX_FIXES = 4  # shipped adjustments measured before vs after per fact sheet
TIMESTAMP_FORMATS = ("iso", "epoch_s", "epoch_ms")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# Epoch seconds a date can hold in every time zone (0001-01-02 to 9999-12-30 UTC): a timestamp in
# the year 0000 (which SQLite accepts) or past 9999 is refused as unreadable, naming the row.
_TS_RANGE = (dt.datetime(1, 1, 2, tzinfo=dt.UTC).timestamp(), dt.datetime(9999, 12, 30, tzinfo=dt.UTC).timestamp())


class QueryClock:
    """SQLite progress handler giving each query `limit` seconds, so a mapped SQL that never ends
    (a recursive CTE, a cross join of cross joins) is interrupted instead of spinning forever."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.deadline = float("inf")
        self.expired = False

    def start(self) -> None:
        self.deadline = time.monotonic() + self.limit if self.limit > 0 else float("inf")
        self.expired = False

    def __call__(self) -> int:
        if time.monotonic() > self.deadline:
            self.expired = True
            return 1  # SQLite aborts the statement with "interrupted"
        return 0


def _readable_ts(ts: float | None) -> bool:
    return ts is not None and _TS_RANGE[0] <= ts <= _TS_RANGE[1]
_SQLITE_MAGIC = b"SQLite format 3\x00"

# Logical tables: column -> default SQL expression when a mapping leaves it out (None: required).
LOGICAL: dict[str, dict[str, str | None]] = {
    "books": {"id": None, "name": None, "role": "'standard'", "starting_balance": None,
              "quote_currency": "'USDT'"},
    "trades": {"id": None, "book_id": "1", "lane": "'spot'", "symbol": None, "side": "'long'",
               "quantity": "NULL", "leverage": "1", "entry_price": "NULL", "exit_price": "NULL",
               "opened_at": None, "closed_at": None, "fee_open": "0", "fee_close": "0",
               "realized_pnl": None, "close_reason": "NULL"},
    "failure_vault": {"id": "NULL", "trade_id": None, "root_cause": None, "note": "NULL", "created_at": None},
    "strategy_adjustments": {"id": "NULL", "book_id": "NULL", "created_at": None, "scope": "'Global'",
                             "change": None, "confidence": None, "status": "'queued'", "targets": "NULL"},
    "news_items": {"id": "NULL", "published_at": None, "rank": "NULL", "title": None, "source": "NULL",
                   "url": "NULL"},
}

# Freqtrade's trades table (freqtrade/persistence/trade_model.py): naive UTC DATETIME text,
# fees as ratios (fee_open_cost/fee_close_cost when the exchange reported them), close_profit_abs
# net of fees, exit_reason such as 'roi', 'stop_loss', 'exit_signal', 'liquidation', 'force_exit'.
FREQTRADE_TRADES = {
    "id": "id",
    "book_id": "1",
    "lane": "CASE WHEN lower(trading_mode) = 'futures' THEN 'futures' ELSE 'spot' END",
    "symbol": "pair",
    "side": "CASE WHEN is_short THEN 'short' ELSE 'long' END",
    "quantity": "amount",
    "leverage": "COALESCE(leverage, 1)",
    "entry_price": "open_rate",
    "exit_price": "close_rate",
    "opened_at": "open_date",
    "closed_at": "CASE WHEN is_open THEN NULL ELSE close_date END",
    "fee_open": "COALESCE(fee_open_cost, fee_open * amount * open_rate, 0)",
    "fee_close": "CASE WHEN is_open THEN 0 ELSE COALESCE(fee_close_cost, fee_close * amount * close_rate, 0) END",
    "realized_pnl": "close_profit_abs",
    "close_reason": ("CASE WHEN exit_reason = 'roi' THEN 'take_profit' "
                     "WHEN exit_reason IN ('stop_loss', 'stoploss_on_exchange', 'trailing_stop_loss') "
                     "THEN 'stop_loss' WHEN exit_reason = 'exit_signal' THEN 'signal' "
                     "WHEN exit_reason = 'liquidation' THEN 'liquidation' "
                     "WHEN exit_reason IS NULL THEN NULL ELSE 'manual' END"),
}
FREQTRADE_COLUMNS = ("id", "pair", "is_open", "open_date", "close_date", "amount", "open_rate",
                     "close_rate", "fee_open", "fee_close", "close_profit_abs")


# ---------------------------------------------------------------------------------------------
# Normalised rows handed to the facts stage


@dataclass(frozen=True)
class BookMeta:
    id: int
    name: str
    role: str
    starting_balance: float
    quote_currency: str


@dataclass(frozen=True)
class ClosedTrade:
    id: int
    book_id: int
    symbol: str
    closed_ts: float  # seconds since the epoch, UTC
    realized_pnl: float  # net of fees
    fees: float  # fee_open + fee_close
    opened_ts: float = 0.0  # pairs a trade with its mirror (same symbol and entry time, opposite side)
    side: str = "long"


@dataclass(frozen=True)
class OpenPosition:
    id: int
    book_id: int
    symbol: str
    lane: str
    side: str
    quantity: float | None
    leverage: float
    entry_price: float | None
    opened_ts: float


@dataclass(frozen=True)
class DailyTotal:
    """Realized PnL of the trades one book closed on one UTC day (history before the recent window)."""

    book_id: int
    day: str | int  # 'YYYY-MM-DD' for ISO books, days since the epoch for epoch books
    realized_pnl: float
    count: int


@dataclass(frozen=True)
class PostMortem:
    trade_id: int
    root_cause: str
    note: str
    at_ts: float


@dataclass(frozen=True)
class Adjustment:
    book_id: int | None
    at_ts: float
    scope: str
    change: str
    confidence: float
    status: str
    targets: str | None


@dataclass(frozen=True)
class NewsItem:
    at_ts: float
    rank: int | None
    title: str
    source: str
    url: str


@dataclass(frozen=True)
class WeekTotal:
    """One book's closed trades in one earlier week (`back` weeks before the reported one), summed in SQLite."""

    book_id: int
    back: int
    count: int
    realized_pnl: float
    wins: int
    losses: int
    fees: float
    win_sum: float
    loss_sum: float


@dataclass(frozen=True)
class FixWindow:
    """A shipped adjustment's target measured in equal windows before and after it shipped."""

    adjustment: Adjustment
    kind: str  # root_cause | symbol
    target: str
    start_ts: float  # the before window starts here; it ends at adjustment.at_ts
    end_ts: float  # the after window ends here (the reported week's end)
    before_trades: int
    before_hits: int  # the target's losing trades
    before_loss: float
    after_trades: int
    after_hits: int
    after_loss: float


@dataclass
class Snapshot:
    """Everything one week's fact sheet needs, read in one transaction."""

    books: list[BookMeta]
    history: list[DailyTotal]  # closed before `recent` starts, aggregated per book and UTC day
    recent: list[ClosedTrade]  # closed from the end of `history` up to the week end, by close time
    open_positions: list[OpenPosition]  # open at the week end
    post_mortems: dict[int, PostMortem]  # by trade id, for trades closed in the week
    adjustments: list[Adjustment]
    news: list[NewsItem]
    has_vault: bool = True  # False: the layout has no failure vault (Freqtrade)
    weeks: list[WeekTotal] | None = None  # the earlier weeks asked for, per book (None: not asked)
    fixes: list[FixWindow] = field(default_factory=list)  # shipped adjustments before the week, measured


# ---------------------------------------------------------------------------------------------
# Layouts


@dataclass
class Source:
    """One logical table read from the operator's database."""

    logical: str
    from_sql: str  # a quoted table name or a parenthesised SELECT
    label: str  # how errors name the source: a table name or "[book.mapping.trades] sql"
    columns: dict[str, str]  # logical column -> SQL expression
    raw: dict[str, str] = field(default_factory=dict)  # logical column -> raw column name, if simple
    key_prefix: str = ""  # mapping key prefix for error messages, e.g. "[book.mapping.trades]"
    hint: str = "see 'publish schema' for the native layout"  # when there is no mapping key to name

    def select(self, names: tuple[str, ...] | list[str] | None = None, scan: bool = False) -> str:
        """A subquery with logical column names; SQLite flattens it, so indexes still apply.

        scan: read the table front to back (NOT INDEXED) — for whole-history aggregates, where an
        index would only add a random lookup per row.
        """
        names = names or list(self.columns)
        cols = ", ".join(f"{self.columns[n]} AS {n}" for n in names)
        source = f"{self.from_sql} NOT INDEXED" if scan and not self.from_sql.startswith("(") else self.from_sql
        return f"(SELECT {cols} FROM {source})"

    def where_hint(self, column: str) -> str:
        if self.key_prefix:
            return f"set {self.key_prefix} {column}"
        return self.hint


@dataclass
class Layout:
    format: str  # native | freqtrade | mapped
    timestamps: str  # iso | epoch_s | epoch_ms
    sources: dict[str, Source]
    static_books: list[BookMeta] = field(default_factory=list)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """Tables and views (a mapping may point at the operator's own views) with their columns.

    Plain PRAGMAs rather than sqlite-utils: its import pulls in pandas where pandas is installed,
    which cost 0.3 s of a 1.1 s `publish facts` run on a 10-million-trade book."""
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY type = 'view', rowid")]
    return {name: [r[0] for r in conn.execute("SELECT name FROM pragma_table_info(?) ORDER BY cid", (name,))]
            for name in names}


def _native_layout(tables: dict[str, list[str]], path: Path) -> Layout:
    sources: dict[str, Source] = {}
    for logical, spec in LOGICAL.items():
        if logical not in tables:
            if logical in ("books", "trades"):
                raise BookError(f"{path}: table '{logical}' is missing from the native layout; "
                                "create it as 'publish schema' prints, or set [book] format/mapping")
            continue
        present = set(tables[logical])
        columns: dict[str, str] = {}
        for col, default in spec.items():
            if col in present:
                columns[col] = _quote(col)
            elif default is None:
                raise BookError(f"{path}: column {logical}.{col} is missing from the native layout; "
                                "add it as 'publish schema' prints, or map it in [book.mapping."
                                f"{logical}] {col}")
            else:
                columns[col] = default
        sources[logical] = Source(logical, _quote(logical), f"table {logical}", columns,
                                  raw={c: c for c in spec if c in present})
    return Layout("native", "iso", sources)


def _freqtrade_layout(conn: sqlite3.Connection, tables: dict[str, list[str]], path: Path,
                      mapping: Mapping[str, Any]) -> Layout:
    present = set(tables.get("trades", []))
    for col in FREQTRADE_COLUMNS:
        if col not in present:
            raise BookError(f"{path}: Freqtrade table trades has no column '{col}'; "
                            "this is not a Freqtrade tradesv3.sqlite (set [book] format and [book.mapping])")
    columns = dict(FREQTRADE_TRADES)
    if "fee_open_cost" not in present:
        columns["fee_open"] = "COALESCE(fee_open * amount * open_rate, 0)"
    if "fee_close_cost" not in present:
        columns["fee_close"] = "CASE WHEN is_open THEN 0 ELSE COALESCE(fee_close * amount * close_rate, 0) END"
    for optional, fallback in (("trading_mode", "'spot'"), ("is_short", "'long'"), ("leverage", "1"),
                               ("exit_reason", "NULL")):
        if optional not in present:
            key = {"trading_mode": "lane", "is_short": "side", "exit_reason": "close_reason"}.get(optional, optional)
            columns[key] = fallback
    currency = str(mapping.get("quote_currency") or "")
    if not currency and "stake_currency" in present:
        row = conn.execute("SELECT stake_currency FROM trades WHERE stake_currency IS NOT NULL LIMIT 1").fetchone()
        currency = str(row[0]) if row else ""
    book = BookMeta(1, str(mapping.get("book_name", "freqtrade")), "standard",
                    _number(mapping.get("starting_balance", 1000.0), "[book.mapping] starting_balance"),
                    currency or "USDT")
    src = Source("trades", "trades", "table trades", columns,
                 raw={"id": "id", "symbol": "pair", "opened_at": "open_date", "closed_at": "close_date",
                      "realized_pnl": "close_profit_abs", "quantity": "amount", "entry_price": "open_rate"},
                 hint="read it with your own [book.mapping] (docs/schema.md)")
    return Layout("freqtrade", "iso", {"trades": src}, static_books=[book])


def _number(value: Any, where: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise BookError(f"{where} = {value!r}: expected a number")


def _mapped_layout(conn: sqlite3.Connection, tables: dict[str, list[str]], path: Path,
                   mapping: Mapping[str, Any]) -> Layout:
    timestamps = str(mapping.get("timestamps", "iso"))
    if timestamps not in TIMESTAMP_FORMATS:
        raise BookError(f"[book.mapping] timestamps = {timestamps!r}: choose iso, epoch_s or epoch_ms")
    values = mapping.get("values", {}) or {}
    if not isinstance(values, dict):
        raise BookError("[book.mapping.values] must be a table of column -> {book value = native value}")
    sources: dict[str, Source] = {}
    for logical, spec in LOGICAL.items():
        section = mapping.get(logical)
        if section is None:
            if logical == "trades":
                raise BookError("[book.mapping.trades] is missing: name the table (table = ...) and its "
                                "columns, see docs/schema.md")
            continue
        if not isinstance(section, dict):
            raise BookError(f"[book.mapping.{logical}] must be a table")
        prefix = f"[book.mapping.{logical}]"
        unknown = set(section) - set(spec) - {"table", "sql"}
        if unknown:
            raise BookError(f"{prefix}: unknown key(s) {', '.join(sorted(unknown))} (known: table, sql, "
                            f"{', '.join(spec)})")
        if "sql" in section:
            from_sql, label = f"({section['sql']})", f"{prefix} sql"
            try:
                cursor = conn.execute(f"SELECT * FROM {from_sql} LIMIT 0")
            except sqlite3.DatabaseError as exc:
                raise BookError(f"{path}: {prefix} sql does not run ({exc}); fix the SELECT") from None
            present = {d[0] for d in cursor.description}
        else:
            table = section.get("table", logical)
            if table not in tables:
                raise BookError(f"{path}: table '{table}' not found; set {prefix} table = \"...\" "
                                f"(tables here: {', '.join(sorted(tables)) or 'none'})")
            from_sql, label, present = _quote(table), f"table {table}", set(tables[table])
        columns: dict[str, str] = {}
        raw: dict[str, str] = {}
        for col, default in spec.items():
            given = section.get(col)
            if given is None:
                if default is None or col in present:  # a column named like the native one is used as is
                    guess = col if col in present else None
                    if guess is None:
                        raise BookError(f"{path}: {label} has no column for '{col}'; set {prefix} {col} = "
                                        "\"<column name or SQL expression>\"")
                    given = guess
                else:
                    columns[col] = default
                    continue
            given = str(given)
            if _IDENT.match(given):
                if given not in present:
                    raise BookError(f"{path}: {label} has no column '{given}'; set {prefix} {col} = "
                                    "\"<column name or SQL expression>\"")
                raw[col] = given
                expr = _quote(given)
            else:
                expr = f"({given})"
            columns[col] = _value_map(expr, values.get(col))
        sources[logical] = Source(logical, from_sql, label, columns, raw, key_prefix=prefix)
    static: list[BookMeta] = []
    if "books" not in sources:
        static = [BookMeta(1, str(mapping.get("book_name", "main")), "standard",
                           _number(mapping.get("starting_balance", 1000.0), "[book.mapping] starting_balance"),
                           str(mapping.get("quote_currency", "USDT")))]
    return Layout("mapped", timestamps, sources, static_books=static)


def _value_map(expr: str, table: Any) -> str:
    """`[book.mapping.values.side] BUY = "long"` -> CASE expr WHEN 'BUY' THEN 'long' ... ELSE expr END."""
    if not table:
        return expr
    if not isinstance(table, dict):
        raise BookError("[book.mapping.values.<column>] must be a table of book value = native value")

    def lit(v: Any) -> str:
        if isinstance(v, bool):
            return "1" if v else "0"
        if isinstance(v, int | float):
            return repr(v)
        return "'" + str(v).replace("'", "''") + "'"

    whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in table.items())
    return f"(CASE {expr} {whens} ELSE {expr} END)"


def detect_layout(conn: sqlite3.Connection, path: Path, config: BookConfig) -> Layout:
    tables = _tables(conn)
    fmt = config.format
    if fmt == "auto":
        if config.mapping and "trades" in config.mapping:
            fmt = "mapped"
        elif "books" in tables and "trades" in tables and "book_id" in tables["trades"]:
            fmt = "native"
        elif "trades" in tables and "close_profit_abs" in tables["trades"]:
            fmt = "freqtrade"
        else:
            raise BookError(f"{path}: no known book layout (tables: {', '.join(sorted(tables)) or 'none'}); "
                            "expected the native schema ('publish schema') or Freqtrade's tradesv3.sqlite, "
                            "or describe yours in [book.mapping] (docs/schema.md)")
    if fmt == "native":
        return _native_layout(tables, path)
    if fmt == "freqtrade":
        if "trades" not in tables:
            raise BookError(f"{path}: Freqtrade table 'trades' not found; is this a tradesv3.sqlite?")
        return _freqtrade_layout(conn, tables, path, config.mapping)
    return _mapped_layout(conn, tables, path, config.mapping)


# ---------------------------------------------------------------------------------------------
# Timestamps


def _ts_expr(expr: str, fmt: str) -> str:
    """SQL for seconds since the epoch (float) from a stored timestamp."""
    if fmt == "iso":
        return f"(julianday({expr}) - 2440587.5) * 86400.0"
    if fmt == "epoch_ms":
        return f"({expr}) / 1000.0"
    return f"({expr}) * 1.0"


def _bound(moment: dt.datetime, fmt: str, slack_days: int = 0) -> str | float:
    """A value comparable with stored timestamps: a UTC date string for ISO text, a number otherwise."""
    utc = moment.astimezone(dt.UTC)
    if fmt == "iso":
        return (utc + dt.timedelta(days=slack_days)).strftime("%Y-%m-%d")
    seconds = utc.timestamp()
    return seconds * 1000.0 if fmt == "epoch_ms" else seconds


def _day_expr(expr: str, fmt: str) -> str:
    if fmt == "iso":
        return f"substr({expr}, 1, 10)"
    divisor = 86_400_000 if fmt == "epoch_ms" else 86_400
    return f"CAST(({expr}) / {divisor} AS INTEGER)"


# ---------------------------------------------------------------------------------------------
# The book


def _stat_key(path: Path) -> list[int]:
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]


class FactsCache:
    """What is expensive to recompute on a large book, kept in the project's state folder (never in
    the book): the file's SHA-256 (valid while size, mtime, inode and ctime are unchanged, as git
    trusts its index) and the per-day totals of trades closed before a cut. Delete the folder or
    pass --no-cache to recompute everything."""

    VERSION = 1

    def __init__(self, folder: Path, book_path: Path, layout: Layout) -> None:
        identity = json.dumps({"path": str(Path(book_path).resolve()), "format": layout.format,
                               "timestamps": layout.timestamps, "version": self.VERSION,
                               "trades": [layout.sources["trades"].from_sql, layout.sources["trades"].columns]},
                              sort_keys=True)
        self.identity = hashlib.sha256(identity.encode()).hexdigest()
        self.file = Path(folder) / f"book-{self.identity[:20]}.json"
        self.book_path = Path(book_path)
        self.data: dict[str, Any] = {}
        self.dirty = False
        with suppress(OSError, ValueError):
            loaded = json.loads(self.file.read_text(encoding="utf-8"))
            if isinstance(loaded, dict) and loaded.get("identity") == self.identity:
                self.data = loaded
        self.data["identity"] = self.identity

    def sha256(self) -> str | None:
        entry = self.data.get("sha256")
        with suppress(OSError):
            if isinstance(entry, dict) and entry.get("stat") == _stat_key(self.book_path):
                return str(entry["hex"])
        return None

    def remember_sha256(self, stat: list[int], hexdigest: str) -> None:
        self.data["sha256"] = {"stat": stat, "hex": hexdigest}
        self.dirty = True

    def history(self) -> tuple[str | float, int, list[DailyTotal]] | None:
        entry: Any = self.data.get("history")  # JSON from disk: any shape, checked by the except below
        try:
            days = [DailyTotal(int(b), d, float(p), int(c)) for b, d, p, c in entry["days"]]
            return entry["cut"], int(entry["count"]), days
        except (TypeError, KeyError, ValueError):
            return None

    def remember_history(self, cut: str | float, count: int, days: list[DailyTotal]) -> None:
        self.data["history"] = {"cut": cut, "count": count,
                                "days": [[d.book_id, d.day, d.realized_pnl, d.count] for d in days]}
        self.dirty = True

    def save(self) -> None:
        if self.dirty:
            with suppress(OSError):  # a cache that cannot be written only costs time
                atomic_write_text(self.file, json.dumps(self.data, separators=(",", ":")))
            self.dirty = False


class Book:
    """A read-only connection to one book file plus its layout."""

    def __init__(self, path: Path, conn: sqlite3.Connection, layout: Layout, cache_dir: Path | None = None,
                 clock: QueryClock | None = None) -> None:
        self.path = path
        self.conn = conn
        self.clock = clock
        self.layout = layout
        self._sha: str | None = None
        self._sha_thread: threading.Thread | None = None
        self._cache = FactsCache(cache_dir, path, layout) if cache_dir else None

    @property
    def format(self) -> str:
        return self.layout.format

    # -- integrity ------------------------------------------------------------------------------

    def start_hashing(self) -> None:
        """Hash the file on a thread: hashlib releases the GIL, so it overlaps the SQL queries."""
        if self._sha is None and self._cache is not None:
            self._sha = self._cache.sha256()
        if self._sha is None and self._sha_thread is None:
            self._sha_thread = threading.Thread(target=self._hash, daemon=True)
            self._sha_thread.start()

    def _hash(self) -> None:
        before = _stat_key(self.path)
        digest = hashlib.sha256()
        with open(self.path, "rb") as handle:
            while chunk := handle.read(4 << 20):
                digest.update(chunk)
        self._sha = digest.hexdigest()
        if self._cache is not None and _stat_key(self.path) == before:
            self._cache.remember_sha256(before, self._sha)

    def sha256(self) -> str:
        if self._sha_thread is not None:
            self._sha_thread.join()
        elif self._sha is None:
            self._hash()
        assert self._sha is not None
        return self._sha

    def save_cache(self) -> None:
        if self._cache is not None:
            if self._sha_thread is not None:
                self._sha_thread.join()
            self._cache.save()

    # -- queries --------------------------------------------------------------------------------

    def _run(self, sql: str, params: Mapping[str, Any] | tuple = (), what: str = "") -> list[sqlite3.Row]:
        """Rows by column name (`row["closed_ts"]`), so a query and its reader cannot drift apart."""
        if self.clock is not None:
            self.clock.start()
        try:
            cursor = self.conn.cursor()
            cursor.row_factory = sqlite3.Row
            return cursor.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            if self.clock is not None and self.clock.expired:
                raise _timeout_error(self.path, self.clock, what) from None
            raise _database_error(self.path, exc, what) from None

    def _source(self, logical: str) -> Source | None:
        return self.layout.sources.get(logical)

    def books(self) -> list[BookMeta]:
        src = self._source("books")
        if src is None:
            return list(self.layout.static_books)
        rows = self._run(f"SELECT id, name, role, starting_balance, quote_currency FROM {src.select()} "
                         "ORDER BY id", what=src.label)
        metas = []
        for row in rows:
            _check_number(src, "id", row["id"], row["id"], integer=True)
            _check_number(src, "starting_balance", row["starting_balance"], row["id"])
            metas.append(BookMeta(int(row["id"]), _text(row["name"]) or f"book {row['id']}",
                                  _text(row["role"]) or "standard", float(row["starting_balance"]),
                                  _text(row["quote_currency"]) or "USDT"))
        return metas

    def _check_timestamp_types(self, src: Source, column: str) -> None:
        """Numbers sort before text and text before blobs, so the first and last values by index order
        reveal a timestamp stored in the wrong type (or mixed types) without a table scan."""
        expr = src.columns[column]
        fmt = self.layout.timestamps
        for order in ("ASC", "DESC"):
            rows = self._run(f"SELECT id, {column}, typeof({column}) FROM {src.select(['id', column])} "
                             f"WHERE {column} IS NOT NULL ORDER BY {column} {order} LIMIT 1", what=src.label)
            if not rows:
                return
            row_id, value, kind = rows[0]
            numeric = kind in ("integer", "real") or (kind == "text" and str(value).strip().isdigit())
            ok = (kind == "text" and _ISO_DATE.match(value) is not None) if fmt == "iso" else kind in (
                "integer", "real")
            if not ok:
                hint = ("timestamps = \"epoch_s\" or \"epoch_ms\"" if fmt == "iso" and numeric
                        else "timestamps = \"iso\"")
                raise BookError(f"{self.path}: {src.label} column {src.raw.get(column, expr)} row id {row_id} holds "
                                f"{value!r} ({kind}) but timestamps are read as {fmt}; make the column one format "
                                f"or set [book.mapping] {hint}")

    def snapshot(self, start: dt.datetime, end: dt.datetime,
                 earlier: list[tuple[dt.datetime, dt.datetime]] | None = None,
                 fix_lookback: dt.timedelta = dt.timedelta(days=7)) -> Snapshot:
        """Read everything for the week [start, end) in one read transaction (one consistent view).

        earlier: the bounds of earlier weeks (most recent first) to total per book in SQLite;
        fix_lookback: shipped adjustments this long before the week are measured before vs after.
        """
        self._begin()
        try:
            snap = self._snapshot(start, end)
            if earlier:
                snap.weeks = self._week_totals(earlier)
            snap.fixes = self._fixes(start, end, fix_lookback, {t.symbol for t in snap.recent})
            return snap
        finally:
            self._end()

    def _begin(self) -> None:
        try:
            self.conn.execute("BEGIN")
            self.conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # takes the read snapshot now
        except sqlite3.DatabaseError as exc:
            raise _database_error(self.path, exc, "") from None

    def _end(self) -> None:
        with suppress(sqlite3.DatabaseError):
            self.conn.execute("COMMIT")

    def _snapshot(self, start: dt.datetime, end: dt.datetime) -> Snapshot:
        fmt = self.layout.timestamps
        trades = self.layout.sources["trades"]
        self._check_timestamp_types(trades, "closed_at")
        books = self.books()
        start_ts, end_ts = start.timestamp(), end.timestamp()

        # History: every trade closed before the cut (a UTC day boundary at least a day before the
        # week starts), aggregated per book and day inside SQLite (or reused from the cache).
        cut = _bound(start, fmt, slack_days=-1)
        history = self._history(trades, cut)

        # Recent: every trade closed from the cut to the week end, one row each, in close order.
        ts = _ts_expr("closed_at", fmt)
        hi = _bound(end, fmt, slack_days=1)
        names = ["id", "book_id", "symbol", "closed_at", "realized_pnl", "fee_open", "fee_close", "opened_at",
                 "side"]
        rows = self._run(
            f"SELECT id, book_id, symbol, closed_at, {ts} AS ts, realized_pnl, fee_open, fee_close, opened_at, "
            f"{_ts_expr('opened_at', fmt)} AS opened_ts, side FROM {trades.select(names)} "
            "WHERE closed_at >= :cut AND closed_at < :hi ORDER BY ts, id", {"cut": cut, "hi": hi}, trades.label)
        recent = []
        seen: set[int] = set()
        for r in rows:
            row_id, closed_ts, opened_ts = r["id"], r["ts"], r["opened_ts"]
            if closed_ts is None:
                self._bad_timestamp(trades, "closed_at", row_id, r["closed_at"])
            if closed_ts >= end_ts:
                continue
            _check_number(trades, "id", row_id, row_id, integer=True)
            _check_number(trades, "book_id", r["book_id"], row_id, integer=True)
            for column in ("realized_pnl", "fee_open", "fee_close"):
                _check_number(trades, column, r[column], row_id)
            if opened_ts is None:
                self._bad_timestamp(trades, "opened_at", row_id, r["opened_at"])
            if opened_ts > closed_ts:
                raise BookError(f"{self.path}: {trades.label} row id {row_id} was closed before it was opened "
                                f"({r['closed_at']} < {r['opened_at']}); fix the row's timestamps")
            if row_id in seen:
                raise BookError(f"{self.path}: {trades.label} has two trades with id {row_id} (duplicate id); ids key "
                                "the failure vault, so map [book.mapping.trades] id to a unique column")
            seen.add(row_id)
            recent.append(ClosedTrade(int(row_id), int(r["book_id"]), _text(r["symbol"]), round(closed_ts, 3),
                                      float(r["realized_pnl"]), float(r["fee_open"]) + float(r["fee_close"]),
                                      round(r["opened_ts"], 3), _side(trades, r["side"], row_id)))

        return Snapshot(
            books=books,
            history=history,
            recent=recent,
            open_positions=self._open_positions(trades, end, end_ts),
            post_mortems=self._post_mortems(start, end, start_ts, end_ts),
            adjustments=self._adjustments(start, end, start_ts, end_ts),
            news=self._news(start, end, start_ts, end_ts),
            has_vault="failure_vault" in self.layout.sources,
        )

    def _range_select(self, trades: Source, names: list[str], params: dict[str, Any]) -> str:
        """The trades closed in [:lo, :hi) as a subquery, read in rowid order when that is cheaper.

        Through the closed_at index every row costs a random lookup (about 5 s for 11 weeks of a
        10-million-trade book). Ids grow with time in a bot's book, so the ids of the trades closed
        in the range span a narrow band: when the band holds at most 3 rows per trade in the range
        (measured on the index alone), the band is scanned in rowid order instead, sequentially."""
        table = trades.raw.get("id")
        if not table or trades.from_sql.startswith("(") or not self._id_is_rowid(trades):
            return trades.select(names)
        lo, hi, n = self._run(f"SELECT min(id), max(id), count(*) FROM {trades.select(['id', 'closed_at'])} "
                              "WHERE closed_at >= :lo AND closed_at < :hi", {"lo": params["lo"], "hi": params["hi"]},
                              trades.label)[0]
        if not n or (hi - lo + 1) > 3 * n:
            return trades.select(names)
        params["id_lo"], params["id_hi"] = lo, hi
        cols = ", ".join(f"{trades.columns[c]} AS {c}" for c in names)
        return f"(SELECT {cols} FROM {trades.from_sql} NOT INDEXED WHERE {_quote(table)} BETWEEN :id_lo AND :id_hi)"

    def _id_is_rowid(self, trades: Source) -> bool:
        """Whether the trades id column is the table's INTEGER PRIMARY KEY (an alias of the rowid)."""
        name = trades.from_sql.strip('"').replace('""', '"')
        info = self._run(f"PRAGMA table_info({_quote(name)})", what=trades.label)
        keys = [r for r in info if r[5]]
        return (len(keys) == 1 and keys[0][1] == trades.raw.get("id")
                and str(keys[0][2]).strip().upper() == "INTEGER")

    def _week_totals(self, bounds: list[tuple[dt.datetime, dt.datetime]]) -> list[WeekTotal]:
        """Per book and earlier week: count, PnL, wins, losses, fees, summed inside SQLite over the
        closed_at index (the weeks' exact bounds in the report's timezone, like the week itself)."""
        trades = self.layout.sources["trades"]
        fmt = self.layout.timestamps
        ts = _ts_expr("closed_at", fmt)
        params: dict[str, Any] = {"lo": _bound(min(b[0] for b in bounds), fmt, -1),
                                  "hi": _bound(max(b[1] for b in bounds), fmt, 1)}
        cases = []
        for k, (lo, hi) in enumerate(bounds, start=1):
            params[f"s{k}"], params[f"e{k}"] = lo.timestamp(), hi.timestamp()
            cases.append(f"WHEN ts >= :s{k} AND ts < :e{k} THEN {k}")
        rows = self._run(
            f"SELECT book_id, CASE {' '.join(cases)} END AS k, count(*), total(realized_pnl), "
            "sum(realized_pnl > 0), sum(realized_pnl < 0), total(fee_open + fee_close), "
            "total(CASE WHEN realized_pnl > 0 THEN realized_pnl END), "
            "total(CASE WHEN realized_pnl < 0 THEN realized_pnl END) "
            f"FROM (SELECT book_id, realized_pnl, fee_open, fee_close, {ts} AS ts "
            f"FROM {self._range_select(trades, ['book_id', 'closed_at', 'realized_pnl', 'fee_open', 'fee_close'], params)} "
            # LIMIT -1 keeps SQLite from flattening the subquery, which would compute ts once per CASE arm.
            "WHERE closed_at >= :lo AND closed_at < :hi LIMIT -1) WHERE k IS NOT NULL GROUP BY book_id, k ORDER BY k, book_id",
            params, trades.label)
        return [WeekTotal(int(r[0]), int(r[1]), int(r[2]), float(r[3]), int(r[4] or 0), int(r[5] or 0), float(r[6]),
                          float(r[7]), float(r[8])) for r in rows]

    def _fixes(self, start: dt.datetime, end: dt.datetime, lookback: dt.timedelta,
               symbols: set[str]) -> list[FixWindow]:
        """Each adjustment shipped in the `lookback` before the week that targets a root-cause class
        or a symbol: its target's losses in the window from its shipping to the week's end and in an
        equally long window before it, in one pass of SQLite over both windows."""
        shipped = [a for a in self._adjustments(start - lookback, start, (start - lookback).timestamp(),
                                                 start.timestamp()) if a.status.strip().lower() == "shipped"]
        targets: list[tuple[Adjustment, str, str]] = []
        for a in reversed(shipped):  # most recent first
            if a.scope in symbols:
                targets.append((a, "symbol", a.scope))
            elif a.targets and a.targets.strip() and "failure_vault" in self.layout.sources:
                targets.append((a, "root_cause", a.targets.strip()))
            if len(targets) == MAX_FIXES:
                break
        if not targets:
            return []
        trades = self.layout.sources["trades"]
        fmt = self.layout.timestamps
        end_ts = end.timestamp()
        lo_ts = min(2 * a.at_ts - end_ts for a, _, _ in targets)
        vault = self.layout.sources.get("failure_vault")
        cause = (f"(SELECT v.root_cause FROM {vault.select(['id', 'trade_id', 'root_cause'])} AS v "
                 "WHERE v.trade_id = t.id ORDER BY v.id DESC LIMIT 1)") if vault else "NULL"
        params: dict[str, Any] = {"lo": _bound(dt.datetime.fromtimestamp(lo_ts, dt.UTC), fmt, -1),
                                  "hi": _bound(end, fmt, 1), "end": end_ts}
        cols = []
        for i, (a, kind, target) in enumerate(targets):
            params.update({f"b{i}": 2 * a.at_ts - end_ts, f"s{i}": a.at_ts, f"g{i}": target,
                           f"k{i}": a.book_id if a.book_id is not None else -1})
            book = f"(:k{i} = -1 OR book_id = :k{i})"
            hit = (f"pnl < 0 AND {'symbol' if kind == 'symbol' else 'cause'} = :g{i}")
            for window in (f"ts >= :b{i} AND ts < :s{i}", f"ts >= :s{i} AND ts < :end"):
                cond = f"{book} AND {window}"
                cols += [f"sum(CASE WHEN {cond} THEN 1 ELSE 0 END)",
                         f"sum(CASE WHEN {cond} AND {hit} THEN 1 ELSE 0 END)",
                         f"total(CASE WHEN {cond} AND {hit} THEN pnl END)"]
        row = self._run(
            f"SELECT {', '.join(cols)} FROM (SELECT t.book_id AS book_id, t.symbol AS symbol, t.realized_pnl AS pnl, "
            f"{_ts_expr('t.closed_at', fmt)} AS ts, CASE WHEN t.realized_pnl < 0 THEN {cause} END AS cause "
            f"FROM {self._range_select(trades, ['id', 'book_id', 'symbol', 'closed_at', 'realized_pnl'], params)} AS t "
            # LIMIT -1: not flattened, so ts and the vault lookup run once per trade, not once per column.
            "WHERE t.closed_at >= :lo AND t.closed_at < :hi LIMIT -1)", params, trades.label)[0]
        out = []
        for i, (a, kind, target) in enumerate(targets):
            v = row[6 * i: 6 * i + 6]
            out.append(FixWindow(a, kind, target, 2 * a.at_ts - end_ts, end_ts, int(v[0] or 0), int(v[1] or 0),
                                 float(v[2] or 0.0), int(v[3] or 0), int(v[4] or 0), float(v[5] or 0.0)))
        return out

    def _aggregate(self, trades: Source, where: str, params: Mapping[str, Any], scan: bool = False) -> list[DailyTotal]:
        day = _day_expr("closed_at", self.layout.timestamps)
        rows = self._run(
            f"SELECT book_id, {day} AS d, total(realized_pnl) AS pnl, count(*) AS n, "
            "sum(typeof(realized_pnl) NOT IN ('integer', 'real')) AS not_numbers "
            f"FROM {trades.select(['book_id', 'closed_at', 'realized_pnl'], scan=scan)} "
            f"WHERE {where} GROUP BY book_id, d ORDER BY d, book_id", params, trades.label)
        if any(r["not_numbers"] for r in rows):
            self._raise_bad_number(trades, "realized_pnl", where, params)
        return [DailyTotal(int(r["book_id"]), r["d"], float(r["pnl"]), int(r["n"])) for r in rows]

    def _count_before(self, trades: Source, cut: str | float) -> int:
        """Trades closed before `cut`, as all closed minus those closed since: on the closed_at index
        the NOT NULL count skips key comparisons (0.2 s instead of 0.56 s on 10 M rows)."""
        sql = (f"SELECT (SELECT count(*) FROM {trades.select(['closed_at'])} WHERE closed_at IS NOT NULL) - "
               f"(SELECT count(*) FROM {trades.select(['closed_at'])} WHERE closed_at >= :cut)")
        return int(self._run(sql, {"cut": cut}, trades.label)[0][0])

    def _history(self, trades: Source, cut: str | float) -> list[DailyTotal]:
        """Daily totals before `cut`. With a cache, only the days closed since the last run are read:
        closed trades are a ledger, so the cached days are reused when the number of trades closed
        before the cached cut is unchanged (a deleted or back-dated trade forces a full re-read)."""
        cached = self._cache.history() if self._cache else None
        if cached is not None:
            old_cut, old_count, old_days = cached
            same_kind = type(old_cut) is type(cut)  # both ISO text or both epoch numbers: comparable
            if same_kind and _key(old_cut) <= _key(cut) and self._count_before(trades, old_cut) == old_count:
                gap = self._aggregate(trades, "closed_at >= :lo AND closed_at < :cut", {"lo": old_cut, "cut": cut})
                history = old_days + gap
                assert self._cache is not None
                self._cache.remember_history(cut, old_count + sum(d.count for d in gap), history)
                return history
            if same_kind and _key(old_cut) > _key(cut):
                # An older week: read it, keep the cache for the newer one.
                return self._aggregate(trades, "closed_at < :cut", {"cut": cut}, scan=True)
        history = self._aggregate(trades, "closed_at < :cut", {"cut": cut}, scan=True)
        if self._cache is not None:
            self._cache.remember_history(cut, sum(d.count for d in history), history)
        return history

    def _open_positions(self, trades: Source, end: dt.datetime, end_ts: float) -> list[OpenPosition]:
        fmt = self.layout.timestamps
        names = ["id", "book_id", "symbol", "lane", "side", "quantity", "leverage", "entry_price",
                 "opened_at", "closed_at"]
        rows = self._run(
            f"SELECT id, book_id, symbol, lane, side, quantity, leverage, entry_price, opened_at, "
            f"{_ts_expr('opened_at', fmt)} AS opened_ts, closed_at, {_ts_expr('closed_at', fmt)} AS closed_ts "
            f"FROM {trades.select(names)} WHERE (closed_at IS NULL OR closed_at >= :lo) AND opened_at < :hi "
            "ORDER BY opened_at, id",
            {"lo": _bound(end, fmt, slack_days=-1), "hi": _bound(end, fmt, slack_days=1)}, trades.label)
        positions = []
        for r in rows:
            row_id, opened_ts, closed_ts = r["id"], r["opened_ts"], r["closed_ts"]
            if not _readable_ts(opened_ts):
                self._bad_timestamp(trades, "opened_at", row_id, r["opened_at"])
            if r["closed_at"] is not None and closed_ts is None:
                self._bad_timestamp(trades, "closed_at", row_id, r["closed_at"])
            if opened_ts >= end_ts or (closed_ts is not None and closed_ts < end_ts):
                continue
            quantity, entry_price = r["quantity"], r["entry_price"]
            for col, value in (("quantity", quantity), ("entry_price", entry_price)):
                if value is not None:
                    _check_number(trades, col, value, row_id)
            _check_number(trades, "leverage", r["leverage"], row_id)
            positions.append(OpenPosition(int(row_id), int(r["book_id"]), _text(r["symbol"]), _text(r["lane"]) or "spot",
                                          _side(trades, r["side"], row_id),
                                          None if quantity is None else float(quantity), float(r["leverage"]),
                                          None if entry_price is None else float(entry_price), round(opened_ts, 3)))
        return positions

    def _post_mortems(self, start: dt.datetime, end: dt.datetime, start_ts: float,
                      end_ts: float) -> dict[int, PostMortem]:
        vault = self._source("failure_vault")
        if vault is None:
            return {}
        trades = self.layout.sources["trades"]
        fmt = self.layout.timestamps
        rows = self._run(
            f"SELECT v.trade_id AS trade_id, v.root_cause AS root_cause, v.note AS note, v.created_at AS created_at, "
            f"{_ts_expr('v.created_at', fmt)} AS ts "
            f"FROM {trades.select(['id', 'closed_at'])} AS t "
            f"JOIN {vault.select(['id', 'trade_id', 'root_cause', 'note', 'created_at'])} AS v ON v.trade_id = t.id "
            f"WHERE t.closed_at >= :lo AND t.closed_at < :hi AND {_ts_expr('t.closed_at', fmt)} >= :s "
            f"AND {_ts_expr('t.closed_at', fmt)} < :e ORDER BY v.id",
            {"lo": _bound(start, fmt, -1), "hi": _bound(end, fmt, 1), "s": start_ts, "e": end_ts}, vault.label)
        found: dict[int, PostMortem] = {}
        for r in rows:
            trade_id = r["trade_id"]
            if not _readable_ts(r["ts"]):
                self._bad_timestamp(vault, "created_at", trade_id, r["created_at"])
            found[int(trade_id)] = PostMortem(int(trade_id), _text(r["root_cause"]) or "unclassified",
                                              _text(r["note"]), round(r["ts"], 3))
        return found

    def _window(self, logical: str, column: str, names: list[str], start: dt.datetime, end: dt.datetime,
                start_ts: float, end_ts: float, order: str) -> tuple[Source | None, list[sqlite3.Row]]:
        """Rows of `names` plus `column` and its epoch seconds `ts`, with `ts` in [start_ts, end_ts)."""
        src = self._source(logical)
        if src is None:
            return None, []
        fmt = self.layout.timestamps
        ts = _ts_expr(column, fmt)
        rows = self._run(
            f"SELECT {', '.join(names)}, {column}, {ts} AS ts FROM {src.select([*names, column])} "
            f"WHERE {column} >= :lo AND {column} < :hi ORDER BY {order}",
            {"lo": _bound(start, fmt, -1), "hi": _bound(end, fmt, 1)}, src.label)
        kept = []
        for r in rows:
            if r["ts"] is None:
                self._bad_timestamp(src, column, r["id"], r[column])
            if start_ts <= r["ts"] < end_ts:
                kept.append(r)
        return src, kept

    def _adjustments(self, start: dt.datetime, end: dt.datetime, start_ts: float, end_ts: float) -> list[Adjustment]:
        names = ["id", "book_id", "scope", "change", "confidence", "status", "targets"]
        src, rows = self._window("strategy_adjustments", "created_at", names, start, end, start_ts, end_ts,
                                 "ts, id")
        out = []
        for r in rows:
            assert src is not None
            _check_number(src, "confidence", r["confidence"], r["id"])
            out.append(Adjustment(None if r["book_id"] is None else int(r["book_id"]), round(r["ts"], 3),
                                  _text(r["scope"]) or "Global", _text(r["change"]), float(r["confidence"]),
                                  _text(r["status"]) or "queued", None if r["targets"] is None else _text(r["targets"])))
        return out

    def _news(self, start: dt.datetime, end: dt.datetime, start_ts: float, end_ts: float) -> list[NewsItem]:
        names = ["id", "rank", "title", "source", "url"]
        src, rows = self._window("news_items", "published_at", names, start, end, start_ts, end_ts,
                                 "rank IS NULL, rank, ts, id")
        out = []
        for r in rows:
            assert src is not None
            rank = r["rank"]
            if rank is not None:
                _check_number(src, "rank", rank, r["id"], integer=True)
            out.append(NewsItem(round(r["ts"], 3), None if rank is None else int(rank), _text(r["title"]),
                                _text(r["source"]), _text(r["url"])))
        return out

    # -- errors ---------------------------------------------------------------------------------

    def _raise_bad_number(self, src: Source, column: str, where: str, params: Mapping[str, Any]) -> None:
        rows = self._run(f"SELECT id, {column} FROM {src.select(['id', column, 'closed_at'])} WHERE {where} "
                         f"AND typeof({column}) NOT IN ('integer', 'real') LIMIT 1", params, src.label)
        if rows:
            _check_number(src, column, rows[0][column], rows[0]["id"])

    def _bad_timestamp(self, src: Source, column: str, row_id: Any, value: Any) -> None:
        fmt = self.layout.timestamps
        raise BookError(f"{self.path}: {src.label} column {src.raw.get(column, column)} row id {row_id}: "
                        f"cannot read {value!r} as a {fmt} timestamp; fix the row or "
                        + ("set [book.mapping] timestamps" if self.layout.format == "mapped"
                           else "store ISO-8601 UTC text such as 2026-04-14T09:30:00Z"))


def _key(cut: str | float) -> Any:
    """A cut as a comparison key: callers compare cuts of one kind only (ISO text or epoch numbers)."""
    return cut


def _text(value: Any) -> str:
    """TEXT as str; a BLOB where text belongs is decoded as UTF-8 (bad bytes replaced), not repr'd."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


_SIDES = {"long": "long", "buy": "long", "short": "short", "sell": "short"}


def _side(src: Source, value: Any, row_id: Any) -> str:
    side = _SIDES.get(str(value).strip().lower()) if value is not None else "long"
    if side is None:
        raise BookError(f"{src.label} column {src.raw.get('side', 'side')} row id {row_id}: side {value!r} is "
                        "neither long nor short; map it with [book.mapping.values.side] (e.g. BUY = \"long\")")
    return side


def _check_number(src: Source, column: str, value: Any, row_id: Any, integer: bool = False) -> None:
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if ok and not isinstance(value, bool):
        return
    found = "NULL" if value is None else repr(value)
    raise BookError(f"{src.label} column {src.raw.get(column, column)} row id {row_id}: expected a number, "
                    f"found {found}; fix the row or {src.where_hint(column)}")


def _timeout_error(path: Path, clock: QueryClock, what: str) -> BookError:
    return BookError(f"{path}: reading {what or 'the book'} took longer than [book] query_timeout = {clock.limit:g} s "
                     "and was stopped; simplify that table's sql in [book.mapping] or raise query_timeout")


_LOCKED_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
_UNREADABLE_CODES = frozenset({sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT})


def _database_error(path: Path, exc: sqlite3.DatabaseError, what: str) -> BookError:
    """Classified by SQLite's result code (the primary code: the low byte of an extended one),
    never by the wording of its message, which changes between SQLite versions."""
    message = one_line(exc, with_type=False)
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    journal = Path(f"{path}-journal")
    if primary == sqlite3.SQLITE_READONLY and journal.is_file() and journal.stat().st_size > 0:
        return BookError(f"{path}: a hot journal ({journal.name}) left by a writer that crashed mid-transaction must be "
                         "rolled back before the book can be read, and this tool never writes; open the book once "
                         "with the bot or the sqlite3 shell (which rolls it back), then retry")
    if primary in _LOCKED_CODES:
        return BookError(f"{path}: the book is locked by another process (SQLite: {message}); retry, or switch "
                         "the bot to WAL mode (PRAGMA journal_mode=WAL) so readers never wait")
    if primary in _UNREADABLE_CODES:
        return BookError(f"{path}: not a readable SQLite database ({message})")
    where = f" reading {what}" if what else ""
    return BookError(f"{path}: SQLite error{where}: {message}; check the table/column names in [book.mapping]")


def _validate_file(path: Path) -> None:
    if not path.exists():
        raise BookError(f"{path}: book not found; pass --book PATH or set [book] path in publisher.toml "
                        "(or create a demo with 'publish demo-book')")
    if path.is_dir():
        raise BookError(f"{path}: is a directory, not a SQLite book file")
    if not path.is_file():  # a FIFO, socket or device: opening it could block forever
        raise BookError(f"{path}: is not a regular file (a pipe, socket or device); point [book] path at the SQLite file")
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise BookError(f"{path}: cannot read the book ({exc.strerror})") from None
    if head != _SQLITE_MAGIC:
        raise BookError(f"{path}: not a SQLite database (the file does not start with the SQLite header)")


def connect_read_only(path: Path, timeout: float = 5.0, clock: QueryClock | None = None) -> sqlite3.Connection:
    """`mode=ro` URI: SQLite refuses every write; in WAL mode readers never block the writer."""
    uri = "file:" + urllib.parse.quote(str(Path(path).resolve())) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False)
        if clock is not None:
            conn.set_progress_handler(clock, 10_000)
            clock.start()
        conn.execute("PRAGMA query_only = ON")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise _database_error(path, exc, "") from None
    return conn


@contextmanager
def open_book(path: str | Path, config: BookConfig | None = None, timeout: float = 5.0,
              cache_dir: Path | None = None) -> Iterator[Book]:
    """Open a book read-only and detect its layout; closes the connection on exit.

    `timeout`: seconds to wait for a writer's lock (only a rollback-journal writer ever holds one).
    `cache_dir`: where to keep the FactsCache (e.g. config.state_dir / "cache"); None: no cache.
    """
    path = Path(path)
    config = config or BookConfig(path=str(path))
    _validate_file(path)
    clock = QueryClock(config.query_timeout)
    conn = connect_read_only(path, timeout, clock)
    try:
        try:
            clock.start()
            layout = detect_layout(conn, path, config)
        except sqlite3.DatabaseError as exc:
            if clock.expired:
                raise _timeout_error(path, clock, "the table list") from None
            raise _database_error(path, exc, "the table list") from None
        book = Book(path, conn, layout, cache_dir, clock)
        yield book
        book.save_cache()
    finally:
        conn.close()
