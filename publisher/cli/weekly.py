"""`publish weekly`: the Tuesday job."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from publisher.cli.app import book_option, get_config, main, week_option
from publisher.common.progress import Progress
from publisher.common.sanitize import terminal_text

if TYPE_CHECKING:
    from publisher.weekly import WeeklyResult


@main.command()
@week_option
@book_option
@click.option("--publish", "publish_", is_flag=True, help="Mark the post published (it appears in site, feed, email).")
@click.option("--push", is_flag=True, help="Deploy the built site to the git remote of [deploy].")
@click.option("--llm", type=click.Choice(["mlx", "openai", "none"]), default=None, help="Drafting backend ([llm] backend).")
@click.option("--model", default=None, help="Model ([llm] model).")
@click.option("--base-url", default=None, help="OpenAI-compatible server URL ([llm] base_url).")
@click.option("--force", is_flag=True, help="Regenerate a hand-edited post (a backup of it is kept).")
@click.option("--no-cache", is_flag=True,
              help="Re-read the whole history and re-hash the book instead of using .publisher/cache.")
@click.option("--accept-claims", is_flag=True,
              help="Publish even with claims 'publish check' reports; they are recorded under accepted_claims.")
@click.pass_context
def weekly(ctx: click.Context, week: str | None, book_path: Path | None, publish_: bool, push: bool,
           llm: str | None, model: str | None, base_url: str | None, force: bool, no_cache: bool,
           accept_claims: bool) -> None:
    """The Tuesday run: facts, draft, post, site, feed, email, dev.to export (and deploy)."""
    from publisher.weekly import run_weekly

    # A --book path is relative to where the command runs, like `publish facts --book`.
    config = get_config(ctx, **{"book.path": book_path and str(book_path.resolve()), "llm.backend": llm,
                                "llm.model": model, "llm.base_url": base_url})
    result = run_weekly(config, week, publish=publish_, push=push, force=force, accept_claims=accept_claims,
                        progress=Progress(), use_cache=not no_cache)
    _summary(result)


def _summary(result: WeeklyResult) -> None:
    echo = click.echo
    echo("")
    echo(terminal_text(result.headline))
    actions = {
        "written": "post drafted",
        "regenerated": f"post regenerated (backup: {result.backup_path})",
        "unchanged": "post unchanged (figures identical, not regenerated)",
        "kept-edited": "post edited by hand: kept as is (use --force to regenerate; a backup is kept)",
        "skipped-quiet": "no trades this week: skipped ([weekly] quiet_week = 'skip')",
    }
    echo(f"  {actions[result.action]}: {result.post_path or '-'}")
    echo(f"  status: {'published' if result.published else 'draft (review it, then run with --publish)'}")
    for path in result.files:
        echo(f"  wrote {path}")
    if result.build is not None:
        echo(f"  site: {result.build.out_dir / 'index.html'}")
    elif result.post_path is not None and not result.published:
        echo("  site: not built yet (no published post; 'publish serve' shows drafts)")
    if result.deploy is not None:
        echo(f"  deploy: {result.deploy.summary}")
    for warning in result.warnings:
        echo(f"  warning: {terminal_text(warning)}")
    if not result.published:
        echo("next: read the post, edit it if you like (your edits are kept), then 'publish weekly --publish --push'")
