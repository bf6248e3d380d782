"""`publish init`: a new site project, optionally with a demo book and demo posts."""

from __future__ import annotations

import shutil
from pathlib import Path

from publisher.common.bundled import bundled_path
from publisher.common.fsutil import atomic_write_text
from publisher.errors import ConfigError

CONFIG_TEMPLATE = """\
# publisher.toml: configuration of a `publish` site project.
# Every key can be overridden by an environment variable PUBLISHER_<SECTION>_<KEY>
# (e.g. PUBLISHER_LLM_BACKEND=none) and by the matching CLI option, which wins.
# Only config keys are read from the environment: flags such as --force or --push are not.

[site]
title = "{title}"
url = "https://example.github.io/my-quant-log"   # absolute base URL of the published site
author = "Operator"
description = "Weekly post-mortems of a paper-trading bot, built in public."
language = "en"
timezone = "UTC"              # week bounds (Monday 00:00 to Monday 00:00) and displayed dates
weekly_title = "{{site}} Weekly · {{iso_year}}W{{week:02d}}"
weekly_tags = ["trading", "python", "buildinpublic", "mlx"]   # at most 4 (dev.to)
stack = [
  "Apple Silicon Mac, MLX for local inference",
  "Paper trading bot writing to a SQLite book",
]
closing = "Every number in this issue came from one computation over the trading book."
# image = "static/cover.png"   # share image; the feed's channel image defaults to the site icon as PNG
subscribe_box = true           # "follow along" box (RSS feed, and the newsletter when subscribe_url is set)
subscribe_text = "Get each weekly post-mortem in your feed reader or your inbox."
subscribe_url = ""             # newsletter sign-up page or mailto: address; empty: feed only

[book]
path = "{book}"               # the bot's SQLite book; opened read-only, never written
format = "auto"               # auto | native | freqtrade | mapped (see docs/schema.md)
query_timeout = 60            # seconds any one query may run (a mapped sql that never ends); 0: no limit
# primary = "standard"        # the book the headline reports (id or name); default: by role, the
                              # standard book when the other is its inverted mirror (docs/metrics.md)

[llm]
backend = "mlx"               # mlx (in-process mlx-lm) | openai (any OpenAI-compatible server) | none
model = "smollm2-135m"        # bundled model name, an mlx-lm model folder, or a hub id
token_ceiling = 500           # no section may generate this many tokens (MoE quality ceiling)
temperature = 0.0
# base_url = "http://127.0.0.1:8080/v1"   # for backend = "openai"
# wired_limit_mb = 0          # Apple Silicon memory hygiene, applied before the model loads

[feed]
limit = 20

[newsletter]
sender = "Operator <operator@example.com>"   # your address: 'publish doctor' flags example.com placeholders
images = "cid"                # cid (charts attached) | url (charts linked from the deployed site)
subscribers = "subscribers.csv"   # CSV with an 'email' column, or one address per line (keep it out of git)
# unsubscribe_url = "https://you.example/unsubscribe?email={{email}}&token={{token}}"   # one-click (RFC 8058)
# unsubscribe_secret_env = "PUBLISHER_UNSUBSCRIBE_SECRET"   # HMAC key of {{token}}, from the environment

# [smtp]                      # for 'publish send'; the password comes from $PUBLISHER_SMTP_PASSWORD
# host = "smtp.fastmail.com"
# port = 587
# security = "starttls"       # starttls | ssl | none
# user = "you@fastmail.com"
# rate_per_minute = 60

[deploy]
remote = ""                   # e.g. git@github.com:you/you.github.io.git
branch = "gh-pages"
cname = ""

[weekly]
quiet_week = "publish"        # publish | skip: what a week with no trades does
"""

GITIGNORE = """\
# built output is pushed by `publish deploy` to its own branch
site/
exports/
.publisher/
subscribers.csv
*.bak
"""

TEMPLATES_README = """\
Templates placed here override the bundled theme file of the same name
(base.html, post.html, index.html, archive.html, tag.html, weekly.md.j2, static/style.css).
"""


def init_project(root: Path, *, demo: bool = False, title: str = "My Quant Log", force: bool = False) -> list[Path]:
    """Create the project skeleton; refuses to overwrite an existing config unless `force`."""
    root = Path(root)
    config_path = root / "publisher.toml"
    if config_path.exists() and not force:
        raise ConfigError(f"{config_path} already exists; use --force to overwrite it")
    written: list[Path] = []
    book = "demo.sqlite" if demo else "book.sqlite"
    atomic_write_text(config_path, CONFIG_TEMPLATE.format(title=title, book=book))
    written.append(config_path)
    for folder in ("content/weekly", "content/posts", "templates"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for path, text in ((root / ".gitignore", GITIGNORE), (root / "templates" / "README.md", TEMPLATES_README)):
        if not path.exists():
            atomic_write_text(path, text)
            written.append(path)
    if demo:
        from publisher.book.demo import make_demo_book

        make_demo_book(root / book, force=force)
        written.append(root / book)
        for post in sorted((bundled_path("content") / "posts").glob("*.md")):
            target = root / "content" / "posts" / post.name
            if not target.exists() or force:
                shutil.copyfile(post, target)
                written.append(target)
    return written
