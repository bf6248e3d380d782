"""Sections: what each generation call is asked for, and the weekly post's section plan.

A section carries everything its call may see (heading, one-sentence instruction, target length,
the fact lines it may use) and its facts-only text, written from templates: that text is what the
`none` backend publishes and what any failed section falls back to. Sections never see each
other's output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from publisher.common import figures
from publisher.config import LLMConfig, SiteConfig
from publisher.errors import DraftError

WEEKLY_SECTION_KEYS = ("week", "vault", "news", "insight", "stack")

TOKENS_PER_WORD = 1.6
CAP_MARGIN = 24
DEFAULT_MAX_TOKENS = 400
MIN_CAP = 16


@dataclass(frozen=True)
class Section:
    key: str
    heading: str
    instruction: str
    target_words: int
    facts: tuple[str, ...]
    fallback: str
    # Weekly sections are drafted by rewriting `fallback` (the facts-only skeleton) around one
    # `point`; a sentence must name one of the section's figures, symbols or `anchors` (root-cause
    # classes, adjustments, findings, stack items) to be published (engine.py).
    point: str = ""
    anchors: tuple[str, ...] = ()
    rewrite: bool = False


def section_cap(target_words: int, llm: LLMConfig) -> int:
    """Tokens one section may generate: from its target length, always under the ceiling."""
    limit = llm.max_tokens or DEFAULT_MAX_TOKENS
    if llm.token_ceiling <= MIN_CAP:
        raise DraftError(f"[llm] token_ceiling = {llm.token_ceiling} is too small to draft a section; use 500")
    if llm.max_tokens and llm.max_tokens >= llm.token_ceiling:
        raise DraftError(
            f"[llm] max_tokens = {llm.max_tokens} is at or above token_ceiling = {llm.token_ceiling}: "
            "set it below the ceiling, or 0 to derive it per section"
        )
    limit = min(limit, llm.token_ceiling - 1)
    wanted = math.ceil(target_words * TOKENS_PER_WORD) + CAP_MARGIN
    return max(MIN_CAP, min(wanted, limit))


# ---- display formatting: the same roundings the templates use -------------------------------


def _value(fig: Any) -> float | None:
    if isinstance(fig, dict):
        fig = fig.get("value")
    return fig if isinstance(fig, int | float) and not isinstance(fig, bool) else None


def money(fig: Any, currency: str, signed: bool = True) -> str | None:
    """Like the post shows it (`publisher.common.figures`), with the unit the sentence needs; None if undefined."""
    v = _value(fig)
    if v is None:
        return None
    return f"{figures.money(v) if signed else figures.money(abs(v), sign=False)} {currency}"


def pct(fig: Any, decimals: int = 1, signed: bool = False) -> str | None:
    v = _value(fig)
    return None if v is None else figures.pct(v, digits=decimals, sign=signed)


def count(fig: Any) -> str | None:
    v = _value(fig)
    return None if v is None else figures.count(v)


def ratio(fig: Any) -> str | None:
    v = _value(fig)
    return None if v is None else figures.ratio(v)


def _lines(*pairs: tuple[str, str | None]) -> list[str]:
    return [f"{label}: {text}" for label, text in pairs if text is not None]


def _join(parts: list[str]) -> str:
    return " ".join(p for p in parts if p)


# ---- the weekly plan --------------------------------------------------------------------------


def _week_section(facts: dict, cur: str) -> Section:
    week = (facts.get("all_books") or {}).get("week") or {}
    lines = _lines(
        ("Round-trips (all books)", count(week.get("round_trips"))),
        ("Win rate", pct(week.get("win_rate"))),
        ("Realized PnL", money(week.get("realized_pnl"), cur)),
        ("Return", pct(week.get("return"), 2, signed=True)),
        ("Max drawdown", pct(week.get("max_drawdown"), 2)),
        ("R:R ratio", ratio(week.get("rr_ratio"))),
        ("Profit factor", ratio(week.get("profit_factor"))),
        ("Fees", money(week.get("fees"), cur, signed=False)),
    )
    for book in facts.get("books") or []:
        bw = book.get("week") or {}
        lines += _lines((
            f"Book '{book.get('name')}'",
            _join([f"{count(bw.get('round_trips')) or 0} round-trips,",
                   f"win rate {pct(bw.get('win_rate')) or 'n/a'},",
                   f"realized PnL {money(bw.get('realized_pnl'), cur) or 'n/a'}"]),
        ))
    for label, key in (("Best symbol", "best_symbol"), ("Worst symbol", "worst_symbol")):
        sym = week.get(key)
        if sym:
            lines += _lines((label, f"{sym.get('symbol')} ({money(sym.get('pnl'), cur)})"))
    lines += [f"Warning: {w}" for w in facts.get("warnings") or []]

    trips = _value(week.get("round_trips")) or 0
    if not trips:
        fallback = "No round-trip closed this week, so there is no new win rate or PnL to read."
    else:
        fallback = _join([
            f"The books closed {count(week.get('round_trips'))} round-trips this week",
            f"with a win rate of {pct(week.get('win_rate')) or 'n/a'} and realized PnL of "
            f"{money(week.get('realized_pnl'), cur)}.",
            *(f"Book '{b.get('name')}' ended at {money((b.get('week') or {}).get('realized_pnl'), cur)}."
              for b in facts.get("books") or [] if _value((b.get("week") or {}).get("realized_pnl")) is not None),
        ])
        if week.get("small_sample"):
            fallback += " The sample is small, so the win rate says little yet."
    return Section(
        "week", "This week in paper trading",
        "In one short paragraph, say what this week's figures mean: the result, the win rate against "
        "the R:R ratio, and how the books differ. The figures are listed above the paragraph, so "
        "interpret them instead of listing them.",
        70, tuple(lines), fallback, point=_week_point(week, cur), rewrite=True,
    )


def _week_point(week: dict, cur: str) -> str:
    """The one thing the week's figures say, decided here so the model cannot get its sign wrong."""
    pnl = _value(week.get("realized_pnl"))
    if pnl is None:
        return "No trade closed, so there is no result to read."
    pf = ratio(week.get("profit_factor"))
    verdict = "made money" if pnl > 0 else "lost money" if pnl < 0 else "broke even"
    return (f"The week {verdict}: realized PnL was {money(week.get('realized_pnl'), cur)}"
            + (f" and the profit factor was {pf}." if pf else "."))


def _vault_section(facts: dict, cur: str) -> Section:
    vault = facts.get("vault") or {}
    lines = _lines(
        ("Losing trades", count(vault.get("losing_trades"))),
        ("Total loss", money(vault.get("total_loss"), cur)),
        ("Losses with a post-mortem", count(vault.get("with_post_mortem"))),
    )
    for cl in vault.get("clusters") or []:
        lines.append(f"Cluster '{cl.get('label')}': {count(cl.get('count'))} trades, "
                     f"{money(cl.get('loss'), cur)}, symbols {', '.join(cl.get('symbols') or [])}")
    worst = vault.get("worst")
    if worst:
        lines.append(f"Worst symbol and cause: {worst.get('symbol')}, {worst.get('label')}, "
                     f"{count(worst.get('count'))} trades, {money(worst.get('loss'), cur)}")
    adjustments = facts.get("adjustments") or []
    for adj in adjustments:
        lines.append(f"Adjustment ({adj.get('status')}, {pct(adj.get('confidence'), 0) or 'n/a'} confidence): "
                     f"{adj.get('scope')}: {adj.get('change')}")
    for note in (vault.get("notes") or [])[:3]:
        lines.append(f"Operator note on {note.get('symbol')}: {str(note.get('note') or '')[:200]}")

    losing = _value(vault.get("losing_trades")) or 0
    if not losing:
        fallback = "No losing trade entered the failure vault this week."
    else:
        parts = [f"{count(vault.get('losing_trades'))} losing trades cost {money(vault.get('total_loss'), cur, signed=False)}"
                 f" this week; {count(vault.get('with_post_mortem')) or 0} of them have a post-mortem."]
        clusters = sorted(vault.get("clusters") or [], key=lambda c: -(_value(c.get("count")) or 0))
        if clusters:
            top = clusters[0]
            parts.append(f"The largest cluster was {top.get('label')} with {count(top.get('count'))} trades "
                         f"({money(top.get('loss'), cur)}).")
        if worst:
            parts.append(f"{worst.get('symbol')} was hit hardest: {count(worst.get('count'))} losses from "
                         f"{str(worst.get('label')).lower()}, {money(worst.get('loss'), cur)} in total.")
        fallback = _join(parts)
    if adjustments:
        fallback += (f" Strategy adjustments on the list ({len(adjustments)}): "
                     + "; ".join(f"{a.get('scope')}: {a.get('change')} ({a.get('status')})" for a in adjustments) + ".")
    return Section(
        "vault", "Failure vault: what broke, what changed",
        "In one paragraph, explain what the losing trades have in common (the largest cluster and the "
        "worst symbol) and what was changed in response.",
        90, tuple(lines), fallback.strip(), point=_vault_point(vault, cur),
        anchors=tuple([str(c.get("label")) for c in vault.get("clusters") or [] if c.get("label")]
                      + [str(a.get("change")) for a in adjustments if a.get("change")]),
        rewrite=True,
    )


def _vault_point(vault: dict, cur: str) -> str:
    clusters = sorted(vault.get("clusters") or [], key=lambda c: -(_value(c.get("count")) or 0))
    if not clusters:
        return "No losing trade this week."
    top = clusters[0]
    return (f"Most losses came from {str(top.get('label')).lower()}: {count(top.get('count'))} trades, "
            f"{money(top.get('loss'), cur)}.")


def _news_section(facts: dict) -> Section:
    news = facts.get("news") or []
    traded = sorted({s.get("symbol") for b in facts.get("books") or []
                     for s in (b.get("week") or {}).get("symbols") or [] if s.get("symbol")})
    lines = [f"News #{n.get('rank')}: {n.get('title')} (via {n.get('source')})" for n in news[:8]]
    if traded:
        lines.append(f"Symbols traded this week: {', '.join(traded)}")
    if news:
        sources = sorted({str(n.get("source")) for n in news if n.get("source")})
        fallback = (f"{len(news)} items made the news list this week, from {', '.join(sources)}; "
                    f"the top one was \u201c{news[0].get('title')}\u201d.")
    else:
        fallback = "No news item was recorded for this week."
    return Section(
        "news", "News that mattered",
        "In one or two sentences, say what the news items below have in common and whether they touch "
        "the symbols the bot traded. The list itself is shown below your sentences, so do not repeat it.",
        40, tuple(lines), fallback, point=_news_point(news, traded), rewrite=True,
    )


def _news_point(news: list, traded: list) -> str:
    if not news:
        return "No news this week."
    named = [str(n.get("title")) for n in news if any(s.split("/")[0] in str(n.get("title")) for s in traded)]
    if named:
        return f"One news item touched a symbol the bot traded: {named[0]}."
    return 'None of the news items named a symbol the bot traded.'



def _insight_section(facts: dict, cur: str) -> Section:
    week = (facts.get("all_books") or {}).get("week") or {}
    adjustments = sorted(facts.get("adjustments") or [], key=lambda a: -(_value(a.get("confidence")) or 0))
    lines = _lines(
        ("Expectancy", money(week.get("expectancy"), f"{cur} per trade")),
        ("Average win", money(week.get("avg_win"), cur)),
        ("Average loss", money(week.get("avg_loss"), cur)),
        ("Win rate", pct(week.get("win_rate"))),
        ("R:R ratio", ratio(week.get("rr_ratio"))),
        ("Profit factor", ratio(week.get("profit_factor"))),
    )
    worst = (facts.get("vault") or {}).get("worst")
    if worst:
        lines.append(f"Most repeated failure: {worst.get('label')} on {worst.get('symbol')}")
    if adjustments:
        a = adjustments[0]
        lines.append(f"Highest-confidence adjustment: {a.get('change')} ({pct(a.get('confidence'), 0)}, {a.get('status')})")

    expectancy = _value(week.get("expectancy"))
    if expectancy is None:
        fallback = ("No trade closed this week, so the edge could not be measured. A quiet week is "
                    "still data: the filters held the bot back, and nothing was forced.")
    else:
        verdict = "covered" if expectancy >= 0 else "did not cover"
        fallback = _join([
            f"Expectancy was {money(week.get('expectancy'), cur)} per trade.",
            f"An average win of {money(week.get('avg_win'), cur) or 'n/a'} at a {pct(week.get('win_rate'))} win rate "
            f"{verdict} an average loss of {money(week.get('avg_loss'), cur) or 'n/a'}.",
        ])
    if adjustments:
        a = adjustments[0]
        fallback += (f"\n\nThe change to watch next week is the one held with the most confidence: "
                     f"{a.get('change')} ({pct(a.get('confidence'), 0)} confidence, {a.get('status')}).")
    finding = _top_finding(facts)
    if finding:
        lines.append(f"Top finding: {finding}")
    point = finding or (f"Expectancy was {money(week.get('expectancy'), cur)} per trade."
                        if expectancy is not None else "No trade closed, so the edge could not be measured.")
    return Section(
        "insight", "One operating insight",
        "Give one operating lesson from this week's figures: state the lesson in one sentence, then "
        "explain in a short paragraph why the figures support it and what to watch next week.",
        120, tuple(lines), fallback, point=point,
        anchors=tuple(str(x) for x in (finding, worst and worst.get("label"),
                                       adjustments and adjustments[0].get("change")) if x),
        rewrite=True,
    )


def _top_finding(facts: dict) -> str | None:
    """The week's highest-ranked finding as one line, when the fact sheet has findings."""
    findings = [f for f in facts.get("findings") or [] if isinstance(f, dict)]
    if not findings:
        return None
    top = min(findings, key=lambda f: _value(f.get("rank")) if _value(f.get("rank")) is not None else 1e9)
    for key in ("text", "summary", "statement", "title", "finding"):
        if isinstance(top.get(key), str) and top[key].strip():
            return top[key].strip()[:300]
    return None


def _stack_section(facts: dict, site: SiteConfig, llm: LLMConfig) -> Section:
    stamp = facts.get("stamp") or {}
    lines = [f"Stack item: {item}" for item in site.stack]
    lines.append(f"Drafting: {drafting_line(llm)}")
    if site.stack:
        fallback = "The stack behind this issue: " + "; ".join(site.stack) + "."
    else:
        fallback = (f"This issue was compiled by publisher {stamp.get('tool_version', '')} from the trading "
                    f"book {stamp.get('book_file', '')}.").replace("  ", " ")
    return Section(
        "stack", "Stack and infra",
        "In two or three sentences, describe the stack that produced this issue and one trade-off it "
        "makes. Use only the stack items listed.",
        60, tuple(lines), fallback, point="One trade-off: everything runs locally, on one machine.",
        anchors=tuple(site.stack), rewrite=True,
    )


def drafting_line(llm: LLMConfig) -> str:
    """How the prose was drafted, as a fact the stack section may cite."""
    if llm.backend == "none":
        return "facts-only templates, no language model"
    model = llm.api_model if llm.backend == "openai" else llm.model
    return (f"{model} via {llm.backend}, one call per section, each under the {llm.token_ceiling}-token ceiling")


def weekly_sections(facts: dict, site: SiteConfig, llm: LLMConfig) -> list[Section]:
    """The weekly post's prose sections, in the order of WEEKLY_SECTION_KEYS."""
    cur = str(facts.get("currency") or "USDT")
    return [
        _week_section(facts, cur),
        _vault_section(facts, cur),
        _news_section(facts),
        _insight_section(facts, cur),
        _stack_section(facts, site, llm),
    ]
