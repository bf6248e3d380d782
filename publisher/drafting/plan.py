"""Sections: what each generation call is asked for, and the weekly post's section plan.

A section carries everything its call may see (heading, one-sentence instruction, target length,
the fact lines it may use) and its facts-only text, written from templates: that text is what the
`none` backend publishes and what any failed section falls back to. Sections never see each
other's output.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from publisher.common import figures
from publisher.config import LLMConfig, SiteConfig
from publisher.errors import DraftError
from publisher.facts.contract import is_control_test

if TYPE_CHECKING:
    from publisher.facts.contract import Facts, Finding, News, Vault, WeekStats

WEEKLY_SECTION_KEYS = ("week", "vault", "news", "insight", "stack")

TOKENS_PER_WORD = 1.6
CAP_MARGIN = 24
DEFAULT_MAX_TOKENS = 400
MIN_CAP = 16
REWRITE_MIN_WORDS = 24
REWRITE_MAX_WORDS = 28
REWRITE_SLACK = 1.2


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
    notes: str = ""  # what a rewrite works from when the facts-only text is too long to say again
    # False: the facts-only text is the section, whatever the backend (nothing in it to interpret).
    model: bool = True
    tail: str = ""  # facts-only text published after the model's paragraph (what its point leaves out)


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


def section_words(section: Section, llm: LLMConfig) -> int:
    """Words a section's generation may take. A rewrite says its skeleton and point again, so it is
    about as long as they are, and at most REWRITE_MAX_WORDS unless `[llm] max_tokens` is set: the
    batch waits for its longest section, one decoding step of the bundled model costs ~0.2 s on a
    2-core CPU, and a small model that writes longer mostly loops. A large model gets room from
    `max_tokens`."""
    if not section.rewrite or llm.max_tokens:
        return section.target_words
    said = len(f"{section.notes or section.fallback} {section.point}".split())
    return min(section.target_words, REWRITE_MAX_WORDS, max(REWRITE_MIN_WORDS, math.ceil(said * REWRITE_SLACK)))


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


def _join(parts: list[str], sep: str = " ") -> str:
    return sep.join(p for p in parts if p)


# ---- the weekly plan --------------------------------------------------------------------------


def _week_section(facts: Facts, cur: str) -> Section:
    head = figures.headline_block(facts)
    week = head["week"]
    before = head.get("previous_week")
    change = head.get("change")
    lines = _lines(
        ("Dates", facts["week"].get("label")),
        ("Headline books", f"{head.get('name')} ({head.get('basis')})" if head.get("basis") else None),
        ("Round-trips", count(week.get("round_trips"))),
        ("Win rate", pct(week.get("win_rate"))),
        ("Realized PnL", money(week.get("realized_pnl"), cur)),
        ("Return", pct(week.get("return"), 2, signed=True)),
        ("Max drawdown", pct(week.get("max_drawdown"), 2)),
        ("R:R ratio", ratio(week.get("rr_ratio"))),
        ("Profit factor", ratio(week.get("profit_factor"))),
        ("Fees", money(week.get("fees"), cur, signed=False)),
        ("Previous week realized PnL", money(before["realized_pnl"] if before else None, cur)),
        ("Change in realized PnL against the previous week", money(change["realized_pnl"] if change else None, cur)),
        ("Previous week win rate", pct(before["win_rate"] if before else None)),
    )
    for book in facts["books"]:
        bw = book["week"]
        lines += _lines((
            f"Book '{book.get('name')}' ({book.get('role')})",
            _join([f"{count(bw.get('round_trips')) or 0} round-trips,",
                   f"win rate {pct(bw.get('win_rate')) or 'n/a'},",
                   f"realized PnL {money(bw.get('realized_pnl'), cur) or 'n/a'}"]),
        ))
    for label, sym in (("Best symbol", week["best_symbol"]), ("Worst symbol", week["worst_symbol"])):
        if sym:
            lines += _lines((label, f"{sym.get('symbol')} ({money(sym.get('pnl'), cur)})"))
    control = next((f for f in facts.get("findings") or [] if is_control_test(f)), None)
    if control:
        lines.append(f"Control test: {control.get('text')}")
    lines += [f"Warning: {w}" for w in facts.get("warnings") or []]

    # The figures are listed above the paragraph: the facts-only text says what they are measured
    # against instead of listing them again.
    trips = _value(week.get("round_trips")) or 0
    parts: list[str] = []
    if not trips:
        fallback = "No round-trip closed this week, so there is no new win rate or PnL to read."
    else:
        now, then = _value(week.get("realized_pnl")), _value(before["realized_pnl"] if before else None)
        if now is not None and then is not None:
            if (then < 0) != (now < 0):
                move = "turned from a loss to a profit" if now >= 0 else "turned from a profit to a loss"
            elif now < 0:
                move = "loss narrowed" if now > then else "loss widened" if now < then else "loss held"
            else:
                move = "profit grew" if now > then else "profit shrank" if now < then else "profit held"
            parts.append(f"Against the previous week, the {move}." if move.startswith(("loss", "profit"))
                         else f"Against the previous week, realized PnL {move}.")
        if control:
            parts.append("Against the inverted mirror, the same signals on the other side, "
                         + control_verdict(str(control["week"].get("verdict"))) + " this week.")
        if week.get("small_sample"):
            parts.append("The sample is small, so the win rate says little yet.")
        fallback = _join(parts) or (f"The books closed {count(week.get('round_trips'))} round-trips this week "
                                    f"with realized PnL of {money(week.get('realized_pnl'), cur)}.")
    return Section(
        "week", "This week in paper trading",
        "In one short paragraph, say what this week's figures mean: the result against the previous "
        "week, the win rate against the R:R ratio, and whether the standard book beat its control. "
        "The figures are listed above the paragraph, so interpret them instead of listing them.",
        70, tuple(lines), fallback, point=(point := _week_point(week, cur)), rewrite=True, notes=point,
        tail=fallback if trips and parts else "",  # with nothing to compare, the point says it all
    )


def _week_point(week: WeekStats, cur: str) -> str:
    """The one thing the week's figures say, decided here so the model cannot get its sign wrong.
    One figure: with a second (the profit factor, the previous week) the bundled model mixed them up
    or explained them wrongly ("a profit factor of 0.91, a positive return")."""
    pnl = _value(week.get("realized_pnl"))
    if pnl is None:
        return "No trade closed, so there is no result to read."
    verdict = "made money" if pnl > 0 else "lost money" if pnl < 0 else "broke even"
    return f"The week {verdict}: realized PnL was {money(week.get('realized_pnl'), cur)}."


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

    fixes = [f for f in facts.get("findings") or [] if f.get("kind") == "fix_check"]
    lines += [f"Fix check: {f.get('text')}" for f in fixes]

    # The clusters and the adjustments are listed above the paragraph; the facts-only text reports
    # whether the fixes shipped in earlier weeks worked, which the lists do not show.
    judged = [f for f in fixes if f.get("verdict") != "too few trades"]
    if judged:
        fallback = _join([str(f.get("text")) for f in judged[:2]])
    elif fixes:
        fallback = str(fixes[0].get("text"))
    elif not (_value(vault.get("losing_trades")) or 0):
        fallback = "No losing trade entered the failure vault this week."
    elif not (_value(vault.get("with_post_mortem")) or 0):
        fallback = (f"None of the {count(vault.get('losing_trades'))} losing trades has a post-mortem, so the "
                    "vault cannot say what broke yet.")
    else:
        fallback = ("No fix shipped in the week before targets a root cause or a symbol, so there is "
                    "no before-and-after to read yet.")
    # The model says the point (the cause with the largest loss); whether the fixes worked follows it as
    # facts-only text, so a rewrite never drops the before-and-after the section exists to report.
    point = _vault_point(vault, cur)
    return Section(
        "vault", "Failure vault: what broke, what changed",
        "In one paragraph, explain what the losing trades have in common (the largest cluster and the "
        "worst symbol) and whether the fixes shipped earlier reduced those losses.",
        90, tuple(lines), fallback.strip(), point=point, notes=point, tail=fallback.strip() if fixes else "",
        anchors=tuple([str(c.get("label")) for c in vault.get("clusters") or [] if c.get("label")]
                      + [str(a.get("change")) for a in adjustments if a.get("change")]),
        rewrite=True,
    )


def _vault_point(vault: Vault, cur: str) -> str:
    clusters = vault.get("clusters") or []
    if not clusters:  # no losing trade, or a book without a failure vault (Freqtrade)
        losing = _value(vault.get("losing_trades")) or 0
        return (f"{count(vault.get('losing_trades'))} losing trades cost {money(vault.get('total_loss'), cur)} "
                "this week." if losing else "No losing trade this week.")
    top = min(clusters, key=lambda c: _value(c.get("loss")) or 0.0)  # the largest loss ("the most damage")
    return (f"{top.get('label')} did the most damage: {count(top.get('count'))} trades, "
            f"{money(top.get('loss'), cur)}.")


def _news_section(facts: Facts) -> Section:
    news = facts["news"]
    traded = sorted({s["symbol"] for b in facts["books"] for s in b["week"]["symbols"] if s["symbol"]})
    lines = [f"News #{n['rank']}: {n['title']} (via {n['source']})" for n in news[:8]]
    if traded:
        lines.append(f"Symbols traded this week: {', '.join(traded)}")
    tickers = {t.split("/")[0].upper() for t in traded}
    touched = sorted({tk for n in news for tk in tickers if tk and tk in _title_words(n)})
    if news:
        fallback = (f"Of these items, the ones naming a coin the bot traded this week: {', '.join(touched)}."
                    if touched else "None of these items names a coin the bot traded this week.")
    else:
        fallback = "No news item was recorded for this week."
    return Section(
        "news", "News that mattered",
        "In one or two sentences, say what the news items below have in common and whether they touch "
        "the symbols the bot traded. The list itself is shown below your sentences, so do not repeat it.",
        40, tuple(lines), fallback, point=(point := _news_point(touched)), notes=point, rewrite=True,
        model=bool(touched),  # no news item names a traded coin: nothing to interpret, the facts-only line says so
    )


def _news_point(touched: list[str]) -> str:
    """Which traded coins the week's news items name ("" when none: the section is not drafted)."""
    if not touched:
        return ""
    # No count: how many items name a traded coin is not a fact of the sheet, so the guard could not
    # check it ("The 7 news items named..." passed as the number of items).
    if len(touched) == 1:
        return f"{touched[0]}, a coin the bot traded, was in the news this week."
    return f"{', '.join(touched[:-1])} and {touched[-1]}, coins the bot traded, were in the news this week."


def _title_words(item: News) -> list[str]:
    return str(item.get("title") or "").upper().replace("(", " ").replace(")", " ").split()


WHY_IT_MATTERS = {
    "control_test": "The inverted book takes the same signals on the other side, so the difference between "
                    "the two is the signal's edge with fees and market drift cancelled out: until it is told "
                    "apart from zero, a good or bad week says more about luck and fees than about the strategy.",
    "fix_check": "A fix earns its place only if the losses it targets shrink per trade, not just because fewer "
                 "trades were taken: that is the number to watch next week.",
    "concentration": "When one symbol or one cause carries the loss, one targeted change can remove most of it.",
    "fee_drag": "Fees are paid on every trade whatever the signal says: trading less, or on larger moves, is the "
                "lever that does not depend on being right.",
    "biggest_change": "One week moves a lot on a small sample: watch whether next week confirms the move or "
                      "falls back to the average.",
}


def _insight_section(facts: Facts, cur: str) -> Section:
    week = figures.headline_block(facts).get("week") or {}
    findings = facts.get("findings") or []
    lines = [f"Finding {f.get('rank')} ({f.get('kind')}): {f.get('text')}" for f in findings[:3]]
    lines += _lines(
        ("Expectancy", money(week.get("expectancy"), f"{cur} per trade")),
        ("Win rate", pct(week.get("win_rate"))),
        ("R:R ratio", ratio(week.get("rr_ratio"))),
    )
    if findings:
        top = findings[0]
        fallback = f"{top.get('text')}\n\n{WHY_IT_MATTERS.get(str(top.get('kind')), '')}".strip()
    elif _value(week.get("expectancy")) is None:
        fallback = ("No trade closed this week, so the edge could not be measured. A quiet week is "
                    "still data: the filters held the bot back, and nothing was forced.")
    else:
        verdict = "covered" if (_value(week.get("expectancy")) or 0) >= 0 else "did not cover"
        fallback = _join([
            f"Expectancy was {money(week['expectancy'], cur)} per trade.",
            f"An average win of {money(week['avg_win'], cur) or 'n/a'} at a {pct(week['win_rate'])} win rate "
            f"{verdict} an average loss of {money(week['avg_loss'], cur) or 'n/a'}.",
        ])
    point = short_finding(findings[0], cur) if findings else (
        f"Expectancy was {money(week.get('expectancy'), cur)} per trade."
        if _value(week.get("expectancy")) is not None else "No trade closed, so the edge could not be measured.")
    return Section(
        "insight", "One operating insight",
        "Give one operating lesson built on the first finding: state the lesson in one sentence, then "
        "explain in a short paragraph why its figures support it and what to watch next week.",
        120, tuple(lines), fallback, point=point,
        anchors=tuple(str(f.get("text")) for f in findings[:1] if f.get("text")),
        rewrite=True, notes=point if findings else "",
        tail=_join([finding_details(findings[0]), WHY_IT_MATTERS.get(str(findings[0].get("kind")), "")],
                   "\n\n") if findings else "",
    )


def control_verdict(verdict: str) -> str:
    """The control test's verdict in words. The verdict is the sign test over paired trades, so it
    speaks of pairs: the total edge can be positive while the mirror wins more pairs."""
    return {"too few trades": "there were too few paired trades to judge",
            "standard ahead": "the standard side won more paired trades than chance would give",
            "mirror ahead": "the mirror side won more paired trades than chance would give",
            }.get(verdict, "the edge was not distinguishable from zero")


def short_finding(finding: Finding, cur: str) -> str:
    """A finding's point in one short sentence (its full text holds every figure of the test): what a
    small model can say again within its cap."""
    if is_control_test(finding):
        total = money(finding["edge"]["total"], cur)
        return (f"The standard book's edge over its inverted mirror was {total} this week, and "
                f"{control_verdict(str(finding['week'].get('verdict')))}.")
    text = str(finding.get("text") or "")
    return re.split(r"; |, and per week ", text, maxsplit=1)[0].rstrip(".") + "."


def finding_details(finding: Finding) -> str:
    """What a finding's text says after its first clause (the sign test's pairs, p and interval,
    the figure since the start, the previous week), for the text that follows a short point. The
    control test's verdict for the week is the point's, so it is not said again."""
    parts = str(finding.get("text") or "").split("; ", 1)
    if len(parts) < 2:
        return ""
    rest = parts[1][:1].upper() + parts[1][1:]
    return re.sub(r"\): [^.]*\.", ").", rest, count=1) if is_control_test(finding) else rest


def _stack_section(facts: Facts, site: SiteConfig, llm: LLMConfig) -> Section:
    stamp = facts["stamp"]
    lines = [f"Stack item: {item}" for item in site.stack]
    lines.append(f"Drafting: {drafting_line(llm)}")
    if site.stack:  # listed above the paragraph: say what the list does not
        fallback = f"This issue was drafted with {drafting_line(llm)}."
    else:
        fallback = (f"This issue was compiled by publisher {stamp['tool_version']} from the trading "
                    f"book {stamp['book_file']}.").replace("  ", " ")
    # Not drafted: the stack is the operator's own list, shown as a list, and the one line under it
    # says how the issue was drafted. A model has nothing to interpret here; the bundled one garbled
    # the list every week of the quality benchmark (docs/benchmarks.md, "Draft quality").
    return Section(
        "stack", "Stack and infra",
        "In two or three sentences, describe the stack that produced this issue and one trade-off it "
        "makes. Use only the stack items listed.",
        60, tuple(lines), fallback, anchors=tuple(site.stack), model=False,
    )


def drafting_line(llm: LLMConfig) -> str:
    """How the prose was drafted, as a fact the stack section may cite."""
    if llm.backend == "none":
        return "facts-only templates, no language model"
    model = llm.api_model if llm.backend == "openai" else llm.model
    return (f"{model} via {llm.backend}, one call per section, each under the {llm.token_ceiling}-token ceiling")


def weekly_sections(facts: Facts, site: SiteConfig, llm: LLMConfig) -> list[Section]:
    """The weekly post's prose sections, in the order of WEEKLY_SECTION_KEYS.

    By default a drafted section asks for one sentence on its point and its facts-only text follows
    (the job the bundled model does well). With `[llm] max_tokens` set, a large model has room: it
    rewrites the whole facts-only text around the point, and nothing follows its paragraph."""
    cur = facts["currency"]
    sections = [
        _week_section(facts, cur),
        _vault_section(facts, cur),
        _news_section(facts),
        _insight_section(facts, cur),
        _stack_section(facts, site, llm),
    ]
    if llm.max_tokens:
        return [replace(s, notes="", tail="") if s.rewrite and s.model else s for s in sections]
    return sections
