"""Sectional drafting: independent, capped generations per section, checked against the facts.

`draft_weekly` is what the weekly job calls; `draft_sections` is the general engine that long-form
briefs (`publish draft`) use too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from publisher.config import LLMConfig, SiteConfig
from publisher.drafting.backends import probe_server
from publisher.drafting.engine import Log, Meter, Progress, draft_sections
from publisher.drafting.guard import index_facts
from publisher.drafting.plan import WEEKLY_SECTION_KEYS, Section, drafting_line, section_cap, weekly_sections

if TYPE_CHECKING:
    from publisher.facts.contract import Facts

__all__ = [
    "WEEKLY_SECTION_KEYS", "Section", "draft_sections", "draft_weekly", "probe_server", "resolve_model",
    "section_cap", "weekly_sections",
]


def draft_weekly(
    facts: Facts,
    llm: LLMConfig,
    site: SiteConfig,
    progress: Progress | None = None,
    log: Log | None = None,
    meter: Meter | None = None,
) -> dict[str, Any]:
    """Draft the weekly post's prose sections (WEEKLY_SECTION_KEYS order) from the fact sheet.

    Returns the JSON-ready draft record; a failing section falls back to its facts-only text.
    Raises DraftError only when drafting is impossible for config reasons (unknown model, cap at
    or above the ceiling).
    """
    index = index_facts(facts, extra_texts=[*site.stack, drafting_line(llm)])
    return draft_sections(weekly_sections(facts, site, llm), llm, index, progress=progress, log=log, meter=meter)


def resolve_model(model: str, install: bool = True, log: Log | None = None) -> str | None:
    """What mlx-lm will load for `[llm] model` (a folder or hub id); None if not installed and not `install`."""
    from publisher.drafting.models import locate_model

    located = locate_model(model, log or (lambda line: None), install=install)
    return located[0] if located else None
