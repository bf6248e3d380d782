"""What the generators of one build share (Pelican's "context"): the config, the posts, the
template environment, the cache, and the result being gathered. Plus the URL helpers every page uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from publisher.common.sanitize import safe_url
from publisher.render.markdown import template_env

if TYPE_CHECKING:
    import jinja2

    from publisher.config import Config
    from publisher.site.cache import BuildCache
    from publisher.site.content import Post


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


def relative_root(path: str) -> str:
    """The prefix from a page to the site root ("posts/x/index.html" -> "../../"): relative links
    work on any host, under a sub-path (GitHub project pages), in the dev server and from file://."""
    return "../" * path.count("/")


def absolute_url(base: str, path: str) -> str:
    """`path` (site-relative or absolute) resolved against the site URL; "" for an unsafe scheme."""
    return safe_url(urljoin(base.rstrip("/") + "/", path.lstrip("/")))  # "" -> the site's own URL (home)


@dataclass
class BuildContext:
    """One build's shared state. `out` is the temporary folder being built; `config.site_dir` the
    previous site, swapped out only when the whole build succeeded."""

    config: Config
    out: Path
    include_drafts: bool
    posts: list[Post]  # every post built, newest first (drafts only with --drafts)
    cache: BuildCache
    zone: ZoneInfo
    base_url: str
    env: jinja2.Environment
    result: BuildResult
    reused: set[str] = field(default_factory=set)  # slugs whose folder came from the previous site
    series: dict[str, Any] = field(default_factory=dict)  # post slug -> its SeriesNav (previous/next links)

    @classmethod
    def create(cls, config: Config, out: Path, include_drafts: bool, posts: list[Post], cache: BuildCache) -> BuildContext:
        zone = ZoneInfo(config.site.timezone)
        env = template_env(config)
        env.auto_reload = False  # one build, one version of the templates: no stat per page
        env.filters["local"] = lambda value: value.astimezone(zone)
        return cls(config=config, out=out, include_drafts=include_drafts, posts=posts, cache=cache, zone=zone,
                   base_url=config.site.url.rstrip("/") + "/", env=env, result=BuildResult(out_dir=config.site_dir))

    @property
    def published(self) -> list[Post]:
        """The posts that go into feeds, newsletters, exports and the sitemap."""
        return [p for p in self.posts if p.status != "draft"]

    def site_image(self) -> str:
        image = self.config.site.image
        return absolute_url(self.base_url, image) if image else ""
