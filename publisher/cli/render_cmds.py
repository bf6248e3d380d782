"""`publish` commands of the render stage."""

from __future__ import annotations

import click

from publisher.cli.app import get_config, main
from publisher.progress import Progress


@main.command("build")
@click.option("--drafts", is_flag=True, help="Include draft posts (shown with a Draft banner); for previews only.")
@click.pass_context
def build_cmd(ctx: click.Context, drafts: bool) -> None:
    """Render content/ into site/: pages, charts, feeds, newsletters, dev.to exports.

    The new site replaces the old one only when the whole build succeeded; unchanged posts are
    reused from the previous build.
    """
    from publisher.site import build_site

    config = get_config(ctx)
    result = build_site(config, include_drafts=drafts, progress=Progress())
    click.echo(f"site: {result.out_dir}")
    click.echo(f"pages: {len(result.pages_written)} written, {len(result.pages_unchanged)} unchanged")
    if result.feed_path is not None:
        click.echo(f"feed: {result.feed_path} ({result.feed_bytes:,} bytes)")
    if result.newsletter_paths:
        click.echo(f"newsletters: {len(result.newsletter_paths)} in {config.site_dir / 'newsletter'}")
    if result.devto_paths:
        click.echo(f"dev.to exports: {len(result.devto_paths)} in {config.root / 'exports' / 'devto'}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)


# ---- dev.to export command (issue 3b) goes below this line ----


@main.command("devto")
@click.argument("post")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of stdout.")
@click.pass_context
def devto_cmd(ctx: click.Context, post: str, out: str | None) -> None:
    """Export POST (a .md file or a slug) as dev.to Markdown: front matter, published: false, absolute URLs."""
    from pathlib import Path

    from publisher.devto import export_post, find_post
    from publisher.fsutil import atomic_write_text

    config = get_config(ctx)
    text = export_post(find_post(config, post), config)
    if out is None:
        click.echo(text, nl=False)
    else:
        atomic_write_text(Path(out), text)
        click.echo(f"dev.to export: {out}", err=True)
