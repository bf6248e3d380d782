"""The Tuesday job: facts -> draft -> post file -> site, feed, email, dev.to -> deploy.

Safe to re-run: a post whose body was edited by hand is never regenerated without `force`
(detected through `generated_hash` in its front matter), an unchanged week rewrites nothing,
and every file is written atomically.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from publisher.book.reader import open_book
from publisher.common import figures
from publisher.common.figures import figures_hash
from publisher.common.fsutil import atomic_write_text
from publisher.common.progress import Progress
from publisher.common.weeks import IsoWeek, last_complete_week, parse_week
from publisher.config import Config
from publisher.facts.compute import compute_facts
from publisher.site.content import dump_post, parse_front_matter

if TYPE_CHECKING:
    from publisher.facts.contract import Facts


@dataclass
class WeeklyResult:
    week: str
    action: str  # written | regenerated | unchanged | kept-edited | skipped-quiet
    post_path: Path | None = None
    facts_path: Path | None = None
    backup_path: Path | None = None
    headline: str = ""
    published: bool = False
    warnings: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    build: Any = None
    deploy: Any = None


def body_hash(body: str) -> str:
    """Hash of a post body, blind to line endings and trailing blank space an editor may add."""
    normal = "\n".join(line.rstrip() for line in body.replace("\r\n", "\n").split("\n")).strip()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def weekly_paths(config: Config, week: IsoWeek) -> tuple[Path, Path, Path]:
    folder = config.content_dir / "weekly"
    return folder / f"{week}.md", folder / f"{week}.facts.json", folder / f"{week}.draft.json"


def headline(facts: Facts) -> str:
    """One line of the week's figures for the summary, formatted like the post formats them."""
    week = figures.headline_block(facts)["week"]
    return (
        f"{facts['week']['iso']}: {figures.count(week['round_trips'])} round-trips, "
        f"win rate {figures.pct(week['win_rate'])}, realized PnL {figures.money(week['realized_pnl'])}, "
        f"return {figures.pct(week['return'], digits=2, sign=True)}"
    )


def run_weekly(
    config: Config,
    week: str | None = None,
    *,
    publish: bool = False,
    push: bool = False,
    force: bool = False,
    accept_claims: bool = False,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
    use_cache: bool = True,
) -> WeeklyResult:
    progress = progress or Progress()
    tz = config.site.timezone
    now = now or dt.datetime.now(ZoneInfo(tz))
    iso_week = parse_week(week) if week else last_complete_week(now, tz)
    post_path, facts_path, draft_path = weekly_paths(config, iso_week)

    with progress.stage(f"facts {iso_week}"), open_book(
        config.path(config.book.path), config.book, cache_dir=config.state_dir / "cache" if use_cache else None
    ) as book:
        facts = compute_facts(book, iso_week, tz, config.book.primary or None)
    result = WeeklyResult(week=str(iso_week), action="", headline=headline(facts),
                          facts_path=facts_path, warnings=list(facts.get("warnings", [])))

    quiet = (facts["all_books"]["week"]["round_trips"]["value"] or 0) == 0
    if quiet and config.weekly.quiet_week == "skip" and not post_path.exists():
        result.action = "skipped-quiet"
        return result

    existing = _read_post(post_path)
    edited = existing is not None and existing[0].get("generated_hash") != body_hash(existing[1])
    same_figures = existing is not None and existing[0].get("facts_hash") == figures_hash(facts)

    if existing is not None and not force and (edited or same_figures):
        result.action = "kept-edited" if edited else "unchanged"
        result.post_path = post_path
        if publish and existing[0].get("status") != "published":
            text = post_path.read_text(encoding="utf-8")
            text = gate_claims(post_path, text, facts, config, accept_claims)
            atomic_write_text(post_path, _mark_published(text, now))
            result.files.append(post_path)
    else:
        draft = _draft(facts, config, progress)
        record = drafting_record(draft)
        result.warnings += _draft_warnings(record)
        from publisher.render.weekly_post import render_weekly_markdown

        meta, body = render_weekly_markdown(facts, draft, config)
        meta["drafting"] = record
        meta["generated_hash"] = body_hash(body)
        meta["facts_hash"] = figures_hash(facts)
        if publish:
            meta["status"] = "published"
            meta["date"] = now.replace(microsecond=0).isoformat()
            refused = unsupported_claims(post_path, dump_post(meta, body), facts, config)
            if refused and not accept_claims:
                meta["status"] = "draft"  # written for review, not published
            elif refused:
                meta["accepted_claims"] = [{"claim": c.text, "reason": c.reason} for c in refused]
        elif existing is not None and existing[0].get("status") == "published":
            meta["status"], meta["date"] = "published", existing[0].get("date", meta.get("date"))
        if existing is not None:
            result.backup_path = _backup(post_path, now)
            result.files.append(result.backup_path)
        atomic_write_text(facts_path, json.dumps(facts, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        atomic_write_text(draft_path, json.dumps(draft, indent=2, ensure_ascii=False) + "\n")
        atomic_write_text(post_path, dump_post(meta, body))
        result.files += [post_path, facts_path, draft_path]
        result.action = "regenerated" if existing is not None else "written"
        result.post_path = post_path
        if publish and meta["status"] == "draft":
            gate_claims(post_path, dump_post(meta, body), facts, config, False)

    written = _read_post(post_path)
    result.published = written is not None and written[0].get("status") == "published"

    from publisher.errors import NothingToBuild
    from publisher.site.build import build_site

    try:
        result.build = build_site(config, progress=progress)
        result.warnings += result.build.warnings
    except NothingToBuild:
        if result.published:
            raise
        result.build = None  # a first draft and nothing published yet: no site to build, not a failure

    if push:
        from publisher.ops.deploy import deploy_site

        with progress.stage("deploy"):
            result.deploy = deploy_site(config, f"Publish {iso_week}")
    return result


def _draft(facts: Facts, config: Config, progress: Progress) -> dict:
    from publisher.drafting import draft_weekly, probe_server

    if config.llm.backend == "openai":
        # A server that is down fails the run up front; faults of one section fall back instead.
        probe_server(config.llm)
    model = config.llm.api_model if config.llm.backend == "openai" else config.llm.model
    label = f"draft ({config.llm.backend}: {model})" if config.llm.backend != "none" else "draft (facts only)"
    with progress.stage(label):
        return draft_weekly(facts, config.llm, config.site, progress=lambda key, done, total: progress.step(key, done, total),
                            log=progress.line, meter=progress)


def drafting_record(draft: dict) -> dict:
    """What the operator reviewing the post should know about its prose: where it came from,
    which sections fell back to facts-only text and why, and what the guard removed."""
    sections = draft.get("sections", [])
    record: dict[str, Any] = {"backend": draft.get("backend"), "model": draft.get("model")}
    fallbacks = {s["key"]: s.get("fallback_reason") for s in sections if s.get("fallback")}
    dropped = {s["key"]: len(s["guard"]["dropped"]) for s in sections if s.get("guard", {}).get("dropped")}
    if fallbacks:
        record["fallback"] = fallbacks
    if dropped:
        record["guard_dropped_sentences"] = dropped
    return record


def _draft_warnings(record: dict) -> list[str]:
    """The summary's lines for what `drafting_record` found."""
    return [
        *(f"guard dropped {count} sentence(s) from '{key}' (numbers not in the facts)"
          for key, count in record.get("guard_dropped_sentences", {}).items()),
        *(f"section '{key}' fell back to facts-only text: {reason}" for key, reason in record.get("fallback", {}).items()),
    ]


def unsupported_claims(post_path: Path, text: str, facts: Mapping[str, Any], config: Config) -> list:
    """The post's claims that its fact sheet does not support (`publish check`), accepted ones excepted."""
    from publisher.drafting.check import check_text

    return check_text(post_path, text, dict(facts), config)


def gate_claims(post_path: Path, text: str, facts: Mapping[str, Any], config: Config, accept: bool) -> str:
    """Refuse to publish unsupported claims (ClaimsError), or with `accept` record them in the
    front matter (`accepted_claims:`) and return the text to publish."""
    from publisher.drafting.check import ClaimsError, record_accepted

    claims = unsupported_claims(post_path, text, facts, config)
    if not claims:
        return text
    if not accept:
        raise ClaimsError(
            f"{post_path}: {len(claims)} unsupported claim(s), not published; first: line {claims[0].line}: "
            f"{claims[0].text[:120]}: {claims[0].reason}; see all with 'publish check {post_path}', fix them, "
            "or publish with --accept-claims to record that you checked them")
    return record_accepted(text, claims)


def _read_post(path: Path) -> tuple[dict, str] | None:
    if not path.exists():
        return None
    return parse_front_matter(path.read_text(encoding="utf-8"), path)


_STATUS_LINE = re.compile(r"^status:.*$", re.MULTILINE)
_DATE_LINE = re.compile(r"^date:.*$", re.MULTILINE)


def _mark_published(text: str, now: dt.datetime) -> str:
    """Flip a post to published by touching only its status and date lines, so hand edits stay byte-exact."""
    head, sep, rest = text.partition("\n---")
    stamp = now.replace(microsecond=0).isoformat()
    head = _STATUS_LINE.sub("status: published", head, count=1)
    head = _DATE_LINE.sub(f"date: '{stamp}'", head, count=1)
    return head + sep + rest


def _backup(path: Path, now: dt.datetime) -> Path:
    backup = path.with_name(f"{path.name}.{now:%Y%m%dT%H%M%S}.bak")
    atomic_write_text(backup, path.read_text(encoding="utf-8"))
    return backup
