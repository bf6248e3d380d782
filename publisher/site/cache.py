"""The build cache: which posts are unchanged since the last build, and their rendered HTML.

Each post gets a key, the hash of its source, its fact sheet and the environment hash (the render
stage's code, the templates and the config). A post whose key is unchanged since the last build
has its folder and newsletter hard-linked from the previous site and its HTML read from
`.publisher/build-cache.json`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import publisher
from publisher.common.bundled import bundled_path
from publisher.common.fsutil import atomic_write_text

if TYPE_CHECKING:
    from publisher.config import Config
    from publisher.site.content import Post

CACHE_VERSION = 1
RENDER_CODE_PACKAGES = ("common", "render", "site")  # their code shapes every rendered page: see render_code_files()
RENDER_CODE_FILES = ("__init__.py", "config.py", "errors.py")


def sha(*parts: bytes | str) -> str:
    """SHA-256 of a sequence of parts, each length-prefixed so that no two sequences collide."""
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
    return sha(*parts)


def post_key(post: Post, env_hash: str) -> str:
    facts = post.facts_path.read_bytes() if post.facts_path else b""
    return sha(env_hash, post.url_path, post.source_digest, facts)


class BuildCache:
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
        name = "build-cache.json" if site == "site" else f"build-cache-{sha(site)[:12]}.json"
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
            html = entry.get("html")
            return html if isinstance(html, str) else None
        return None

    def invalidate(self) -> None:
        """Called before the swap: a crash between swap and save must not leave stale keys."""
        self.path.unlink(missing_ok=True)

    def save(self) -> None:
        data = {"version": CACHE_VERSION, "env": self.env_hash, "site": self.site, "posts": self.current}
        atomic_write_text(self.path, json.dumps(data, sort_keys=True, ensure_ascii=False))
