"""A small site project on disk for the site-build and browser tests: the bundled demo posts, one
weekly rendered from the sample fact sheet (with hostile news titles), and optionally a draft."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from facts_sample import sample_facts

from publisher.common.bundled import bundled_path
from publisher.config import Config, load_config
from publisher.render.weekly_post import render_weekly_markdown
from publisher.site.content import dump_post

SITE_URL = "https://blog.example.org/quant/"
TOML = f"""[site]
title = "Quant <Log> & Notes"
url = "{SITE_URL}"
author = "Op"
timezone = "America/New_York"
posts_per_page = 2
"""


def write_post(root: Path, rel: str, title: str, date: str, *, tags: str = "[python]", status: str = "published",
               body: str = "Some text.\n") -> Path:
    path = root / "content" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\ntitle: {json.dumps(title)}\ndate: {date}\ntags: {tags}\nstatus: {status}\n---\n\n{body}",
                    encoding="utf-8")
    return path


def write_weekly(root: Path, config: Config, facts: dict | None = None) -> Path:
    facts = facts or sample_facts()
    draft = {"sections": [{"key": "week", "heading": "week", "text": "A steady week, both books traded.",
                           "fallback": False}], "backend": "none", "model": ""}
    meta, body = render_weekly_markdown(facts, draft, config)
    meta["status"] = "published"
    stem = facts["week"]["iso"]
    weekly = root / "content" / "weekly"
    weekly.mkdir(parents=True, exist_ok=True)
    (weekly / f"{stem}.facts.json").write_text(json.dumps(facts, indent=1), encoding="utf-8")
    path = weekly / f"{stem}.md"
    path.write_text(dump_post(meta, body), encoding="utf-8")
    return path


def make_project(root: Path, *, weekly: bool = True, draft: bool = True) -> Config:
    root.mkdir(parents=True, exist_ok=True)
    (root / "publisher.toml").write_text(TOML, encoding="utf-8")
    shutil.copytree(bundled_path("content") / "posts", root / "content" / "posts")
    config = load_config(root, environ={})
    if weekly:
        write_weekly(root, config)
    if draft:
        write_post(root, "posts/unfinished.md", "Unfinished thoughts", "2026-04-25T10:00:00-04:00", status="draft")
    return config


def site_files(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}
