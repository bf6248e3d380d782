"""What the site theme adds around a post's HTML: sized, phone-ready chart images, reading time,
series navigation (previous/next, the series page) and the subscribe box's links.

Pure functions over posts and HTML; the build calls them and passes the results to templates.
`post.html` itself stays the plain sanitised body, because the feed and the email embed it too and
each needs its own image form (PNG with a size there, `<picture>` with a phone variant here).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from publisher.common.rules import (
    CHART_DPI,
    CHART_HEIGHT_IN,
    CHART_WIDTH_IN,
    NARROW_CHART_HEIGHT_IN,
    NARROW_CHART_WIDTH_IN,
)
from publisher.config import Config
from publisher.site.content import Post

WORDS_PER_MINUTE = 230  # an adult's silent reading speed for non-fiction
PHONE_MAX_WIDTH = "600px"  # below this viewport width the site shows a chart's narrow variant
# The chart <img> markdown-it writes for ![alt](charts/NAME.svg) (attribute order: src, alt).
_CHART_IMG = re.compile(r'<img src="(charts/([A-Za-z0-9_-]+))\.svg"((?:\s+[A-Za-z-]+="[^"]*")*)\s*/?>')
_TAG = re.compile(r"<[^>]+>")
_SERIES_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ChartSize:
    width: int
    height: int
    narrow_width: int
    narrow_height: int


def chart_size() -> ChartSize:
    """The charts' CSS pixel sizes, from the charts' geometry (common/rules.py, the one place it is decided)."""
    return ChartSize(round(CHART_WIDTH_IN * CHART_DPI), round(CHART_HEIGHT_IN * CHART_DPI),
                     round(NARROW_CHART_WIDTH_IN * CHART_DPI), round(NARROW_CHART_HEIGHT_IN * CHART_DPI))


def page_images(html: str) -> str:
    """Chart images as `<picture>`: the narrow variant on phones (legible text at 375 px), the wide
    one elsewhere, both with width/height so the page does not jump while they load."""
    if "charts/" not in html:
        return html
    size = chart_size()

    def picture(match: re.Match[str]) -> str:
        stem, name, rest = match.group(1), match.group(2), match.group(3)
        return (f'<picture><source media="(max-width: {PHONE_MAX_WIDTH})" srcset="charts/{name}-narrow.svg" '
                f'width="{size.narrow_width}" height="{size.narrow_height}">'
                f'<img src="{stem}.svg"{rest} width="{size.width}" height="{size.height}"></picture>')

    return _CHART_IMG.sub(picture, html)


def feed_images(html: str) -> str:
    """Chart images as PNG with width/height: feed readers and dev.to's importer drop SVG."""
    if "charts/" not in html:
        return html
    size = chart_size()
    return _CHART_IMG.sub(lambda m: f'<img src="{m.group(1)}.png"{m.group(3)} width="{size.width}" height="{size.height}">', html)


def reading_minutes(post: Post) -> int:
    """Minutes to read the post's text (at least 1), counted on the rendered words, not the markup."""
    text = _TAG.sub(" ", post.html) if post.html else post.body
    return max(1, math.ceil(len(text.split()) / WORDS_PER_MINUTE))


def series_name(post: Post, config: Config) -> str | None:
    """The front matter's `series`, else every weekly's series (dev.to's export uses the same)."""
    from publisher.site.devto import post_series

    return post_series(post, config)


def series_slug(name: str) -> str:
    return _SERIES_SLUG.sub("-", name.lower()).strip("-") or "series"


@dataclass(frozen=True)
class SeriesNav:
    name: str
    path: str  # site-relative folder of the series page, e.g. "series/quant-log-weekly/"
    number: int  # 1-based position of the post in the series, oldest first
    count: int
    previous: Post | None  # the older neighbour
    next: Post | None  # the newer neighbour


def series_index(posts: list[Post], config: Config) -> dict[str, list[Post]]:
    """Series name -> its posts, oldest first (a series reads forward)."""
    groups: dict[str, list[Post]] = {}
    for post in posts:
        name = series_name(post, config)
        if name:
            groups.setdefault(name, []).append(post)
    return {name: sorted(group, key=lambda p: (p.date, p.slug)) for name, group in sorted(groups.items())}


def series_navigation(posts: list[Post], config: Config) -> dict[str, SeriesNav]:
    """Post slug -> its place in its series, for the previous/next links on its page."""
    nav = {}
    for name, group in series_index(posts, config).items():
        for n, post in enumerate(group):
            nav[post.slug] = SeriesNav(name, f"series/{series_slug(name)}/", n + 1, len(group),
                                       group[n - 1] if n else None, group[n + 1] if n + 1 < len(group) else None)
    return nav


def series_fingerprint(nav: SeriesNav | None) -> str:
    """What a post's page shows of its series: when it changes, the page must be rendered again."""
    if nav is None:
        return ""
    neighbours = [[p.url_path, p.title] if p else None for p in (nav.previous, nav.next)]
    return json.dumps([nav.name, nav.path, nav.number, nav.count, neighbours])


def cover_size(cover: str | None, folders: list[Path]) -> tuple[int, int] | None:
    """(width, height) of a site-relative cover image found in one of `folders` (the theme folders
    the build copies `static/` from); None for a remote or unreadable image (then the page gets no
    size rather than a wrong one)."""
    if not cover or "://" in cover or cover.startswith("//"):
        return None
    from PIL import Image, UnidentifiedImageError

    for folder in folders:
        path = folder / cover.lstrip("/")
        if path.is_file():
            try:
                with Image.open(path) as image:
                    return image.size
            except (OSError, UnidentifiedImageError):
                return None
    return None
