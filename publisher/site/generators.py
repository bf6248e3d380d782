"""The generators of a build, as in Pelican: each one takes what it needs from the build context
and writes one kind of output through the writer.

Per post (in the fork pool, see publisher.site.pool): `Posts` renders the Markdown, then `Charts`
draws the weekly charts, the page is written, and `DevtoExports` writes the export. Site-wide, in
this process: `Listings` (indexes, archive, tags, 404), `Sitemap`, `Static`, `Feeds`,
`Newsletters`. Every generator leaves unchanged posts' output to the cache (reused folders).
"""

from __future__ import annotations

import json
import os
import shutil
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import groupby
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import jinja2

from publisher.common.bundled import bundled_path
from publisher.common.figures import figures_hash
from publisher.common.rules import FEED_FILE, devto_dir, devto_export_path, newsletter_rel
from publisher.common.sanitize import safe_url
from publisher.errors import BuildError, PublisherError, one_line
from publisher.render.markdown import highlight_css, render_post_html
from publisher.site.cache import post_key, sha
from publisher.site.content import Post
from publisher.site.context import BuildContext, absolute_url, relative_root
from publisher.site.theme import (
    cover_size,
    page_images,
    reading_minutes,
    series_fingerprint,
    series_index,
    series_navigation,
)
from publisher.site.writer import Page, Writer, reuse_tree, write_if_changed

RenderedPost = tuple[str, str, Path | None]  # (HTML body, page path, dev.to export path or None)


@contextmanager
def failing(doing: str, source: Path | None = None) -> Iterator[None]:
    """Turn an unexpected failure into one BuildError line saying what the build was doing (and
    for which post); errors a user can act on pass through as they are."""
    try:
        yield
    except PublisherError:
        raise
    except Exception as exc:
        where = f" ({source})" if source is not None else ""
        raise BuildError(f"build failed while {doing}{where}: {one_line(exc)}; the previous site is unchanged") from exc


def _template_location(exc: BaseException) -> str | None:
    """`templates/post.html, line 3` when a template failed: the file to fix is the template, not the post."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"{exc.filename or exc.name}, line {exc.lineno}"
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__)
              if frame.filename.endswith((".html", ".xml", ".j2", ".txt"))]
    return f"{frames[-1].filename}, line {frames[-1].lineno}" if frames else None


# ---------------------------------------------------------------- pure helpers


def paginate(posts: list[Post], per_page: int) -> list[tuple[str, list[Post]]]:
    """Index pages as (site-relative path, posts): index.html, page/2/index.html, ..."""
    per_page = max(per_page, 1)
    chunks = [posts[i : i + per_page] for i in range(0, len(posts), per_page)] or [[]]
    return [("index.html" if n == 1 else f"page/{n}/index.html", chunk) for n, chunk in enumerate(chunks, 1)]


def archive_groups(posts: list[Post], zone: ZoneInfo) -> list[dict[str, Any]]:
    """Years, newest first, each with its months (newest first) and posts, in the site's timezone."""
    years = []
    for year, in_year in groupby(posts, key=lambda p: p.date.astimezone(zone).year):
        months = [
            {"month": month, "name": group[0].date.astimezone(zone).strftime("%B"), "posts": group}
            for month, grouped in groupby(in_year, key=lambda p: p.date.astimezone(zone).month)
            for group in [list(grouped)]
        ]
        years.append({"year": year, "months": months})
    return years


def tag_index(posts: list[Post]) -> dict[str, list[Post]]:
    """Tag -> posts (newest first), tags sorted by name."""
    tags: dict[str, list[Post]] = {}
    for post in posts:
        for tag in post.tags:
            tags.setdefault(tag, []).append(post)
    return dict(sorted(tags.items()))


# ---------------------------------------------------------------- per post


class Charts:
    """The weekly charts of a post that has a fact sheet, drawn into its folder."""

    def __init__(self, context: BuildContext) -> None:
        self.context = context

    def for_post(self, post: Post) -> tuple[str, str]:
        """(absolute URL, alt text) of the post's first chart, the page's social image; ("", "") if none."""
        if post.facts_path is None:
            return "", ""
        from publisher.render.charts import render_weekly_charts  # matplotlib: only imported when needed

        try:
            facts = json.loads(post.facts_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BuildError(f"{post.facts_path}: unreadable fact sheet ({exc}); re-run 'publish weekly' for that week") from None
        recorded = post.meta.get("facts_hash")
        if recorded and recorded != figures_hash(facts):
            # An interrupted `publish weekly` can leave a new fact sheet beside the old post.
            raise BuildError(f"{post.source}: its text and {post.facts_path.name} disagree (an interrupted run?); "
                             f"re-run 'publish weekly --week {post.meta.get('week', '')}'")
        charts = render_weekly_charts(facts, self.context.out / post.url_path / "charts")
        if not charts:
            return "", ""
        return absolute_url(self.context.base_url, f"{post.url_path}charts/{charts[0].png.name}"), charts[0].alt


class DevtoExports:
    """`exports/devto/<slug>.md` of every published post, rewritten only when it changed."""

    def __init__(self, context: BuildContext) -> None:
        self.context = context
        self.existing: set[str] | None = None  # file names in the export folder, once scanned

    def scan(self) -> None:
        """Before the fork: make the folder and list it once, so a new export is written without
        first trying to read it (on 1,000 new posts, 3,000 failing syscalls fewer)."""
        folder = devto_dir(self.context.config.root)
        folder.mkdir(parents=True, exist_ok=True)
        with os.scandir(folder) as entries:
            self.existing = {entry.name for entry in entries}

    def for_post(self, post: Post) -> Path:
        from publisher.site.devto import export_post

        path = devto_export_path(self.context.config.root, post.slug)
        new = self.existing is not None and path.name not in self.existing
        write_if_changed(path, export_post(post, self.context.config), new=new)
        return path

    def for_reused(self, published: list[Post]) -> None:
        """Unchanged posts keep their export; one deleted by hand is written again."""
        result = self.context.result
        for post in published:
            if post.slug in self.context.reused:
                path = devto_export_path(self.context.config.root, post.slug)
                if not path.is_file():
                    with failing("writing dev.to exports", post.source):
                        self.for_post(post)
                result.devto_paths.append(path)
        result.devto_paths.sort()


class Posts:
    """Each post's folder: reused when its key is unchanged, else Markdown, charts, page and export."""

    def __init__(self, context: BuildContext, writer: Writer) -> None:
        self.context = context
        self.writer = writer
        self.charts = Charts(context)
        self.exports = DevtoExports(context)

    def prepare(self) -> list[Post]:
        """Keys for every post; reuse the folders of unchanged ones. Returns the posts to render,
        posts with charts first: they take longest, so no worker is left drawing charts at the end."""
        context = self.context
        cache, pending = context.cache, []
        context.series = series_navigation(context.posts, context.config)
        for post in context.posts:
            with failing("reusing unchanged posts", post.source):
                # a new neighbour in its series changes this page's previous/next links
                key = post_key(post, sha(cache.env_hash, series_fingerprint(context.series.get(post.slug))))
                cache.current[post.slug] = {"key": key, "url_path": post.url_path, "html": ""}
                cached = cache.unchanged_html(post, key)
                if cached is not None and reuse_tree(context.config.site_dir / post.url_path, context.out / post.url_path):
                    post.html = cached
                    cache.current[post.slug]["html"] = cached
                    context.reused.add(post.slug)
                    context.result.pages_unchanged.append(f"{post.url_path}index.html")
                else:
                    pending.append(post)
        return sorted(pending, key=lambda post: post.facts_path is None)

    def preload(self, pending: list[Post]) -> None:
        """Import what every post needs once, here, before the fork: each worker would otherwise
        import it again (feedgen, lxml and libyaml for the exports). Matplotlib (a second of
        imports) is left to the worker that draws charts, while the other renders posts."""
        if any(post.status != "draft" for post in pending):
            import publisher.site.devto  # noqa: F401

            self.exports.scan()

    def render(self, post: Post) -> RenderedPost:
        """Runs in a worker: the post's HTML body, page and export; any failure names the post."""
        try:
            render_post_html(post)
            rel = self.page(post)
            devto = self.exports.for_post(post) if post.status != "draft" else None
        except PublisherError:
            raise
        except Exception as exc:
            culprit = _template_location(exc) or str(post.source)
            raise BuildError(f"build failed while rendering {culprit}: {one_line(exc)}; the previous site is unchanged") from None
        return post.html, rel, devto

    def collect(self, pending: list[Post], done: list[RenderedPost]) -> None:
        """Back in this process: record what the workers rendered (the cache keeps each post's HTML)."""
        result = self.context.result
        for post, (html, rel, devto) in zip(pending, done, strict=True):
            post.html = self.context.cache.current[post.slug]["html"] = html
            result.pages_written.append(rel)
            if devto is not None:
                result.devto_paths.append(devto)

    def page(self, post: Post) -> str:
        context = self.context
        rel = f"{post.url_path}index.html"
        image, image_alt = self.charts.for_post(post)
        if not image and post.cover_image:
            image = absolute_url(context.base_url, post.cover_image)
        cover_src = ""
        if post.cover_image:
            # A site-relative cover ("static/x.png" or "/static/x.png") is linked relative to the page.
            parsed = urlparse(post.cover_image)
            cover_src = safe_url(post.cover_image if parsed.scheme else relative_root(rel) + post.cover_image.lstrip("/"))
        page = Page(
            title=post.title, description=post.description, type="article",
            canonical=safe_url(post.canonical_url) or absolute_url(context.base_url, post.url_path),
            image=image or context.site_image(), image_alt=image_alt, noindex=post.status == "draft",
        )
        self.writer.page("post.html", rel, page, record=False, post=post, cover_src=cover_src, body=page_images(post.html),
                         minutes=reading_minutes(post), series=context.series.get(post.slug),
                         cover_size=cover_size(post.cover_image, [context.config.templates_dir, bundled_path("templates")]))
        return rel


# ---------------------------------------------------------------- site-wide


class Listings:
    """Index pages, the archive, the tag pages and the 404 page: post metadata only, no post HTML."""

    def __init__(self, context: BuildContext, writer: Writer) -> None:
        self.context = context
        self.writer = writer

    def generate(self) -> None:
        context, site, base = self.context, self.context.config.site, self.context.base_url
        posts, render = context.posts, self.writer.page
        pages = paginate(posts, site.posts_per_page)
        for number, (rel, chunk) in enumerate(pages, 1):
            pagination = {
                "number": number, "count": len(pages),
                "newer": None if number == 1 else pages[number - 2][0].removesuffix("index.html"),
                "older": pages[number][0].removesuffix("index.html") if number < len(pages) else None,
            }
            title = site.title if number == 1 else f"{site.title}, page {number}"
            page = Page(title=title, description=site.description, canonical=absolute_url(base, rel.removesuffix("index.html")), image=context.site_image())
            render("index.html", rel, page, posts=chunk, pagination=pagination)
        render(
            "archive.html", "archive/index.html",
            Page(title="Archive", description=f"Every post on {site.title}, by month.", canonical=absolute_url(base, "archive/"), image=context.site_image()),
            years=archive_groups(posts, context.zone),
        )
        tags = tag_index(posts)
        render(
            "tags.html", "tags/index.html",
            Page(title="Tags", description=f"Topics on {site.title}.", canonical=absolute_url(base, "tags/"), image=context.site_image()),
            tags=[(tag, len(tagged)) for tag, tagged in tags.items()],
        )
        for tag, tagged in tags.items():
            render(
                "tag.html", f"tags/{tag}/index.html",
                Page(title=f"#{tag}", description=f"Posts tagged {tag} on {site.title}.", canonical=absolute_url(base, f"tags/{tag}/"), image=context.site_image()),
                tag=tag, posts=tagged, tag_feed=any(p.status == "published" for p in tagged),  # Feeds writes tags/<tag>/FEED_FILE
            )
        for name, group in series_index(posts, context.config).items():
            nav = context.series[group[0].slug]
            render("series.html", f"{nav.path}index.html",
                   Page(title=name, description=f"Every part of {name}, oldest first.", canonical=absolute_url(base, nav.path), image=context.site_image()),
                   name=name, posts=group)
        base_path = urlparse(base).path or "/"
        render("404.html", "404.html", Page(title="Page not found", description=site.description, canonical=base, noindex=True),
               root=base_path, inline_css=self.inline_css())

    def inline_css(self) -> str:
        """The theme's stylesheets as text, for the 404 page (served at any depth, under any mount)."""
        sheets = []
        for name in ("style.css", "highlight.css"):
            for folder in (self.context.config.templates_dir / "static", bundled_path("templates") / "static"):
                if (folder / name).is_file():
                    sheets.append((folder / name).read_text(encoding="utf-8"))
                    break
            else:
                if name == "highlight.css":
                    sheets.append(highlight_css())
        return "\n".join(sheets).replace("</", "<\\/")


class Sitemap:
    """sitemap.xml (published posts that are canonical here) and robots.txt pointing at it."""

    def __init__(self, context: BuildContext, writer: Writer) -> None:
        self.context = context
        self.writer = writer

    def generate(self) -> None:
        base, posts = self.context.base_url, self.context.published
        entries = [{"loc": base, "lastmod": posts[0].date.isoformat() if posts else ""}]
        entries += [{"loc": absolute_url(base, p), "lastmod": ""} for p in ("archive/", "tags/")]
        entries += [{"loc": absolute_url(base, f"tags/{t}/"), "lastmod": ""} for t in tag_index(posts)]
        entries += [{"loc": absolute_url(base, self.context.series[group[0].slug].path), "lastmod": ""}
                    for group in series_index(posts, self.context.config).values()]
        entries += [
            {"loc": absolute_url(base, p.url_path), "lastmod": p.date.isoformat()}
            for p in posts if p.status != "draft" and not p.canonical_url
        ]
        self.writer.template("sitemap.xml", "sitemap.xml", entries=entries)
        self.writer.template("robots.txt", "robots.txt", sitemap_url=absolute_url(base, "sitemap.xml"))


class Static:
    """The theme's static files, overridden by the site's own templates/static/."""

    def __init__(self, context: BuildContext, writer: Writer) -> None:
        self.context = context
        self.writer = writer

    def generate(self) -> None:
        target = self.context.out / "static"
        for source in (bundled_path("templates") / "static", self.context.config.templates_dir / "static"):
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
        if not (target / "highlight.css").exists():
            self.writer.text("static/highlight.css", highlight_css() + "\n", record=False)


class Feeds:
    """The site feed and each tag's feed (publisher.site.feed), at the path every page links."""

    def __init__(self, context: BuildContext) -> None:
        self.context = context

    def generate(self) -> None:
        from publisher.site.feed import write_feeds

        context = self.context
        report = write_feeds(context.published, context.config, context.out)
        context.result.feed_path = context.config.site_dir / FEED_FILE
        context.result.feed_bytes = report.bytes
        context.result.warnings.extend(report.warnings)


class Newsletters:
    """`newsletter/<slug>/` of each published weekly post: reused when the post is unchanged."""

    def __init__(self, context: BuildContext) -> None:
        self.context = context

    def generate(self) -> None:
        from publisher.site.newsletter import preview_path, write_newsletter

        context = self.context
        for post in context.published:
            if post.kind != "weekly":
                continue
            with failing("writing newsletters", post.source):
                entry = context.cache.current[post.slug]
                previous = context.cache.previous.get(post.slug, {}).get("newsletter")
                folder = newsletter_rel(post.slug)
                if (post.slug in context.reused and previous and preview_path(post, context.config).is_file()
                        and reuse_tree(context.config.site_dir / folder, context.out / folder)):
                    rel = previous
                else:
                    rel = Path(write_newsletter(post, context.config, context.out)).relative_to(context.out).as_posix()
                entry["newsletter"] = rel
                context.result.newsletter_paths.append(context.config.site_dir / rel)
