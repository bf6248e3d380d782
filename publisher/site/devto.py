"""dev.to export: the post's Markdown with dev.to's front matter, ready to paste or to POST.

dev.to renders the Markdown itself, so URLs must be absolute (they resolve against dev.to, not
our site) and the canonical URL points back to our page (search engines credit the original).
Chart SVGs become their PNGs: dev.to's image pipeline does not display SVG reliably.
The post goes up as `published: false`; publishing stays a human click on dev.to.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin

import yaml

from publisher.common.rules import MAX_TAGS
from publisher.config import Config
from publisher.errors import ContentError
from publisher.site.content import Post
from publisher.site.feed import post_url, site_url

try:  # libyaml's emitter: ~10x faster than PyYAML's pure-Python one, which matters for 1,000 posts
    from yaml import CSafeDumper as _FastDumper
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _FastDumper = yaml.SafeDumper  # type: ignore[misc,assignment]

# libyaml escapes these ("\U0001F680", "\N") where the pure-Python emitter writes them as is.
_LIBYAML_ESCAPES = re.compile("[\x85\U00010000-\U0010ffff]")
_FENCE = re.compile(r"^(```|~~~)")
# Inline link or image: [text](dest "title"); the text may contain escaped brackets.
_INLINE = re.compile(r"(!?\[(?:\\.|[^\]\\])*\]\()(<[^>\n]*>|(?:\\.|[^()\s\\])+)((?:\s+(?:\"[^\"]*\"|'[^']*'))?\))")
# Reference definition: [label]: dest
_REFDEF = re.compile(r"^( {0,3}\[(?:\\.|[^\]\\])+\]:\s*)(<[^>\n]*>|\S+)", re.MULTILINE)
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+\1")


def devto_tags(tags: list[str]) -> list[str]:
    """dev.to accepts at most MAX_TAGS tags of lowercase letters and digits."""
    cleaned = [re.sub(r"[^a-z0-9]", "", t.lower()) for t in tags]
    return list(dict.fromkeys(t for t in cleaned if t))[:MAX_TAGS]


def _absolute(dest: str, base: str) -> str:
    bracketed = dest.startswith("<") and dest.endswith(">")
    url = dest[1:-1] if bracketed else dest
    if url.startswith("charts/") and url.endswith(".svg"):
        url = url.removesuffix(".svg") + ".png"
    url = urljoin(base, url)
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


def devto_front_matter(post: Post, config: Config) -> dict:
    meta: dict = {
        "title": post.title,
        "published": False,
        "description": post.description,
        "tags": ", ".join(devto_tags(post.tags)),
        "canonical_url": post.canonical_url or post_url(post, config),
    }
    if post.cover_image:
        meta["cover_image"] = urljoin(site_url(config), post.cover_image)
    if post.series:
        meta["series"] = post.series
    return meta


def _dump_front_matter(meta: dict) -> str:
    """YAML with libyaml, except where it would escape emoji: the export stays legible to a human."""
    legible = not any(isinstance(v, str) and _LIBYAML_ESCAPES.search(v) for v in meta.values())
    dumper = _FastDumper if legible else yaml.SafeDumper
    return yaml.dump(meta, Dumper=dumper, sort_keys=False, allow_unicode=True, width=1000)


def export_post(post: Post, config: Config) -> str:
    """The post as dev.to Markdown: dev.to front matter, then the body with absolute URLs."""
    header = _dump_front_matter(devto_front_matter(post, config))
    body = absolutize_markdown(post.body, post_url(post, config))
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
