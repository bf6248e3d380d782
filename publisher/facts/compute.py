"""The weekly fact sheet: every figure the post publishes, computed once from one book snapshot.

`compute_facts` reads a `Snapshot` (book.py) and hands it to `facts_from_snapshot`, a pure function,
so tests can check each figure against hand-computed values. Consistency checks run before the
dict is returned: a fact sheet that contradicts itself is never published. Definitions and units:
docs/metrics.md; the shape: docs/facts-contract.md.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

from publisher import __version__
from publisher.book.reader import Book, BookMeta, ClosedTrade, OpenPosition, Snapshot, WeekTotal
from publisher.common import figures
from publisher.common.weeks import IsoWeek, get_zone, parse_week, week_label
from publisher.errors import BookError, ConfigError, FactsError
from publisher.facts.contract import Facts, Figure
from publisher.facts.findings import build_findings, detect_mirrors

SCHEMA_VERSION = 1
SMALL_SAMPLE = 30
Z95 = 1.959963984540054
MAX_CURVE_POINTS = 500
MAX_NOTES = 20
MAX_POSITIONS = 100
HISTORY_WEEKS = 12  # the weekly chart: this week and the 11 before it
RECENT_WEEKS = 4  # the "4-week average" a headline figure is compared with
ROOT_CAUSE_LABELS = {
    "technical": "Technical failure",
    "news": "News shock",
    "execution_slippage": "Execution slippage",
    "unclassified": "No post-mortem",
}


def _sum(values: Iterable[float]) -> float:
    """Exact float sum; an overflow gives inf (caught by the finite-figures check), not a crash."""
    items = list(values)
    try:
        return math.fsum(items)
    except OverflowError:
        return sum(items)


def fig(value: float | int | None, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit}


def root_cause_label(cause: str) -> str:
    return ROOT_CAUSE_LABELS.get(cause, cause.replace("_", " ").strip().capitalize() or "Unclassified")


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion, in percent; honest at small n, unlike p ± z·se."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half) * 100, min(1.0, centre + half) * 100


def max_drawdown_pct(equities: Iterable[float], peak: float) -> float:
    """Largest fall from a running peak, in percent of that peak (0 when equity never falls)."""
    worst = 0.0
    for equity in equities:
        if equity > peak:
            peak = equity
        elif peak > 0:
            worst = max(worst, (peak - equity) / peak * 100)
    return worst


def thin(points: Sequence[Any], limit: int = MAX_CURVE_POINTS) -> list[Any]:
    """At most `limit` points, evenly spaced, first and last kept."""
    if len(points) <= limit:
        return list(points)
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


# ---------------------------------------------------------------------------------------------


@dataclass
class _Scope:
    """One column of the fact sheet: one book, or every book together."""

    id: int | None
    name: str
    role: str
    starting_balance: float
    history: list[tuple[Any, float, int]]  # (UTC day, pnl, count) in day order
    before: list[ClosedTrade]  # closed after the history cut and before the week
    week: list[ClosedTrade]  # closed in the week, in close order
    positions: list[OpenPosition]
    earlier: dict[int, WeekTotal] | None = None  # weeks back -> the scope's totals (summed over its books)


def _iso(ts: float, zone: dt.tzinfo) -> str:
    return dt.datetime.fromtimestamp(ts, zone).isoformat()


def _book_block(scope: _Scope, currency: str, start: dt.datetime, zone: dt.tzinfo,
                labels: list[str] | None = None, bounds: list[tuple[float, float]] | None = None) -> dict[str, Any]:
    money = currency
    trades = scope.week
    n = len(trades)
    pnls = [t.realized_pnl for t in trades]
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p < 0]
    realized = _sum(pnls)
    fees = _sum(t.fees for t in trades)
    history_pnl = _sum(p for _, p, _ in scope.history)
    equity_start = scope.starting_balance + history_pnl + _sum(t.realized_pnl for t in scope.before)
    equity_end = equity_start + realized

    curve_values = []
    equity = equity_start
    for t in trades:
        equity += t.realized_pnl
        curve_values.append((t.closed_ts, equity))
    week_dd = max_drawdown_pct((e for _, e in curve_values), equity_start)

    # All-time: daily closes before the cut, then every close after it.
    path: list[float] = []
    equity = scope.starting_balance
    for _, pnl, _ in scope.history:
        equity += pnl
        path.append(equity)
    for t in (*scope.before, *trades):
        equity += t.realized_pnl
        path.append(equity)
    all_time_dd = max_drawdown_pct(path, scope.starting_balance)
    all_time_count = sum(c for _, _, c in scope.history) + len(scope.before) + n
    all_time_pnl = _sum([history_pnl, *(t.realized_pnl for t in scope.before), realized])

    by_symbol: dict[str, list[float]] = defaultdict(list)
    for t in trades:
        by_symbol[t.symbol].append(t.realized_pnl)
    symbols: list[dict[str, Any]] = []
    for symbol in sorted(by_symbol):
        values = by_symbol[symbol]
        won = sum(1 for p in values if p > 0)
        symbols.append({"symbol": symbol, "round_trips": fig(len(values), "count"), "wins": fig(won, "count"),
                        "win_rate": fig(100.0 * won / len(values), "%"), "pnl": fig(_sum(values), money)})
    ranked = sorted(symbols, key=lambda s: (s["pnl"]["value"], s["symbol"]))
    ci = wilson_interval(len(wins), n)

    def ratio(a: float | None, b: float | None) -> float | None:
        return None if a is None or not b else a / b

    avg_win = _sum(wins) / len(wins) if wins else None
    avg_loss = _sum(losses) / len(losses) if losses else None
    positions = sorted(scope.positions, key=lambda p: (p.opened_ts, p.id))
    return {
        "id": scope.id,
        "name": scope.name,
        "role": scope.role,
        "quote_currency": currency,
        "starting_balance": fig(scope.starting_balance, money),
        "week": {
            "round_trips": fig(n, "count"),
            "wins": fig(len(wins), "count"),
            "losses": fig(len(losses), "count"),
            "breakeven": fig(n - len(wins) - len(losses), "count"),
            "win_rate": fig(100.0 * len(wins) / n if n else None, "%"),
            "win_rate_ci95": {"low": fig(ci[0] if ci else None, "%"), "high": fig(ci[1] if ci else None, "%")},
            "realized_pnl": fig(realized, money),
            "fees": fig(fees, money),
            "gross_pnl": fig(realized + fees, money),
            "equity_start": fig(equity_start, money),
            "equity_end": fig(equity_end, money),
            "return": fig(100.0 * realized / equity_start if equity_start > 0 else None, "%"),
            "max_drawdown": fig(week_dd, "%"),
            "avg_win": fig(avg_win, money),
            "avg_loss": fig(avg_loss, money),
            "rr_ratio": fig(ratio(avg_win, abs(avg_loss) if avg_loss is not None else None), "x"),
            "expectancy": fig(realized / n if n else None, f"{money}/trade"),
            "profit_factor": fig(ratio(_sum(wins), abs(_sum(losses)) if losses else None), "x"),
            "best_symbol": ({"symbol": ranked[-1]["symbol"], "pnl": ranked[-1]["pnl"]}
                            if ranked and ranked[-1]["pnl"]["value"] > 0 else None),
            "profitable_symbols": fig(sum(1 for r in ranked if r["pnl"]["value"] > 0), "count"),
            "worst_symbol": {"symbol": ranked[0]["symbol"], "pnl": ranked[0]["pnl"]} if ranked else None,
            "symbols": symbols,
            "small_sample": n < SMALL_SAMPLE,
        },
        "all_time": {
            "round_trips": fig(all_time_count, "count"),
            "realized_pnl": fig(all_time_pnl, money),
            "cumulative_return": fig(100.0 * all_time_pnl / scope.starting_balance
                                     if scope.starting_balance > 0 else None, "%"),
            "max_drawdown": fig(all_time_dd, "%"),
        },
        "open_positions": {
            "count": fig(len(positions), "count"),
            "positions": [{"book_id": p.book_id, "symbol": p.symbol, "lane": p.lane, "side": p.side,
                           "quantity": p.quantity, "leverage": p.leverage, "entry_price": p.entry_price,
                           "opened_at": _iso(p.opened_ts, zone)} for p in positions[:MAX_POSITIONS]],
        },
        "equity_curve": [{"t": start.isoformat(), "equity": equity_start}]
        + thin([{"t": _iso(ts, zone), "equity": e} for ts, e in curve_values], MAX_CURVE_POINTS - 1),
        **_time_figures(scope, money, n, len(wins), realized, fees, equity_start, labels or [], bounds or []),
    }


def _week_figures(total: WeekTotal | None, money: str, equity_end: float) -> dict[str, Any]:
    """An earlier week's headline figures from its SQLite totals (equity_end: the equity it ended at)."""
    t = total or WeekTotal(0, 0, 0, 0.0, 0, 0, 0.0, 0.0, 0.0)
    equity_start = equity_end - t.realized_pnl
    return {
        "round_trips": fig(t.count, "count"),
        "wins": fig(t.wins, "count"),
        "losses": fig(t.losses, "count"),
        "win_rate": fig(100.0 * t.wins / t.count if t.count else None, "%"),
        "realized_pnl": fig(t.realized_pnl, money),
        "fees": fig(t.fees, money),
        "gross_pnl": fig(t.realized_pnl + t.fees, money),
        "return": fig(100.0 * t.realized_pnl / equity_start if equity_start > 0 else None, "%"),
        "expectancy": fig(t.realized_pnl / t.count if t.count else None, f"{money}/trade"),
        "profit_factor": fig(t.win_sum / abs(t.loss_sum) if t.loss_sum else None, "x"),
    }


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _day_ts(day: str | int) -> float:
    """UTC midnight of a history day ('YYYY-MM-DD' for ISO books, days since the epoch otherwise)."""
    if isinstance(day, str):
        return dt.datetime.fromisoformat(day[:10]).replace(tzinfo=dt.UTC).timestamp()
    return float(day) * 86400.0


def _back_of(ts: float, bounds: list[tuple[float, float]]) -> int | None:
    """How many weeks before the reported one `ts` falls in (bounds[k] is week k back), or None."""
    for k, (lo, hi) in enumerate(bounds):
        if lo <= ts < hi:
            return k
    return None


def _time_figures(scope: _Scope, money: str, n: int, wins: int, realized: float, fees: float,
                  equity_start: float, labels: list[str], bounds: list[tuple[float, float]]) -> dict[str, Any]:
    """The previous week, the change against it, the recent-weeks average and the weekly series."""
    if scope.earlier is None:
        return {}
    earlier = scope.earlier
    # Weeks 2+ back come from the per-day history (UTC days, by the day's UTC midnight) and the
    # single closes since the history cut; week 1 back is the exact SQLite total.
    series: dict[int, list[float]] = {k: [0, 0.0] for k in range(2, len(labels))}
    for day, pnl, count in scope.history:
        k = _back_of(_day_ts(day), bounds)
        if k in series:
            series[k][0] += count
            series[k][1] += pnl
    for t in scope.before:
        k = _back_of(t.closed_ts, bounds)
        if k in series:
            series[k][0] += 1
            series[k][1] += t.realized_pnl
    prev_total = earlier.get(1)
    series[1] = [prev_total.count, prev_total.realized_pnl] if prev_total else [0, 0.0]
    series[0] = [n, realized]
    weekly = [{"week": labels[back], "round_trips": fig(int(series[back][0]), "count"),
               "realized_pnl": fig(series[back][1], money)} for back in range(len(labels) - 1, -1, -1)]
    # Weeks before the book's first trade are not "a week with nothing": with no trade before this
    # week there is no previous week to compare with, and the average covers only weeks since the start.
    closed_before = sum(c for _, _, c in scope.history) + len(scope.before)
    if not closed_before:
        return {"weekly": weekly}
    in_series = sum(series[k][0] for k in range(1, len(labels)))
    first_back = max((k for k in range(1, len(labels)) if series[k][0]), default=0)
    span = RECENT_WEEKS if closed_before > in_series else max(1, min(RECENT_WEEKS, first_back))
    prev = _week_figures(earlier.get(1), money, equity_start)
    win_rate = 100.0 * wins / n if n else None
    this = {"round_trips": n, "win_rate": win_rate, "realized_pnl": realized, "fees": fees,
            "expectancy": realized / n if n else None,
            "return": 100.0 * realized / equity_start if equity_start > 0 else None}
    change = {
        "round_trips": fig(n - prev["round_trips"]["value"], "trades"),
        "win_rate": fig(_delta(win_rate, prev["win_rate"]["value"]), "pp"),
        "realized_pnl": fig(realized - prev["realized_pnl"]["value"], money),
        "fees": fig(fees - prev["fees"]["value"], money),
        "expectancy": fig(_delta(this["expectancy"], prev["expectancy"]["value"]), f"{money}/trade"),
        "return": fig(_delta(this["return"], prev["return"]["value"]), "pp"),
    }
    counts = [series[k][0] for k in range(1, span + 1)]
    pnls = [series[k][1] for k in range(1, span + 1)]
    average = {
        "weeks": fig(span, "count"),
        "round_trips": fig(sum(counts) / span, "trades"),
        "realized_pnl": fig(_sum(pnls) / span, money),
        "expectancy": fig(_sum(pnls) / sum(counts) if sum(counts) else None, f"{money}/trade"),
    }
    return {"previous_week": prev, "change": change, "recent_average": average, "weekly": weekly}


TOP_SYMBOLS = 3  # a cluster names its costliest symbols, then "and N more"


def _top_symbols(trades: list[ClosedTrade], currency: str) -> list[dict[str, Any]]:
    """A cluster's costliest symbols (largest loss first, ties by name)."""
    by_symbol: dict[str, list[float]] = defaultdict(list)
    for t in trades:
        by_symbol[t.symbol].append(t.realized_pnl)
    ranked = sorted(by_symbol.items(), key=lambda kv: (_sum(kv[1]), kv[0]))[:TOP_SYMBOLS]
    return [{"symbol": sym, "count": fig(len(v), "count"), "loss": fig(_sum(v), currency)} for sym, v in ranked]


def _vault(snap: Snapshot, week_trades: list[ClosedTrade], currency: str, zone: dt.tzinfo) -> dict[str, Any]:
    losing = [t for t in week_trades if t.realized_pnl < 0]
    total_loss = _sum(t.realized_pnl for t in losing)
    with_pm = [t for t in losing if t.id in snap.post_mortems]
    clusters: dict[str, list[ClosedTrade]] = defaultdict(list)
    worst_key: dict[tuple[str, str], list[float]] = defaultdict(list)
    if snap.has_vault:
        for t in losing:
            pm = snap.post_mortems.get(t.id)
            cause = pm.root_cause if pm else "unclassified"
            clusters[cause].append(t)
            if pm:
                worst_key[(t.symbol, cause)].append(t.realized_pnl)
    cluster_list: list[dict[str, Any]] = [
        {"root_cause": cause, "label": root_cause_label(cause), "count": fig(len(ts), "count"),
         "loss": fig(_sum(t.realized_pnl for t in ts), currency),
         "symbols": sorted({t.symbol for t in ts}), "top_symbols": _top_symbols(ts, currency),
         "other_symbols": fig(max(0, len({t.symbol for t in ts}) - TOP_SYMBOLS), "count")}
        for cause, ts in clusters.items()
    ]
    cluster_list.sort(key=lambda c: (-c["count"]["value"], c["loss"]["value"], c["root_cause"]))
    worst = None
    if worst_key:
        (symbol, cause), values = min(worst_key.items(), key=lambda kv: (_sum(kv[1]), -len(kv[1]), kv[0]))
        loss = _sum(values)
        worst = {"symbol": symbol, "root_cause": cause, "label": root_cause_label(cause),
                 "count": fig(len(values), "count"), "loss": fig(loss, currency),
                 "avg_loss": fig(loss / len(values), currency)}
    notes = []
    for t in sorted(with_pm, key=lambda t: (t.realized_pnl, t.closed_ts, t.id))[:MAX_NOTES]:
        pm = snap.post_mortems[t.id]
        notes.append({"book_id": t.book_id, "symbol": t.symbol, "root_cause": pm.root_cause, "note": pm.note,
                      "at": _iso(pm.at_ts, zone), "loss": fig(t.realized_pnl, currency)})
    return {"losing_trades": fig(len(losing), "count"), "total_loss": fig(total_loss, currency),
            "with_post_mortem": fig(len(with_pm) if snap.has_vault else 0, "count"),
            "clusters": cluster_list, "worst": worst, "notes": notes}


def _comparison(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    ids = [b["id"] for b in blocks]
    per_book = {b["id"]: {s["symbol"]: s for s in b["week"]["symbols"]} for b in blocks}
    all_symbols = sorted({s for table in per_book.values() for s in table})
    rows = []
    for symbol in all_symbols:
        cells = {}
        for b in blocks:
            s = per_book[b["id"]].get(symbol)
            money = b["quote_currency"]
            cells[str(b["id"])] = ({"round_trips": s["round_trips"], "win_rate": s["win_rate"], "pnl": s["pnl"]}
                                   if s else {"round_trips": fig(0, "count"), "win_rate": fig(None, "%"),
                                              "pnl": fig(0.0, money)})
        rows.append({"symbol": symbol, "books": cells})
    return {"book_ids": ids, "rows": rows}


# ---------------------------------------------------------------------------------------------
# Consistency checks


def _close(a: float | None, b: float | None, tol: float = 1e-6) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def _sign(x: float | None) -> int:
    return 0 if not x else (1 if x > 0 else -1)


def _numbers(node: Any) -> Iterable[float]:
    """Every number in the sheet (figures, equity points, positions): JSON has no Infinity or NaN."""
    if isinstance(node, dict):
        for value in node.values():
            yield from _numbers(value)
    elif isinstance(node, list):
        for value in node:
            yield from _numbers(value)
    elif isinstance(node, float):
        yield node


def _checks(facts: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def check(name: str, scope: str, ok: bool) -> None:
        out.append({"name": name, "scope": scope, "passed": bool(ok)})

    def v(figure: dict[str, Any]) -> Any:
        return figure["value"]

    for block in [*facts["books"], facts["all_books"]]:
        scope = "all books" if block["id"] is None else f"book {block['id']}"
        w = block["week"]
        n = v(w["round_trips"])
        check("wins + losses + breakeven = round_trips", scope,
              v(w["wins"]) + v(w["losses"]) + v(w["breakeven"]) == n)
        check("realized_pnl = gross_pnl - fees", scope, _close(v(w["realized_pnl"]), v(w["gross_pnl"]) - v(w["fees"])))
        check("equity_end = equity_start + realized_pnl", scope,
              _close(v(w["equity_end"]), v(w["equity_start"]) + v(w["realized_pnl"])))
        check("sign(return) = sign(realized_pnl)", scope,
              v(w["return"]) is None or _sign(v(w["return"])) == _sign(v(w["realized_pnl"])))
        check("sum of per-symbol round_trips = round_trips", scope,
              sum(v(s["round_trips"]) for s in w["symbols"]) == n)
        check("sum of per-symbol pnl = realized_pnl", scope,
              _close(_sum(v(s["pnl"]) for s in w["symbols"]), v(w["realized_pnl"])))
        check("expectancy = realized_pnl / round_trips", scope,
              v(w["expectancy"]) is None if n == 0 else _close(v(w["expectancy"]), v(w["realized_pnl"]) / n))
        check("all-time round_trips >= week round_trips", scope, v(block["all_time"]["round_trips"]) >= n)
        check("all-time max_drawdown >= week max_drawdown", scope,
              v(block["all_time"]["max_drawdown"]) + 1e-9 >= v(w["max_drawdown"]))
        check("last equity_curve point = equity_end", scope,
              _close(block["equity_curve"][-1]["equity"], v(w["equity_end"])))
    check("every figure is a finite number", "all", all(math.isfinite(x) for x in _numbers(facts)))
    books, total = facts["books"], facts["all_books"]
    for key in ("round_trips", "wins", "losses"):
        check(f"sum over books of {key} = all books", "all books",
              sum(v(b["week"][key]) for b in books) == v(total["week"][key]))
    for key in ("realized_pnl", "fees", "equity_start"):
        check(f"sum over books of {key} = all books", "all books",
              _close(_sum(v(b["week"][key]) for b in books), v(total["week"][key])))
    vault = facts["vault"]
    check("vault losing_trades = headline losses", "vault",
          v(vault["losing_trades"]) == v(facts["headline"]["week"]["losses"]))
    if vault["clusters"]:
        check("sum of cluster counts = losing_trades", "vault",
              sum(v(c["count"]) for c in vault["clusters"]) == v(vault["losing_trades"]))
        check("sum of cluster losses = total_loss", "vault",
              _close(_sum(v(c["loss"]) for c in vault["clusters"]), v(vault["total_loss"])))
    return out


# ---------------------------------------------------------------------------------------------


def week_labels(week: IsoWeek, count: int = HISTORY_WEEKS) -> list[str]:
    """ISO labels of `week` and the `count - 1` weeks before it, most recent first."""
    labels, w = [], week
    for _ in range(count):
        labels.append(str(w))
        w = w.previous()
    return labels


def earlier_bounds(week: IsoWeek, zone: dt.tzinfo, count: int = HISTORY_WEEKS - 1) -> list[tuple[dt.datetime, dt.datetime]]:
    """Bounds of the `count` weeks before `week` in the report's timezone, most recent first."""
    out, w = [], week
    for _ in range(count):
        w = w.previous()
        out.append(w.bounds(zone))
    return out


def _headline(blocks: list[dict[str, Any]], mirrors: list[dict[str, Any]], primary: str | None) -> tuple[list[int], str]:
    """The books the headline reports: `[book] primary`, else every book that is not a mirror."""
    ids = [b["id"] for b in blocks]
    if primary:
        chosen = [b["id"] for b in blocks if str(b["id"]) == primary.strip() or b["name"] == primary.strip()]
        if not chosen:
            raise ConfigError(f"[book] primary = {primary!r}: no book has that id or name (books: "
                              + ", ".join(f"{b['id']} {b['name']!r}" for b in blocks) + "); fix the key or remove it")
        return chosen[:1], "[book] primary"
    inverted = {m["inverted_book_id"] for m in mirrors}
    kept = [i for i in ids if i not in inverted]
    if mirrors and len(kept) == 1:
        return kept, "the standard book; its inverted mirror is the control"
    if mirrors:
        return kept, "the independent books summed; their inverted mirrors are the controls"
    return ids, "every book summed (independent strategies)" if len(ids) > 1 else "the only book"


def facts_from_snapshot(snap: Snapshot, week: IsoWeek, tz_name: str, stamp: dict[str, Any],
                        primary: str | None = None) -> dict[str, Any]:
    """Pure: the fact sheet of `week` from a snapshot. Raises FactsError when a check fails.

    primary: `[book] primary` (a book id or name), the book the headline reports.
    """
    zone = get_zone(tz_name)
    start, end = week.bounds(zone)
    start_ts, end_ts = start.timestamp(), end.timestamp()
    metas = {b.id: b for b in snap.books}
    _check_book_ids(metas, snap)
    currencies = sorted({b.quote_currency for b in snap.books})
    if len(currencies) > 1:
        raise FactsError(f"books use different quote currencies ({', '.join(currencies)}); one fact sheet "
                         "adds their PnL, so keep one book file per currency")
    currency = currencies[0] if currencies else "USDT"

    labels = week_labels(week)
    bounds = [(start_ts, end_ts)] + [(a.timestamp(), b.timestamp()) for a, b in earlier_bounds(week, zone)]
    has_earlier = snap.weeks is not None

    def scope(meta: BookMeta | None, keep: Callable[[int], bool], name: str = "all books") -> _Scope:
        daily: dict[Any, list[float]] = {}
        for d in snap.history:
            if keep(d.book_id):
                acc = daily.setdefault(d.day, [0.0, 0])
                acc[0] += d.realized_pnl
                acc[1] += d.count
        recent = [t for t in snap.recent if keep(t.book_id)]
        earlier: dict[int, WeekTotal] | None = None
        if has_earlier:
            earlier = {}
            for t in snap.weeks or []:
                if keep(t.book_id):
                    e = earlier.get(t.back) or WeekTotal(0, t.back, 0, 0.0, 0, 0, 0.0, 0.0, 0.0)
                    earlier[t.back] = WeekTotal(0, t.back, e.count + t.count, e.realized_pnl + t.realized_pnl,
                                                e.wins + t.wins, e.losses + t.losses, e.fees + t.fees,
                                                e.win_sum + t.win_sum, e.loss_sum + t.loss_sum)
        return _Scope(
            id=meta.id if meta else None,
            name=meta.name if meta else name,
            role=meta.role if meta else "all",
            starting_balance=meta.starting_balance if meta else _sum(b.starting_balance for b in snap.books),
            history=[(day, acc[0], int(acc[1])) for day, acc in sorted(daily.items())],
            before=[t for t in recent if t.closed_ts < start_ts],
            week=[t for t in recent if start_ts <= t.closed_ts < end_ts],
            positions=[p for p in snap.open_positions if keep(p.book_id)],
            earlier=earlier,
        )

    blocks = [_book_block(scope(m, partial(operator.eq, m.id)), currency, start, zone, labels, bounds) for m in snap.books]
    all_block = _book_block(scope(None, lambda i: True), currency, start, zone, labels, bounds)
    week_trades = [t for t in snap.recent if start_ts <= t.closed_ts < end_ts]
    mirrors = detect_mirrors(snap.books, week_trades)
    headline_ids, basis = _headline(blocks, mirrors, primary)
    if len(headline_ids) == 1:
        headline = copy.deepcopy(next(b for b in blocks if b["id"] == headline_ids[0]))
    elif len(headline_ids) == len(blocks):
        headline = copy.deepcopy(all_block)
    else:
        chosen = set(headline_ids)
        headline = _book_block(scope(None, lambda i: i in chosen, "independent books"), currency, start, zone, labels,
                               bounds)
    headline = {"book_ids": headline_ids, "basis": basis, **headline}

    warnings = [] if snap.books else ["The book lists no books (its books table is empty): nothing to report."]
    for block in blocks:
        w = block["week"]
        n = w["round_trips"]["value"]
        if n == 0:
            warnings.append(f"Book '{block['name']}' closed no round-trips this week.")
        elif n < SMALL_SAMPLE:
            warnings.append(
                f"Book '{block['name']}' closed {n} round-trips (< {SMALL_SAMPLE}): win rate "
                f"{w['win_rate']['value']:.1f}%, 95% interval {w['win_rate_ci95']['low']['value']:.1f}–"
                f"{w['win_rate_ci95']['high']['value']:.1f}%.")
    facts: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "week": {"iso": str(week), "iso_year": week.year, "week": week.week, "start": start.isoformat(),
                 "end": end.isoformat(), "timezone": tz_name, "label": week_label(week)},
        "stamp": stamp,
        "currency": currency,
        "books": blocks,
        "all_books": all_block,
        "headline": headline,
        "mirrors": mirrors,
        "comparison": _comparison(blocks),
        # The vault follows the headline: a mirror's losses are the control's, not the strategy's.
        "vault": _vault(snap, [t for t in week_trades if t.book_id in headline_ids], currency, zone),
        "adjustments": [{"at": _iso(a.at_ts, zone), "book_id": a.book_id, "scope": a.scope, "change": a.change,
                         "confidence": fig(a.confidence * 100, "%"), "status": a.status, "targets": a.targets}
                        for a in snap.adjustments],
        "news": [{"rank": n.rank, "title": n.title, "source": n.source, "url": n.url, "at": _iso(n.at_ts, zone)}
                 for n in snap.news],
        "warnings": warnings,
    }
    vault = facts["vault"]
    if vault["losing_trades"]["value"] > vault["with_post_mortem"]["value"] and snap.has_vault:
        missing = vault["losing_trades"]["value"] - vault["with_post_mortem"]["value"]
        warnings.append(f"{missing} losing trade(s) have no failure-vault post-mortem.")
    checks = _checks(facts)
    failed = [c for c in checks if not c["passed"]]
    if failed:
        first = failed[0]
        raise FactsError(f"week {week}: consistency check failed ({first['scope']}: {first['name']}"
                         f"{f'; {len(failed) - 1} more' if len(failed) > 1 else ''}); the fact sheet is not "
                         "published with contradictory figures; inspect the book rows of this week")
    facts["checks"] = checks
    facts["findings"] = build_findings(facts, snap, week_trades)
    return facts


def _check_book_ids(metas: dict[int, BookMeta], snap: Snapshot) -> None:
    seen = {d.book_id for d in snap.history} | {t.book_id for t in snap.recent} | {
        p.book_id for p in snap.open_positions}
    unknown = sorted(seen - set(metas))
    if unknown:
        raise BookError(f"trades reference book id(s) {', '.join(map(str, unknown))} that the books table "
                        f"does not list (books: {', '.join(map(str, sorted(metas))) or 'none'}); add the book rows")


def compute_facts(book: Book, week: IsoWeek | str, tz_name: str = "UTC", primary: str | None = None) -> Facts:
    """The fact sheet of one ISO week (bounds in `tz_name`), read from one consistent snapshot."""
    if isinstance(week, str):
        week = parse_week(week)
    zone = get_zone(tz_name)
    start, end = week.bounds(zone)
    book.start_hashing()
    snap = book.snapshot(start, end, earlier_bounds(week, zone, 1))
    stamp = {"book_file": Path(book.path).name, "book_sha256": book.sha256(), "book_format": book.format,
             "tool_version": __version__}
    # The sheet follows facts.schema.json (tests/facts/test_facts_schema.py) and contract.Facts follows
    # the schema (tests/facts/test_contract.py): later stages read it through the typed contract.
    return cast(Facts, facts_from_snapshot(snap, week, tz_name, stamp, primary))


# ---------------------------------------------------------------------------------------------
# Console output


def _show(figure: Figure | None, digits: int = 2, sign: bool = False) -> str:
    """A figure as the post shows it: publisher.common.figures is the one display formatter."""
    unit = figure.get("unit") if figure else None
    if unit == "count":
        return figures.count(figure)
    if unit == "%":
        return figures.pct(figure, digits, sign=sign)
    if unit == "x":
        return figures.ratio(figure)
    return figures.money(figure, sign=sign, digits=digits)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))  # noqa: E731
    return [fmt(header), "  ".join("-" * w for w in widths), *map(fmt, rows)]


def format_facts_table(facts: Facts) -> str:
    """The fact sheet as plain text for a terminal (the JSON is the contract; this is for eyes)."""
    week, stamp = facts["week"], facts["stamp"]
    blocks = [*facts["books"], facts["all_books"]]
    lines = [f"Fact sheet {week['iso']}  {week['start']} -> {week['end']} ({week['timezone']})",
             f"book {stamp['book_file']} ({stamp['book_format']}), sha256 {stamp['book_sha256'][:12]}…, "
             f"publisher {stamp['tool_version']}", ""]
    metrics = [
        ("Round-trips", lambda b: _show(b["week"]["round_trips"])),
        ("Wins / losses / even", lambda b: f"{b['week']['wins']['value']} / {b['week']['losses']['value']} / "
                                           f"{b['week']['breakeven']['value']}"),
        ("Win rate", lambda b: _show(b["week"]["win_rate"], 1)),
        ("Win rate 95% CI", lambda b: "n/a" if b["week"]["win_rate_ci95"]["low"]["value"] is None else
         f"{b['week']['win_rate_ci95']['low']['value']:.1f}–{b['week']['win_rate_ci95']['high']['value']:.1f}%"),
        ("Realized PnL", lambda b: _show(b["week"]["realized_pnl"], sign=True)),
        ("Fees", lambda b: _show(b["week"]["fees"])),
        ("Gross PnL", lambda b: _show(b["week"]["gross_pnl"], sign=True)),
        ("Equity start", lambda b: _show(b["week"]["equity_start"])),
        ("Equity end", lambda b: _show(b["week"]["equity_end"])),
        ("Return", lambda b: _show(b["week"]["return"], sign=True)),
        ("Max drawdown (week)", lambda b: _show(b["week"]["max_drawdown"])),
        ("Avg win", lambda b: _show(b["week"]["avg_win"])),
        ("Avg loss", lambda b: _show(b["week"]["avg_loss"])),
        ("R:R", lambda b: _show(b["week"]["rr_ratio"])),
        ("Expectancy", lambda b: _show(b["week"]["expectancy"], 4, sign=True)),
        ("Profit factor", lambda b: _show(b["week"]["profit_factor"])),
        ("Best symbol", lambda b: "n/a" if not b["week"]["best_symbol"] else
         f"{b['week']['best_symbol']['symbol']} {_show(b['week']['best_symbol']['pnl'], sign=True)}"),
        ("Worst symbol", lambda b: "n/a" if not b["week"]["worst_symbol"] else
         f"{b['week']['worst_symbol']['symbol']} {_show(b['week']['worst_symbol']['pnl'], sign=True)}"),
        ("Open positions (week end)", lambda b: _show(b["open_positions"]["count"])),
        ("All-time round-trips", lambda b: _show(b["all_time"]["round_trips"])),
        ("All-time realized PnL", lambda b: _show(b["all_time"]["realized_pnl"], sign=True)),
        ("Cumulative return", lambda b: _show(b["all_time"]["cumulative_return"], sign=True)),
        ("All-time max drawdown", lambda b: _show(b["all_time"]["max_drawdown"])),
    ]
    header = [""] + [b["name"] if b["id"] is None else f"#{b['id']} {b['name']}" for b in blocks]
    lines += _table(header, [[label, *(get(b) for b in blocks)] for label, get in metrics])

    comparison = facts["comparison"]
    if comparison["rows"]:
        lines += ["", "Per symbol (round-trips, win rate, PnL) by book"]
        ids = [str(i) for i in comparison["book_ids"]]
        rows = [[r["symbol"], *(f"{_show(r['books'][i]['round_trips'])} · {_show(r['books'][i]['win_rate'], 0)} · "
                                f"{_show(r['books'][i]['pnl'], sign=True)}" for i in ids)]
                for r in comparison["rows"]]
        lines += _table(["symbol", *(f"book {i}" for i in ids)], rows)

    vault = facts["vault"]
    lines += ["", f"Failure vault: {_show(vault['losing_trades'])} losing trades, total "
                  f"{_show(vault['total_loss'], sign=True)}, {_show(vault['with_post_mortem'])} with a post-mortem"]
    for c in vault["clusters"]:
        lines.append(f"  {c['label']} × {c['count']['value']} ({_show(c['loss'], sign=True)}): "
                     f"{', '.join(c['symbols'][:8])}{' …' if len(c['symbols']) > 8 else ''}")
    if vault["worst"]:
        w = vault["worst"]
        lines.append(f"  worst: {w['symbol']} — {w['label']} × {w['count']['value']} "
                     f"({_show(w['loss'], sign=True)}, avg {_show(w['avg_loss'], sign=True)})")
    if facts["adjustments"]:
        lines += ["", "Strategy adjustments"]
        lines += [f"  [{a['confidence']['value']:.0f}% conf] {a['scope']}: {a['change']} ({a['status']})"
                  for a in facts["adjustments"]]
    if facts["news"]:
        lines += ["", "News"]
        lines += [f"  #{n['rank'] if n['rank'] is not None else '-'} {n['title']} ({n['source']})"
                  for n in facts["news"]]
    head = facts.get("headline")
    if head:
        lines += ["", f"Headline: {head['name']} (books {', '.join(map(str, head['book_ids']))}: {head['basis']})"]
        before, change = head.get("previous_week"), head.get("change")
        if before and change:
            lines.append(f"  previous week: {_show(before['round_trips'])} round-trips, realized "
                         f"{_show(before['realized_pnl'], sign=True)} (change {_show(change['realized_pnl'], sign=True)}), "
                         f"win rate {_show(before['win_rate'], 1)}")
    if facts.get("findings"):
        lines += ["", "Findings (ranked)"]
        lines += [f"  {f['rank']}. [{f['kind']}] {f['text']}" for f in facts["findings"]]
    if facts["warnings"]:
        lines += ["", "Warnings", *(f"  ! {w}" for w in facts["warnings"])]
    passed = sum(1 for c in facts["checks"] if c["passed"])
    lines += ["", f"Consistency checks: {passed}/{len(facts['checks'])} passed"]
    return "\n".join(lines)
