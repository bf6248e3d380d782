"""Sections: what each generation call is asked for, and the weekly post's section plan.

A section carries everything its call may see (heading, one-sentence instruction, target length,
the fact lines it may use) and its facts-only text, written from templates: that text is what the
`none` backend publishes and what any failed section falls back to. Sections never see each
other's output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from publisher.common import figures
from publisher.config import LLMConfig, SiteConfig
from publisher.errors import DraftError

if TYPE_CHECKING:
    from publisher.facts.contract import Facts

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


def _week_section(facts: Facts, cur: str) -> Section:
    week = facts["all_books"]["week"]
    lines = _lines(
        ("Round-trips (all books)", count(week["round_trips"])),
        ("Win rate", pct(week["win_rate"])),
        ("Realized PnL", money(week["realized_pnl"], cur)),
        ("Return", pct(week["return"], 2, signed=True)),
        ("Max drawdown", pct(week["max_drawdown"], 2)),
        ("R:R ratio", ratio(week["rr_ratio"])),
        ("Profit factor", ratio(week["profit_factor"])),
        ("Fees", money(week["fees"], cur, signed=False)),
    )
    for book in facts["books"]:
        bw = book["week"]
        lines += _lines((
            f"Book '{book['name']}'",
            _join([f"{count(bw['round_trips']) or 0} round-trips,",
                   f"win rate {pct(bw['win_rate']) or 'n/a'},",
                   f"realized PnL {money(bw['realized_pnl'], cur) or 'n/a'}"]),
        ))
    for label, sym in (("Best symbol", week["best_symbol"]), ("Worst symbol", week["worst_symbol"])):
        if sym:
            lines += _lines((label, f"{sym['symbol']} ({money(sym['pnl'], cur)})"))
    lines += [f"Warning: {w}" for w in facts["warnings"]]

    trips = _value(week["round_trips"]) or 0
    if not trips:
        fallback = "No round-trip closed this week, so there is no new win rate or PnL to read."
    else:
        fallback = _join([
            f"The books closed {count(week['round_trips'])} round-trips this week",
            f"with a win rate of {pct(week['win_rate']) or 'n/a'} and realized PnL of "
            f"{money(week['realized_pnl'], cur)}.",
            *(f"Book '{b['name']}' ended at {money(b['week']['realized_pnl'], cur)}."
              for b in facts["books"] if _value(b["week"]["realized_pnl"]) is not None),
        ])
        if week["small_sample"]:
            fallback += " The sample is small, so the win rate says little yet."
    return Section(
        "week", "This week in paper trading",
        "In one short paragraph, say what this week's figures mean: the result, the win rate against "
        "the R:R ratio, and how the books differ. The figures are listed above the paragraph, so "
        "interpret them instead of listing them.",
        70, tuple(lines), fallback,
    )


def _vault_section(facts: Facts, cur: str) -> Section:
    vault = facts["vault"]
    lines = _lines(
        ("Losing trades", count(vault["losing_trades"])),
        ("Total loss", money(vault["total_loss"], cur)),
        ("Losses with a post-mortem", count(vault["with_post_mortem"])),
    )
    for cl in vault["clusters"]:
        lines.append(f"Cluster '{cl['label']}': {count(cl['count'])} trades, "
                     f"{money(cl['loss'], cur)}, symbols {', '.join(cl['symbols'])}")
    worst = vault["worst"]
    if worst:
        lines.append(f"Worst symbol and cause: {worst['symbol']}, {worst['label']}, "
                     f"{count(worst['count'])} trades, {money(worst['loss'], cur)}")
    adjustments = facts["adjustments"]
    for adj in adjustments:
        lines.append(f"Adjustment ({adj['status']}, {pct(adj['confidence'], 0) or 'n/a'} confidence): "
                     f"{adj['scope']}: {adj['change']}")
    for note in vault["notes"][:3]:
        lines.append(f"Operator note on {note['symbol']}: {(note['note'] or '')[:200]}")

    losing = _value(vault["losing_trades"]) or 0
    if not losing:
        fallback = "No losing trade entered the failure vault this week."
    else:
        parts = [f"{count(vault['losing_trades'])} losing trades cost {money(vault['total_loss'], cur, signed=False)}"
                 f" this week; {count(vault['with_post_mortem']) or 0} of them have a post-mortem."]
        clusters = sorted(vault["clusters"], key=lambda c: -(_value(c["count"]) or 0))
        if clusters:
            top = clusters[0]
            parts.append(f"The largest cluster was {top['label']} with {count(top['count'])} trades "
                         f"({money(top['loss'], cur)}).")
        if worst:
            parts.append(f"{worst['symbol']} was hit hardest: {count(worst['count'])} losses from "
                         f"{worst['label'].lower()}, {money(worst['loss'], cur)} in total.")
        fallback = _join(parts)
    if adjustments:
        fallback += (f" Strategy adjustments on the list ({len(adjustments)}): "
                     + "; ".join(f"{a['scope']}: {a['change']} ({a['status']})" for a in adjustments) + ".")
    return Section(
        "vault", "Failure vault: what broke, what changed",
        "In one paragraph, explain what the losing trades have in common (the largest cluster and the "
        "worst symbol) and what was changed in response.",
        90, tuple(lines), fallback.strip(),
    )


def _news_section(facts: Facts) -> Section:
    news = facts["news"]
    traded = sorted({s["symbol"] for b in facts["books"] for s in b["week"]["symbols"] if s["symbol"]})
    lines = [f"News #{n['rank']}: {n['title']} (via {n['source']})" for n in news[:8]]
    if traded:
        lines.append(f"Symbols traded this week: {', '.join(traded)}")
    if news:
        sources = sorted({n["source"] for n in news if n["source"]})
        fallback = (f"{len(news)} items made the news list this week, from {', '.join(sources)}; "
                    f"the top one was \u201c{news[0]['title']}\u201d.")
    else:
        fallback = "No news item was recorded for this week."
    return Section(
        "news", "News that mattered",
        "In one or two sentences, say what the news items below have in common and whether they touch "
        "the symbols the bot traded. The list itself is shown below your sentences, so do not repeat it.",
        40, tuple(lines), fallback,
    )


def _insight_section(facts: Facts, cur: str) -> Section:
    week = facts["all_books"]["week"]
    adjustments = sorted(facts["adjustments"], key=lambda a: -(_value(a["confidence"]) or 0))
    lines = _lines(
        ("Expectancy", money(week["expectancy"], f"{cur} per trade")),
        ("Average win", money(week["avg_win"], cur)),
        ("Average loss", money(week["avg_loss"], cur)),
        ("Win rate", pct(week["win_rate"])),
        ("R:R ratio", ratio(week["rr_ratio"])),
        ("Profit factor", ratio(week["profit_factor"])),
    )
    worst = facts["vault"]["worst"]
    if worst:
        lines.append(f"Most repeated failure: {worst['label']} on {worst['symbol']}")
    if adjustments:
        a = adjustments[0]
        lines.append(f"Highest-confidence adjustment: {a['change']} ({pct(a['confidence'], 0)}, {a['status']})")

    expectancy = _value(week["expectancy"])
    if expectancy is None:
        fallback = ("No trade closed this week, so the edge could not be measured. A quiet week is "
                    "still data: the filters held the bot back, and nothing was forced.")
    else:
        verdict = "covered" if expectancy >= 0 else "did not cover"
        fallback = _join([
            f"Expectancy was {money(week['expectancy'], cur)} per trade.",
            f"An average win of {money(week['avg_win'], cur) or 'n/a'} at a {pct(week['win_rate'])} win rate "
            f"{verdict} an average loss of {money(week['avg_loss'], cur) or 'n/a'}.",
        ])
    if adjustments:
        a = adjustments[0]
        fallback += (f"\n\nThe change to watch next week is the one held with the most confidence: "
                     f"{a['change']} ({pct(a['confidence'], 0)} confidence, {a['status']}).")
    return Section(
        "insight", "One operating insight",
        "Give one operating lesson from this week's figures: state the lesson in one sentence, then "
        "explain in a short paragraph why the figures support it and what to watch next week.",
        120, tuple(lines), fallback,
    )


def _stack_section(facts: Facts, site: SiteConfig, llm: LLMConfig) -> Section:
    stamp = facts["stamp"]
    lines = [f"Stack item: {item}" for item in site.stack]
    lines.append(f"Drafting: {drafting_line(llm)}")
    if site.stack:
        fallback = "The stack behind this issue: " + "; ".join(site.stack) + "."
    else:
        fallback = (f"This issue was compiled by publisher {stamp['tool_version']} from the trading "
                    f"book {stamp['book_file']}.").replace("  ", " ")
    return Section(
        "stack", "Stack and infra",
        "In two or three sentences, describe the stack that produced this issue and one trade-off it "
        "makes. Use only the stack items listed.",
        60, tuple(lines), fallback,
    )


def drafting_line(llm: LLMConfig) -> str:
    """How the prose was drafted, as a fact the stack section may cite."""
    if llm.backend == "none":
        return "facts-only templates, no language model"
    model = llm.api_model if llm.backend == "openai" else llm.model
    return (f"{model} via {llm.backend}, one call per section, each under the {llm.token_ceiling}-token ceiling")


def weekly_sections(facts: Facts, site: SiteConfig, llm: LLMConfig) -> list[Section]:
    """The weekly post's prose sections, in the order of WEEKLY_SECTION_KEYS."""
    cur = facts["currency"]
    return [
        _week_section(facts, cur),
        _vault_section(facts, cur),
        _news_section(facts),
        _insight_section(facts, cur),
        _stack_section(facts, site, llm),
    ]
