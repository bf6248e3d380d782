"""The theme around posts: absolute canonical on every page, the home <h1>, sized images, one date
format, reading time, weekly series (previous/next, the series page), the subscribe box, the 404."""

from __future__ import annotations

import re

import pytest
from facts_sample import sample_facts
from site_project import SITE_URL, make_project, write_post, write_weekly

from publisher.config import load_config
from publisher.site.build import build_site

W15, W16 = "weekly/weekly-2026-w15/", "weekly/weekly-2026-w16/"
SERIES = "series/quant-log-notes-weekly/"


def facts_w15() -> dict:
    facts = sample_facts()
    facts["week"].update(iso="2026-W15", week=15, start="2026-04-06T00:00:00+00:00", end="2026-04-13T00:00:00+00:00")
    for book in facts["books"]:
        for point in book["equity_curve"]:
            point["t"] = point["t"].replace("-04-1", "-04-0", 1)
    return facts


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("theme") / "proj"
    config = make_project(root, draft=False)
    (root / "publisher.toml").write_text((root / "publisher.toml").read_text(encoding="utf-8")
                                         + 'subscribe_url = "https://buttondown.example/quant"\n', encoding="utf-8")
    config = load_config(root, environ={})
    write_weekly(root, config, facts_w15())
    write_post(root, "posts/long.md", "A long read", "2026-04-02T10:00:00Z", body="word " * 1000 + "\n")
    build_site(config)
    return config


def page(config, rel: str) -> str:
    return (config.site_dir / rel / ("index.html" if rel.endswith("/") or not rel else "")).read_text(encoding="utf-8")


def link(html: str, rel: str) -> str:
    match = re.search(rf'<link rel="{rel}" href="([^"]*)">', html)
    assert match, rel
    return match.group(1)


def og(html: str, key: str) -> str:
    match = re.search(rf'<meta property="{key}" content="([^"]*)">', html)
    assert match, key
    return match.group(1)


@pytest.mark.parametrize("rel", ["", "page/2/", "archive/", "tags/", "tags/python/", W16, SERIES])
def test_every_page_has_an_absolute_canonical_and_og_url(site, rel):
    html = page(site, rel)
    assert link(html, "canonical") == og(html, "og:url") == SITE_URL + rel


def test_home_has_one_h1_and_the_subscribe_box(site):
    html = page(site, "")
    assert re.findall(r"<h1[^>]*>(.*?)</h1>", html) == ["Quant &lt;Log&gt; &amp; Notes"]
    box = re.search(r'<aside class="subscribe".*?</aside>', html, re.S).group(0)
    assert 'href="feed.xml">RSS feed</a>' in box and 'href="https://buttondown.example/quant">Newsletter</a>' in box


def test_weekly_pages_link_previous_next_and_their_series(site):
    w15, w16 = page(site, W15), page(site, W16)
    assert re.search(r'<a rel="next" href="../../weekly/weekly-2026-w16/"><span>Next →</span> Quant &lt;Log&gt; &amp; Notes Weekly · 2026W16</a>', w15)
    assert 'rel="prev"' not in w15.split('class="series-nav"')[1]
    assert re.search(r'<a rel="prev" href="../../weekly/weekly-2026-w15/"><span>← Previous</span>', w16)
    assert f'Part 2 of 2 in <a href="../../{SERIES}">Quant &lt;Log&gt; &amp; Notes Weekly</a>' in w16
    series = page(site, SERIES)
    order = [m for m in re.findall(r'<h2><a href="../../(weekly/[^"]+)"', series)]
    assert order == [W15, W16]  # a series reads oldest first
    assert SITE_URL + SERIES in page(site, "sitemap.xml")


def test_one_date_format_and_reading_time(site):
    w16 = page(site, W16)
    assert '">19 April 2026</time> · 2 min read' in w16  # ends Monday 00:00 UTC: Sunday in New York; 301 words
    long = page(site, "posts/long/")
    assert '">2 April 2026</time> · 5 min read' in long  # 1,000 words at 230 a minute
    archive = page(site, "archive/")
    assert '">2 Apr</time>' in archive and "02 Apr" not in archive
    assert not re.search(r">0\d (January|February|March|April|May|June|July|August|September|October|November|December)", w16)


def test_chart_images_have_a_size_and_a_phone_variant(site):
    html = page(site, W16)
    pictures = re.findall(r"<picture>.*?</picture>", html, re.S)
    assert len(pictures) == 4
    for picture in pictures:
        name = re.search(r'<img src="charts/([a-z-]+)\.svg"', picture).group(1)
        assert f'<source media="(max-width: 600px)" srcset="charts/{name}-narrow.svg" width="360" height="340">' in picture
        assert re.search(r'<img src="charts/[a-z-]+\.svg" alt="[^"]+" width="800" height="360">', picture)
        assert (site.site_dir / W16 / "charts" / f"{name}-narrow.svg").is_file()
    assert not re.search(r"<img (?![^>]*width=)[^>]*>", html)  # every image on the page is sized


def test_a_new_weekly_updates_the_previous_ones_next_link(tmp_path):
    root = tmp_path / "proj"
    config = make_project(root, draft=False)
    write_weekly(root, config, facts_w15())
    facts16 = (root / "content" / "weekly" / "2026-W16.facts.json").read_bytes()
    post16 = (root / "content" / "weekly" / "2026-W16.md").read_bytes()
    for name in ("2026-W16.facts.json", "2026-W16.md"):
        (root / "content" / "weekly" / name).unlink()
    build_site(config)
    assert 'rel="next"' not in page(config, W15)
    (root / "content" / "weekly" / "2026-W16.facts.json").write_bytes(facts16)
    (root / "content" / "weekly" / "2026-W16.md").write_bytes(post16)
    result = build_site(config)
    assert f"{W15}index.html" in result.pages_written  # its page was not reused: a neighbour appeared
    assert 'rel="next" href="../../weekly/weekly-2026-w16/"' in page(config, W15)


def test_404_page_carries_its_style_and_absolute_links(site):
    html = (site.site_dir / "404.html").read_text(encoding="utf-8")
    assert "<style>" in html and ".site-header" in html and 'rel="stylesheet"' not in html
    assert 'href="/quant/archive/"' in html and 'href="/quant/"' in html
