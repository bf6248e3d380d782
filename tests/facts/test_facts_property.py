"""Random books: the fact sheet agrees with a brute-force recomputation from the raw rows."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from bookmaker import make_native_book, trade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publisher.book.reader import open_book
from publisher.facts.compute import compute_facts

T0 = dt.datetime(2026, 4, 6, tzinfo=dt.UTC)  # Monday of W15; W16 is days 7..14
START, END = T0 + dt.timedelta(days=7), T0 + dt.timedelta(days=14)

rows = st.lists(st.tuples(
    st.sampled_from([1, 2]),
    st.sampled_from(["BTC/USDT", "ETH/USDT", "SOL/USDT"]),
    st.integers(0, 21 * 24 * 60 - 1),  # close minute from the W15 Monday, up to the end of W17 (equity stays > 0)
    st.one_of(st.just(0.0), st.floats(-10, 10, allow_nan=False).map(lambda x: round(x, 4))),
    st.floats(0, 2, allow_nan=False).map(lambda x: round(x, 4)),
), max_size=60)


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def drawdown(path: list[float], peak: float) -> float:
    worst = 0.0
    for e in path:
        peak = max(peak, e)
        worst = max(worst, (peak - e) / peak * 100)
    return worst


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows)
def test_week_and_all_time_match_brute_force(data: list[tuple[int, str, int, float, float]]) -> None:
    trades = []
    for book_id, symbol, minute, pnl, fee in data:
        closed = T0 + dt.timedelta(minutes=minute)
        trades.append(trade(book_id, symbol, entry=1, exit=1, opened=iso(closed - dt.timedelta(hours=1)),
                            closed=iso(closed), fee_open=fee / 2, fee_close=fee / 2, pnl=pnl))
    with tempfile.TemporaryDirectory() as tmp:
        path = make_native_book(Path(tmp) / "b.sqlite", trades=trades)
        with open_book(path) as book:
            facts = compute_facts(book, "2026-W16")
    for block in facts["books"]:
        mine = sorted(((T0 + dt.timedelta(minutes=m), i, p, f) for i, (b, _, m, p, f) in enumerate(data)
                       if b == block["id"]), key=lambda r: (r[0], r[1]))
        week = [r for r in mine if START <= r[0] < END]
        before = [r for r in mine if r[0] < START]
        w = block["week"]
        assert w["round_trips"]["value"] == len(week)
        assert w["wins"]["value"] == sum(1 for r in week if r[2] > 0)
        assert w["losses"]["value"] == sum(1 for r in week if r[2] < 0)
        assert w["realized_pnl"]["value"] == pytest.approx(sum(r[2] for r in week), abs=1e-9)
        assert w["fees"]["value"] == pytest.approx(sum(r[3] for r in week), abs=1e-9)
        equity_start = 1000 + sum(r[2] for r in before)
        assert w["equity_start"]["value"] == pytest.approx(equity_start)
        path_week, e = [], equity_start
        for r in week:
            e += r[2]
            path_week.append(e)
        assert w["max_drawdown"]["value"] == pytest.approx(drawdown(path_week, equity_start), abs=1e-9)
        upto = [r for r in mine if r[0] < END]
        assert block["all_time"]["round_trips"]["value"] == len(upto)
        assert block["all_time"]["realized_pnl"]["value"] == pytest.approx(sum(r[2] for r in upto), abs=1e-9)
        assert block["all_time"]["max_drawdown"]["value"] >= w["max_drawdown"]["value"] - 1e-9
