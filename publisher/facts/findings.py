"""Findings: what the week's figures say, as ranked, structured records with their numbers.

A deterministic analysis over the fact sheet and the book history the snapshot carries: the
control test (is the standard book's edge over its inverted mirror distinguishable from zero),
did each recently shipped fix work, where the week's loss concentrates, how much of the gross the
fees took, and which headline figure moved most against its recent weeks. Each record holds its
figures (so the fabrication guard knows them), a facts-only sentence and a score that ranks it.
Exact definitions: docs/metrics.md ("Findings").
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from publisher.book.reader import BookMeta, ClosedTrade, Snapshot
from publisher.common import figures as F

MIN_PAIRS = 10  # fewer paired trades (or days) than this: "too few trades", no verdict
MIN_WINDOW_TRADES = 10  # a fix is judged only with this many trades in each window
MIRROR_SHARE = 0.8  # books are mirrors when this share of the smaller book's trades pair up
MIN_MIRROR_PAIRS = 5
ALPHA = 0.05
WEEK_S = 7 * 86400.0


def _fig(value: float | int | None, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit}


def _key(t: ClosedTrade) -> tuple[str, float, str]:
    return (t.symbol, t.opened_ts, t.side)


def pair_trades(standard: Iterable[ClosedTrade], inverted: Iterable[ClosedTrade]) -> list[tuple[ClosedTrade, ClosedTrade]]:
    """Trades of two books taken on the same signal: same symbol and entry time, opposite side."""
    pool: dict[tuple[str, float, str], list[ClosedTrade]] = defaultdict(list)
    for t in inverted:
        pool[_key(t)].append(t)
    pairs = []
    for t in standard:
        match = pool.get((t.symbol, t.opened_ts, "short" if t.side == "long" else "long"))
        if match:
            pairs.append((t, match.pop(0)))
    return pairs


def detect_mirrors(books: Sequence[BookMeta], trades: Sequence[ClosedTrade]) -> list[dict[str, Any]]:
    """Mirror pairs: a book whose role is `inverted` and the standard book it mirrors, or, without
    roles, two books whose trades pair up (same symbol and entry time, opposite side)."""
    by_book: dict[int, list[ClosedTrade]] = defaultdict(list)
    for t in trades:
        by_book[t.book_id].append(t)
    used: set[int] = set()
    out: list[dict[str, Any]] = []
    inverted = [b for b in books if b.role.strip().lower() == "inverted"]
    standard = [b for b in books if b.role.strip().lower() != "inverted"]
    for inv in inverted:
        candidates = [b for b in standard if b.id not in used]
        if not candidates:
            continue
        best = max(candidates, key=lambda b: (len(pair_trades(by_book[b.id], by_book[inv.id])), -b.id))
        paired = len(pair_trades(by_book[best.id], by_book[inv.id]))
        if len(candidates) > 1 and not paired:
            continue  # several standard books and no trade pairs: which one it mirrors is unknown
        used |= {best.id, inv.id}
        out.append({"standard_book_id": best.id, "inverted_book_id": inv.id, "detected_by": "role",
                    "paired_trades": _fig(paired, "count")})
    if inverted:
        return out
    ids = [b.id for b in books]
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            if a in used or b in used:
                continue
            paired = len(pair_trades(by_book[a], by_book[b]))
            smaller = min(len(by_book[a]), len(by_book[b]))
            if paired >= MIN_MIRROR_PAIRS and paired >= MIRROR_SHARE * smaller:
                used |= {a, b}
                out.append({"standard_book_id": a, "inverted_book_id": b, "detected_by": "paired trades",
                            "paired_trades": _fig(paired, "count")})
    return out


# ---- statistics -------------------------------------------------------------------------------


def _log_pmf(n: int, i: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2)


def sign_test_p(positive: int, n: int) -> float | None:
    """Exact two-sided sign test: P(a split at least this uneven) when each sign has chance 1/2."""
    if n <= 0:
        return None
    k = min(positive, n - positive)
    tail = math.fsum(math.exp(_log_pmf(n, i)) for i in range(k + 1))
    return min(1.0, 2 * tail)


def median_interval(values: Sequence[float], alpha: float = ALPHA) -> tuple[float, float] | None:
    """Distribution-free interval for the median from order statistics: [x_(j), x_(n-j+1)] with the
    largest j such that P(Binomial(n, 1/2) <= j - 1) <= alpha / 2; None when n is too small."""
    n = len(values)
    ordered = sorted(values)
    cdf, j = 0.0, 0
    while j < n:
        cdf += math.exp(_log_pmf(n, j))  # P(X <= j)
        if cdf > alpha / 2:
            break
        j += 1
    if j == 0:
        return None
    return ordered[j - 1], ordered[n - j]


def _median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def paired_test(diffs: Sequence[float], unit: str, what: str) -> dict[str, Any]:
    """Sign test over paired differences (standard minus mirror); zeros carry no sign and are left out."""
    signed = [d for d in diffs if d != 0]
    n = len(signed)
    pos = sum(1 for d in signed if d > 0)
    p = sign_test_p(pos, n)
    interval = median_interval(signed) if n >= MIN_PAIRS else None
    if n < MIN_PAIRS:
        verdict = "too few trades"
    elif p is not None and p < ALPHA:
        verdict = "standard ahead" if pos > n - pos else "mirror ahead"
    else:
        verdict = "not distinguishable from zero"
    return {"over": what, "n": _fig(n, "count"), "standard_ahead": _fig(pos, "count"),
            "mirror_ahead": _fig(n - pos, "count"), "p_value": _fig(p, "p"),
            "mean_difference": _fig(math.fsum(signed) / n if n else None, unit),
            "median_difference": _fig(_median(signed), unit),
            "median_ci95": {"low": _fig(interval[0] if interval else None, unit),
                            "high": _fig(interval[1] if interval else None, unit)},
            "verdict": verdict}


# ---- the findings -----------------------------------------------------------------------------


def _day(key: str | int) -> str:
    return key if isinstance(key, str) else (dt.date(1970, 1, 1) + dt.timedelta(days=int(key))).isoformat()


def _control(facts: dict[str, Any], snap: Snapshot, week_trades: list[ClosedTrade],
             mirror: dict[str, Any]) -> dict[str, Any]:
    cur = facts["currency"]
    std_id, inv_id = mirror["standard_book_id"], mirror["inverted_book_id"]
    blocks = {b["id"]: b for b in facts["books"]}
    std, inv = blocks[std_id], blocks[inv_id]
    pairs = pair_trades([t for t in week_trades if t.book_id == std_id], [t for t in week_trades if t.book_id == inv_id])
    week = paired_test([a.realized_pnl - b.realized_pnl for a, b in pairs], f"{cur}/trade", "paired trades")
    daily: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for d in snap.history:
        if d.book_id in (std_id, inv_id):
            daily[_day(d.day)][0 if d.book_id == std_id else 1] += d.realized_pnl
    for t in snap.recent:
        if t.book_id in (std_id, inv_id):
            day = dt.datetime.fromtimestamp(t.closed_ts, dt.UTC).date().isoformat()
            daily[day][0 if t.book_id == std_id else 1] += t.realized_pnl
    since = paired_test([s - i for s, i in daily.values()], f"{cur}/day", "UTC days")
    edge_total = std["week"]["realized_pnl"]["value"] - inv["week"]["realized_pnl"]["value"]
    n_std = std["week"]["round_trips"]["value"]
    edge = {"total": _fig(edge_total, cur), "per_trade": _fig(edge_total / n_std if n_std else None, f"{cur}/trade"),
            "since_start": _fig(std["all_time"]["realized_pnl"]["value"] - inv["all_time"]["realized_pnl"]["value"], cur)}
    if week["verdict"] == "too few trades":
        text = (f"Control test: only {F.count(week['n'])} paired trades this week, too few trades to tell the "
                f"standard book's edge over its mirror from zero.")
        score = 0.2
    else:
        text = (f"Control test: the standard book minus its mirror made {F.money(edge['total'])} this week "
                f"({F.money(edge['per_trade'], unit=False)} {cur} per trade); the standard side won {F.count(week['standard_ahead'])} "
                f"of {F.count(week['n'])} paired trades (sign test p = {week['p_value']['value']:.2f}, median "
                f"difference interval {F.money(week['median_ci95']['low'], unit=False)} to "
                f"{F.money(week['median_ci95']['high'], unit=False)} {cur}): "
                + ("the standard side wins more pairs than chance would give, a real edge." if week["verdict"] == "standard ahead"
                   else "the mirror side wins more pairs than chance would give, an edge against the strategy."
                   if week["verdict"] == "mirror ahead" else "not distinguishable from zero.")
                )
        score = 0.9 if week["verdict"] != "not distinguishable from zero" else 0.5
    if since["verdict"] != "too few trades":
        text += (f" Since the start the standard book leads its mirror by {F.money(edge['since_start'])}, "
                 f"ahead on {F.count(since['standard_ahead'])} of {F.count(since['n'])} days "
                 f"(p = {since['p_value']['value']:.2f}, {since['verdict']}).")
    return {"kind": "control_test", "score": score, "standard_book_id": std_id, "inverted_book_id": inv_id,
            "edge": edge, "week": week, "since_start": since, "text": text}


def _fixes(facts: dict[str, Any], snap: Snapshot) -> list[dict[str, Any]]:
    cur = facts["currency"]
    out = []
    for f in snap.fixes:
        a = f.adjustment
        weeks = (f.end_ts - a.at_ts) / WEEK_S

        def window(trades: int, hits: int, loss: float, weeks: float = weeks) -> dict[str, Any]:
            return {"round_trips": _fig(trades, "count"), "losing_trades": _fig(hits, "count"),
                    "loss": _fig(loss, cur), "weeks": _fig(weeks, "weeks"),
                    "loss_per_trade": _fig(loss / trades if trades else None, f"{cur}/trade"),
                    "loss_per_week": _fig(loss / weeks if weeks > 0 else None, f"{cur}/week")}

        before = window(f.before_trades, f.before_hits, f.before_loss)
        after = window(f.after_trades, f.after_hits, f.after_loss)
        b, c = before["loss_per_trade"]["value"], after["loss_per_trade"]["value"]
        change = (abs(c) - abs(b)) / abs(b) * 100 if b and c is not None else None  # of the loss's size
        shipped = dt.datetime.fromtimestamp(a.at_ts, dt.UTC).date().isoformat()
        what = f"{f.target} losses" if f.kind == "symbol" else f"the {f.target.replace('_', ' ')} class's losses"
        if f.before_trades < MIN_WINDOW_TRADES or f.after_trades < MIN_WINDOW_TRADES:
            verdict, score = "too few trades", 0.1
            text = (f"\u201c{a.change}\u201d ({a.scope}, shipped {shipped}) has too few trades on either side "
                    f"of it to tell whether it worked yet.")
        else:
            if change is None:
                verdict = "no losses before" if not b else "unchanged"
            else:
                verdict = "losses fell" if change < 0 else "losses rose" if change > 0 else "unchanged"
            score = min(0.85, abs(change) / 100) if change is not None else 0.1
            text = (f"Since \u201c{a.change}\u201d ({a.scope}) shipped on {shipped}, {what} per "
                    f"trade went from {_abs(before['loss_per_trade'], 3)} to {_abs(after['loss_per_trade'], 3)} {cur}"
                    + (f" ({F.pct(_fig(change, '%'), 0, sign=True)})" if change is not None else "")
                    + f", and per week from {_abs(before['loss_per_week'])} to {_abs(after['loss_per_week'])} {cur}.")
        out.append({"kind": "fix_check", "score": score, "adjustment": {
            "at": dt.datetime.fromtimestamp(a.at_ts, dt.UTC).isoformat(), "scope": a.scope, "change": a.change,
            "book_id": a.book_id, "targets": a.targets},
            "target": {"kind": f.kind, "value": f.target}, "before": before, "after": after,
            "change_per_trade": _fig(change, "%"), "verdict": verdict, "text": text})
    return out


def _concentration(facts: dict[str, Any], snap: Snapshot, trades: list[ClosedTrade]) -> dict[str, Any] | None:
    cur = facts["currency"]
    losing = [t for t in trades if t.realized_pnl < 0]
    if not losing:
        return None
    total = math.fsum(t.realized_pnl for t in losing)
    by_symbol: dict[str, float] = defaultdict(float)
    by_cause: dict[str, float] = defaultdict(float)
    for t in losing:
        by_symbol[t.symbol] += t.realized_pnl
        pm = snap.post_mortems.get(t.id)
        if snap.has_vault:
            by_cause[pm.root_cause if pm else "unclassified"] += t.realized_pnl
    symbol, sym_loss = min(by_symbol.items(), key=lambda kv: (kv[1], kv[0]))
    sym_share = sym_loss / total * 100 if total else 0.0
    record: dict[str, Any] = {"kind": "concentration", "score": 0.8 * sym_share / 100, "loss": _fig(total, cur),
                              "losing_trades": _fig(len(losing), "count"),
                              "top_symbol": {"symbol": symbol, "loss": _fig(sym_loss, cur),
                                             "share": _fig(sym_share, "%")}, "top_cluster": None}
    text = (f"Concentration: {symbol} caused {F.pct(_fig(sym_share, '%'))} of the week's "
            f"{abs(total):.2f} {cur} of losses")
    if by_cause:
        cause, c_loss = min(by_cause.items(), key=lambda kv: (kv[1], kv[0]))
        c_share = c_loss / total * 100 if total else 0.0
        from publisher.facts.compute import root_cause_label
        record["top_cluster"] = {"root_cause": cause, "label": root_cause_label(cause), "loss": _fig(c_loss, cur),
                                 "share": _fig(c_share, "%")}
        text += f", and the {root_cause_label(cause).lower()} cluster {F.pct(_fig(c_share, '%'))}"
    record["text"] = text + "."
    return record


def _fee_drag(facts: dict[str, Any]) -> dict[str, Any] | None:
    week = facts["headline"]["week"]
    fees, gross = week["fees"]["value"], week["gross_pnl"]["value"]
    if not week["round_trips"]["value"]:
        return None
    share = fees / gross * 100 if gross > 0 else None
    if share is not None:
        text = (f"Fee drag: fees of {F.money(week['fees'], sign=False)} took {F.pct(_fig(share, '%'))} of the "
                f"{F.money(week['gross_pnl'], sign=False)} gross PnL.")
        score = 0.9 * min(1.0, share / 100)
    else:
        text = (f"Fee drag: gross PnL was {F.money(week['gross_pnl'])} before fees, and fees of "
                f"{F.money(week['fees'], sign=False)} added to it.")
        score = 0.9 * fees / (fees + abs(gross)) if fees + abs(gross) > 0 else 0.0
    return {"kind": "fee_drag", "score": score, "fees": week["fees"], "gross_pnl": week["gross_pnl"],
            "share_of_gross": _fig(share, "%"), "text": text}


CHANGE_FIGURES = (("realized_pnl", "realized PnL"), ("round_trips", "round-trips"), ("expectancy", "expectancy"))


def _abs(figure: dict[str, Any], digits: int = 2) -> str:
    """A loss as a size (the guard matches a figure with its sign dropped); per-trade losses of a
    class are cents, so they are shown with 3 decimals."""
    v = figure["value"]
    return F.NA if v is None else f"{abs(v):.{digits}f}"


def _shown(key: str, figure: dict[str, Any]) -> str:
    if key == "win_rate":
        return F.pct(figure)
    if key == "round_trips":
        return F.ratio(figure) if figure["unit"] != "count" else F.count(figure)
    return F.money(figure)


def _biggest_change(facts: dict[str, Any]) -> dict[str, Any] | None:
    head = facts["headline"]
    average = head.get("recent_average")
    if not average:
        return None
    best = None
    for key, label in CHANGE_FIGURES:
        if key not in average:
            continue
        now, avg = head["week"][key]["value"], average[key]["value"]
        if now is None or avg is None or avg == 0:
            continue
        rel = (now - avg) / abs(avg) * 100
        if best is None or abs(rel) > abs(best[2]):
            best = (key, label, rel)
    if best is None:
        return None
    key, label, rel = best
    weeks = average["weeks"]["value"]
    text = (f"Biggest change: {label} was {_shown(key, head['week'][key])} against a {weeks}-week average of "
            f"{_shown(key, average[key])} ({F.pct(_fig(rel, '%'), 0, sign=True)}); the previous week had "
            f"{_shown(key, head['previous_week'][key])}.")
    return {"kind": "biggest_change", "score": min(0.45, abs(rel) / 400), "figure": key, "label": label,
            "this_week": head["week"][key], "previous_week": head["previous_week"][key],
            "recent_average": average[key], "change_vs_average": _fig(rel, "%"), "text": text}


def build_findings(facts: dict[str, Any], snap: Snapshot, week_trades: list[ClosedTrade]) -> list[dict[str, Any]]:
    """Pure: the ranked findings of a fact sheet (its `headline` and `mirrors` already set)."""
    found: list[dict[str, Any]] = []
    for mirror in facts.get("mirrors") or []:
        found.append(_control(facts, snap, week_trades, mirror))
    found += _fixes(facts, snap)
    ids = set(facts["headline"]["book_ids"])
    for record in (_concentration(facts, snap, [t for t in week_trades if t.book_id in ids]),
                   _fee_drag(facts), _biggest_change(facts)):
        if record:
            found.append(record)
    order = ("control_test", "fix_check", "concentration", "fee_drag", "biggest_change")
    found.sort(key=lambda r: (-round(r["score"], 9), order.index(r["kind"])))
    for rank, record in enumerate(found, start=1):
        record["rank"] = rank
        record["score"] = round(record["score"], 6)
    return found
