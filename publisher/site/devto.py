r"""dev.to export: the post's Markdown with dev.to's front matter, ready to paste or to POST.

dev.to renders the Markdown itself, so URLs must be absolute (they resolve against dev.to, not
our site) and the canonical URL points back to our page (search engines credit the original).
Chart SVGs become their PNGs: dev.to's image pipeline does not display SVG reliably.
The post goes up as `published: false`; publishing stays a human click on dev.to.

dev.to (Forem) renders with Redcarpet, not CommonMark, and with `hard_wrap` on, so the body is
adapted (`for_redcarpet`): paragraphs are joined onto one line (a wrapped source line would
become a `<br>`), and backslash escapes Redcarpet does not know (`\%`, `\"`, `\$`...) are
written as the bare character (or an entity where a bare one would open a Liquid tag), since
Redcarpet would show the backslash. Raw HTML and every URL pass the site's sanitising policy.
"""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path
from urllib.parse import urljoin

import nh3
import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin

from publisher.common.rules import MAX_TAGS
from publisher.common.sanitize import clean_html, safe_url
from publisher.config import Config
from publisher.errors import ContentError
from publisher.site.content import Post
from publisher.site.feed import post_url, site_url

try:  # libyaml's emitter: ~10x faster than PyYAML's pure-Python one, which matters for 1,000 posts
    from yaml import CSafeDumper as _FastDumper
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _FastDumper = yaml.SafeDumper  # type: ignore[assignment,misc]

# libyaml escapes these ("\U0001F680", "\N") where the pure-Python emitter writes them as is.
_LIBYAML_ESCAPES = re.compile("[\x85\U00010000-\U0010ffff]")
_FENCE = re.compile(r"^(```|~~~)")
# Inline link or image: [text](dest "title"); the text may contain escaped brackets, dest one level of parentheses.
_INLINE = re.compile(r"(!?\[(?:\\.|[^\]\\])*\]\()(<[^>\n]*>|(?:\\.|\([^()\s]*\)|[^()\s\\])+)((?:\s+(?:\"[^\"]*\"|'[^']*'))?\))")
# Reference definition: [label]: dest
_REFDEF = re.compile(r"^( {0,3}\[(?:\\.|[^\]\\])+\]:\s*)(<[^>\n]*>|\S+)", re.MULTILINE)
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+\1")
# The characters a backslash escapes in Redcarpet (its markdown.c escape_chars); any other escape
# is shown with its backslash on dev.to.
REDCARPET_ESCAPABLE = frozenset("\\`*_{}[]()#+-.!:|&<>^~=")
_ESCAPE = re.compile(r"\\(.)")
_CHART_IMAGE = re.compile(r"!\[(?:\\.|[^\]\\])*\]\((charts/[^)\s]+)\.svg[)\s]")
_HARD_BACKSLASH = re.compile(r"(?<!\\)(?:\\\\)*\\$")  # an odd run of backslashes ends the line
_IMAGE_ALT = re.compile(r"!\[((?:\\.|[^\]\\])*)\]\(")
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.\-]{1,31}:[^<>\s]*)>")
_HTML_TAG = re.compile(r"^<(/?)([A-Za-z][A-Za-z0-9-]*)")


def devto_tags(tags: list[str]) -> list[str]:
    """dev.to accepts at most MAX_TAGS tags of lowercase letters and digits."""
    cleaned = [re.sub(r"[^a-z0-9]", "", t.lower()) for t in tags]
    return list(dict.fromkeys(t for t in cleaned if t))[:MAX_TAGS]


def _absolute(dest: str, base: str) -> str:
    """The destination resolved against `base`; "" for a scheme the policy refuses (javascript:...)."""
    bracketed = dest.startswith("<") and dest.endswith(">")
    url = dest[1:-1] if bracketed else dest
    if url.startswith("charts/") and url.endswith(".svg"):
        url = url.removesuffix(".svg") + ".png"
    url = safe_url(urljoin(base, url)) if safe_url(url) else ""
    return f"<{url}>" if bracketed else url


def absolutize_markdown(markdown: str, base: str) -> str:
    """Make every link, image and reference-definition URL absolute, leaving code untouched."""
    out: list[str] = []
    in_fence = ""
    for line in markdown.splitlines(keepends=True):
        fence = _FENCE.match(line.lstrip())
        if in_fence:
            if fence and fence.group(1) == in_fence:
                in_fence = ""
            out.append(line)
            continue
        if fence:
            in_fence = fence.group(1)
            out.append(line)
            continue
        if line.startswith(("    ", "\t")) and (not out or not out[-1].strip()):
            out.append(line)  # indented code block
            continue
        out.append(_rewrite_line(line, base) if "[" in line else line)  # no "[", no link: most lines
    return "".join(out)


def _rewrite_line(line: str, base: str) -> str:
    parts, last = [], 0
    for code in _INLINE_CODE.finditer(line):  # `[x](y)` inside backticks stays literal
        parts.append(_rewrite_text(line[last:code.start()], base))
        parts.append(code.group(0))
        last = code.end()
    parts.append(_rewrite_text(line[last:], base))
    return "".join(parts)


def _rewrite_text(text: str, base: str) -> str:
    text = _INLINE.sub(lambda m: m.group(1) + _absolute(m.group(2), base) + m.group(3), text)
    return _REFDEF.sub(lambda m: m.group(1) + _absolute(m.group(2), base), text)


# --- Redcarpet: what CommonMark and Redcarpet (hard_wrap) read differently --------------------------

_PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"]).use(footnote_plugin)
# The blocks alone: for_redcarpet needs each block's lines, and a paragraph's inline tokens only when
# it may hold raw HTML (a '<'), so the inline pass (half the parse) runs for those paragraphs only.
# footnote_tail is off too: it moves (or, unreferenced, drops) footnote blocks after the inline pass,
# here each stays where it is written and is adapted like any other block.
_BLOCKS = MarkdownIt("commonmark").enable(["table", "strikethrough"]).use(footnote_plugin).disable(
    ["inline", "text_join", "footnote_tail"])


def _fix_escapes(text: str) -> str:
    """`\\x` kept where Redcarpet understands it; otherwise the bare character, or an entity where
    the bare one would start a Liquid tag (`{%`, `{{`) that dev.to evaluates before rendering."""

    def fix(match: re.Match[str]) -> str:
        char = match.group(1)
        if char in REDCARPET_ESCAPABLE:
            return match.group(0)
        before = text[max(match.start() - 2, 0) : match.start()]
        if char in "%{" and before.endswith(("{", "\\{")):
            return f"&#{ord(char)};"
        return char

    return _ESCAPE.sub(fix, text)


def _alt_text(alt: str) -> str:
    """Redcarpet copies an image's alt text raw (no escapes processed): unescape it, keeping the
    brackets only if they balance (an unbalanced one would end the image early)."""
    text = re.sub(r"\\(.)", r"\1", alt)
    depth = 0
    for char in text:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if depth < 0:
            break
    return text if depth == 0 else text.replace("[", "(").replace("]", ")")


def _defuse_autolink(match: re.Match[str]) -> str:
    """`<javascript:...>`: Redcarpet would make it a link; written as literal text instead."""
    return match.group(0) if safe_url(match.group(1)) else f"\\<{match.group(1)}\\>"


def _fix_text(text: str) -> str:
    text = _AUTOLINK.sub(_defuse_autolink, text)
    parts, last = [], 0
    for image in _IMAGE_ALT.finditer(text):
        parts.append(_fix_escapes(text[last : image.start()]))
        parts.append(f"![{_alt_text(image.group(1))}](")
        last = image.end()
    parts.append(_fix_escapes(text[last:]))
    return "".join(parts)


def _fix_line(line: str) -> str:
    parts, last = [], 0
    for code in _INLINE_CODE.finditer(line):  # a backslash inside backticks is literal in both
        parts.append(_fix_text(line[last : code.start()]))
        parts.append(code.group(0))
        last = code.end()
    parts.append(_fix_text(line[last:]))
    return "".join(parts)


def _clean_tag(fragment: str) -> str:
    """One raw inline HTML tag through the sanitising policy: kept (minus unsafe attributes) if the
    site would keep it, else dropped."""
    match = _HTML_TAG.match(fragment)
    if not match:
        return ""  # comments, processing instructions, CDATA
    closing, name = match.group(1), match.group(2).lower()
    if closing:
        return f"</{name}>" if clean_html(f"<{name}></{name}>") else ""
    cleaned = clean_html(f"{fragment}</{name}>")
    return cleaned.removesuffix(f"</{name}>") if cleaned.startswith(f"<{name}") else ""


def _strip_quote_markers(line: str, depth: int) -> str:
    line = line.lstrip()
    for _ in range(depth):
        if line.startswith(">"):
            line = line[1:].lstrip()
    return line


def _join_paragraph(source: list[str], depth: int) -> list[str]:
    """A paragraph's lines joined into one (hard_wrap would turn each source newline into a <br>),
    except after a hard break (two spaces or a backslash), which stays a line break."""
    joined: list[str] = []
    after_break = False
    for n, line in enumerate(source):
        stripped = line.rstrip()
        hard = n < len(source) - 1 and (line.endswith("  ") or _HARD_BACKSLASH.search(stripped) is not None)
        if hard and not line.endswith("  "):
            stripped = stripped[:-1].rstrip()
        if n == 0 or after_break:  # a line after a hard break keeps its own prefix (quote marker, indent)
            joined.append(_fix_line(stripped))
        else:
            joined[-1] = f"{joined[-1]} {_fix_line(_strip_quote_markers(stripped, depth))}"
        after_break = hard
    return joined


def for_redcarpet(markdown: str) -> str:
    """The Markdown adapted to dev.to's renderer: one line per paragraph, escapes Redcarpet shows
    removed, raw HTML sanitised. Code blocks are left byte for byte."""
    lines = markdown.splitlines()
    replaced: dict[int, list[str]] = {}  # first line of a block -> its new lines
    dropped: set[int] = set()
    depth = 0
    env: dict = {}
    tokens = _BLOCKS.parse(markdown, env)
    for index, token in enumerate(tokens):
        if token.type == "blockquote_open":
            depth += 1
        elif token.type == "blockquote_close":
            depth -= 1
        if token.map is None:
            continue
        start, end = token.map
        if token.type == "html_block":
            replaced[start] = clean_html("\n".join(lines[start:end])).splitlines() or [""]
            dropped.update(range(start + 1, end))
        elif token.type in ("heading_open", "table_open"):
            for n in range(start, end):
                replaced[n] = [_fix_line(lines[n])]
        elif token.type == "paragraph_open":
            source = lines[start:end]
            inline = tokens[index + 1].content
            children = _PARSER.parseInline(inline, env)[0].children or [] if "<" in inline else []
            for child in children:
                if child.type == "html_inline":
                    source = [line.replace(child.content, _clean_tag(child.content)) for line in source]
            replaced[start] = _join_paragraph(source, depth)
            dropped.update(range(start + 1, end))
    out: list[str] = []
    for n, line in enumerate(lines):
        if n in replaced:
            out.extend(replaced[n])
        elif n not in dropped:
            out.append(line)
    return "\n".join(out) + ("\n" if markdown.endswith("\n") else "")


# --- front matter -----------------------------------------------------------------------------------


def weekly_series(config: Config) -> str:
    """The series every weekly belongs to (dev.to groups a series; the site has a page for it)."""
    return f"{config.site.title} Weekly"


def post_series(post: Post, config: Config) -> str | None:
    return post.series or (weekly_series(config) if post.kind == "weekly" else None)


def devto_cover(post: Post, config: Config) -> str:
    """The front-matter cover, else (a weekly) its first chart as an absolute PNG URL; "" if none."""
    if post.cover_image:
        return safe_url(urljoin(site_url(config), post.cover_image)) if safe_url(post.cover_image) else ""
    chart = _CHART_IMAGE.search(post.body)
    if post.kind == "weekly" and chart:
        return safe_url(urljoin(post_url(post, config), chart.group(1) + ".png"))
    return ""


def plain_text(text: str) -> str:
    """Front-matter prose without markup: a description summarised from a body with raw HTML
    keeps its words, not its tags or handlers."""
    return " ".join(htmllib.unescape(nh3.clean(text, tags=set(), clean_content_tags={"script", "style"})).split())


def devto_front_matter(post: Post, config: Config) -> dict:
    canonical = safe_url(post.canonical_url) if post.canonical_url else ""
    meta: dict = {
        "title": post.title,
        "published": False,
        "description": plain_text(post.description),
        "tags": ", ".join(devto_tags(post.tags)),
        "canonical_url": canonical or post_url(post, config),
    }
    cover = devto_cover(post, config)
    if cover:
        meta["cover_image"] = cover
    series = post_series(post, config)
    if series:
        meta["series"] = series
    return meta


def _dump_front_matter(meta: dict) -> str:
    """YAML with libyaml, except where it would escape emoji: the export stays legible to a human."""
    legible = not any(isinstance(v, str) and _LIBYAML_ESCAPES.search(v) for v in meta.values())
    dumper = _FastDumper if legible else yaml.SafeDumper
    return yaml.dump(meta, Dumper=dumper, sort_keys=False, allow_unicode=True, width=1000)


def export_post(post: Post, config: Config) -> str:
    """The post as dev.to Markdown: dev.to front matter, then the body with absolute URLs."""
    header = _dump_front_matter(devto_front_matter(post, config))
    body = for_redcarpet(absolutize_markdown(post.body, post_url(post, config)))
    return f"---\n{header}---\n\n{body.rstrip()}\n"


def find_post(config: Config, ref: str) -> Post:
    """A post by file path or by slug."""
    from publisher.site.content import load_post, load_posts

    path = Path(ref)
    if path.suffix == ".md" and path.is_file():
        return load_post(path, config.content_dir, config.site.timezone)
    for post in load_posts(config.content_dir, config.site.timezone):
        if post.slug == ref or post.source.stem == ref:
            return post
    raise ContentError(f"{ref}: no such post file or slug under {config.content_dir}; give a .md path or a slug")
