"""Writing a build: pages into the build folder, exports beside the site, then the atomic swap.

Atomic: everything is built in a temporary folder beside `site/` and swapped in with one
`renameat2(RENAME_EXCHANGE)` (Linux; two renames elsewhere, with recovery on the next build), so a
failed or killed build leaves the previous site untouched and a server never sees half a site.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from publisher.common.fsutil import fsync_dir
from publisher.common.rules import FEED_FILE
from publisher.errors import BuildError
from publisher.site.context import BuildContext, relative_root

LOCK_TIMEOUT_S = 120.0


@dataclass
class Page:
    """Per-page template context shared by base.html."""

    title: str
    description: str
    canonical: str
    type: str = "website"
    image: str = ""
    image_alt: str = ""
    noindex: bool = False


class Writer:
    """Renders templates into files of the build folder and records what it wrote."""

    def __init__(self, context: BuildContext) -> None:
        self.context = context

    def page(self, template: str, rel: str, page: Page, *, record: bool = True, root: str | None = None,
             **values: Any) -> None:
        """Render `template` with the site, the page and `values` into `rel` (site-relative)."""
        context = self.context
        text = context.env.get_template(template).render(
            site=context.config.site, page=page, root=relative_root(rel) if root is None else root,
            feed_href=FEED_FILE, include_drafts=context.include_drafts, **values,
        )
        self.text(rel, text, record=record)

    def template(self, template: str, rel: str, **values: Any) -> None:
        """Render a template that is not a page (sitemap.xml, robots.txt) into `rel`."""
        self.text(rel, self.context.env.get_template(template).render(**values))

    def text(self, rel: str, text: str, *, record: bool = True) -> None:
        path = self.context.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if record:
            self.context.result.pages_written.append(rel)


def _link_or_copy(src: str, dst: str) -> None:
    """Hard links make reusing 1,000 unchanged pages nearly free; copy where links are impossible."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def reuse_tree(src: Path, dst: Path) -> bool:
    """Hard-link a folder of the previous site into the new one (no copystat: fewer syscalls)."""
    if not src.is_dir():
        return False
    for folder, _dirs, files in os.walk(src):
        target = dst / os.path.relpath(folder, src)
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            _link_or_copy(os.path.join(folder, name), str(target / name))
    return True


def write_if_changed(path: Path, text: str, *, new: bool = False) -> None:
    """Exports outside site/: replaced whole (rename) and only when different, so mtimes stay put.

    new: the caller knows the file is absent and its folder present (nothing to compare)."""
    data = text.encode("utf-8")
    if not new:
        try:
            if path.read_bytes() == data:
                return
        except OSError:
            path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------- the swap


def build_folder(site: Path) -> Path:
    """A new, empty temporary folder beside `site/` to build into."""
    site.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{site.name}-build-", dir=site.parent))


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return bool(renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0)


def swap_in(new: Path, site: Path) -> None:
    """Make the built folder `new` the site, in one step where the system allows it."""
    os.chmod(new, 0o755)  # mkdtemp makes it 0700; a web server must be able to read the site
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


def recover(site: Path) -> None:
    """Undo what a crashed build left: restore a site moved aside, drop half-built folders."""
    for leftover in sorted(site.parent.glob(f".{site.name}-old-*")):
        moved = leftover / "site"
        if not site.exists() and moved.is_dir():
            os.rename(moved, site)
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in site.parent.glob(f".{site.name}-build-*"):
        shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def build_lock(state_dir: Path) -> Iterator[None]:
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
