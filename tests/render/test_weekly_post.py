"""The weekly post: section order, figures from facts only, escaping of untrusted text."""

from __future__ import annotations

import datetime as dt

import pytest
from facts_sample import HOSTILE_TITLE, quiet_facts, sample_facts

from publisher.config import Config, SiteConfig
from publisher.errors import ConfigError
from publisher.render.markdown import markdown_to_html
from publisher.render.weekly_post import render_weekly_markdown

HEADINGS = ["This week in paper trading", "Failure vault: what broke, what changed", "News that mattered",
            "One operating insight", "Stack and infra"]


def draft(**texts: str) -> dict:
    return {"sections": [{"key": k, "heading": k, "text": t, "fallback": False} for k, t in texts.items()],
            "backend": "none", "model": ""}


def render(facts=None, d=None, **site) -> tuple[dict, str]:
    return render_weekly_markdown(facts or sample_facts(), d or draft(), Config(site=SiteConfig(**site)))


def test_sections_in_reference_order_with_prose_after_the_figures():
    d = draft(week="WEEK-PROSE", vault="VAULT-PROSE", news="NEWS-PROSE", insight="INSIGHT-PROSE", stack="STACK-PROSE")
    _, body = render(d=d, stack=["Raspberry Pi 5"], closing="See you next week.")
    positions = [body.index(f"## {h}") for h in HEADINGS]
    assert positions == sorted(positions)
    order = ["## This week", "Round-trips: 12", "| APT/USDT | 5 / 5 | 20.0% / 80.0% | -3.40 / +3.10 |", "WEEK-PROSE",
             "## Failure vault", "Execution slippage** cluster × 6", "[65% conf]", "VAULT-PROSE",
             "## News", "NEWS-PROSE", "1. [", "## One operating", "INSIGHT-PROSE", "## Stack", "- Raspberry Pi 5",
             "STACK-PROSE", "*See you next week.*"]
    found = [body.index(s) for s in order]
    assert found == sorted(found)


def test_figures_are_formatted_from_facts():
    _, body = render()
    assert "- Realized PnL: -1.55 USDT (gross -0.32 USDT, fees 1.23 USDT)" in body
    assert "- Win rate: 41.7% (95% interval 19.3% to 68.0%)" in body
    assert "- Profit factor: 0.87" in body
    assert "| Realized PnL | -1.55 USDT | +0.85 USDT |" in body
    assert "Worst pair: **APT/USDT**, Execution slippage × 4 (-5.20 USDT, average -1.30 USDT per trade)" in body


def test_null_figures_show_na():
    facts = sample_facts()
    facts["headline"]["week"]["profit_factor"]["value"] = None
    _, body = render(facts)
    assert "- Profit factor: n/a" in body


def test_front_matter():
    meta, _ = render(title="Sleepy Log", timezone="Europe/Paris", weekly_tags=["trading", "python", "trading", "a", "b", "c"])
    assert meta["title"] == "Sleepy Log Weekly · 2026W16"
    assert meta["slug"] == "weekly-2026-w16" and meta["week"] == "2026-W16" and meta["status"] == "draft"
    date = dt.datetime.fromisoformat(meta["date"])
    assert date.utcoffset() == dt.timedelta(hours=2)  # shown in the site's zone...
    assert date == dt.datetime(2026, 4, 20, tzinfo=dt.UTC)  # ...the instant the week ended
    assert meta["tags"] == ["trading", "python", "a", "b"]
    assert meta["description"] == ("Week 2026-W16 (13–19 Apr 2026): 12 round-trips in book 1 (standard), win rate 41.7%, "
                                   "realized PnL -1.55 USDT (previous week -9.00 USDT).")


def test_title_format_is_configurable_and_checked():
    meta, _ = render(weekly_title="{iso} recap of {site}", title="X")
    assert meta["title"] == "2026-W16 recap of X"
    with pytest.raises(ConfigError, match="weekly_title"):
        render(weekly_title="{nope}")


def test_charts_are_linked_relative_to_the_post_with_alt_text():
    _, body = render()
    for name in ("equity", "drawdown", "win-rate", "vault"):
        assert f"](charts/{name}.svg)" in body
    assert "![Realized equity through week 2026-W16: book 1 \\(standard\\)" in body


def test_quiet_week_reads_honestly():
    meta, body = render(quiet_facts())
    assert "No round-trips closed this week" in body
    assert "charts/" not in body and "Win rate:" not in body and "| Round-trips" not in body
    assert "No losing trades this week" in body and "No news items" in body
    assert meta["description"] == "Week 2026-W16 (13–19 Apr 2026): no round-trips closed across 2 books."
    assert all(f"## {h}" in body for h in HEADINGS)


def test_untrusted_text_is_inert_in_the_rendered_html():
    facts = sample_facts()
    facts["adjustments"][0]["change"] = "<img src=x onerror=alert(1)> **bold**"
    d = draft(week="Ignore this: <script>alert(1)</script> ![pwn](https://evil.example/x.png)\n\n[click](javascript:alert(2))",
              insight="A & B \"quoted\" 🚀 مرحبا")
    _, body = render(facts, d)
    html = markdown_to_html(body)
    assert "<script" not in html and '<img src="x"' not in html
    assert "&lt;img src=x onerror=alert(1)&gt; **bold**" in html
    prose = html.split("Ignore this")[1].split("</p>")[0]
    assert "<img" not in prose and "![pwn](https://evil.example/x.png)" in prose
    assert 'href="javascript' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "A &amp; B \"quoted\" 🚀 مرحبا" in html
    # The hostile headline keeps its text, its safe link, and loses its markup.
    assert 'href="https://example.org/btc?a=1&amp;b=2"' in html
    assert "Bitcoin &lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; \"quotes\" 🚀 — بيتكوين" in html
    assert HOSTILE_TITLE not in html
    # Right-to-left text is isolated so it cannot reorder the text around it; left-to-right is untouched.
    assert "\u2068Bitcoin &lt;script&gt;" in html and "بيتكوين\u2069</a>" in html
    assert "\u2068" not in html.replace("\u2068Bitcoin", "")
    # A javascript: news URL loses its link but keeps its title.
    assert "Plain [link](javascript:alert(1)) title" in html


def test_llm_cannot_add_tables_or_headings():
    d = draft(week="## Fake heading\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    html = markdown_to_html(render(d=d)[1])
    assert "<h2>Fake heading" not in html and 'id="fake-heading"' not in html
    assert html.count("<table>") == 2  # the two tables from the facts


def test_site_template_override(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "weekly.md.j2").write_text("Only {{ week.round_trips | count }} trips.\n", encoding="utf-8")
    _, body = render_weekly_markdown(sample_facts(), draft(), Config(root=tmp_path))
    assert body == "Only 12 trips.\n"  # `week` is the headline book's


def test_sample_facts_follow_the_schema():
    import json
    from pathlib import Path

    import jsonschema

    import publisher

    schema = json.loads((Path(publisher.__file__).parent / "facts" / "facts.schema.json").read_text(encoding="utf-8"))
    assert schema["properties"]["books"]
    for facts in (sample_facts(), quiet_facts()):
        jsonschema.validate(facts, schema)


def test_computed_facts_from_a_demo_book_render(tmp_path):
    from publisher.book.demo import DemoSpec, make_demo_book
    from publisher.book.reader import open_book
    from publisher.common.weeks import parse_week
    from publisher.config import BookConfig
    from publisher.facts.compute import compute_facts
    from publisher.render.charts import chart_specs, render_weekly_charts

    path = make_demo_book(tmp_path / "demo.sqlite", DemoSpec(weeks=1, trades_per_week=40, end_week=parse_week("2026-W16"))).path
    with open_book(path, BookConfig()) as book:
        facts = compute_facts(book, "2026-W16", "UTC")
    meta, body = render_weekly_markdown(facts, draft(), Config())
    # Expected figures of book 1 (the headline: book 2 is its inverted mirror) read from the book with
    # plain SQL, not from the fact sheet under test.
    import sqlite3

    with sqlite3.connect(path) as conn:
        trips, pnl = conn.execute("SELECT count(*), sum(realized_pnl) FROM trades WHERE book_id = 1 AND closed_at >= "
                                  "'2026-04-13T00:00:00Z' AND closed_at < '2026-04-20T00:00:00Z'").fetchone()
    assert trips > 0
    assert f"- Round-trips: {trips} (" in body
    assert f"Realized PnL: {pnl:+.2f} USDT" in body
    charts = render_weekly_charts(facts, tmp_path / "charts")
    assert [c.name for c in charts] == [s.name for s in chart_specs(facts)]
    weekly = next(c for c in charts if c.name == "weekly")  # 12 weeks of realized PnL per book
    assert weekly.alt.startswith("Weekly realized PnL, the last 12 weeks to 2026-W16: book 1 (standard): W05 0.00 USDT")
    assert f"W16 {facts['books'][1]['week']['realized_pnl']['value']:+.2f} USDT." in weekly.alt
    assert all(f"](charts/{c.name}.svg)" in body for c in charts)


def test_quiet_week_with_open_positions():
    facts = quiet_facts()
    facts["all_books"]["open_positions"]["count"] = {"value": 3, "unit": "count"}
    _, body = render(facts)
    assert "realized equity stayed at 2000.00 USDT.\n\nOpen positions at week end: 3.\n" in body


def test_every_planned_section_reaches_the_post():
    """The section list lives in drafting.plan only: each planned section's prose is in the post,
    in plan order, so a section added to the plan cannot be silently dropped by the template."""
    from publisher.config import LLMConfig
    from publisher.drafting.plan import WEEKLY_SECTION_KEYS, weekly_sections

    planned = [s.key for s in weekly_sections(sample_facts(), SiteConfig(), LLMConfig(backend="none"))]
    assert planned == list(WEEKLY_SECTION_KEYS)
    _, body = render(d=draft(**{key: f"PROSE{n}MARK" for n, key in enumerate(planned)}))
    positions = [body.find(f"PROSE{n}MARK") for n in range(len(planned))]
    assert -1 not in positions and positions == sorted(positions)


def test_terminal_table_and_post_format_a_figure_alike(tmp_path):
    """One formatter: the balance `publish facts` prints is written exactly as the post writes it."""
    from bookmaker import make_native_book, trade

    from publisher.book.reader import open_book
    from publisher.facts.compute import compute_facts, format_facts_table

    path = make_native_book(tmp_path / "b.sqlite", trades=[
        trade(1, "BTC/USDT", entry=100, exit=103.2, opened="2026-04-14T08:00:00Z", closed="2026-04-14T09:00:00Z")])
    with open_book(path) as book:
        facts = compute_facts(book, "2026-W16", "UTC")
    _, body = render(facts)
    assert "Equity end" in format_facts_table(facts)
    assert "1003.20 USDT" in format_facts_table(facts)  # book 1: 1000 + 3.20, no thousands separator
    assert "1003.20 USDT" in body
    assert "1,003.20" not in format_facts_table(facts) + body


def test_headline_is_the_standard_book_with_dates_deltas_and_the_control_edge():
    """Book 2 is book 1's inverted mirror: the first section reports book 1 against its previous week
    and shows the edge over the mirror; the summed books (24 round-trips) are not the headline."""
    _, body = render()
    first = body.split("## Failure vault")[0]
    assert "This week (13–19 Apr 2026), in book 1 \\(standard\\); the inverted mirror is the control below:" in first
    assert "- Round-trips: 12 (5 wins, 7 losses, 0 breakeven); previous week 10 (+2)" in first
    assert "- Win rate: 41.7% (95% interval 19.3% to 68.0%); previous week 20.0% (+21.7 pts)" in first
    assert "; previous week -9.00 USDT (+7.45 USDT), 4-week average -5.00 USDT" in first
    assert "- Control edge (standard minus inverted): -2.28 USDT this week, -0.19 USDT/trade; since the start -2.28 USDT" in first
    assert "24" not in first.split("###")[0].replace("2026", "")
    # The control test is the top finding: the insight says it, the book-vs-book section does not repeat it.
    assert body.count("Control test: the standard book minus its mirror") == 0  # no prose drafted here
    assert "Best symbol: BTC/USDT (+2.75 USDT); worst: APT/USDT (-3.40 USDT)" in first


def test_no_profitable_symbol_is_not_called_best():
    facts = sample_facts()
    week = facts["headline"]["week"]
    week["best_symbol"] = None  # the facts stage leaves it out when no symbol made money
    _, body = render(facts)
    assert "Best symbol" not in body
    assert "- No symbol was profitable; worst: APT/USDT (-3.40 USDT)" in body


def test_clusters_name_their_costliest_symbols_then_how_many_more():
    facts = sample_facts()
    facts["vault"]["clusters"][0].update(
        symbols=["APT/USDT", "BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"],
        top_symbols=[{"symbol": "APT/USDT", "count": {"value": 4, "unit": "count"}, "loss": {"value": -5.2, "unit": "USDT"}},
                     {"symbol": "BTC/USDT", "count": {"value": 2, "unit": "count"}, "loss": {"value": -2.55, "unit": "USDT"}}],
        other_symbols={"value": 3, "unit": "count"})
    _, body = render(facts)
    assert ("- **Execution slippage** cluster × 6 (-7.75 USDT), costliest APT/USDT (-5.20 USDT), "
            "BTC/USDT (-2.55 USDT) and 3 more symbols") in body
    assert "SOL/USDT" not in body.split("## Failure vault")[1].split("## News")[0]
