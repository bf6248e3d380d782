"""The fact sheet as Python types: TypedDicts matching `facts.schema.json`, the contract between
the facts stage and every later stage (docs/facts-contract.md).

`compute_facts` returns a `Facts`; drafting, rendering, charts and the site read it through these
types, so a type checker (mypy, see pyproject.toml) catches a misspelt key or a figure used as a
number. tests/facts/test_contract.py checks these types against the schema key by key: a key added
to the schema without a type here fails that test and names the key.
"""

# No `from __future__ import annotations` here: Python 3.11's TypedDict sees NotRequired[...] only
# in evaluated annotations, and the contract test reads the required keys at run time.
from typing import Literal, NotRequired, TypedDict, TypeGuard


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


class Trades(TypedDict):
    """A number of round-trips that need not be whole (an average, a change): unit "trades"."""

    value: float | None
    unit: Literal["trades"]


class Points(TypedDict):
    """A difference of two percentages, in percentage points."""

    value: float | None
    unit: Literal["pp"]


class PValue(TypedDict):
    value: float | None
    unit: Literal["p"]


class Weeks(TypedDict):
    value: float | None
    unit: Literal["weeks"]


Figure = Money | Percent | Ratio | Count | PerTrade  # what publisher.common.figures formats


class Week(TypedDict):
    iso: str
    iso_year: int
    week: int
    start: str
    end: str
    timezone: str
    label: NotRequired[str]  # the week's days as the post names them, e.g. 23–29 Nov 2026


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
    "profitable_symbols": NotRequired[Count],
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


WeekFigures = TypedDict("WeekFigures", {
    "round_trips": Count,
    "wins": Count,
    "losses": Count,
    "win_rate": Percent,
    "realized_pnl": Money,
    "fees": Money,
    "gross_pnl": Money,
    "return": Percent,
    "expectancy": PerTrade,
    "profit_factor": Ratio,
})


Change = TypedDict("Change", {
    "round_trips": Trades,
    "win_rate": Points,
    "realized_pnl": Money,
    "fees": Money,
    "expectancy": PerTrade,
    "return": Points,
})


class RecentAverage(TypedDict):
    weeks: Count
    round_trips: Trades
    realized_pnl: Money
    expectancy: PerTrade


class WeeklyPoint(TypedDict):
    week: str  # ISO week, e.g. 2026-W48
    round_trips: Count
    realized_pnl: Money


class Book(TypedDict):
    """One book's figures, or all books together (`id` None)."""

    id: int | None
    name: str
    role: str
    quote_currency: str
    starting_balance: Money
    week: WeekStats
    previous_week: NotRequired[WeekFigures]
    change: NotRequired[Change]
    recent_average: NotRequired[RecentAverage]
    weekly: NotRequired[list[WeeklyPoint]]  # at most 12 weeks, oldest first
    all_time: AllTime
    open_positions: OpenPositions
    equity_curve: list[EquityPoint]


class Headline(Book):
    """The books the headline reports (the standard book when the other is its mirror), as a book block."""

    book_ids: list[int]
    basis: str


class Mirror(TypedDict):
    standard_book_id: int
    inverted_book_id: int
    detected_by: Literal["role", "paired trades"]
    paired_trades: Count


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


class ClusterSymbol(TypedDict):
    symbol: str
    count: Count
    loss: Money


class Cluster(TypedDict):
    root_cause: str
    label: str
    count: Count
    loss: Money
    symbols: list[str]
    top_symbols: NotRequired[list[ClusterSymbol]]  # at most 3
    other_symbols: NotRequired[Count]


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


class Finding(TypedDict):
    """A ranked finding: the keys every kind has. Each kind adds its figures (facts.schema.json, the
    `if`/`then` under `findings`); the kinds below type them, for code that has checked `kind`."""

    kind: Literal["control_test", "fix_check", "concentration", "fee_drag", "biggest_change"]
    rank: int
    score: float  # 0 to 1
    text: str


class MedianInterval(TypedDict):
    low: Money
    high: Money


class PairedTest(TypedDict):
    over: Literal["paired trades", "UTC days"]
    n: Count
    standard_ahead: Count
    mirror_ahead: Count
    p_value: PValue
    mean_difference: Money
    median_difference: Money
    median_ci95: MedianInterval
    verdict: Literal["too few trades", "standard ahead", "mirror ahead", "not distinguishable from zero"]


class Edge(TypedDict):
    total: Money
    per_trade: PerTrade
    since_start: Money


class ControlTestFinding(Finding):
    standard_book_id: int
    inverted_book_id: int
    edge: Edge
    week: PairedTest
    since_start: PairedTest


class FixTarget(TypedDict):
    kind: Literal["root_cause", "symbol"]
    value: str


class FixWindow(TypedDict):
    round_trips: Count
    losing_trades: Count
    loss: Money
    weeks: Weeks
    loss_per_trade: PerTrade
    loss_per_week: Money


class ShippedFix(TypedDict):
    at: str
    book_id: int | None
    scope: str
    change: str
    targets: str | None


class FixCheckFinding(Finding):
    adjustment: ShippedFix
    target: FixTarget
    before: FixWindow
    after: FixWindow
    change_per_trade: Percent
    verdict: Literal["too few trades", "losses fell", "losses rose", "unchanged", "no losses before"]


class TopSymbol(TypedDict):
    symbol: str
    loss: Money
    share: Percent


class TopCluster(TypedDict):
    root_cause: str
    label: str
    loss: Money
    share: Percent


class ConcentrationFinding(Finding):
    loss: Money
    losing_trades: Count
    top_symbol: TopSymbol
    top_cluster: TopCluster | None  # None without a loss vault


class FeeDragFinding(Finding):
    fees: Money
    gross_pnl: Money
    share_of_gross: Percent


class BiggestChangeFinding(Finding):
    figure: Literal["realized_pnl", "round_trips", "expectancy"]
    label: str
    this_week: Money | Count | PerTrade
    previous_week: Money | Count | PerTrade
    recent_average: Money | Trades | PerTrade
    change_vs_average: Percent


def is_control_test(finding: Finding) -> TypeGuard[ControlTestFinding]:
    """Narrows a finding to the control test's record, which carries its paired tests."""
    return finding.get("kind") == "control_test"


class Facts(TypedDict):
    """The whole fact sheet, as `publish facts --json` prints it."""

    schema_version: Literal[1]
    week: Week
    stamp: Stamp
    currency: str
    books: list[Book]
    all_books: Book
    headline: Headline
    mirrors: list[Mirror]
    comparison: Comparison
    vault: Vault
    adjustments: list[Adjustment]
    news: list[News]
    warnings: list[str]
    checks: list[Check]
    findings: list[Finding]  # ranked, best first
