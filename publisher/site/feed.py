"""RSS 2.0 feeds shaped exactly like dev.to's, so dev.to's importer and feed readers take them as is.

feedgen builds and validates the items (RFC 822 dates, escaping); its output is then rearranged to
dev.to's shape: root namespaces `atom` and `dc` only; channel `title, description, link, image,
atom:link rel=self, language`; per item `title, dc:creator, pubDate, link, guid, description,
category*`; no `generator`, `docs` or `lastBuildDate` (which would also change every build).

Images: the channel `<image>` is the configured feed/site image, else the site icon rendered to a
144 px PNG (`static/feed-icon.png`, RSS's largest allowed width), so the default feed has dev.to's
structure too. Chart images in item bodies are their PNGs with width and height: dev.to's importer
and many readers drop SVG.

Guids: an item's guid is the post's permanent link (site URL + its url_path, built from the slug,
never from the title). Once a post is in a published feed its guid is recorded in
`<root>/.publisher/guids.json` (key: the post file relative to `content/`), so a later change of
slug or site URL does not re-announce an old post; a `guid:` in the front matter overrides both.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

from feedgen.feed import FeedGenerator
from lxml import etree

from publisher.common.fsutil import atomic_write_bytes, atomic_write_text
from publisher.common.rules import FEED_FILE
from publisher.common.sanitize import Attrs, rewrite_start_tags, strip_control_chars
from publisher.config import Config
from publisher.errors import ContentError
from publisher.site.content import Post
from publisher.site.theme import feed_images

ATOM = "http://www.w3.org/2005/Atom"
DC = "http://purl.org/dc/elements/1.1/"
RSS_OPEN = f'<rss version="2.0" xmlns:atom="{ATOM}" xmlns:dc="{DC}">'
XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
MAX_CATEGORIES = 4
GUIDS_FILE = "guids.json"
FEED_ICON = "static/feed-icon.png"  # site-relative; written when no [feed]/[site] image is configured
FEED_ICON_PX = 144  # RSS 2.0: an image is at most 144 px wide


@dataclass
class FeedReport:
    path: Path  # the site feed (site/feed.xml)
    bytes: int
    warnings: list[str] = field(default_factory=list)
    tag_feeds: list[Path] = field(default_factory=list)


def site_url(config: Config) -> str:
    return config.site.url.rstrip("/") + "/"


def post_url(post: Post, config: Config) -> str:
    """The post's absolute, permanent address on the site."""
    return urljoin(site_url(config), post.url_path)


def absolutize_html(html: str, base: str) -> str:
    """Rewrite every href/src of the parsed HTML against `base`, so images and links work outside the
    site; `src="..."` written in a paragraph or in inline code is text and stays as written."""

    def fix(tag: str, attrs: Attrs) -> Attrs | None:
        if not any(name in ("href", "src") and value is not None for name, value in attrs):
            return None
        return [(name, urljoin(base, value) if name in ("href", "src") and value is not None else value)
                for name, value in attrs]

    return rewrite_start_tags(html, fix)


class _GuidKeys:
    """Post file -> its path inside content/ with symlinks resolved (the key in guids.json).

    Resolving a path costs a syscall per component; a feed write keys every published post, so the
    content folder and each post folder are resolved once and only a symlinked post file itself is
    resolved again (for any other file, realpath(folder/name) is realpath(folder)/name)."""

    def __init__(self, config: Config) -> None:
        self.content = config.content_dir.resolve()
        self.folders: dict[Path, Path] = {}
        self.keys: dict[Path, str] = {}

    def __call__(self, source: Path) -> str:
        key = self.keys.get(source)
        if key is None:
            key = self.keys[source] = self._key(source)
        return key

    def _key(self, source: Path) -> str:
        folder = self.folders.get(source.parent)
        if folder is None:
            folder = self.folders[source.parent] = source.parent.resolve()
        real = source.resolve() if source.is_symlink() else folder / source.name
        try:
            return real.relative_to(self.content).as_posix()
        except ValueError:
            return source.name


def _guid_key(post: Post, config: Config) -> str:
    return _GuidKeys(config)(post.source)


def load_guids(config: Config) -> dict[str, str]:
    path = config.state_dir / GUIDS_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def post_guid(post: Post, config: Config, recorded: dict[str, str]) -> str:
    """Front matter `guid`, else the guid recorded when the post was first published, else its link."""
    return _guid(post, config, recorded, _guid_key(post, config))


def _guid(post: Post, config: Config, recorded: dict[str, str], key: str) -> str:
    explicit = post.meta.get("guid")
    if explicit:
        return str(explicit).strip()
    return recorded.get(key) or post_url(post, config)


def feed_posts(posts: list[Post], limit: int) -> list[Post]:
    """Published posts, newest first (by instant, whatever zone each was written in), at most `limit`."""
    published = [p for p in posts if p.status == "published"]
    published.sort(key=lambda p: (p.date.astimezone(dt.UTC), p.slug), reverse=True)
    return published[:limit]


def _text(value: str) -> str:
    return strip_control_chars(value)


def _child(parent: etree._Element, tag: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, tag)
    element.text = text
    return element


def _reshape(raw: bytes, link: str) -> bytes:
    """feedgen's RSS, rearranged into dev.to's element order and namespaces."""
    source = etree.fromstring(raw)
    channel_in = source.find("channel")
    root = etree.Element("rss", nsmap={"atom": ATOM, "dc": DC})
    root.set("version", "2.0")
    channel = etree.SubElement(root, "channel")
    for tag in ("title", "description"):
        _child(channel, tag, channel_in.findtext(tag))
    _child(channel, "link", link)  # feedgen puts the self link here
    for tag in ("image", f"{{{ATOM}}}link", "language"):
        element = channel_in.find(tag)
        if element is not None:
            channel.append(element)
    self_link = channel.find(f"{{{ATOM}}}link")
    attrs = dict(self_link.attrib)
    self_link.attrib.clear()
    for name in ("rel", "type", "href"):  # dev.to's attribute order
        self_link.set(name, attrs[name])
    for item_in in channel_in.findall("item"):
        item = etree.SubElement(channel, "item")
        for tag in ("title", f"{{{DC}}}creator", "pubDate", "link", "guid", "description"):
            element = item_in.find(tag)
            if element is not None:
                element.attrib.clear()  # dev.to's guid has no isPermaLink
                item.append(element)
        for category in item_in.findall("category"):
            item.append(category)
    etree.indent(root, space="  ")
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False).decode("utf-8")
    body = RSS_OPEN + body[body.index(">") + 1 :]  # dev.to's attribute order on the root
    return (XML_DECL + body + "\n").encode("utf-8")


def _render_feed(
    posts: list[Post], config: Config, *, self_url: str, link: str, title: str, guid: Callable[[Post], str],
    describe: Callable[[Post], str],
) -> bytes:
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.title(_text(title))
    fg.description(_text(config.feed.description or config.site.description))
    fg.link(href=link, rel="alternate")
    fg.link(href=self_url, rel="self", type="application/rss+xml")
    fg.image(url=urljoin(site_url(config), channel_image(config)), title=_text(title), link=link)
    fg.language(config.site.language)
    for post in posts:
        url = post_url(post, config)
        entry = fg.add_entry(order="append")
        entry.title(_text(post.title))
        entry.dc.dc_creator(_text(str(post.meta.get("author") or config.site.author)))
        entry.pubDate(post.date.astimezone(dt.UTC))
        entry.link(href=url)
        entry.guid(guid(post), permalink=True)
        entry.description(describe(post))
        for tag in post.tags[:MAX_CATEGORIES]:
            entry.category(term=tag)
    return _reshape(fg.rss_str(pretty=False), link)


def _channel_title(config: Config) -> str:
    return config.feed.title or config.site.title


def channel_image(config: Config) -> str:
    """The channel image, site-relative or absolute: the configured one, else the generated icon."""
    return config.feed.image or config.site.image or FEED_ICON


def site_icon_png(config: Config, size: int = FEED_ICON_PX) -> bytes:
    """The site icon as a square PNG: the site's own `static/favicon.png` if it has one, else its
    `static/favicon.svg` (the theme's by default) rendered with resvg."""
    from publisher.common.bundled import bundled_path

    folders = [config.templates_dir / "static", bundled_path("templates") / "static"]
    for folder in folders:
        png, svg = folder / "favicon.png", folder / "favicon.svg"
        if png.is_file():
            return _square_png(png.read_bytes(), size)
        if svg.is_file():
            import resvg_py

            try:
                data = bytes(resvg_py.svg_to_bytes(svg_string=svg.read_text(encoding="utf-8"), width=size, height=size))
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                raise ContentError(f"{svg}: cannot render the site icon ({exc}); fix the SVG or add a favicon.png beside it") from None
            return _square_png(data, size)
    raise ContentError("no site icon: add templates/static/favicon.svg or favicon.png, or set [feed] image")


def _square_png(data: bytes, size: int) -> bytes:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        icon = image.convert("RGBA")
        icon.thumbnail((size, size))
        canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
        canvas.paste(icon, ((size - icon.width) // 2, (size - icon.height) // 2))
        out = io.BytesIO()
        canvas.save(out, format="PNG", optimize=True)
        return out.getvalue()


def write_feeds(posts: list[Post], config: Config, site_dir: Path) -> FeedReport:
    """Write `feed.xml` and `tags/<tag>/feed.xml` under `site_dir`; record newly published guids."""
    site_dir = Path(site_dir)
    if channel_image(config) == FEED_ICON:
        atomic_write_bytes(site_dir / FEED_ICON, site_icon_png(config))
    base = site_url(config)
    recorded = load_guids(config)
    limit = config.feed.limit
    published = feed_posts(posts, len(posts))
    keys = _GuidKeys(config)
    guids = {post.source: _guid(post, config, recorded, keys(post.source)) for post in published}
    described: dict[Path, str] = {}

    def describe(post: Post) -> str:
        """The item's HTML with absolute URLs; a post sits in the main feed and in each of its tags'
        feeds, so its HTML is parsed and rewritten once, not once per feed."""
        if post.source not in described:
            described[post.source] = _text(absolutize_html(feed_images(post.html), post_url(post, config)))
        return described[post.source]

    main = _render_feed(published[:limit], config, self_url=urljoin(base, FEED_FILE), link=base,
                        title=_channel_title(config), guid=lambda post: guids[post.source], describe=describe)
    path = site_dir / FEED_FILE
    atomic_write_bytes(path, main)
    report = FeedReport(path=path, bytes=len(main))
    _check_size(report, path, len(main), config)

    for tag in sorted({t for p in published for t in p.tags}):
        tagged = [p for p in published if tag in p.tags][:limit]
        data = _render_feed(tagged, config, self_url=urljoin(base, f"tags/{tag}/{FEED_FILE}"),
                            link=urljoin(base, f"tags/{tag}/"), title=f"{_channel_title(config)}: {tag}",
                            guid=lambda post: guids[post.source], describe=describe)
        tag_path = site_dir / "tags" / tag / FEED_FILE
        atomic_write_bytes(tag_path, data)
        report.tag_feeds.append(tag_path)
        _check_size(report, tag_path, len(data), config)

    _record_guids(published, config, recorded, {post.source: (keys(post.source), guids[post.source]) for post in published})
    return report


def _check_size(report: FeedReport, path: Path, size: int, config: Config) -> None:
    if size > config.feed.max_bytes:
        report.warnings.append(
            f"{path}: {size:,} bytes, over [feed] max_bytes = {config.feed.max_bytes:,}; some readers "
            "truncate or reject large feeds: lower [feed] limit"
        )


def _record_guids(published: list[Post], config: Config, recorded: dict[str, str], keyed: dict[Path, tuple[str, str]]) -> None:
    """Remember the guid of every published post (`keyed`: file -> (key, guid)), so it survives a
    later slug or URL change."""
    updated = dict(recorded)
    for post in published:
        updated.setdefault(*keyed[post.source])
    if updated != recorded:
        atomic_write_text(config.state_dir / GUIDS_FILE, json.dumps(updated, indent=2, sort_keys=True) + "\n")
