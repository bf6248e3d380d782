"""Posts as files: Markdown with YAML front matter anywhere under `content/`.

Weeklies live in `content/weekly/` (e.g. `2026-W16.md`, with the fact sheet `2026-W16.facts.json`
beside it); any other `.md` file is a hand-written post. Every problem is reported as a
`ContentError` that names the file and says what to fix, because a half-valid post would otherwise
surface later as a wrong date in a feed or a tag dev.to rejects.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from publisher.common.rules import MAX_TAGS
from publisher.common.safeyaml import load_yaml
from publisher.errors import ContentError, one_line

try:  # the C dumper is ~10x faster, which matters for a 1,000-post site
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]

MAX_TAG_CHARS = 30  # dev.to's limit for a tag name
MAX_HEADER_BYTES = 256 * 1024  # front matter beyond this is not hand-written metadata
MAX_FIELD_CHARS = 20_000  # any one text value in the front matter
YEARS = (1000, 9998)  # a post date outside these cannot be shown in every time zone
STATUSES = ("draft", "published")
# Keys written first, in this order, by dump_post; unknown keys follow in alphabetical order.
KEY_ORDER = ("title", "date", "slug", "description", "tags", "status", "canonical_url", "cover_image", "series")
_TAG = re.compile(r"^[a-z0-9]+$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_FENCE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)


@dataclass
class Post:
    source: Path  # the .md file
    slug: str
    title: str
    date: dt.datetime  # aware
    tags: list[str]
    description: str
    status: str  # "draft" | "published"
    canonical_url: str | None
    cover_image: str | None
    series: str | None
    body: str  # Markdown body (without front matter)
    meta: dict  # all front matter as parsed
    kind: str  # "weekly" (under content/weekly/) or "post"
    facts_path: Path | None  # the .facts.json beside a weekly, if present
    url_path: str  # site-relative, e.g. "weekly/2026-w16/" (page at site/weekly/2026-w16/index.html)
    source_digest: str  # SHA-256 of the file's text as read (the build cache key; no second read)
    html: str = ""  # body rendered to HTML (set by render_post_html / the build)


def parse_front_matter(text: str, source: Path) -> tuple[dict, str]:
    """Split a post into its front matter (a mapping) and its Markdown body.

    The body is everything after the closing `---` line, minus the one blank separator line that
    `dump_post` writes, so `parse_front_matter(dump_post(m, b))` gives back `b` exactly.
    """
    text = text.removeprefix("\ufeff")
    if not text.startswith("---"):
        raise ContentError(f"{source}: no front matter; start the file with a '---' line, then 'title: ...', then '---'")
    first_nl = text.find("\n")
    if first_nl < 0 or text[:first_nl].strip() != "---":
        raise ContentError(f"{source}: the first line must be exactly '---' to open the front matter")
    closing = _FENCE.search(text, first_nl + 1)
    if closing is None:
        raise ContentError(f"{source}: front matter is not closed; add a '---' line after the last key")
    header = text[first_nl + 1 : closing.start()]
    rest = text[closing.end() :]
    body = rest[1:] if rest.startswith("\n") else rest
    body = body[1:] if body.startswith("\n") else body
    if len(header.encode("utf-8", "surrogatepass")) > MAX_HEADER_BYTES:
        raise ContentError(f"{source}: front matter is larger than {MAX_HEADER_BYTES // 1024} KiB; move long text into the body")
    try:
        meta = load_yaml(header, source, ContentError, "front matter") if header.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (front matter line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or one_line(exc, with_type=False, limit=None)
        raise ContentError(f"{source}: invalid YAML in front matter{where}: {problem}; fix the syntax (quote values containing ':' or '#')") from None
    if not isinstance(meta, dict):
        raise ContentError(f"{source}: front matter must be 'key: value' lines, got {type(meta).__name__}")
    for key, value in meta.items():
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            raise ContentError(f"{source}: front matter '{str(key)[:40]}' is {len(value):,} characters; the limit is "
                               f"{MAX_FIELD_CHARS:,}, move long text into the body")
    return meta, body


def dump_post(meta: dict, body: str) -> str:
    """Front matter in a stable key order, a blank line, then the body unchanged."""
    ordered = {k: meta[k] for k in KEY_ORDER if k in meta}
    ordered.update({k: meta[k] for k in sorted(meta, key=str) if k not in ordered})
    header = yaml.dump(ordered, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=None, width=1000)
    return f"---\n{header}---\n\n{body}"


def slugify(name: str) -> str:
    """File-name slug: lowercase, runs of anything but letters/digits/_ become '-'."""
    return re.sub(r"[^a-z0-9_]+", "-", name.lower()).strip("-_")


def _parse_date(value: Any, tz: ZoneInfo, source: Path) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ContentError(f"{source}: date {value!r} is not a date; write e.g. 2026-04-20 or 2026-04-20T09:30:00+02:00") from None
    elif value is None:
        raise ContentError(f"{source}: missing 'date'; add e.g. 'date: 2026-04-20T09:30:00+02:00' to the front matter")
    else:
        raise ContentError(f"{source}: date {value!r} is not a date; write e.g. 2026-04-20 or 2026-04-20T09:30:00+02:00")
    if not YEARS[0] <= parsed.year <= YEARS[1]:
        raise ContentError(f"{source}: date {value!s:.40} is outside the years {YEARS[0]}-{YEARS[1]}; fix the 'date'")
    # A naive date is wall-clock time where the author lives, never the build machine's zone.
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


def _parse_tags(value: Any, source: Path) -> list[str]:
    if value is None:
        return []
    items = [t.strip() for t in value.split(",")] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ContentError(f"{source}: tags must be a list, e.g. 'tags: [python, trading]'")
    tags: list[str] = []
    for item in items:
        tag = str(item).strip().lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise ContentError(f"{source}: tag {tag[:40]!r}... is {len(tag)} characters; dev.to allows at most "
                               f"{MAX_TAG_CHARS}, shorten it")
        if not _TAG.match(tag):
            fixed = re.sub(r"[^a-z0-9]", "", tag) or "a letters-and-digits tag"
            raise ContentError(f"{source}: tag {str(item)!r} is not lowercase letters and digits only (dev.to's rule); use {fixed!r}")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ContentError(f"{source}: {len(tags)} tags ({', '.join(tags)}); dev.to allows at most {MAX_TAGS}, remove {len(tags) - MAX_TAGS}")
    return tags


def _optional_str(meta: dict, key: str, source: Path) -> str | None:
    value = meta.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int | float):
        raise ContentError(f"{source}: '{key}' must be a single text value")
    return str(value).strip()


def summarize(body: str, limit: int = 200) -> str:
    """A plain-text description from the first prose paragraph, for posts that do not set one."""
    for block in re.split(r"\n\s*\n", body):
        text = block.strip()
        if not text or text[0] in "#|`<>!-*+~" or re.match(r"\d+[.)]\s", text):
            continue
        text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images -> their text
        text = re.sub(r"[*_`~]+", "", text)
        text = " ".join(text.split())
        if len(text) <= limit:
            return text
        cut = text[:limit].rsplit(" ", 1)[0]
        return cut.rstrip(",;:.") + "…"
    return ""


def _relative(path: Path, content_dir: Path) -> Path:
    """The path inside content/; resolving symlinks only when the plain paths do not nest (it is slow)."""
    try:
        return path.relative_to(content_dir)
    except ValueError:
        pass
    try:
        return path.resolve().relative_to(content_dir.resolve())
    except ValueError:
        return Path(path.name)


def load_post(path: Path, content_dir: Path, tz: str) -> Post:
    """Read and validate one post."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ContentError(f"{path}: not UTF-8 text; re-save the file as UTF-8") from None
    meta, body = parse_front_matter(text, path)
    title = meta.get("title")
    if title is None or not str(title).strip():
        raise ContentError(f"{path}: missing 'title' in front matter; add 'title: Your title'")
    zone = ZoneInfo(tz)
    date = _parse_date(meta.get("date"), zone, path)
    status = str(meta.get("status") or "published").strip().lower()
    if status not in STATUSES:
        raise ContentError(f"{path}: status {meta.get('status')!r} is not one of: draft, published")
    if "slug" in meta and meta["slug"] is not None:
        slug = str(meta["slug"]).strip()
        if not _SLUG.match(slug):
            raise ContentError(f"{path}: slug {slug!r} must be lowercase letters, digits, '-' or '_'; e.g. {slugify(slug)!r}")
    else:
        slug = slugify(path.stem)
        if not slug:
            raise ContentError(f"{path}: cannot derive a slug from the file name; add 'slug: my-post'")
    rel = _relative(path, Path(content_dir))
    kind = "weekly" if rel.parts[0] == "weekly" and len(rel.parts) > 1 else "post"
    facts = path.with_suffix(".facts.json")
    description = meta.get("description")
    guid = meta.get("guid")
    if guid is not None and (not isinstance(guid, str | int) or isinstance(guid, bool) or not str(guid).strip()
                             or len(str(guid)) > 2000 or any(ord(c) < 32 for c in str(guid))):
        raise ContentError(f"{path}: guid {str(guid)[:60]!r} must be one line of text (a URL or a unique id); "
                           "fix it or remove it to use the post's address")
    return Post(
        source=path,
        slug=slug,
        title=str(title).strip(),
        date=date,
        tags=_parse_tags(meta.get("tags"), path),
        description=" ".join(str(description).split()) if description else summarize(body),
        status=status,
        canonical_url=_optional_str(meta, "canonical_url", path),
        cover_image=_optional_str(meta, "cover_image", path),
        series=_optional_str(meta, "series", path),
        body=body,
        meta=meta,
        kind=kind,
        facts_path=facts if kind == "weekly" and facts.is_file() else None,
        url_path=f"{'weekly' if kind == 'weekly' else 'posts'}/{slug}/",
        source_digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _post_files(content_dir: Path) -> list[Path]:
    """Every .md file, skipping hidden and underscore-prefixed files and folders (editor/backup files)."""
    files = []
    for path in content_dir.rglob("*.md"):
        rel = path.relative_to(content_dir)
        if any(part.startswith((".", "_")) for part in rel.parts):
            continue
        files.append(path)
    return sorted(files)


def load_posts(content_dir: Path, tz: str) -> list[Post]:
    """All posts under `content_dir`, newest first (ties broken by slug so the order is stable)."""
    content_dir = Path(content_dir)
    if not content_dir.is_dir():
        raise ContentError(f"{content_dir}: content folder not found; create it or run 'publish init'")
    posts = [load_post(path, content_dir, tz) for path in _post_files(content_dir)]
    seen: dict[str, Post] = {}
    for post in posts:
        other = seen.get(post.slug)
        if other is not None:
            raise ContentError(
                f"{post.source}: slug {post.slug!r} is already used by {other.source}; set a different 'slug:' in one of them"
            )
        seen[post.slug] = post
    posts.sort(key=lambda p: (p.date, p.slug), reverse=True)
    return posts
