"""Long-form drafts: a research brief (YAML) with an ordered list of sections -> a draft post.

The same engine as the weekly: each section is one capped call that sees only its own heading,
instruction and fact lines. A brief's facts are its own `facts:` lines per section plus, optionally,
a fact sheet JSON (`facts_file:`) that the guard also accepts figures from.

    title: Why every section stays under 500 tokens
    tags: [mlx, llm]
    description: One line for the feed.
    facts_file: content/weekly/2026-W16.facts.json   # optional, relative to the brief
    sections:
      - heading: The ceiling
        instruction: Explain what happens to a sparse MoE model after about 500 tokens.
        words: 150
        facts: ["Quality ceiling: 500 tokens of one output"]
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from publisher.common.rules import MAX_TAGS
from publisher.common.safeyaml import load_yaml
from publisher.config import LLMConfig
from publisher.drafting.engine import Log, Meter, Progress, draft_sections
from publisher.drafting.guard import index_facts
from publisher.drafting.plan import Section
from publisher.errors import DraftError, one_line

MAX_SECTIONS = 40


@dataclass(frozen=True)
class Brief:
    title: str
    slug: str
    description: str
    tags: list[str]
    sections: list[Section]
    facts: dict[str, Any]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "draft"


def _fallback(heading: str, instruction: str, facts: list[str]) -> str:
    """Facts-only text for a brief section: what the section is to cover, and its facts."""
    text = f"*To write: {instruction.strip()}*"
    if facts:
        text += "\n\n" + "\n".join(f"- {line}" for line in facts)
    return text


def load_brief(path: Path) -> Brief:
    """Parse and check a brief; every problem names the file and the section."""
    try:
        data = load_yaml(path.read_text(encoding="utf-8"), path, DraftError, "brief")
    except FileNotFoundError:
        raise DraftError(f"{path}: brief not found") from None
    except yaml.YAMLError as exc:
        raise DraftError(f"{path}: not valid YAML ({one_line(exc, with_type=False, limit=None)})") from None
    if not isinstance(data, dict):
        raise DraftError(f"{path}: a brief is a mapping with 'title' and 'sections'")
    title = str(data.get("title") or "").strip()
    if not title:
        raise DraftError(f"{path}: 'title' is missing")
    raw_sections = data.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        raise DraftError(f"{path}: 'sections' must be a non-empty list of {{heading, instruction, words}}")
    if len(raw_sections) > MAX_SECTIONS:
        raise DraftError(f"{path}: {len(raw_sections)} sections; split the brief (at most {MAX_SECTIONS})")
    facts: dict[str, Any] = {}
    if data.get("facts_file"):
        facts_path = (path.parent / str(data["facts_file"])).resolve()
        try:
            facts = json.loads(facts_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DraftError(f"{path}: facts_file {facts_path} unreadable ({type(exc).__name__})") from None
    sections = []
    keys: set[str] = set()
    for i, raw in enumerate(raw_sections, 1):
        where = f"{path}: section {i}"
        if not isinstance(raw, dict):
            raise DraftError(f"{where}: must be a mapping with heading, instruction, words")
        heading = str(raw.get("heading") or "").strip()
        instruction = str(raw.get("instruction") or "").strip()
        if not heading or not instruction:
            raise DraftError(f"{where}: needs both 'heading' and 'instruction'")
        words = raw.get("words", 150)
        if not isinstance(words, int) or isinstance(words, bool) or not 10 <= words <= 1000:
            raise DraftError(f"{where} ({heading}): 'words' must be a whole number from 10 to 1000")
        lines = raw.get("facts") or []
        if not isinstance(lines, list) or not all(isinstance(x, str | int | float) for x in lines):
            raise DraftError(f"{where} ({heading}): 'facts' must be a list of lines")
        lines = [str(x) for x in lines]
        key = _slug(heading)
        while key in keys:
            key += "-2"
        keys.add(key)
        sections.append(Section(key, heading, instruction, words, tuple(lines), _fallback(heading, instruction, lines)))
    tags = data.get("tags") or []
    if not isinstance(tags, list) or len(tags) > MAX_TAGS or not all(
            isinstance(t, str) and re.fullmatch(r"[a-z0-9]+", t) for t in tags):
        raise DraftError(f"{path}: 'tags' must be a list of at most {MAX_TAGS} lowercase letters-and-digits tags")
    return Brief(title, _slug(str(data.get("slug") or title)), str(data.get("description") or "").strip(),
                 list(tags), sections, facts)


def draft_brief(brief: Brief, llm: LLMConfig, progress: Progress | None = None,
                log: Log | None = None, meter: Meter | None = None) -> tuple[str, dict[str, Any]]:
    """The Markdown body (one `##` heading per section) and the draft record."""
    extra = [line for s in brief.sections for line in s.facts]
    index = index_facts(brief.facts, extra_texts=extra)
    draft = draft_sections(brief.sections, llm, index, progress=progress, log=log, meter=meter)
    body = "\n\n".join(f"## {s['heading']}\n\n{s['text']}" for s in draft["sections"]) + "\n"
    return body, draft


def brief_post(brief: Brief, body: str, draft: dict[str, Any], now: dt.datetime) -> tuple[dict[str, Any], str]:
    """Front matter and body of the draft post (status draft: a human reviews it first)."""
    meta: dict[str, Any] = {
        "title": brief.title, "date": now.replace(microsecond=0).isoformat(), "slug": brief.slug,
        "description": brief.description, "tags": brief.tags, "status": "draft",
        "drafted_with": {"backend": draft["backend"], "model": draft["model"],
                         "fallbacks": [s["key"] for s in draft["sections"] if s["fallback"]]},
    }
    if not meta["description"]:
        del meta["description"]
    return meta, body
