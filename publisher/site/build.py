"""`publish build`: content -> context -> templates -> `site/`, atomically and incrementally.

Atomic: everything is built in a temporary folder beside `site/` and swapped in with one
`renameat2(RENAME_EXCHANGE)` (Linux; two renames elsewhere, with recovery on the next build), so a
failed or killed build leaves the previous site untouched and a server never sees half a site.

Incremental: each post gets a key, the hash of its source, its fact sheet, the templates, the
publisher code and the config. A post whose key is unchanged since the last build has its folder
(page, charts) and newsletter hard-linked from the previous site and its rendered HTML read from
`.publisher/build-cache.json`; only new or changed posts are rendered. Indexes, archive, tag pages,
feeds and sitemap always are (they are cheap and depend on every post). Output is deterministic:
no build timestamps, stable ordering.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import fcntl
import gc
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlparse
from zoneinfo import ZoneInfo

import jinja2

import publisher
from publisher.common.bundled import bundled_path
from publisher.common.figures import figures_hash
from publisher.common.fsutil import atomic_write_text, fsync_dir
from publisher.common.sanitize import safe_url
from publisher.errors import BuildError, PublisherError
from publisher.render.markdown import highlight_css, render_post_html, template_env
from publisher.site.content import Post, load_posts
from publisher.site.theme import (
    cover_size,
    page_images,
    reading_minutes,
    series_fingerprint,
    series_index,
    series_navigation,
)

if TYPE_CHECKING:
    import jinja2

    from publisher.common.progress import Progress
    from publisher.config import Config

CACHE_VERSION = 1
LOCK_TIMEOUT_S = 120.0
RENDER_CODE_PACKAGES = ("common", "render", "site")  # their code shapes every rendered page: see render_code_files()
RENDER_CODE_FILES = ("__init__.py", "config.py", "errors.py")
FEED_HREF = "feed.xml"  # where publisher.site.feed writes the site feed; every page links it
PARALLEL_MIN_POSTS = 48  # below this a process pool costs more than it saves
RENDER_CHUNK = 16  # posts per task: small enough that no core idles long at the end, large enough to batch IPC
_ACTIVE: _Builder | None = None  # the build a forked worker renders for (set only during render_posts)
_PENDING: list[Post] = []  # the posts it renders, by index (set only during render_posts)


@dataclass
class BuildResult:
    out_dir: Path
    pages_written: list[str] = field(default_factory=list)  # site-relative paths rendered this build
    pages_unchanged: list[str] = field(default_factory=list)  # post pages reused from the previous site
    feed_path: Path | None = None
    feed_bytes: int = 0
    warnings: list[str] = field(default_factory=list)
    newsletter_paths: list[Path] = field(default_factory=list)
    devto_paths: list[Path] = field(default_factory=list)


@dataclass
class _Page:
    """Per-page template context shared by base.html."""

    title: str
    description: str
    canonical: str
    type: str = "website"
    image: str = ""
    image_alt: str = ""
    noindex: bool = False


# ---------------------------------------------------------------- pure helpers


def relative_root(path: str) -> str:
    """The prefix from a page to the site root ("posts/x/index.html" -> "../../"): relative links
    work on any host, under a sub-path (GitHub project pages), in the dev server and from file://."""
    return "../" * path.count("/")


def absolute_url(base: str, path: str) -> str:
    """`path` (site-relative or absolute) resolved against the site URL; "" for an unsafe scheme."""
    return safe_url(urljoin(base.rstrip("/") + "/", path.lstrip("/")))  # "" -> the site's own URL (home)


def _template_location(exc: BaseException) -> str | None:
    """`templates/post.html, line 3` when a template failed: the file to fix is the template, not the post."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"{exc.filename or exc.name}, line {exc.lineno}"
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__)
              if frame.filename.endswith((".html", ".xml", ".j2", ".txt"))]
    return f"{frames[-1].filename}, line {frames[-1].lineno}" if frames else None


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


def _sha(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def _tree_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


def render_code_files() -> list[Path]:
    """The package files whose code shapes a post's folder, newsletter or export: the render and
    site stages and what they stand on (common, config, errors), so an edit to, say, the drafting
    code does not force a full rebuild but an edit to charts does."""
    package = Path(publisher.__file__).parent
    files = [package / name for name in RENDER_CODE_FILES]
    for folder in RENDER_CODE_PACKAGES:
        files += (package / folder).rglob("*.py")
    return sorted(files)


def environment_hash(config: Config, include_drafts: bool) -> str:
    """Everything besides a post's own files that shapes its page: code, templates, config."""
    parts: list[bytes | str] = [str(CACHE_VERSION), str(include_drafts)]
    for path in render_code_files():
        parts += [path.relative_to(Path(publisher.__file__).parent).as_posix(), path.read_bytes()]
    for root in (config.templates_dir, bundled_path("templates")):
        for path in _tree_files(root):
            parts += [str(path.relative_to(root)), path.read_bytes()]
    settings = {name: dataclasses.asdict(getattr(config, name)) for name in ("site", "feed", "newsletter")}
    parts.append(json.dumps(settings, sort_keys=True, default=str))
    return _sha(*parts)


def post_key(post: Post, env_hash: str) -> str:
    facts = post.facts_path.read_bytes() if post.facts_path else b""
    return _sha(env_hash, post.url_path, post.source.read_bytes(), facts)


# ---------------------------------------------------------------- filesystem edges


def _link_or_copy(src: str, dst: str) -> None:
    """Hard links make reusing 1,000 unchanged pages nearly free; copy where links are impossible."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _reuse_tree(src: Path, dst: Path) -> bool:
    """Hard-link a folder of the previous site into the new one (no copystat: fewer syscalls)."""
    if not src.is_dir():
        return False
    for folder, _dirs, files in os.walk(src):
        target = dst / os.path.relpath(folder, src)
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            _link_or_copy(os.path.join(folder, name), str(target / name))
    return True


def _write_if_changed(path: Path, text: str) -> None:
    """Exports outside site/: replaced whole (rename) and only when different, so mtimes stay put."""
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _render_post_task(index: int) -> tuple[str, str, Path | None]:
    """Runs in a forked worker: the posts were inherited with the process, so only an index and
    the result cross the pipe (no pickled Post objects)."""
    assert _ACTIVE is not None and _PENDING, "render_posts sets the active build before forking"
    return _ACTIVE.render_post(_PENDING[index])


def _write(out: Path, rel: str, text: str, written: list[str]) -> None:
    path = out / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    written.append(rel)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _swap_in(new: Path, site: Path) -> None:
    if not site.exists():
        os.rename(new, site)
    elif _exchange(new, site):
        shutil.rmtree(new)  # `new` now holds the previous site
    else:
        old = Path(tempfile.mkdtemp(prefix=f".{site.name}-old-", dir=site.parent))
        os.rename(site, old / "site")
        os.rename(new, site)
        shutil.rmtree(old)
    fsync_dir(site.parent)


def _recover(site: Path) -> None:
    """Undo what a crashed build left: restore a site moved aside, drop half-built folders."""
    for leftover in sorted(site.parent.glob(f".{site.name}-old-*")):
        moved = leftover / "site"
        if not site.exists() and moved.is_dir():
            os.rename(moved, site)
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in site.parent.glob(f".{site.name}-build-*"):
        shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def _build_lock(state_dir: Path) -> Iterator[None]:
    """One build at a time per project (the dev server may trigger one while a user runs another)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    lock_path = state_dir / "build.lock"
    with open(lock_path, "w") as handle:
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise BuildError(f"{lock_path}: another build has held the lock for {LOCK_TIMEOUT_S:.0f}s; wait for it or stop it") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class _Cache:
    """`.publisher/build-cache.json`: per post its key, page folder, rendered HTML and newsletter.

    One file rather than one per post: on slow disks opening 1,000 small files costs more than
    parsing a few megabytes of JSON."""

    def __init__(self, config: Config, env_hash: str) -> None:
        # One cache per output folder: the preview server builds elsewhere, with drafts, and must
        # never make `publish build` reuse a page that only exists in the preview (or vice versa).
        # Recorded relative to the project when inside it, so a moved or copied project keeps its cache.
        resolved = config.site_dir.resolve()
        root = config.root.resolve()
        site = resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else str(resolved)
        name = "build-cache.json" if site == "site" else f"build-cache-{_sha(site)[:12]}.json"
        self.path = config.state_dir / name
        self.env_hash = env_hash
        self.site = site
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        valid = data.get("version") == CACHE_VERSION and data.get("env") == env_hash and data.get("site") == site
        self.previous: dict[str, dict[str, Any]] = data.get("posts", {}) if valid else {}
        self.current: dict[str, dict[str, Any]] = {}

    def unchanged_html(self, post: Post, key: str) -> str | None:
        """The rendered HTML of the previous build if the post's key is unchanged."""
        entry = self.previous.get(post.slug)
        if entry and entry.get("key") == key and entry.get("url_path") == post.url_path:
            return entry.get("html")
        return None

    def invalidate(self) -> None:
        """Called before the swap: a crash between swap and save must not leave stale keys."""
        self.path.unlink(missing_ok=True)

    def save(self) -> None:
        data = {"version": CACHE_VERSION, "env": self.env_hash, "site": self.site, "posts": self.current}
        atomic_write_text(self.path, json.dumps(data, sort_keys=True, ensure_ascii=False))


# ---------------------------------------------------------------- the build


class _Builder:
    def __init__(self, config: Config, out: Path, include_drafts: bool, cache: _Cache) -> None:
        self.config = config
        self.out = out
        self.include_drafts = include_drafts
        self.cache = cache
        self.zone = ZoneInfo(config.site.timezone)
        self.base_url = config.site.url.rstrip("/") + "/"
        self.env: jinja2.Environment = template_env(config)
        self.env.auto_reload = False  # one build, one version of the templates: no stat per page
        self.env.filters["local"] = lambda value: value.astimezone(self.zone)
        self.result = BuildResult(out_dir=config.site_dir)
        self.keys: dict[str, str] = {}
        self.reused: set[str] = set()
        self.stage = "loading posts"
        self.current: Post | None = None
        self.series: dict[str, Any] = {}  # post slug -> its SeriesNav (previous/next links)

    def _render(self, template: str, rel: str, page: _Page, *, written: list[str] | None = None, **context: Any) -> None:
        root = context.pop("root", None)
        text = self.env.get_template(template).render(
            site=self.config.site, page=page, root=relative_root(rel) if root is None else root,
            feed_href=FEED_HREF, include_drafts=self.include_drafts, **context,
        )
        _write(self.out, rel, text, self.result.pages_written if written is None else written)

    def _site_image(self) -> str:
        image = self.config.site.image
        return absolute_url(self.base_url, image) if image else ""

    def prepare(self, posts: list[Post]) -> list[Post]:
        """Keys for every post; reuse the folders of unchanged ones. Returns the posts to render."""
        self.stage = "reusing unchanged posts"
        pending = []
        self.series = series_navigation(posts, self.config)
        for post in posts:
            self.current = post
            # a new neighbour in its series changes this page's previous/next links
            key = post_key(post, _sha(self.cache.env_hash, series_fingerprint(self.series.get(post.slug))))
            self.keys[post.slug] = key
            self.cache.current[post.slug] = {"key": key, "url_path": post.url_path, "html": ""}
            cached = self.cache.unchanged_html(post, key)
            if cached is not None and _reuse_tree(self.config.site_dir / post.url_path, self.out / post.url_path):
                post.html = cached
                self.cache.current[post.slug]["html"] = cached
                self.reused.add(post.slug)
                self.result.pages_unchanged.append(f"{post.url_path}index.html")
            else:
                pending.append(post)
        self.current = None
        return pending

    def render_posts(self, pending: list[Post], meanwhile: Callable[[], None]) -> None:
        """Markdown, charts, page and dev.to export of each new or changed post, on every core;
        `meanwhile` (pages that need no post HTML) runs in this process while the workers render."""
        global _ACTIVE, _PENDING
        _ACTIVE, _PENDING = self, pending
        workers = min(os.cpu_count() or 1, 8)
        try:
            if len(pending) >= PARALLEL_MIN_POSTS and workers > 1 and "fork" in mp.get_all_start_methods():
                # fork: workers inherit the posts and loaded modules; chunks keep IPC small; frozen
                # objects are left alone by the workers' GC (no copy-on-write of the whole heap)
                gc.freeze()
                try:
                    with mp.get_context("fork").Pool(workers) as pool:
                        job = pool.map_async(_render_post_task, range(len(pending)), chunksize=RENDER_CHUNK)
                        meanwhile()
                        done = job.get()
                finally:
                    gc.unfreeze()
            else:
                meanwhile()
                self.stage = "rendering posts"
                done = [self.render_post(post) for post in pending]
        finally:
            _ACTIVE, _PENDING = None, []
        for post, (html, rel, devto) in zip(pending, done, strict=True):
            post.html = self.cache.current[post.slug]["html"] = html
            self.result.pages_written.append(rel)
            if devto is not None:
                self.result.devto_paths.append(devto)

    def render_post(self, post: Post) -> tuple[str, str, Path | None]:
        """(HTML body, page path, dev.to export path) of one post; any failure names the post."""
        try:
            render_post_html(post)
            rel = self.post_page(post)
            devto = self.devto_export(post) if post.status != "draft" else None
        except PublisherError:
            raise
        except Exception as exc:
            summary = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            culprit = _template_location(exc) or str(post.source)
            raise BuildError(f"build failed while rendering {culprit}: {summary}; the previous site is unchanged") from None
        return post.html, rel, devto

    def post_page(self, post: Post) -> str:
        rel = f"{post.url_path}index.html"
        image, image_alt = "", ""
        if post.facts_path is not None:
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
            charts = render_weekly_charts(facts, self.out / post.url_path / "charts")
            if charts:
                image = absolute_url(self.base_url, f"{post.url_path}charts/{charts[0].png.name}")
                image_alt = charts[0].alt
        if not image and post.cover_image:
            image = absolute_url(self.base_url, post.cover_image)
        cover_src = ""
        if post.cover_image:
            # A site-relative cover ("static/x.png" or "/static/x.png") is linked relative to the page.
            parsed = urlparse(post.cover_image)
            cover_src = safe_url(post.cover_image if parsed.scheme else relative_root(rel) + post.cover_image.lstrip("/"))
        page = _Page(
            title=post.title, description=post.description, type="article",
            canonical=safe_url(post.canonical_url) or absolute_url(self.base_url, post.url_path),
            image=image or self._site_image(), image_alt=image_alt, noindex=post.status == "draft",
        )
        self._render("post.html", rel, page, written=[], post=post, cover_src=cover_src, body=page_images(post.html),
                     minutes=reading_minutes(post), series=self.series.get(post.slug),
                     cover_size=cover_size(post.cover_image, [self.config.templates_dir, bundled_path("templates")]))
        return rel

    def devto_export(self, post: Post) -> Path:
        from publisher.site.devto import export_post

        path = self.config.root / "exports" / "devto" / f"{post.slug}.md"
        _write_if_changed(path, export_post(post, self.config))
        return path

    def site_pages(self, posts: list[Post], published: list[Post]) -> None:
        """Everything that needs post metadata but not post HTML."""
        self.listings(posts)
        self.sitemap(published)
        self.static()

    def listings(self, posts: list[Post]) -> None:
        self.stage = "rendering indexes, archive and tags"
        site = self.config.site
        pages = paginate(posts, site.posts_per_page)
        for number, (rel, chunk) in enumerate(pages, 1):
            pagination = {
                "number": number, "count": len(pages),
                "newer": None if number == 1 else pages[number - 2][0].removesuffix("index.html"),
                "older": pages[number][0].removesuffix("index.html") if number < len(pages) else None,
            }
            title = site.title if number == 1 else f"{site.title}, page {number}"
            page = _Page(title=title, description=site.description, canonical=absolute_url(self.base_url, rel.removesuffix("index.html")), image=self._site_image())
            self._render("index.html", rel, page, posts=chunk, pagination=pagination)
        self._render(
            "archive.html", "archive/index.html",
            _Page(title="Archive", description=f"Every post on {site.title}, by month.", canonical=absolute_url(self.base_url, "archive/"), image=self._site_image()),
            years=archive_groups(posts, self.zone),
        )
        tags = tag_index(posts)
        self._render(
            "tags.html", "tags/index.html",
            _Page(title="Tags", description=f"Topics on {site.title}.", canonical=absolute_url(self.base_url, "tags/"), image=self._site_image()),
            tags=[(tag, len(tagged)) for tag, tagged in tags.items()],
        )
        for tag, tagged in tags.items():
            self._render(
                "tag.html", f"tags/{tag}/index.html",
                _Page(title=f"#{tag}", description=f"Posts tagged {tag} on {site.title}.", canonical=absolute_url(self.base_url, f"tags/{tag}/"), image=self._site_image()),
                tag=tag, posts=tagged, tag_feed=any(p.status == "published" for p in tagged),  # feed.py writes tags/<tag>/feed.xml
            )
        for name, group in series_index(posts, self.config).items():
            nav = self.series[group[0].slug]
            self._render("series.html", f"{nav.path}index.html",
                         _Page(title=name, description=f"Every part of {name}, oldest first.", canonical=absolute_url(self.base_url, nav.path), image=self._site_image()),
                         name=name, posts=group)
        base_path = urlparse(self.base_url).path or "/"
        self._render("404.html", "404.html", _Page(title="Page not found", description=site.description, canonical=self.base_url, noindex=True),
                     root=base_path, inline_css=self.inline_css())

    def inline_css(self) -> str:
        """The theme's stylesheets as text, for the 404 page (served at any depth, under any mount)."""
        sheets = []
        for name in ("style.css", "highlight.css"):
            for folder in (self.config.templates_dir / "static", bundled_path("templates") / "static"):
                if (folder / name).is_file():
                    sheets.append((folder / name).read_text(encoding="utf-8"))
                    break
            else:
                if name == "highlight.css":
                    sheets.append(highlight_css())
        return "\n".join(sheets).replace("</", "<\\/")

    def sitemap(self, posts: list[Post]) -> None:
        self.stage = "writing sitemap and robots.txt"
        entries = [{"loc": self.base_url, "lastmod": posts[0].date.isoformat() if posts else ""}]
        entries += [{"loc": absolute_url(self.base_url, p), "lastmod": ""} for p in ("archive/", "tags/")]
        entries += [{"loc": absolute_url(self.base_url, f"tags/{t}/"), "lastmod": ""} for t in tag_index(posts)]
        entries += [{"loc": absolute_url(self.base_url, self.series[group[0].slug].path), "lastmod": ""}
                    for group in series_index(posts, self.config).values()]
        entries += [
            {"loc": absolute_url(self.base_url, p.url_path), "lastmod": p.date.isoformat()}
            for p in posts if p.status != "draft" and not p.canonical_url
        ]
        for name, context in (("sitemap.xml", {"entries": entries}), ("robots.txt", {"sitemap_url": absolute_url(self.base_url, "sitemap.xml")})):
            _write(self.out, name, self.env.get_template(name).render(**context), self.result.pages_written)

    def static(self) -> None:
        """The theme's static files, overridden by the site's own templates/static/."""
        self.stage = "copying static files"
        target = self.out / "static"
        for source in (bundled_path("templates") / "static", self.config.templates_dir / "static"):
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
        if not (target / "highlight.css").exists():
            _write(self.out, "static/highlight.css", highlight_css() + "\n", [])

    def feeds(self, published: list[Post]) -> None:
        from publisher.site.feed import write_feeds

        self.stage = "writing feeds"
        report = write_feeds(published, self.config, self.out)
        if Path(report.path) != self.out / FEED_HREF:  # every page links to FEED_HREF
            raise BuildError(f"the feed was written to {report.path}, not {self.out / FEED_HREF}; pages would link a missing feed")
        self.result.feed_path = self.config.site_dir / FEED_HREF
        self.result.feed_bytes = report.bytes
        self.result.warnings.extend(report.warnings)

    def newsletters(self, published: list[Post]) -> None:
        from publisher.site.newsletter import write_newsletter

        self.stage = "writing newsletters"
        for post in published:
            if post.kind != "weekly":
                continue
            self.current = post
            entry = self.cache.current[post.slug]
            previous = self.cache.previous.get(post.slug, {}).get("newsletter")
            folder = f"newsletter/{post.slug}/"
            if post.slug in self.reused and previous and _reuse_tree(self.config.site_dir / folder, self.out / folder):
                rel = previous
            else:
                rel = Path(write_newsletter(post, self.config, self.out)).relative_to(self.out).as_posix()
            entry["newsletter"] = rel
            self.result.newsletter_paths.append(self.config.site_dir / rel)
        self.current = None

    def devto_reused(self, published: list[Post]) -> None:
        """Unchanged posts keep their export; one deleted by hand is written again."""
        self.stage = "writing dev.to exports"
        for post in published:
            if post.slug in self.reused:
                path = self.config.root / "exports" / "devto" / f"{post.slug}.md"
                if not path.is_file():
                    self.devto_export(post)
                self.result.devto_paths.append(path)
        self.result.devto_paths.sort()


def _null_stage(_name: str) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


def build_site(config: Config, *, include_drafts: bool = False, progress: Progress | None = None) -> BuildResult:
    """Render `content/` into `site/` (see the module docstring). Raises BuildError or ContentError,
    leaving the previous site in place, when anything fails or there is nothing to publish."""
    stage = progress.stage if progress is not None else _null_stage
    site_dir = config.site_dir
    with _build_lock(config.state_dir):
        _recover(site_dir)
        with stage("load posts"):
            posts = load_posts(config.content_dir, config.site.timezone)
        if not include_drafts:
            posts = [p for p in posts if p.status != "draft"]
        if not posts:
            raise BuildError(f"{config.content_dir}: no published posts to build (drafts are built only with --drafts); the previous site is unchanged")
        published = [p for p in posts if p.status != "draft"]
        cache = _Cache(config, environment_hash(config, include_drafts))
        site_dir.parent.mkdir(parents=True, exist_ok=True)
        out = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}-build-", dir=site_dir.parent))
        builder = _Builder(config, out, include_drafts, cache)
        try:
            with stage("reuse unchanged posts"):
                pending = builder.prepare(posts)
            with stage(f"render {len(pending)} new or changed posts, indexes, tags, sitemap"):
                builder.render_posts(pending, meanwhile=lambda: builder.site_pages(posts, published))
                builder.devto_reused(published)
            with stage("feeds"):
                builder.feeds(published)
            with stage("newsletters"):
                builder.newsletters(published)
            if not builder.result.pages_written and not builder.result.pages_unchanged:
                raise BuildError("the build produced no pages; the previous site is unchanged")
            os.chmod(out, 0o755)  # mkdtemp makes it 0700; a web server must be able to read the site
            cache.invalidate()
        except BaseException as exc:
            shutil.rmtree(out, ignore_errors=True)
            if isinstance(exc, PublisherError) or not isinstance(exc, Exception):
                raise
            where = f" ({builder.current.source})" if builder.current is not None else ""
            summary = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            raise BuildError(f"build failed while {builder.stage}{where}: {summary}; the previous site is unchanged") from exc
        _swap_in(out, site_dir)
        cache.save()
        return builder.result
