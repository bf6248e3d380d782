"""Rules several stages obey, each defined once: dev.to's tag limit and where the site stage's
outputs live (the feed's file name, a newsletter's folder, a dev.to export's file, the marker
of a failed build that deploy checks).

A brief (drafting), the weekly post (render), content checks and the dev.to export (site) all
enforce the same tag limit; the build, the feed writer, the newsletter writer and the CLI's
summary all name the same paths. Changing one of these here changes it everywhere.
"""

from __future__ import annotations

from pathlib import Path

MAX_TAGS = 4  # dev.to's limit; every post may go there, so every post obeys it
FEED_FILE = "feed.xml"  # the site feed at the site root, and each tag's feed in tags/<tag>/
NEWSLETTER_DIR = "newsletter"  # under site/: newsletter/<slug>/ (web version, message.eml, message.txt)
DEVTO_DIR = ("exports", "devto")  # under the project root: exports/devto/<slug>.md
BUILD_FAILED_MARKER = "build-failed"  # in .publisher/: the last `publish build` failed (why, one line); deploy refuses
# The weekly charts' geometry: render draws them at it; the site and the email size their images by it.
CHART_WIDTH_IN, CHART_HEIGHT_IN, CHART_DPI = 8.0, 3.6, 100  # 800x360 CSS px on the site; PNGs at 2x
NARROW_CHART_WIDTH_IN, NARROW_CHART_HEIGHT_IN = 3.6, 3.4  # 360x340 CSS px: the phone variant


def narrow_chart_name(name: str) -> str:
    """The file stem of a chart's phone variant (the site's <picture> picks it under 600 px; the email uses it)."""
    return f"{name}-narrow"


def newsletter_rel(slug: str) -> str:
    """The site-relative folder of a post's newsletter, with a trailing slash (also its URL path)."""
    return f"{NEWSLETTER_DIR}/{slug}/"


def devto_dir(root: Path) -> Path:
    """The folder of the dev.to exports of the project at `root`."""
    return root.joinpath(*DEVTO_DIR)


def devto_export_path(root: Path, slug: str) -> Path:
    """Where the dev.to export of the post `slug` is written."""
    return devto_dir(root) / f"{slug}.md"
