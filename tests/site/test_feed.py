"""RSS feeds: dev.to's exact structure, correct dates, stable guids, drafts excluded, safe escaping."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from publisher.config import Config, FeedConfig, SiteConfig
from publisher.render.markdown import render_post_html
from publisher.site.content import dump_post, load_posts
from publisher.site.feed import write_feeds

# The two real dev.to feeds, beside the checkout (../shared/reference/); EXPECTED below holds their shape.
REFERENCES = sorted((Path(__file__).resolve().parents[3] / "shared" / "reference").glob("devto-feed-*.xml"))
HOSTILE = 'Bitcoin <script>alert("x")</script> & "quotes" 🚀 — بيتكوين'


def make_site(tmp_path: Path, posts: dict[str, tuple[dict, str]], **feed) -> Config:
    config = Config(root=tmp_path, site=SiteConfig(url="https://blog.example.com/", title="Quant Log", author="Ann",
                                                   image="img/logo.png", timezone="Europe/Paris"),
                    feed=FeedConfig(**feed))
    for name, (meta, body) in posts.items():
        path = tmp_path / "content" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_post({"status": "published", "tags": ["python"], **meta}, body), encoding="utf-8")
    return config


def build(config: Config):
    posts = load_posts(config.content_dir, config.site.timezone)
    for post in posts:
        render_post_html(post)
    report = write_feeds(posts, config, config.root / "site")
    return report, report.path.read_bytes()


def structure(xml: bytes) -> dict:
    """Element order, namespaces and attributes, with runs of items and categories collapsed."""
    root = etree.fromstring(xml)
    channel = root.find("channel")

    def collapse(tags: list[str]) -> list[str]:
        return [t for i, t in enumerate(tags) if i == 0 or t != tags[i - 1]]

    return {
        "root": (root.tag, sorted(root.attrib.items()), sorted(root.nsmap.items())),
        "root_open": re.search(rb"<rss[^>]*>", xml).group(0),
        "channel": collapse([etree.QName(c).localname if c.prefix is None else f"{c.prefix}:{etree.QName(c).localname}"
                             for c in channel]),
        "image": [c.tag for c in channel.find("image")],
        "self": list(channel.find("{http://www.w3.org/2005/Atom}link").attrib.items())[:2],
        "items": {tuple(collapse([f"{c.prefix}:{etree.QName(c).localname}" if c.prefix else c.tag for c in item]))
                  for item in channel.findall("item")},
        "guid_attrs": {tuple(g.attrib) for g in channel.iter("guid")},
        "declaration": xml.split(b"\n", 1)[0],
    }


POSTS = {
    "weekly/2026-W16.md": ({"title": "Quant Log Weekly · 2026W16", "date": "2026-04-20T09:00:00+02:00",
                           "tags": ["trading", "python"], "slug": "weekly-2026-w16"},
                          "## Figures\n\n![Equity](charts/equity.svg)\n\nSee [last week](../2026-w15/) and [top](#figures).\n"),
    "posts/mlx.md": ({"title": "MLX notes", "date": "2026-04-18T12:00:00-07:00", "tags": ["mlx", "python", "ai", "apple"]},
                     "Some *notes*.\n"),
    "posts/wip.md": ({"title": "Work in progress", "date": "2026-04-25T12:00:00Z", "status": "draft"}, "Not yet.\n"),
}


# dev.to's shape, as read from both reference feeds (checked against them below when they are present).
EXPECTED = {
    "root_open": b'<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">',
    "channel": ["title", "description", "link", "image", "atom:link", "language", "item"],
    "image": ["url", "title", "link"],
    "self": [("rel", "self"), ("type", "application/rss+xml")],
    "items": {("title", "dc:creator", "pubDate", "link", "guid", "description", "category")},
    "guid_attrs": {()},
    "declaration": b'<?xml version="1.0" encoding="UTF-8"?>',
}


def test_structure_is_devtos(tmp_path):
    _, xml = build(make_site(tmp_path, POSTS))
    ours = structure(xml)
    assert {k: ours[k] for k in EXPECTED} == EXPECTED


@pytest.fixture(scope="module")
def scaffolded_feed(tmp_path_factory) -> tuple[Path, bytes]:
    """`publish init` with nothing configured, one weekly and one hand-written post, `publish build`."""
    from click.testing import CliRunner
    from site_project import write_post, write_weekly

    from publisher.cli import main
    from publisher.config import load_config
    from publisher.site.build import build_site

    root = tmp_path_factory.mktemp("scaffold") / "blog"
    result = CliRunner().invoke(main, ["init", str(root)])
    assert result.exit_code == 0, result.output
    config = load_config(root, environ={})
    write_weekly(root, config)
    write_post(root, "posts/notes.md", "Notes", "2026-04-18T10:00:00Z")
    build_site(config)
    return config.site_dir, (config.site_dir / "feed.xml").read_bytes()


def test_scaffolded_default_feed_has_devtos_structure_with_a_generated_png_icon(scaffolded_feed):
    from PIL import Image

    site, xml = scaffolded_feed
    assert {k: structure(xml)[k] for k in EXPECTED} == EXPECTED
    channel = etree.fromstring(xml).find("channel")
    url = channel.findtext("image/url")
    assert url == "https://example.github.io/my-quant-log/static/feed-icon.png"
    with Image.open(site / "static" / "feed-icon.png") as icon:
        assert icon.format == "PNG" and icon.size == (144, 144)
        colours = icon.convert("RGB").getcolors(maxcolors=100_000) or []
        assert len(colours) > 2  # the icon drawn, not a blank square
    body = feedparser.parse(xml).entries[0].description
    assert "charts/equity.png" in body and ".svg" not in body


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda p: p.name)
def test_scaffolded_default_feed_matches_devto_reference(scaffolded_feed, reference):
    ours, theirs = structure(scaffolded_feed[1]), structure(reference.read_bytes())
    for key in ("root", "root_open", "channel", "image", "self", "guid_attrs", "declaration"):
        assert ours[key] == theirs[key], key
    assert ours["items"] <= theirs["items"]


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda p: p.name)
def test_structure_matches_devto_reference(tmp_path, reference):
    _, xml = build(make_site(tmp_path, POSTS))
    ours, theirs = structure(xml), structure(reference.read_bytes())
    for key in ("root", "root_open", "channel", "image", "self", "guid_attrs", "declaration"):
        assert ours[key] == theirs[key], key
    assert ours["items"] <= theirs["items"]
    assert {k: theirs[k] for k in EXPECTED} == EXPECTED


def test_parses_without_bozo_and_dates_are_utc(tmp_path):
    _, xml = build(make_site(tmp_path, POSTS))
    parsed = feedparser.parse(xml)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert [e.title for e in parsed.entries] == ["Quant Log Weekly · 2026W16", "MLX notes"]
    text = xml.decode()
    assert "<pubDate>Mon, 20 Apr 2026 07:00:00 +0000</pubDate>" in text  # 09:00 Paris (CEST)
    assert "<pubDate>Sat, 18 Apr 2026 19:00:00 +0000</pubDate>" in text  # 12:00 PDT
    assert parsed.entries[0].author == "Ann"
    assert [t.term for t in parsed.entries[1].tags] == ["mlx", "python", "ai", "apple"]


def test_drafts_never_appear_in_any_feed(tmp_path):
    report, xml = build(make_site(tmp_path, POSTS))
    assert b"Work in progress" not in xml
    assert all(b"Work in progress" not in p.read_bytes() for p in report.tag_feeds)


def test_item_bodies_are_full_html_with_absolute_urls(tmp_path):
    _, xml = build(make_site(tmp_path, POSTS))
    body = feedparser.parse(xml).entries[0].description
    chart = re.search(r'<img [^>]*src="https://blog.example.com/weekly/weekly-2026-w16/charts/equity.png"[^>]*>', body)
    assert chart and 'width="800"' in chart.group(0) and 'height="360"' in chart.group(0)  # PNG, sized: readers drop SVG
    assert ".svg" not in body
    assert 'href="https://blog.example.com/weekly/2026-w15/"' in body
    assert 'href="https://blog.example.com/weekly/weekly-2026-w16/#figures"' in body
    assert not re.findall(r'(?:href|src)="(?!https://)', body)


def test_guid_is_stable_across_retitle_and_slug_change(tmp_path):
    config = make_site(tmp_path, POSTS)
    _, before = build(config)
    guid = feedparser.parse(before).entries[0].id
    assert guid == feedparser.parse(before).entries[0].link == "https://blog.example.com/weekly/weekly-2026-w16/"
    meta = dict(POSTS["weekly/2026-W16.md"][0], title="A better title", slug="w16-renamed")
    make_site(tmp_path, {"weekly/2026-W16.md": (meta, "Body.\n")})
    _, after = build(config)
    entry = feedparser.parse(after).entries[0]
    assert entry.title == "A better title" and entry.link.endswith("/weekly/w16-renamed/")
    assert entry.id == guid


def test_front_matter_guid_wins(tmp_path):
    posts = {"p.md": ({"title": "P", "date": "2026-04-01", "guid": "tag:blog.example.com,2026:p"}, "x\n")}
    _, xml = build(make_site(tmp_path, posts))
    assert b"<guid>tag:blog.example.com,2026:p</guid>" in xml


def test_hostile_text_is_escaped_and_legible(tmp_path):
    posts = {"h.md": ({"title": HOSTILE + "\x0b", "date": "2026-04-01T10:00:00+03:00"},
                      f"{HOSTILE}\n\n<script>alert(1)</script><p onclick=\"x()\">RTL: مرحبا بالعالم</p>\n")}
    _, xml = build(make_site(tmp_path, posts))
    parsed = feedparser.parse(xml)
    assert not parsed.bozo
    entry = parsed.entries[0]
    assert entry.title == HOSTILE
    assert "<script" not in entry.description and "onclick" not in entry.description
    assert "مرحبا بالعالم" in entry.description and "🚀" in entry.description
    assert "&amp;" in entry.description  # the ampersand survives as text, escaped once inside the HTML
    assert b"<script" not in xml


def test_newest_first_limit_and_size_warning(tmp_path):
    posts = {f"p{i}.md": ({"title": f"Post {i}", "date": f"2026-03-{i + 1:02d}T00:00:00Z"}, "word " * 400 + "\n")
             for i in range(6)}
    report, xml = build(make_site(tmp_path, posts, limit=3, max_bytes=5000))
    assert [e.title for e in feedparser.parse(xml).entries] == ["Post 5", "Post 4", "Post 3"]
    assert report.bytes == len(xml) and report.bytes > 5000
    assert any("max_bytes" in w and "feed.xml" in w for w in report.warnings)
    quiet, _ = build(make_site(tmp_path, posts, limit=3))
    assert quiet.warnings == []


def test_per_tag_feeds(tmp_path):
    config = make_site(tmp_path, POSTS, title="DEV Community: Ann", description="Latest from Ann")
    report, xml = build(config)
    assert sorted(p.relative_to(tmp_path / "site").as_posix() for p in report.tag_feeds) == [
        f"tags/{t}/feed.xml" for t in ("ai", "apple", "mlx", "python", "trading")]
    trading = feedparser.parse((tmp_path / "site/tags/trading/feed.xml").read_bytes())
    assert [e.title for e in trading.entries] == ["Quant Log Weekly · 2026W16"]
    assert trading.feed.title == "DEV Community: Ann: trading"
    assert trading.feed.link == "https://blog.example.com/tags/trading/"
    main = feedparser.parse(xml).feed
    assert main.title == "DEV Community: Ann" and main.subtitle == "Latest from Ann"
    assert main.image.href == "https://blog.example.com/img/logo.png"


def test_rebuild_is_byte_identical(tmp_path):
    config = make_site(tmp_path, POSTS)
    assert build(config)[1] == build(config)[1]


def test_weekly_with_hostile_headline_in_the_feed(tmp_path):
    from facts_sample import HOSTILE_TITLE, sample_facts, write_weekly

    config = make_site(tmp_path, {})
    write_weekly(config, sample_facts())
    _, xml = build(config)
    parsed = feedparser.parse(xml)
    assert not parsed.bozo
    body = parsed.entries[0].description
    assert "<script" not in body and b"<script" not in xml
    assert htmllib.escape(HOSTILE_TITLE, quote=False) in body
    assert 'src="https://blog.example.com/weekly/weekly-2026-w16/charts/vault.png"' in body
