"""The weekly post: front matter and Markdown body from the fact sheet plus the drafted prose.

Every figure, list and table comes from the facts through `templates/weekly.md.j2`; the draft only
contributes prose paragraphs, escaped so that an LLM cannot inject markup, links, images or HTML.
A site can override the template by putting its own `weekly.md.j2` in its `templates/` folder.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2

from publisher.common import figures as F
from publisher.common.rules import MAX_TAGS
from publisher.common.sanitize import md_escape, safe_url
from publisher.config import Config
from publisher.drafting.plan import WEEKLY_SECTION_KEYS
from publisher.errors import ConfigError
from publisher.render.charts import chart_specs
from publisher.render.markdown import template_env

if TYPE_CHECKING:
    from publisher.facts.contract import Facts

TEMPLATE = "weekly.md.j2"


def md_prose(text: object) -> str:
    """Untrusted prose (LLM output) as literal Markdown: paragraphs kept, every construct escaped."""
    paragraphs = str(text or "").replace("\r\n", "\n").split("\n\n")
    return "\n\n".join(p for p in (md_escape(p) for p in paragraphs) if p)


def md_url(url: object) -> str:
    """An untrusted URL as a Markdown link target: safe schemes only, nothing that ends the link early."""
    return quote(safe_url(url), safe="!#$%&'*+,-./:;=?@[]^_`{|}~")


def bidi_isolate(text: str) -> str:
    """Wrap text holding right-to-left script in Unicode isolates (FSI...PDI), so an Arabic or Hebrew
    headline cannot reorder the punctuation and figures around it; works in HTML, text and feeds."""
    if any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text):
        return f"\u2068{text}\u2069"
    return text


def _markdown_env(config: Config) -> jinja2.Environment:
    """The shared template environment (site templates first, autoescape off for .md) plus figure filters."""
    env = template_env(config)
    env.add_extension("jinja2.ext.do")
    env.filters.update(
        md=md_escape, prose=md_prose, md_url=md_url, isolate=bidi_isolate,
        money=F.money, pct=F.pct, ratio=F.ratio, count=F.count, delta=F.delta,
    )
    return env


def weekly_title(facts: Facts, config: Config) -> str:
    week = facts["week"]
    try:
        return config.site.weekly_title.format(site=config.site.title, iso_year=week["iso_year"],
                                               week=week["week"], iso=week["iso"])
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"[site] weekly_title = {config.site.weekly_title!r}: bad placeholder ({exc}); "
            "use {site}, {iso_year}, {week} (e.g. {week:02d}) or {iso}"
        ) from None


def weekly_slug(facts: Facts) -> str:
    return f"weekly-{facts['week']['iso'].lower()}"


def week_end(facts: Facts, timezone: str) -> dt.datetime:
    """The post's date: the instant the week ended, shown in the site's timezone."""
    return dt.datetime.fromisoformat(facts["week"]["end"]).astimezone(ZoneInfo(timezone))


def is_quiet(facts: Facts) -> bool:
    return not F.num(F.headline_block(facts)["week"]["round_trips"])


def headline_scope(facts: Facts) -> str:
    """What the headline figures cover, in words: 'the standard book', 'across 2 books'."""
    head = F.headline_block(facts)
    if "book_ids" in head and len(head["book_ids"]) == 1:
        return f"in book {head['book_ids'][0]} ({head['name']})"
    books = len(head.get("book_ids") or facts["books"])
    return f"across {books} book{'s' if books != 1 else ''}"


def description(facts: Facts) -> str:
    """One factual line for listings, feeds and social cards: the headline book's figures."""
    head = F.headline_block(facts)
    week, where = head["week"], headline_scope(facts)
    label = facts["week"].get("label")
    when = f"Week {facts['week']['iso']}" + (f" ({label})" if label else "")
    if not F.num(week["round_trips"]):
        return f"{when}: no round-trips closed {where}."
    before = head.get("previous_week")
    was = f" (previous week {F.money(before['realized_pnl'])})" if before else ""
    return (f"{when}: {F.count(week['round_trips'])} round-trips {where}, "
            f"win rate {F.pct(week['win_rate'])}, realized PnL {F.money(week['realized_pnl'])}{was}.")


def _prose(draft: dict) -> dict[str, str]:
    texts = {key: "" for key in WEEKLY_SECTION_KEYS}
    for section in draft.get("sections", []):
        if section.get("key") in texts:
            texts[section["key"]] = md_prose(section.get("text", ""))
    return texts


def render_weekly_markdown(facts: Facts, draft: dict, config: Config) -> tuple[dict, str]:
    """(front matter, Markdown body) of the weekly post; status is always `draft` here."""
    site = config.site
    meta: dict[str, Any] = {
        "title": weekly_title(facts, config),
        "date": week_end(facts, site.timezone).isoformat(),
        "slug": weekly_slug(facts),
        "tags": list(dict.fromkeys(site.weekly_tags))[:MAX_TAGS],
        "description": description(facts),
        "status": "draft",
        "week": facts["week"]["iso"],
    }
    books = {str(b["id"]): b for b in facts["books"]}
    head = F.headline_block(facts)
    findings = facts.get("findings") or []
    body = _markdown_env(config).get_template(TEMPLATE).render(
        facts=facts,
        head=head,
        scope=headline_scope(facts),
        week=head["week"],
        control=next((f for f in findings if f.get("kind") == "control_test"), None),
        mirrors={m["inverted_book_id"]: m for m in facts.get("mirrors") or []},
        books=facts["books"],
        compared=[books[str(i)] for i in facts["comparison"]["book_ids"] if str(i) in books],
        quiet=is_quiet(facts),
        prose=_prose(draft),
        charts={spec.name: spec for spec in chart_specs(facts)},
        stack=site.stack,
        closing=site.closing,
    )
    return meta, re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
