"""`publish build`: content -> context -> generators -> writer -> `site/`, atomically and incrementally.

The build is laid out as Pelican's: the posts are loaded into a context (publisher.site.context),
generators (publisher.site.generators) render each kind of output from it, a writer
(publisher.site.writer) puts the files into a temporary folder that is swapped in whole, so a
failed or killed build leaves the previous site untouched. Posts render on every core
(publisher.site.pool).

Incremental: a post whose key (publisher.site.cache) is unchanged since the last build has its
folder (page, charts) and newsletter hard-linked from the previous site and its rendered HTML read
from `.publisher/build-cache.json`; only new or changed posts are rendered. Indexes, archive, tag
pages, feeds and sitemap always are (they are cheap and depend on every post). Output is
deterministic: no build timestamps, stable ordering.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.common.fsutil import atomic_write_text
from publisher.common.rules import BUILD_FAILED_MARKER
from publisher.errors import BuildError, NothingToBuild, one_line
from publisher.site.cache import BuildCache, environment_hash, render_code_files
from publisher.site.content import load_posts
from publisher.site.context import BuildContext, BuildResult, relative_root
from publisher.site.generators import (
    DevtoExports,
    Feeds,
    Listings,
    Newsletters,
    Posts,
    Sitemap,
    Static,
    failing,
    paginate,
)
from publisher.site.pool import map_forked
from publisher.site.writer import Writer, build_folder, build_lock, recover, swap_in

if TYPE_CHECKING:
    from publisher.common.progress import Progress
    from publisher.config import Config

__all__ = ["BuildResult", "build_site", "paginate", "relative_root", "render_code_files"]


def _null_stage(_name: str) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


def build_site(config: Config, *, include_drafts: bool = False, progress: Progress | None = None,
               accept_claims: bool = False) -> BuildResult:
    """Render `content/` into `site/` (see the module docstring). Raises BuildError or ContentError,
    leaving the previous site in place, when anything fails or there is nothing to publish."""
    with build_lock(config.state_dir):
        marker = config.state_dir / BUILD_FAILED_MARKER
        try:
            result = _build(config, include_drafts, progress, accept_claims)
        except Exception as exc:
            if not include_drafts:  # a preview with drafts is not what deploy pushes
                _record_failure(marker, exc)
            raise
        if not include_drafts:
            marker.unlink(missing_ok=True)
        return result


def _build(config: Config, include_drafts: bool, progress: Progress | None, accept_claims: bool) -> BuildResult:
    stage = progress.stage if progress is not None else _null_stage
    site_dir = config.site_dir
    recover(site_dir)
    with stage("load posts"):
        posts = load_posts(config.content_dir, config.site.timezone)
    if not include_drafts:
        posts = [p for p in posts if p.status != "draft"]
    if not posts:
        raise NothingToBuild(f"{config.content_dir}: no published posts to build (drafts are built only with --drafts); the previous site is unchanged")
    weeklies = [p for p in posts if p.status != "draft" and p.facts_path is not None]
    if weeklies and not accept_claims:
        with stage("check published weeklies"):
            from publisher.drafting.check import refuse_unsupported  # the guard: only imported for weeklies

            refuse_unsupported(weeklies, config)
    cache = BuildCache(config, environment_hash(config, include_drafts))
    out = build_folder(site_dir)
    try:
        context = BuildContext.create(config, out, include_drafts, posts, cache)
        writer = Writer(context)
        pages = Posts(context, writer)

        def site_pages() -> None:  # everything that needs post metadata but not post HTML
            with failing("rendering indexes, archive and tags"):
                Listings(context, writer).generate()
            with failing("writing sitemap and robots.txt"):
                Sitemap(context, writer).generate()
            with failing("copying static files"):
                Static(context, writer).generate()

        with stage("reuse unchanged posts"):
            pending = pages.prepare()
        with stage(f"render {len(pending)} new or changed posts, indexes, tags, sitemap"), failing("rendering posts"):
            pages.preload(pending)
            pages.collect(pending, map_forked(pages.render, pending, meanwhile=site_pages))
            DevtoExports(context).for_reused(context.published)
        with stage("feeds"), failing("writing feeds"):
            Feeds(context).generate()
        with stage("newsletters"):
            Newsletters(context).generate()
        if not context.result.pages_written and not context.result.pages_unchanged:
            raise BuildError("the build produced no pages; the previous site is unchanged")
        cache.invalidate()
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    swap_in(out, site_dir)
    cache.save()
    return context.result


def _record_failure(marker: Path, exc: Exception) -> None:
    """Leave the reason for `publish deploy`, which refuses to push a site whose last build failed
    (the previous site is intact, but it lacks what the failed build was to add)."""
    with contextlib.suppress(OSError):
        atomic_write_text(marker, one_line(exc, with_type=False, limit=None) + "\n")
