"""Findings, the headline book and the week in time, on small hand-built books.

Expected values are worked out by hand in the comments (sign-test p-values with math.comb), never
with the code under test.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pytest
from bookmaker import make_native_book, trade

from publisher.book.reader import open_book
from publisher.errors import ConfigError
from publisher.facts.compute import compute_facts

W16 = "2026-W16"  # 2026-04-13T00:00Z .. 2026-04-20T00:00Z
STANDARD_ONLY = ({"id": 1, "name": "main", "role": "standard", "starting_balance": 1000.0, "quote_currency": "USDT"},)
UNLABELLED = ({"id": 1, "name": "a", "role": "standard", "starting_balance": 1000.0, "quote_currency": "USDT"},
              {"id": 2, "name": "b", "role": "standard", "starting_balance": 1000.0, "quote_currency": "USDT"})


def v(figure: dict[str, Any]) -> Any:
    return figure["value"]


def at(day: dt.date, hour: int) -> str:
    return f"{day.isoformat()}T{hour:02d}:00:00Z"


def mirror_pair(gross: list[float], start: dt.date = dt.date(2026, 4, 13)) -> list[dict[str, Any]]:
    """One signal per gross result: book 1 long, book 2 short on the same entry, each paying 0.1 + 0.1
    in fees, so book 1 nets g - 0.2 and book 2 nets -g - 0.2: their difference is 2g."""
    rows = []
    for i, g in enumerate(gross):
        day = start + dt.timedelta(days=i % 6)
        opened, closed = at(day, 1 + i % 20), at(day, 2 + i % 20)
        rows.append(trade(1, "BTC/USDT", entry=100, exit=100 + g, opened=opened, closed=closed,
                          fee_open=0.1, fee_close=0.1))
        rows.append(trade(2, "BTC/USDT", entry=100, exit=100 + g, side="short", opened=opened, closed=closed,
                          fee_open=0.1, fee_close=0.1))
    return rows


def facts_of(path: Path, week: str = W16, primary: str | None = None) -> dict[str, Any]:
    with open_book(path) as book:
        return compute_facts(book, week, "UTC", primary)


def finding(facts: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [f for f in facts["findings"] if f["kind"] == kind]


def two_sided_sign_p(k: int, n: int) -> float:
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(min(k, n - k) + 1)) / 2**n)


def test_a_mirror_with_a_real_edge(tmp_path: Path) -> None:
    """20 signals, each +1.2 gross for the standard side: book 1 nets +1.0 a trade, book 2 -1.4, so
    each pair differs by +2.4 and the standard side wins all 20: p = 2 * 0.5**20."""
    facts = facts_of(make_native_book(tmp_path / "b.sqlite", trades=mirror_pair([1.2] * 20)))
    assert facts["mirrors"] == [{"standard_book_id": 1, "inverted_book_id": 2, "detected_by": "role",
                                 "paired_trades": {"value": 20, "unit": "count"}}]
    head = facts["headline"]
    assert head["book_ids"] == [1] and v(head["week"]["realized_pnl"]) == pytest.approx(20.0)
    (control,) = finding(facts, "control_test")
    assert v(control["edge"]["total"]) == pytest.approx(20 * 1.0 - 20 * -1.4)  # 48.0
    assert v(control["edge"]["per_trade"]) == pytest.approx(2.4)
    week = control["week"]
    assert v(week["n"]) == 20 and v(week["standard_ahead"]) == 20 and v(week["mirror_ahead"]) == 0
    assert v(week["p_value"]) == pytest.approx(two_sided_sign_p(20, 20)) == pytest.approx(2 / 2**20)
    assert v(week["median_ci95"]["low"]) == pytest.approx(2.4) and v(week["median_ci95"]["high"]) == pytest.approx(2.4)
    assert week["verdict"] == "standard ahead"
    assert "a real edge" in control["text"] and "won 20 of 20 paired trades" in control["text"]


def test_a_mirror_without_an_edge(tmp_path: Path) -> None:
    """Gross alternates +1 and -1: pair differences alternate +2 and -2, 10 each way: p = 1."""
    facts = facts_of(make_native_book(tmp_path / "b.sqlite", trades=mirror_pair([1.0, -1.0] * 10)))
    (control,) = finding(facts, "control_test")
    week = control["week"]
    assert (v(week["n"]), v(week["standard_ahead"])) == (20, 10)
    assert v(week["p_value"]) == pytest.approx(two_sided_sign_p(10, 20)) == pytest.approx(1.0)
    assert week["verdict"] == "not distinguishable from zero"
    # Both books paid 20 * 0.2 in fees and their gross cancels: the edge is zero, the sum is all fees.
    assert v(control["edge"]["total"]) == pytest.approx(0.0)
    assert v(facts["all_books"]["week"]["realized_pnl"]) == pytest.approx(-8.0)
    assert v(facts["headline"]["week"]["realized_pnl"]) == pytest.approx(-4.0)


def test_median_interval_from_order_statistics(tmp_path: Path) -> None:
    """Differences 2g for g = 1..20 (all positive): for n = 20 the 95% interval of the median is
    [x(6), x(15)], since P(Bin(20, 1/2) <= 5) = 0.0207 <= 0.025 < P(<= 6) = 0.0577."""
    assert sum(math.comb(20, i) for i in range(6)) / 2**20 <= 0.025 < sum(math.comb(20, i) for i in range(7)) / 2**20
    facts = facts_of(make_native_book(tmp_path / "b.sqlite", trades=mirror_pair([float(g) for g in range(1, 21)])))
    week = finding(facts, "control_test")[0]["week"]
    assert v(week["median_ci95"]["low"]) == pytest.approx(2 * 6)
    assert v(week["median_ci95"]["high"]) == pytest.approx(2 * 15)
    assert v(week["median_difference"]) == pytest.approx(2 * 10.5)


def test_a_week_with_too_few_trades(tmp_path: Path) -> None:
    facts = facts_of(make_native_book(tmp_path / "b.sqlite", trades=mirror_pair([1.2, 1.2, -0.5, 2.0])))
    (control,) = finding(facts, "control_test")
    assert control["week"]["verdict"] == "too few trades" and v(control["week"]["n"]) == 4
    assert v(control["week"]["median_ci95"]["low"]) is None
    assert "too few trades" in control["text"]


def test_mirror_detected_from_paired_trades_without_roles(tmp_path: Path) -> None:
    facts = facts_of(make_native_book(tmp_path / "b.sqlite", books=UNLABELLED, trades=mirror_pair([1.2] * 6)))
    assert facts["mirrors"][0]["detected_by"] == "paired trades"
    assert facts["headline"]["book_ids"] == [1]


def test_independent_books_are_summed_and_primary_picks_one(tmp_path: Path) -> None:
    trades = [trade(1, "BTC/USDT", entry=100, exit=103, opened="2026-04-14T08:00:00Z", closed="2026-04-14T09:00:00Z"),
              trade(2, "ETH/USDT", entry=100, exit=98, opened="2026-04-15T08:00:00Z", closed="2026-04-15T09:00:00Z")]
    path = make_native_book(tmp_path / "b.sqlite", books=UNLABELLED, trades=trades)
    facts = facts_of(path)
    assert facts["mirrors"] == [] and facts["headline"]["book_ids"] == [1, 2]
    assert v(facts["headline"]["week"]["realized_pnl"]) == pytest.approx(1.0)  # +3 - 2
    assert finding(facts, "control_test") == []
    chosen = facts_of(path, primary="b")
    assert chosen["headline"]["book_ids"] == [2] and v(chosen["headline"]["week"]["realized_pnl"]) == pytest.approx(-2.0)
    with pytest.raises(ConfigError, match=r"\[book\] primary = 'c'"):
        facts_of(path, primary="c")


def test_no_profitable_symbol_is_no_best_symbol(tmp_path: Path) -> None:
    trades = [trade(1, "BTC/USDT", entry=100, exit=99, opened="2026-04-14T08:00:00Z", closed="2026-04-14T09:00:00Z"),
              trade(1, "XRP/USDT", entry=100, exit=99.5, opened="2026-04-14T08:00:00Z", closed="2026-04-14T09:00:00Z")]
    week = facts_of(make_native_book(tmp_path / "b.sqlite", books=STANDARD_ONLY, trades=trades))["headline"]["week"]
    assert week["best_symbol"] is None and v(week["profitable_symbols"]) == 0
    assert week["worst_symbol"]["symbol"] == "BTC/USDT"


def test_previous_week_deltas_and_twelve_weeks(tmp_path: Path) -> None:
    """W16: +3 and -1 (2 trades). W15: +2, -1, -1 (3 trades, fees 0.3 in all). W13: -4. W05 (11 weeks
    back) +7, W04 (12 back) +100, outside the series."""
    def t(day: str, pnl_exit: float, fee: float = 0.0) -> dict[str, Any]:
        return trade(1, "BTC/USDT", entry=100, exit=100 + pnl_exit + fee, opened=f"{day}T08:00:00Z",
                     closed=f"{day}T09:00:00Z", fee_close=fee)
    trades = [t("2026-04-14", 3), t("2026-04-15", -1),
              t("2026-04-07", 2, 0.1), t("2026-04-08", -1, 0.1), t("2026-04-09", -1, 0.1),
              t("2026-03-24", -4), t("2026-01-27", 7), t("2026-01-20", 100)]
    head = facts_of(make_native_book(tmp_path / "b.sqlite", books=STANDARD_ONLY, trades=trades))["headline"]
    prev = head["previous_week"]
    assert (v(prev["round_trips"]), v(prev["wins"]), v(prev["losses"])) == (3, 1, 2)
    assert v(prev["realized_pnl"]) == pytest.approx(0.0) and v(prev["fees"]) == pytest.approx(0.3)
    assert v(prev["win_rate"]) == pytest.approx(100 / 3) and v(prev["profit_factor"]) == pytest.approx(1.0)
    change = head["change"]
    assert v(change["realized_pnl"]) == pytest.approx(2.0) and v(change["round_trips"]) == -1
    assert v(change["win_rate"]) == pytest.approx(50.0 - 100 / 3) and change["win_rate"]["unit"] == "pp"
    avg = head["recent_average"]  # W15..W12: 0, 0, -4, 0 over 4 weeks
    assert v(avg["realized_pnl"]) == pytest.approx(-1.0) and v(avg["round_trips"]) == pytest.approx(1.0)
    weekly = head["weekly"]
    assert [w["week"] for w in weekly][0] == "2026-W05" and weekly[-1]["week"] == "2026-W16" and len(weekly) == 12
    assert {w["week"]: v(w["realized_pnl"]) for w in weekly if abs(v(w["realized_pnl"])) > 1e-9} == pytest.approx(
        {"2026-W05": 7.0, "2026-W13": -4.0, "2026-W16": 2.0})
    assert v(head["week"]["realized_pnl"]) == pytest.approx(2.0)


def _halving_book(tmp_path: Path) -> Path:
    """One book. An adjustment targeting 'technical' ships 2026-04-09T00:00Z; the week ends
    2026-04-20T00:00Z, so the after window is 11 days and the before window the 11 days from
    2026-03-29. Before: 20 trades, 10 technical losses of -2 and 10 wins of +1. After: 20 trades,
    10 technical losses of -1 and 10 wins. A technical loss of -100 on 2026-03-20 is outside both."""
    trades, vault = [], []
    tid = 0

    def add(day: dt.date, hour: int, pnl: float, cause: str | None) -> None:
        nonlocal tid
        tid += 1
        trades.append(trade(1, "ETH/USDT", entry=100, exit=100 + pnl, opened=at(day, hour), closed=at(day, hour + 1),
                            id=tid))
        if cause:
            vault.append({"trade_id": tid, "root_cause": cause, "note": "n", "created_at": at(day, hour + 2)})

    for i in range(10):
        add(dt.date(2026, 3, 30) + dt.timedelta(days=i % 9), 1 + i, -2.0, "technical")
        add(dt.date(2026, 3, 30) + dt.timedelta(days=i % 9), 12 + i, 1.0, None)
        add(dt.date(2026, 4, 9) + dt.timedelta(days=i % 11), 1 + i, -1.0, "technical")
        add(dt.date(2026, 4, 9) + dt.timedelta(days=i % 11), 12 + i, 1.0, None)
    add(dt.date(2026, 3, 20), 5, -100.0, "technical")
    adjustments = [{"created_at": "2026-04-09T00:00:00Z", "scope": "Scanner-wide", "change": "tighten the filter",
                    "confidence": 0.7, "status": "shipped", "targets": "technical"},
                   {"created_at": "2026-04-10T00:00:00Z", "scope": "Global", "change": "queued idea",
                    "confidence": 0.7, "status": "queued", "targets": "technical"}]
    return make_native_book(tmp_path / "b.sqlite", books=STANDARD_ONLY, trades=trades, vault=vault,
                            adjustments=adjustments)


def test_an_adjustment_that_halves_its_class_losses(tmp_path: Path) -> None:
    facts = facts_of(_halving_book(tmp_path))
    (fix,) = finding(facts, "fix_check")  # the queued one is not measured
    weeks = 11 / 7
    assert fix["target"] == {"kind": "root_cause", "value": "technical"}
    before, after = fix["before"], fix["after"]
    assert (v(before["round_trips"]), v(before["losing_trades"]), v(before["loss"])) == (20, 10, pytest.approx(-20.0))
    assert (v(after["round_trips"]), v(after["losing_trades"]), v(after["loss"])) == (20, 10, pytest.approx(-10.0))
    assert v(before["loss_per_trade"]) == pytest.approx(-1.0) and v(after["loss_per_trade"]) == pytest.approx(-0.5)
    assert v(before["loss_per_week"]) == pytest.approx(-20.0 / weeks)
    assert v(after["loss_per_week"]) == pytest.approx(-10.0 / weeks)
    assert v(fix["change_per_trade"]) == pytest.approx(-50.0) and fix["verdict"] == "losses fell"
    assert "from 1.000 to 0.500 USDT (-50%), and per week from 12.73 to 6.36 USDT" in fix["text"]


def test_concentration_and_fee_drag(tmp_path: Path) -> None:
    """Losses: BTC -3 and -1, ETH -2 (total -6; BTC 4/6 = 66.7%); one win +10. Fees 0.5 on each of
    the 4 trades: gross = net + fees = 4 + 2 = 6, fees/gross = 2/6 = 33.3%."""
    def t(symbol: str, net: float, hour: int) -> dict[str, Any]:
        return trade(1, symbol, entry=100, exit=100 + net + 0.5, opened=f"2026-04-14T{hour:02d}:00:00Z",
                     closed=f"2026-04-14T{hour + 1:02d}:00:00Z", fee_close=0.5, id=hour)
    trades = [t("BTC/USDT", -3, 1), t("BTC/USDT", -1, 3), t("ETH/USDT", -2, 5), t("SOL/USDT", 10, 7)]
    vault = [{"trade_id": 1, "root_cause": "news", "note": "", "created_at": "2026-04-14T10:00:00Z"},
             {"trade_id": 3, "root_cause": "technical", "note": "", "created_at": "2026-04-14T10:00:00Z"},
             {"trade_id": 5, "root_cause": "technical", "note": "", "created_at": "2026-04-14T10:00:00Z"}]
    facts = facts_of(make_native_book(tmp_path / "b.sqlite", books=STANDARD_ONLY, trades=trades, vault=vault))
    (conc,) = finding(facts, "concentration")
    assert conc["top_symbol"]["symbol"] == "BTC/USDT" and v(conc["top_symbol"]["share"]) == pytest.approx(400 / 6)
    assert conc["top_cluster"]["root_cause"] == "news" and v(conc["top_cluster"]["share"]) == pytest.approx(50.0)
    (fee,) = finding(facts, "fee_drag")
    assert v(fee["share_of_gross"]) == pytest.approx(100 * 2 / 6)
    assert [f["rank"] for f in facts["findings"]] == list(range(1, len(facts["findings"]) + 1))
    scores = [f["score"] for f in facts["findings"]]
    assert scores == sorted(scores, reverse=True)
