"""The fact sheet as Python types: TypedDicts matching `facts.schema.json`, the contract between
the facts stage and every later stage (docs/facts-contract.md).

`compute_facts` returns a `Facts`; drafting, rendering, charts and the site read it through these
types, so a type checker (mypy, see pyproject.toml) catches a misspelt key or a figure used as a
number. tests/facts/test_contract.py checks these types against the schema key by key: a key added
to the schema without a type here fails that test and names the key.
"""

# No `from __future__ import annotations` here: Python 3.11's TypedDict sees NotRequired[...] only
# in evaluated annotations, and the contract test reads the required keys at run time.
from typing import Literal, NotRequired, TypedDict


class Money(TypedDict):
    """An amount in the quote currency; `value` is None where undefined (e.g. no losing trade)."""

    value: float | None
    unit: str


class Percent(TypedDict):
    value: float | None
    unit: Literal["%"]


class Ratio(TypedDict):
    value: float | None
    unit: Literal["x"]


class Count(TypedDict):
    value: int
    unit: Literal["count"]


class PerTrade(TypedDict):
    """An amount per round-trip: unit "<currency>/trade"."""

    value: float | None
    unit: str


Figure = Money | Percent | Ratio | Count | PerTrade  # what publisher.common.figures formats


class Week(TypedDict):
    iso: str
    iso_year: int
    week: int
    start: str
    end: str
    timezone: str


class Stamp(TypedDict):
    book_file: str
    book_sha256: str
    book_format: Literal["native", "freqtrade", "mapped"]
    tool_version: str


class Interval(TypedDict):
    low: Percent
    high: Percent


class SymbolPnl(TypedDict):
    symbol: str
    pnl: Money


class SymbolStats(TypedDict):
    symbol: str
    round_trips: Count
    wins: Count
    win_rate: Percent
    pnl: Money


# "return" is a Python keyword, hence the functional form.
WeekStats = TypedDict("WeekStats", {
    "round_trips": Count,
    "wins": Count,
    "losses": Count,
    "breakeven": Count,
    "win_rate": Percent,
    "win_rate_ci95": Interval,
    "realized_pnl": Money,
    "fees": Money,
    "gross_pnl": Money,
    "equity_start": Money,
    "equity_end": Money,
    "return": Percent,
    "max_drawdown": Percent,
    "avg_win": Money,
    "avg_loss": Money,
    "rr_ratio": Ratio,
    "expectancy": PerTrade,
    "profit_factor": Ratio,
    "best_symbol": SymbolPnl | None,
    "worst_symbol": SymbolPnl | None,
    "symbols": list[SymbolStats],
    "small_sample": bool,
})


class AllTime(TypedDict):
    round_trips: Count
    realized_pnl: Money
    cumulative_return: Percent
    max_drawdown: Percent


class Position(TypedDict):
    book_id: NotRequired[int]
    symbol: str
    lane: str
    side: Literal["long", "short"]
    quantity: float | None
    leverage: float
    entry_price: float | None
    opened_at: str


class OpenPositions(TypedDict):
    count: Count
    positions: list[Position]


class EquityPoint(TypedDict):
    t: str
    equity: float


class Book(TypedDict):
    """One book's figures, or all books together (`id` None)."""

    id: int | None
    name: str
    role: str
    quote_currency: str
    starting_balance: Money
    week: WeekStats
    all_time: AllTime
    open_positions: OpenPositions
    equity_curve: list[EquityPoint]


class ComparisonCell(TypedDict):
    round_trips: Count
    win_rate: Percent
    pnl: Money


class ComparisonRow(TypedDict):
    symbol: str
    books: dict[str, ComparisonCell]  # by book id, as a string


class Comparison(TypedDict):
    book_ids: list[int]
    rows: list[ComparisonRow]


class Cluster(TypedDict):
    root_cause: str
    label: str
    count: Count
    loss: Money
    symbols: list[str]


class WorstCluster(TypedDict):
    symbol: str
    root_cause: str
    label: str
    count: Count
    loss: Money
    avg_loss: Money


class VaultNote(TypedDict):
    book_id: int
    symbol: str
    root_cause: str
    note: str
    at: str
    loss: Money


class Vault(TypedDict):
    losing_trades: Count
    total_loss: Money
    with_post_mortem: Count
    clusters: list[Cluster]
    worst: WorstCluster | None
    notes: list[VaultNote]


class Adjustment(TypedDict):
    at: str
    book_id: NotRequired[int | None]
    scope: str
    change: str
    confidence: Percent
    status: str
    targets: str | None


class News(TypedDict):
    rank: int | None
    title: str
    source: str
    url: str
    at: str


class Check(TypedDict):
    name: str
    scope: str
    passed: Literal[True]


class Facts(TypedDict):
    """The whole fact sheet, as `publish facts --json` prints it."""

    schema_version: Literal[1]
    week: Week
    stamp: Stamp
    currency: str
    books: list[Book]
    all_books: Book
    comparison: Comparison
    vault: Vault
    adjustments: list[Adjustment]
    news: list[News]
    warnings: list[str]
    checks: list[Check]
