"""dev.to export: dev.to front matter, absolute URLs, PNG charts, the `publish devto` command."""

from __future__ import annotations

import yaml
from click.testing import CliRunner
from facts_sample import sample_facts, write_weekly

from publisher.cli import main
from publisher.config import Config, SiteConfig
from publisher.site.content import dump_post, load_post
from publisher.site.devto import absolutize_markdown, export_post

BASE = "https://blog.example.com/posts/p/"


def split(text: str) -> tuple[dict, str]:
    _, header, body = text.split("---\n", 2)
    return yaml.safe_load(header), body


def hand_post(tmp_path, **meta):
    path = tmp_path / "content" / "posts" / "p.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    front = {"title": "MLX: notes", "date": "2026-04-01T10:00:00+02:00", "tags": ["mlx", "python"],
             "description": "What I learned", "slug": "p", **meta}
    path.write_text(dump_post(front, "![Shot](img/a.png)\n\nSee [the other post](../q/) and [docs](https://x.org/d).\n"
                                      "\n```\n[not](a/link)\n```\n\nInline `[code](x)` stays.\n\n[ref]: ../r/\n"),
                    encoding="utf-8")
    return path


def config_for(tmp_path) -> Config:
    return Config(root=tmp_path, site=SiteConfig(url="https://blog.example.com", title="Quant Log"))


def test_front_matter_for_devto(tmp_path):
    config = config_for(tmp_path)
    post = load_post(hand_post(tmp_path, cover_image="static/cover.png", series="MLX diary"), config.content_dir, "UTC")
    meta, _ = split(export_post(post, config))
    assert meta == {"title": "MLX: notes", "published": False, "description": "What I learned", "tags": "mlx, python",
                    "canonical_url": "https://blog.example.com/posts/p/",
                    "cover_image": "https://blog.example.com/static/cover.png", "series": "MLX diary"}


def test_canonical_url_from_front_matter_wins(tmp_path):
    config = config_for(tmp_path)
    post = load_post(hand_post(tmp_path, canonical_url="https://elsewhere.example/p"), config.content_dir, "UTC")
    meta, _ = split(export_post(post, config))
    assert meta["canonical_url"] == "https://elsewhere.example/p" and "cover_image" not in meta and "series" not in meta


def test_relative_urls_become_absolute_outside_code(tmp_path):
    config = config_for(tmp_path)
    _, body = split(export_post(load_post(hand_post(tmp_path), config.content_dir, "UTC"), config))
    assert "![Shot](https://blog.example.com/posts/p/img/a.png)" in body
    assert "[the other post](https://blog.example.com/posts/q/)" in body
    assert "[docs](https://x.org/d)" in body
    assert "[not](a/link)" in body and "`[code](x)`" in body
    assert "[ref]: https://blog.example.com/posts/r/" in body


def test_escaped_brackets_titles_and_angle_destinations():
    md = r'![a \] b](charts/equity.svg "Equity") and [x](<my page/>)'
    assert absolutize_markdown(md, BASE) == (
        r'![a \] b](https://blog.example.com/posts/p/charts/equity.png "Equity") and '
        "[x](<https://blog.example.com/posts/p/my page/>)")


def test_weekly_export_uses_png_charts_and_keeps_figures(tmp_path):
    config = config_for(tmp_path)
    post = write_weekly(config, sample_facts())
    meta, body = split(export_post(post, config))
    assert meta["tags"] == "trading, python, buildinpublic, mlx" and meta["published"] is False
    assert "](https://blog.example.com/weekly/weekly-2026-w16/charts/equity.png)" in body
    assert ".svg" not in body
    assert "- Realized PnL: -1.55 USDT" in body  # the headline: book 1, book 2 is its mirror
    assert "{%" not in body  # untrusted text cannot open a dev.to Liquid tag


def test_cli_writes_stdout_or_file(tmp_path):
    hand_post(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["-C", str(tmp_path), "devto", "p"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("---\ntitle: 'MLX: notes'\npublished: false\n")
    out = tmp_path / "out.md"
    result = runner.invoke(main, ["-C", str(tmp_path), "devto", str(tmp_path / "content/posts/p.md"), "--out", str(out)])
    assert result.exit_code == 0 and out.read_text(encoding="utf-8").startswith("---\ntitle: 'MLX: notes'")
    missing = runner.invoke(main, ["-C", str(tmp_path), "devto", "nope"])
    assert missing.exit_code == 1 and "nope: no such post" in missing.output
