"""`publish check POST`: the fabrication guard over a whole post, drafted or edited by hand.

Every sentence, list item, table cell and the front matter's title and description are checked
against the post's fact sheet (`<week>.facts.json` beside a weekly, or a file given with
`--facts`) and the config's text (`[site] stack`, the closing line), binding each number to the
fact its sentence, table row and column name (`publisher.drafting.guard`). Image alt texts,
code, links' targets and HTML comments are not prose claims and are skipped.

A claim the operator has checked by hand is accepted by listing it in the post's front matter
(`accepted_claims:`), which `publish weekly --publish --accept-claims` writes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from publisher.drafting.guard import FactIndex, check_claims, index_facts, split_sentences
from publisher.errors import PublisherError

ACCEPTED_KEY = "accepted_claims"


class CheckError(PublisherError):
    """A post that cannot be checked: no fact sheet, unreadable JSON."""


class ClaimsError(PublisherError):
    """A post with unsupported claims that the operator has not accepted: not published."""


@dataclass(frozen=True)
class Claim:
    """One unsupported claim of a post: where it is, what it says, why it fails."""

    path: Path
    line: int
    text: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text}: {self.reason}"


_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~$%])")
_IMAGE_RE = re.compile(r"!\[(?:[^\]\\]|\\.)*\]\([^)]*\)")
_LINK_RE = re.compile(r"\[((?:[^\]\\]|\\.)*)\]\([^)]*\)")
_LIST_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_CELL_ORDER_RE = re.compile(r"each cell reads ([^:]+?)\s*:?\s*$", re.IGNORECASE)


def plain_text(markdown: str) -> str:
    """A line of Markdown as a reader reads it: no images, link targets, emphasis or escapes."""
    text = _IMAGE_RE.sub(" ", markdown)
    text = _LINK_RE.sub(r"\1", text)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"(?<!\\)[*_]{1,3}(?=\S)|(?<=\S)(?<!\\)[*_]{1,3}", "", text)
    text = _ESCAPE_RE.sub(r"\1", text)
    text = re.sub(r"</?[A-Za-z][^<>]*>", " ", text)  # markup shown literally is not a claim
    text = re.sub(r"^#{1,6}\s+", "", text)
    return text.replace("\u2068", "").replace("\u2069", "").strip()


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _units(lines: list[str], first_line: int) -> Iterator[tuple[int, str, str | None]]:
    """(line number, text, mentions or None) for every claim-bearing unit of a Markdown body."""
    in_fence = in_comment = False
    para: list[tuple[int, str]] = []
    cell_order: list[str] = []
    i = 0

    def flush() -> Iterator[tuple[int, str, str | None]]:
        if not para:
            return
        start = para[0][0]
        joined = " ".join(plain_text(t) for _, t in para)
        for sentence in split_sentences(joined):
            for piece in re.split(r"\s+·\s+", sentence):
                if piece.strip():
                    yield start, piece.strip(), None
        para.clear()

    while i < len(lines):
        raw = lines[i]
        num = first_line + i
        stripped = raw.strip()
        if stripped.startswith(("```", "~~~")):
            yield from flush()
            in_fence = not in_fence
            i += 1
            continue
        if in_fence:
            i += 1
            continue
        if "<!--" in stripped:
            in_comment = "-->" not in stripped.split("<!--", 1)[1]
            i += 1
            continue
        if in_comment:
            in_comment = "-->" not in stripped
            i += 1
            continue
        if not stripped or stripped in ("---", "***") or (stripped.startswith("![") and stripped.endswith(")")):
            yield from flush()
            i += 1
            continue
        if stripped.startswith("|") and i + 1 < len(lines) and _TABLE_SEP_RE.match(lines[i + 1]):
            yield from flush()
            header = [plain_text(c) for c in _cells(raw)]
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = [plain_text(c) for c in _cells(lines[i])]
                row_label = cells[0] if cells else ""
                for col, cell in enumerate(cells[1:], start=1):
                    head = header[col] if col < len(header) else ""
                    parts = [p.strip() for p in cell.split(" / ")]
                    for k, part in enumerate(parts):
                        name = cell_order[k] if len(parts) > 1 and k < len(cell_order) else ""
                        mentions = f"{row_label} {head} {name}".lower()
                        yield first_line + i, f"{row_label} {head}: {part}", mentions
                i += 1
            cell_order = []
            continue
        if stripped.startswith("#") or _LIST_RE.match(raw):
            yield from flush()
            text = plain_text(_LIST_RE.sub("", raw))
            for sentence in split_sentences(text):
                for piece in re.split(r"\s+·\s+", sentence):
                    if piece.strip():
                        yield num, piece.strip(), None
            i += 1
            continue
        order = _CELL_ORDER_RE.search(plain_text(stripped))
        if order:
            cell_order = [p.strip().lower() for p in order.group(1).split("/")]
        para.append((num, raw))
        i += 1
    yield from flush()


def check_markdown(path: Path, text: str, index: FactIndex, accepted: Iterable[str] = ()) -> list[Claim]:
    """Every unsupported claim of a post's text (front matter title/description, then body)."""
    accepted_set = {_norm(a) for a in accepted}
    lines = text.replace("\r\n", "\n").split("\n")
    body_start = 0
    claims: list[Claim] = []
    if lines and lines[0].strip() == "---":
        for j in range(1, len(lines)):
            if lines[j].strip() in ("---", "..."):
                body_start = j + 1
                break
            m = re.match(r"^(title|description):\s*(.*)$", lines[j])
            if m:
                value = m.group(2).strip().strip("'\"")
                claims += _claims(path, j + 1, value, None, index, accepted_set)
    for line, unit, mentions in _units(lines[body_start:], body_start + 1):
        claims += _claims(path, line, unit, mentions, index, accepted_set)
    return claims


def _claims(path: Path, line: int, text: str, mentions: str | None, index: FactIndex,
            accepted: set[str]) -> list[Claim]:
    if not text or _norm(text) in accepted:
        return []
    return [Claim(path, line, text, reason) for reason in check_claims(text, index, mentions=mentions)]


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", str(text).lower()).strip()


def facts_for(post: Path, facts_file: Path | None = None) -> dict[str, Any]:
    """The fact sheet a post is checked against: `facts_file`, else `<post stem>.facts.json` beside it."""
    candidate = facts_file or post.with_name(f"{post.stem}.facts.json")
    if not candidate.is_file():
        raise CheckError(f"{post}: no fact sheet to check it against ({candidate} does not exist); "
                         "give one with --facts FILE")
    try:
        data = json.loads(candidate.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckError(f"{candidate}: not a readable fact sheet ({exc}); regenerate it with 'publish weekly --force'") from None
    if not isinstance(data, dict):
        raise CheckError(f"{candidate}: a fact sheet is a JSON object; regenerate it with 'publish weekly --force'")
    return data


def config_texts(config: Any) -> list[str]:
    """Config text that counts as facts: `[site] stack` items, the closing line, the title and description."""
    if config is None:
        return []
    from publisher.drafting.plan import drafting_line

    site = config.site
    texts = [*site.stack, site.closing, site.title, site.description, drafting_line(config.llm)]
    return [t for t in texts if isinstance(t, str) and t]


def check_post(post: Path, config: Any = None, facts_file: Path | None = None,
               text: str | None = None) -> list[Claim]:
    """Every unsupported claim of the post at `post` (front matter `accepted_claims` excepted)."""
    if text is None:
        try:
            text = post.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CheckError(f"{post}: cannot read the post ({exc})") from None
    facts = facts_for(post, facts_file)
    index = index_facts(facts, extra_texts=config_texts(config))
    return check_markdown(post, text, index, accepted=_accepted(text))


def check_text(post: Path, text: str, facts: dict[str, Any], config: Any = None) -> list[Claim]:
    """Like `check_post`, for a post's text and fact sheet already in hand."""
    index = index_facts(facts, extra_texts=config_texts(config))
    return check_markdown(post, text, index, accepted=_accepted(text))


def record_accepted(text: str, claims: list[Claim]) -> str:
    """The post with `claims` added to its front matter's `accepted_claims:`, the rest byte-exact."""
    import yaml

    previous = _accepted_entries(text)
    known = {_norm(e["claim"]) for e in previous}
    entries = previous + [{"claim": c.text, "reason": c.reason} for c in claims if _norm(c.text) not in known]
    head, sep, rest = text.partition("\n---")
    # drop an earlier block (the key line and its indented or "- " lines), then append the merged one
    head = re.sub(r"^" + ACCEPTED_KEY + r":.*(?:\n(?:[ -].*))*", "", head, flags=re.MULTILINE).rstrip("\n")
    block = yaml.safe_dump({ACCEPTED_KEY: entries}, allow_unicode=True, width=1000, sort_keys=False)
    return head + "\n" + block.rstrip("\n") + sep + rest


def _accepted_entries(text: str) -> list[dict[str, str]]:
    from publisher.site.content import parse_front_matter

    try:
        meta, _ = parse_front_matter(text, Path("post.md"))
    except PublisherError:
        return []
    value = meta.get(ACCEPTED_KEY) or []
    if not isinstance(value, list):
        return []
    return [{"claim": str(v.get("claim", "")), "reason": str(v.get("reason", ""))} if isinstance(v, dict)
            else {"claim": str(v), "reason": ""} for v in value]


def _accepted(text: str) -> list[str]:
    return [e["claim"] for e in _accepted_entries(text)]


def refuse_unsupported(posts: Iterable[Any], config: Any) -> None:
    """Raise ClaimsError when one of `posts` (published weeklies, each with its fact sheet:
    `facts_path` set) has unaccepted unsupported claims.

    A post and fact sheet found clean before are not checked again: their hash is kept in
    `<state>/cache/checked-claims.json`, so a site of many weeklies builds as fast as before.
    """
    import hashlib

    from publisher.common.fsutil import atomic_write_text

    cache_path = Path(config.state_dir) / "cache" / "checked-claims.json"
    try:
        clean = set(json.loads(cache_path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        clean = set()
    texts = config_texts(config)
    checked: set[str] = set()
    for post in posts:
        text = post.source.read_text(encoding="utf-8")
        facts_text = post.facts_path.read_text(encoding="utf-8")
        key = hashlib.sha256("\0".join([text, facts_text, *texts]).encode("utf-8")).hexdigest()
        if key in clean:
            checked.add(key)
            continue
        try:
            facts = facts_for(post.source, post.facts_path)
        except CheckError:
            continue  # the build itself reports an unreadable fact sheet, naming it
        claims = check_text(post.source, text, facts, config)
        if claims:
            raise ClaimsError(
                f"{post.source}: {len(claims)} unsupported claim(s) in a published weekly; first: line "
                f"{claims[0].line}: {claims[0].text[:120]}: {claims[0].reason}; see all with "
                f"'publish check {post.source}', fix them, or accept them with 'publish build --accept-claims'")
        checked.add(key)
    if checked != clean:
        try:
            cache_path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(cache_path, json.dumps(sorted(checked)))
        except OSError:
            pass  # only a cache
