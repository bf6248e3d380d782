"""`publish build`, `devto`, `serve`: the site stage and its preview."""

from __future__ import annotations

from pathlib import Path

import click

from publisher.cli.app import get_config, main
from publisher.common.progress import Progress
from publisher.common.rules import NEWSLETTER_DIR, devto_dir
from publisher.common.sanitize import terminal_text


@main.command("build")
@click.option("--drafts", is_flag=True, help="Include draft posts (shown with a Draft banner); for previews only.")
@click.option("--accept-claims", is_flag=True,
              help="Build even when a published weekly has claims 'publish check' reports.")
@click.pass_context
def build_cmd(ctx: click.Context, drafts: bool, accept_claims: bool) -> None:
    """Render content/ into site/: pages, charts, feeds, newsletters, dev.to exports.

    The new site replaces the old one only when the whole build succeeded; unchanged posts are
    reused from the previous build.
    """
    from publisher.site.build import build_site

    config = get_config(ctx)
    result = build_site(config, include_drafts=drafts, progress=Progress(), accept_claims=accept_claims)
    click.echo(f"site: {result.out_dir}")
    click.echo(f"pages: {len(result.pages_written)} written, {len(result.pages_unchanged)} unchanged")
    if result.feed_path is not None:
        click.echo(f"feed: {result.feed_path} ({result.feed_bytes:,} bytes)")
    if result.newsletter_paths:
        click.echo(f"newsletters: {len(result.newsletter_paths)} in {config.site_dir / NEWSLETTER_DIR}")
    if result.devto_paths:
        click.echo(f"dev.to exports: {len(result.devto_paths)} in {devto_dir(config.root)}")
    for warning in result.warnings:
        click.echo(f"warning: {terminal_text(warning)}", err=True)


# ---- dev.to export command (issue 3b) goes below this line ----


@main.command("devto")
@click.argument("post")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of stdout.")
@click.pass_context
def devto_cmd(ctx: click.Context, post: str, out: str | None) -> None:
    """Export POST (a .md file or a slug) as dev.to Markdown: front matter, published: false, absolute URLs."""
    from pathlib import Path

    from publisher.common.fsutil import atomic_write_text
    from publisher.site.devto import export_post, find_post

    config = get_config(ctx)
    text = export_post(find_post(config, post), config)
    if out is None:
        click.echo(terminal_text(text), nl=False)  # to a terminal: no escape sequences from the post
    else:
        atomic_write_text(Path(out), text)
        click.echo(f"dev.to export: {out}", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free port).")
@click.option("--no-drafts", is_flag=True, help="Preview only published posts.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, no_drafts: bool) -> None:
    """Preview the site locally; rebuilds on change and reloads open pages."""
    from publisher.ops.serve import preview_config
    from publisher.ops.serve import serve as run_preview
    from publisher.site.build import build_site

    def build(out: Path) -> None:
        # The config is read again on every build, so edits to publisher.toml show up too.
        build_site(preview_config(get_config(ctx), out), include_drafts=not no_drafts)

    run_preview(get_config(ctx), host, port, build=build, echo=click.echo)
