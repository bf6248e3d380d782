"""Hand-made fact sheets that follow docs/facts-contract.md, for the render-stage tests.

Two weeks: a busy one (two books, vault clusters, adjustments, hostile news titles) and a quiet one
(no round-trips). Functions return fresh dicts so a test can mutate its copy.
"""

from __future__ import annotations

from typing import Any


def fig(value: float | None, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit}


def _usdt(value: float | None) -> dict[str, Any]:
    return fig(value, "USDT")


def _pct(value: float | None) -> dict[str, Any]:
    return fig(value, "%")


def _count(value: int) -> dict[str, Any]:
    return fig(value, "count")


def _symbol(symbol: str, round_trips: int, wins: int, pnl: float) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "round_trips": _count(round_trips),
        "wins": _count(wins),
        "win_rate": _pct(100.0 * wins / round_trips if round_trips else None),
        "pnl": _usdt(pnl),
    }


def _book(
    book_id: int | None,
    name: str,
    symbols: list[tuple[str, int, int, float]],
    equity_start: float,
    closes: list[tuple[str, float]],
    max_drawdown: float,
) -> dict[str, Any]:
    round_trips = sum(s[1] for s in symbols)
    wins = sum(s[2] for s in symbols)
    pnl = round(sum(s[3] for s in symbols), 6)
    losses = round_trips - wins
    curve = [{"t": "2026-04-13T00:00:00+00:00", "equity": equity_start}]
    equity = equity_start
    for t, delta in closes:
        equity = round(equity + delta, 6)
        curve.append({"t": t, "equity": equity})
    by_pnl = sorted(symbols, key=lambda s: s[3])
    return {
        "id": book_id,
        "name": name,
        "role": name,
        "quote_currency": "USDT",
        "starting_balance": _usdt(1000.0),
        "week": {
            "round_trips": _count(round_trips),
            "wins": _count(wins),
            "losses": _count(losses),
            "breakeven": _count(0),
            "win_rate": _pct(100.0 * wins / round_trips if round_trips else None),
            "win_rate_ci95": {"low": _pct(19.3 if round_trips else None), "high": _pct(68.0 if round_trips else None)},
            "realized_pnl": _usdt(pnl if round_trips else 0.0),
            "fees": _usdt(1.234 if round_trips else 0.0),
            "gross_pnl": _usdt(pnl + 1.234 if round_trips else 0.0),
            "equity_start": _usdt(equity_start),
            "equity_end": _usdt(round(equity_start + pnl, 6)),
            "return": _pct(100.0 * pnl / equity_start),
            "max_drawdown": _pct(max_drawdown),
            "avg_win": _usdt(1.5 if wins else None),
            "avg_loss": _usdt(-1.25 if losses else None),
            "rr_ratio": fig(1.2 if wins and losses else None, "x"),
            "expectancy": fig(pnl / round_trips if round_trips else None, "USDT/trade"),
            "profit_factor": fig(0.87 if wins and losses else None, "x"),
            "best_symbol": {"symbol": by_pnl[-1][0], "pnl": _usdt(by_pnl[-1][3])} if symbols else None,
            "worst_symbol": {"symbol": by_pnl[0][0], "pnl": _usdt(by_pnl[0][3])} if symbols else None,
            "symbols": [_symbol(*s) for s in symbols],
            "small_sample": round_trips < 30,
        },
        "all_time": {
            "round_trips": _count(120 + round_trips),
            "realized_pnl": _usdt(12.5 + pnl),
            "cumulative_return": _pct(1.25),
            "max_drawdown": _pct(4.2),
        },
        "open_positions": {"count": _count(0), "positions": []},
        "equity_curve": curve,
    }


STANDARD = [("APT/USDT", 5, 1, -3.4), ("BTC/USDT", 4, 3, 2.75), ("ETH/USDT", 3, 1, -0.9)]
INVERTED = [("APT/USDT", 5, 4, 3.1), ("BTC/USDT", 4, 1, -2.95), ("ETH/USDT", 3, 2, 0.7)]
CLOSES_1 = [("2026-04-14T09:00:00+00:00", -1.2), ("2026-04-15T10:30:00+00:00", 2.1),
            ("2026-04-16T12:00:00+00:00", -2.6), ("2026-04-18T16:45:00+00:00", 0.15)]
CLOSES_2 = [("2026-04-14T09:00:00+00:00", 1.1), ("2026-04-15T10:30:00+00:00", -1.9),
            ("2026-04-17T08:15:00+00:00", 1.65)]

HOSTILE_TITLE = 'Bitcoin <script>alert("x")</script> & "quotes" 🚀 — بيتكوين'


def _headline(book: dict[str, Any]) -> dict[str, Any]:
    """Book 1 as the headline (book 2 is its inverted mirror), with last week and the 4-week average."""
    import copy

    head = copy.deepcopy(book)
    head.update(
        book_ids=[1], basis="the standard book; its inverted mirror is the control",
        previous_week={"round_trips": _count(10), "wins": _count(2), "losses": _count(8), "win_rate": _pct(20.0),
                       "realized_pnl": _usdt(-9.0), "fees": _usdt(0.9), "gross_pnl": _usdt(-8.1),
                       "return": _pct(-0.9), "expectancy": fig(-0.9, "USDT/trade"), "profit_factor": fig(0.5, "x")},
        change={"round_trips": fig(2, "trades"), "win_rate": fig(100 * 5 / 12 - 20.0, "pp"),
                "realized_pnl": _usdt(7.45), "fees": _usdt(0.334), "expectancy": fig(-1.55 / 12 + 0.9, "USDT/trade"),
                "return": fig(0.745, "pp")},
        recent_average={"weeks": _count(4), "round_trips": fig(11.0, "trades"), "realized_pnl": _usdt(-5.0),
                        "expectancy": fig(-0.4545, "USDT/trade")},
        weekly=[{"week": "2026-W15", "round_trips": _count(10), "realized_pnl": _usdt(-9.0)},
                {"week": "2026-W16", "round_trips": _count(12), "realized_pnl": _usdt(-1.55)}],
    )
    return head


def _findings() -> list[dict[str, Any]]:
    """Two ranked findings with the numbers their sentences show."""
    def test(over: str, n: int, ahead: int, p: float, mean: float, median: float, low: float, high: float,
             unit: str) -> dict[str, Any]:
        return {"over": over, "n": _count(n), "standard_ahead": _count(ahead), "mirror_ahead": _count(n - ahead),
                "p_value": fig(p, "p"), "mean_difference": fig(mean, unit), "median_difference": fig(median, unit),
                "median_ci95": {"low": fig(low, unit), "high": fig(high, unit)},
                "verdict": "not distinguishable from zero"}

    window = {"round_trips": _count(22), "losing_trades": _count(8), "loss": _usdt(-9.6), "weeks": fig(2.0, "weeks"),
              "loss_per_trade": fig(-9.6 / 22, "USDT/trade"), "loss_per_week": fig(-4.8, "USDT/week")}
    after = {"round_trips": _count(20), "losing_trades": _count(4), "loss": _usdt(-4.4), "weeks": fig(2.0, "weeks"),
             "loss_per_trade": fig(-0.22, "USDT/trade"), "loss_per_week": fig(-2.2, "USDT/week")}
    return [
        {"kind": "control_test", "rank": 1, "score": 0.5, "standard_book_id": 1, "inverted_book_id": 2,
         "edge": {"total": _usdt(-2.28), "per_trade": fig(-0.19, "USDT/trade"), "since_start": _usdt(-2.28)},
         "week": test("paired trades", 12, 5, 0.774, -0.19, -0.35, -2.1, 1.9, "USDT/trade"),
         "since_start": test("UTC days", 40, 18, 0.82, -0.06, -0.05, -0.9, 0.7, "USDT/day"),
         "text": "Control test: the standard book minus its mirror made -2.28 USDT this week (-0.19 USDT per "
                 "trade); the standard side won 5 of 12 paired trades (sign test p = 0.77, median difference "
                 "interval -2.10 to +1.90 USDT): not distinguishable from zero."},
        {"kind": "fix_check", "rank": 2, "score": 0.4958,
         "adjustment": {"at": "2026-04-06T12:00:00+00:00", "scope": "Scanner-wide", "change": "cut position size 25%",
                        "book_id": None, "targets": "technical"},
         "target": {"kind": "root_cause", "value": "technical"}, "before": window, "after": after,
         "change_per_trade": _pct(-49.583), "verdict": "losses fell",
         "text": "Since \u201ccut position size 25%\u201d (Scanner-wide) shipped on 2026-04-06, the technical class's "
                 "losses per trade went from 0.436 to 0.220 USDT (-50%), and per week from 4.80 to 2.20 USDT."},
    ]


def sample_facts() -> dict[str, Any]:
    """A busy week: 12 round-trips per book, losses clustered by root cause, untrusted news."""
    b1 = _book(1, "standard", STANDARD, 1000.0, CLOSES_1, 0.52)
    b2 = _book(2, "inverted", INVERTED, 1000.0, CLOSES_2, 0.19)
    merged = [(a[0], a[1] + b[1], a[2] + b[2], round(a[3] + b[3], 6)) for a, b in zip(STANDARD, INVERTED, strict=True)]
    all_books = _book(None, "all books", merged, 2000.0, sorted(CLOSES_1 + CLOSES_2), 0.31)
    rows = []
    for s1, s2 in zip(STANDARD, INVERTED, strict=True):
        rows.append({"symbol": s1[0], "books": {
            "1": {"round_trips": _count(s1[1]), "win_rate": _pct(100.0 * s1[2] / s1[1]), "pnl": _usdt(s1[3])},
            "2": {"round_trips": _count(s2[1]), "win_rate": _pct(100.0 * s2[2] / s2[1]), "pnl": _usdt(s2[3])},
        }})
    return {
        "schema_version": 1,
        "week": {"iso": "2026-W16", "iso_year": 2026, "week": 16,
                 "start": "2026-04-13T00:00:00+00:00", "end": "2026-04-20T00:00:00+00:00",
                 "timezone": "UTC", "label": "13\u201319 Apr 2026"},
        "stamp": {"book_file": "demo.sqlite", "book_sha256": "0" * 64, "book_format": "native",
                  "tool_version": "0.1.0"},
        "currency": "USDT",
        "books": [b1, b2],
        "all_books": all_books,
        "headline": _headline(b1),
        "mirrors": [{"standard_book_id": 1, "inverted_book_id": 2, "detected_by": "role",
                     "paired_trades": _count(12)}],
        "findings": _findings(),
        "comparison": {"book_ids": [1, 2], "rows": rows},
        "vault": {
            "losing_trades": _count(10),
            "total_loss": _usdt(-12.5),
            "with_post_mortem": _count(7),
            "clusters": [
                {"root_cause": "execution_slippage", "label": "Execution slippage", "count": _count(6),
                 "loss": _usdt(-7.75), "symbols": ["APT/USDT", "BTC/USDT"]},
                {"root_cause": "technical", "label": "Technical failure", "count": _count(4),
                 "loss": _usdt(-4.75), "symbols": ["ETH/USDT"]},
            ],
            "worst": {"symbol": "APT/USDT", "root_cause": "execution_slippage", "label": "Execution slippage",
                      "count": _count(4), "loss": _usdt(-5.2), "avg_loss": _usdt(-1.3)},
            "notes": [{"book_id": 1, "symbol": "APT/USDT", "root_cause": "execution_slippage",
                       "note": "filled <b>late</b> & wide", "at": "2026-04-14T09:00:00+00:00",
                       "loss": _usdt(-1.2)}],
        },
        "adjustments": [
            {"at": "2026-04-18T12:00:00+00:00", "scope": "Scanner-wide", "change": "cut position size 25%",
             "confidence": _pct(65.0), "status": "shipped", "targets": "technical"},
            {"at": "2026-04-19T12:00:00+00:00", "scope": "APT/USDT", "change": "pause for 48 hours",
             "confidence": _pct(85.0), "status": "queued", "targets": "execution_slippage"},
        ],
        "news": [
            {"rank": 1, "title": HOSTILE_TITLE, "source": "CoinGecko Trending",
             "url": "https://example.org/btc?a=1&b=2", "at": "2026-04-15T00:00:00+00:00"},
            {"rank": 2, "title": "Plain [link](javascript:alert(1)) title on ETH flows", "source": "Feed",
             "url": "javascript:alert(1)", "at": "2026-04-16T00:00:00+00:00"},
        ],
        "warnings": [
            "Book 'standard' closed 12 round-trips (< 30): win rate 41.7%, 95% interval 19.3–68.0%.",
        ],
        "checks": [{"name": "wins + losses + breakeven = round_trips", "scope": "book 1", "passed": True}],
    }


def quiet_facts() -> dict[str, Any]:
    """A week with no closed trades: null ratios, empty vault, no news."""
    facts = sample_facts()
    b1 = _book(1, "standard", [], 1000.0, [], 0.0)
    b2 = _book(2, "inverted", [], 1000.0, [], 0.0)
    all_books = _book(None, "all books", [], 2000.0, [], 0.0)
    facts.update(
        books=[b1, b2],
        all_books=all_books,
        comparison={"book_ids": [1, 2], "rows": []},
        vault={"losing_trades": _count(0), "total_loss": _usdt(0.0), "with_post_mortem": _count(0),
               "clusters": [], "worst": None, "notes": []},
        headline={**all_books, "book_ids": [1, 2], "basis": "every book summed (independent strategies)"},
        mirrors=[],
        findings=[],
        adjustments=[],
        news=[],
        warnings=[],
    )
    return facts


def write_weekly(config: Any, facts: dict[str, Any], draft: dict[str, Any] | None = None, status: str = "published") -> Any:
    """A weekly as the pipeline leaves it: post file + facts under content/, HTML rendered, charts drawn."""
    import json

    from publisher.render.charts import render_weekly_charts
    from publisher.render.markdown import render_post_html
    from publisher.render.weekly_post import render_weekly_markdown
    from publisher.site.content import dump_post, load_post

    meta, body = render_weekly_markdown(facts, draft or {"sections": []}, config)
    folder = config.content_dir / "weekly"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{facts['week']['iso']}.md"
    path.write_text(dump_post({**meta, "status": status}, body), encoding="utf-8")
    path.with_suffix(".facts.json").write_text(json.dumps(facts), encoding="utf-8")
    post = load_post(path, config.content_dir, config.site.timezone)
    render_post_html(post)
    render_weekly_charts(facts, config.root / "site" / post.url_path / "charts")
    return post
