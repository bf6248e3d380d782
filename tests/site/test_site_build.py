"""`publish build`: pages, metadata, drafts, atomic swap, incremental reuse, determinism."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from site_project import SITE_URL, make_project, site_files, write_post

import publisher
from publisher.cli import main
from publisher.config import load_config
from publisher.errors import BuildError, ContentError
from publisher.site.build import build_site, paginate, relative_root

WEEKLY = "weekly/weekly-2026-w16/"


@pytest.fixture()
def project(tmp_path):
    return make_project(tmp_path / "proj")


@pytest.fixture(scope="module")
def _built_once(tmp_path_factory):
    """One built project (charts take seconds); each test gets its own copy of it."""
    config = make_project(tmp_path_factory.mktemp("built") / "proj")
    return config, build_site(config)


@pytest.fixture()
def built(_built_once, tmp_path):
    original, result = _built_once
    shutil.copytree(original.root, tmp_path / "proj", symlinks=True)
    config = load_config(tmp_path / "proj", environ={})
    rebased = {f: [config.root / p.relative_to(original.root) for p in getattr(result, f)] for f in ("newsletter_paths", "devto_paths")}
    return config, dataclasses.replace(result, out_dir=config.site_dir, feed_path=config.site_dir / "feed.xml", **rebased)


def page(config, rel: str) -> str:
    return (config.site_dir / rel).read_text(encoding="utf-8")


def meta(html: str, key: str) -> str:
    match = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)">', html)
    assert match, key
    return match.group(1)


def test_build_writes_pages_charts_feed_sitemap_and_exports(built):
    config, result = built
    site = config.site_dir
    assert result.out_dir == site
    for rel in ["index.html", "page/2/index.html", "archive/index.html", "tags/index.html", "tags/python/index.html",
                f"{WEEKLY}index.html", "posts/inverted-mirror-book/index.html", "sitemap.xml", "robots.txt",
                "404.html", "static/style.css", "static/highlight.css", "feed.xml"]:
        assert (site / rel).is_file(), rel
    assert sorted(p.suffix for p in (site / WEEKLY / "charts").iterdir()).count(".svg") >= 2
    assert result.feed_path == site / "feed.xml" and result.feed_bytes == (site / "feed.xml").stat().st_size
    assert result.devto_paths and all(p.is_file() and p.parent == config.root / "exports" / "devto" for p in result.devto_paths)
    assert [p.is_file() for p in result.newsletter_paths] == [True]
    assert "Draft" not in page(config, "index.html")
    assert not (site / "posts" / "unfinished").exists()
    assert "unfinished" not in page(config, "sitemap.xml") and "unfinished" not in page(config, "feed.xml")
    assert f"Sitemap: {SITE_URL}sitemap.xml" in page(config, "robots.txt")
    assert not list(site.parent.glob(".site-*")), "no temporary folders left behind"


def test_post_page_metadata_is_absolute_and_escaped(built):
    config, _ = built
    html = page(config, f"{WEEKLY}index.html")
    assert html.startswith('<!doctype html>\n<html lang="en">')
    assert f'<link rel="canonical" href="{SITE_URL}{WEEKLY}">' in html
    image = meta(html, "og:image")
    assert image.startswith(f"{SITE_URL}{WEEKLY}charts/") and image.endswith(".png")
    assert (config.site_dir / image.removeprefix(SITE_URL)).is_file()
    assert meta(html, "twitter:card") == "summary_large_image" and meta(html, "twitter:image") == image
    assert meta(html, "og:image:alt")
    assert "<title>" in html and "Quant &lt;Log&gt; &amp; Notes</title>" in html  # the site title is escaped
    assert "<script" not in html  # the hostile news title is text, not markup
    assert "Bitcoin &lt;script&gt;alert" in html and "بيتكوين" in html
    plain = page(config, "posts/failure-vault/index.html")
    assert meta(plain, "twitter:card") == "summary" and 'property="og:image"' not in plain
    assert meta(plain, "og:type") == "article"


def test_dates_show_in_the_site_timezone(built):
    config, _ = built
    html = page(config, "posts/inverted-mirror-book/index.html")  # 2026-03-02T08:30+01:00 = 02:30 in New York
    assert '<time datetime="2026-03-02T08:30:00+01:00">2 March 2026</time>' in html
    late = write_post(config.root, "posts/late.md", "Late night", "2026-05-01T01:30:00+00:00")  # 30 April in New York
    build_site(config)
    assert ">30 April 2026</time>" in page(config, "posts/late/index.html")
    archive = page(config, "archive/index.html")
    assert archive.index('id="y2026-04"') < archive.index("Late night")  # filed under April, not May
    assert 'id="y2026-05"' not in archive
    late.unlink()


def test_drafts_only_with_the_flag_and_with_a_banner(project):
    result = build_site(project, include_drafts=True)
    html = page(project, "posts/unfinished/index.html")
    assert 'class="draft-banner"' in html and '<meta name="robots" content="noindex">' in html
    assert '<span class="badge">Draft</span>' in page(project, "index.html")
    assert "unfinished" not in page(project, "feed.xml") and "unfinished" not in page(project, "sitemap.xml")
    assert not any("unfinished" in str(p) for p in result.devto_paths)
    build_site(project)
    assert not (project.site_dir / "posts" / "unfinished").exists()


def test_pagination_links(built):
    config, _ = built
    assert [rel for rel, _ in paginate([object()] * 5, 2)] == ["index.html", "page/2/index.html", "page/3/index.html"]  # type: ignore[list-item]
    first, second = page(config, "index.html"), page(config, "page/2/index.html")
    assert 'rel="next" href="page/2/"' in first and 'rel="prev"' not in first
    assert 'rel="prev" href="../../"' in second and 'rel="next" href="../../page/3/"' not in second  # 4 posts, 2 a page
    assert relative_root("tags/x/index.html") == "../../" and relative_root("index.html") == ""


def test_incremental_build_renders_only_the_new_post(built):
    config, first = built
    post_pages = {p for p in first.pages_written if p.startswith(("posts/", "weekly/"))}
    assert len(post_pages) == 4 and not first.pages_unchanged
    inode = (config.site_dir / WEEKLY / "index.html").stat().st_ino
    chart = next((config.site_dir / WEEKLY / "charts").glob("*.svg"))
    chart_inode = chart.stat().st_ino

    write_post(config.root, "posts/new-one.md", "A new one", "2026-05-02T10:00:00+00:00", tags="[python, newtag]")
    second = build_site(config)
    assert {p for p in second.pages_written if p.startswith(("posts/", "weekly/"))} == {"posts/new-one/index.html"}
    assert set(second.pages_unchanged) == {f"{p}" for p in post_pages}
    assert {"index.html", "archive/index.html", "tags/newtag/index.html", "sitemap.xml"} <= set(second.pages_written)
    assert (config.site_dir / WEEKLY / "index.html").stat().st_ino == inode  # hard-linked, not re-rendered
    assert (config.site_dir / WEEKLY / "charts" / chart.name).stat().st_ino == chart_inode
    assert "A new one" in page(config, "index.html") and "A new one" in page(config, "feed.xml")

    (config.root / "content" / "posts" / "failure-vault.md").write_text(
        (config.root / "content" / "posts" / "failure-vault.md").read_text().replace("small fixed list", "short fixed list"))
    third = build_site(config)
    assert {p for p in third.pages_written if p.startswith("posts/")} == {"posts/failure-vault/index.html"}
    assert "short fixed list" in page(config, "posts/failure-vault/index.html")


def test_template_or_config_change_rebuilds_every_post(built):
    config, _ = built
    templates = config.root / "templates"
    templates.mkdir()
    (templates / "post.html").write_text('{% extends "base.html" %}{% block content %}CUSTOM {{ post.title }}{% endblock %}')
    result = build_site(config)
    assert not result.pages_unchanged
    assert "CUSTOM Sectional generation" in page(config, "posts/sectional-generation/index.html")
    shutil.rmtree(templates)
    changed = load_config(config.root, overrides={"site.title": "Renamed"}, environ={})
    assert not build_site(changed).pages_unchanged


def test_failed_build_leaves_the_previous_site_untouched(built):
    config, _ = built
    before = site_files(config.site_dir)
    facts = config.root / "content" / "weekly" / "2026-W16.facts.json"
    facts.write_text("{ not json", encoding="utf-8")
    with pytest.raises(BuildError, match=r"2026-W16\.facts\.json: unreadable fact sheet"):
        build_site(config)
    assert site_files(config.site_dir) == before
    assert not list(config.root.glob(".site-*"))

    bad = write_post(config.root, "posts/bad.md", "Bad", "not-a-date")
    with pytest.raises(ContentError, match="bad.md: date 'not-a-date' is not a date"):
        build_site(config)
    assert site_files(config.site_dir) == before
    bad.unlink()


def test_unexpected_failure_mid_build_is_a_build_error_naming_the_stage(built, monkeypatch):
    config, _ = built
    before = site_files(config.site_dir)
    (config.root / "content" / "weekly" / "2026-W16.md").write_text(
        (config.root / "content" / "weekly" / "2026-W16.md").read_text() + "\nEdited.\n")

    def boom(facts, out_dir):
        (out_dir / "half.svg").parent.mkdir(parents=True, exist_ok=True)
        (out_dir / "half.svg").write_text("<svg")
        raise RuntimeError("disk full")

    monkeypatch.setattr("publisher.render.charts.render_weekly_charts", boom)
    with pytest.raises(BuildError) as err:
        build_site(config)
    assert "build failed while rendering " in str(err.value) and "2026-W16.md: RuntimeError: disk full" in str(err.value)
    assert site_files(config.site_dir) == before
    assert not list(config.root.glob(".site-*"))


def test_nothing_to_publish_keeps_the_old_site(built):
    config, _ = built
    before = site_files(config.site_dir)
    for md in (config.root / "content").rglob("*.md"):
        md.write_text(md.read_text().replace("status: published", "status: draft"))
    with pytest.raises(BuildError, match="no published posts"):
        build_site(config)
    assert site_files(config.site_dir) == before


def test_recovers_from_a_crash_between_renames(built):
    config, _ = built
    before = site_files(config.site_dir)
    aside = config.root / ".site-old-crash"
    aside.mkdir()
    config.site_dir.rename(aside / "site")
    (config.root / ".site-build-crash").mkdir()
    (config.root / ".site-build-crash" / "junk.html").write_text("half")
    (config.root / ".publisher" / "build-cache.json").unlink()
    result = build_site(config)
    assert site_files(config.site_dir).keys() == before.keys()
    assert not list(config.root.glob(".site-*"))
    assert not result.pages_unchanged  # no cache after the crash: a full, correct rebuild


def test_same_input_gives_the_same_bytes(tmp_path):
    one, two = make_project(tmp_path / "a"), make_project(tmp_path / "b")
    build_site(one)
    build_site(two)
    first, second = site_files(one.site_dir), site_files(two.site_dir)
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []
    build_site(one)  # and an incremental rebuild equals the full one
    assert site_files(one.site_dir) == first


def test_site_static_overrides_theme(built):
    config, _ = built
    static = config.root / "templates" / "static"
    static.mkdir(parents=True)
    (static / "style.css").write_text("body{color:red}")
    build_site(config)
    assert page(config, "static/style.css") == "body{color:red}"


def test_cli_build_prints_site_and_counts(project):
    runner = CliRunner()
    result = runner.invoke(main, ["-C", str(project.root), "build"], env={}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"site: {project.site_dir}" in result.output
    assert re.search(r"pages: \d+ written, 0 unchanged", result.output)
    again = runner.invoke(main, ["-C", str(project.root), "build"], env={}, catch_exceptions=False)
    assert "pages: " in again.output and ", 4 unchanged" in again.output
    (project.root / "content" / "posts" / "broken.md").write_text("---\ntitle: [x\n---\n")
    failed = runner.invoke(main, ["-C", str(project.root), "build"], env={})
    assert failed.exit_code == 1 and "broken.md: invalid YAML" in failed.output
    json.loads((project.root / ".publisher" / "build-cache.json").read_text())  # the cache survives a failure


def _many_posts(root, count: int) -> None:
    for i in range(count):
        body = f"Post {i} with `code` and a [link](../post-{(i + 1) % count}/).\n\n```python\nx = {i}\n```\n"
        write_post(root, f"posts/post-{i:03d}.md", f"Post {i}", f"2025-01-{i % 28 + 1:02d}T{i % 24:02d}:00:00+00:00",
                   tags="[python, bulk]", body=body)


def test_parallel_rendering_matches_sequential_and_names_a_failing_post(tmp_path, monkeypatch):
    import publisher.site.pool as pool

    parallel, sequential = make_project(tmp_path / "par", weekly=False), make_project(tmp_path / "seq", weekly=False)
    for config in (parallel, sequential):
        _many_posts(config.root, pool.PARALLEL_MIN_ITEMS + 12)
    result = build_site(parallel)
    assert len([p for p in result.pages_written if p.startswith("posts/")]) == pool.PARALLEL_MIN_ITEMS + 15
    monkeypatch.setattr(pool, "PARALLEL_MIN_ITEMS", 10**9)
    build_site(sequential)
    assert site_files(parallel.site_dir) == site_files(sequential.site_dir)
    monkeypatch.undo()

    before = site_files(parallel.site_dir)
    (parallel.root / ".publisher" / "build-cache.json").unlink()  # force every post through the workers

    def export(post, config):
        if post.slug == "post-007":
            raise ZeroDivisionError("bad figure")
        return post.body

    monkeypatch.setattr("publisher.site.devto.export_post", export)
    with pytest.raises(BuildError, match=r"while rendering .*post-007\.md: ZeroDivisionError"):
        build_site(parallel)
    assert site_files(parallel.site_dir) == before


def test_preview_builds_elsewhere_keep_their_own_cache(built):
    from publisher.ops.serve import preview_config

    config, first = built
    preview = preview_config(config, config.state_dir / "preview" / "site")
    build_site(preview, include_drafts=True)
    assert (preview.site_dir / "posts" / "unfinished" / "index.html").is_file()
    again = build_site(config)
    assert len(again.pages_unchanged) == 4  # the preview build did not spoil the real cache
    source = config.root / "content" / "posts" / "failure-vault.md"
    source.write_text(source.read_text().replace("small fixed list", "edited list"))
    assert "edited list" in (build_site(preview, include_drafts=True), page(preview, "posts/failure-vault/index.html"))[1]
    result = build_site(config)
    assert "posts/failure-vault/index.html" in result.pages_written
    assert "edited list" in page(config, "posts/failure-vault/index.html")


def test_swap_without_renameat2_uses_two_renames(built, monkeypatch):
    config, _ = built
    monkeypatch.setattr("publisher.site.writer._exchange", lambda a, b: False)  # e.g. macOS, or an old kernel
    write_post(config.root, "posts/swapped.md", "Swapped in", "2026-05-03T10:00:00+00:00")
    result = build_site(config)
    assert "posts/swapped/index.html" in result.pages_written
    assert "Swapped in" in page(config, "index.html")
    assert not list(config.root.glob(".site-*"))


def test_cover_image_is_the_og_image_and_links_relative(built):
    config, _ = built
    (config.root / "content" / "posts" / "covered.md").write_text(
        "---\ntitle: Covered\ndate: 2026-05-04T10:00:00+00:00\ncover_image: /static/favicon.svg\n"
        "canonical_url: https://dev.to/op/covered-1abc\n---\n\nText.\n", encoding="utf-8")
    build_site(config)
    html = page(config, "posts/covered/index.html")
    assert meta(html, "og:image") == f"{SITE_URL}static/favicon.svg"
    assert '<img class="cover" src="../../static/favicon.svg" alt="">' in html
    assert '<link rel="canonical" href="https://dev.to/op/covered-1abc">' in html
    assert "posts/covered/" not in page(config, "sitemap.xml")  # canonical elsewhere: not ours to index


def test_only_render_stage_code_invalidates_the_cache():
    from publisher.site.build import render_code_files

    package = Path(publisher.__file__).parent
    names = {p.relative_to(package).as_posix() for p in render_code_files()}
    assert {"site/build.py", "site/generators.py", "render/markdown.py", "common/sanitize.py", "site/content.py", "render/charts.py",
            "common/figures.py", "site/newsletter.py", "site/devto.py", "config.py"} <= names
    assert not {n for n in names if n.split("/")[0] in {"weekly.py", "book", "facts", "drafting", "ops", "cli"}}
