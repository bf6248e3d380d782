"""`publish check POST`: the fabrication guard as a command, for any post."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from publisher.cli.app import get_config, main


@main.command("check")
@click.argument("posts", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--facts", "facts_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Fact sheet JSON to check against (default: <post>.facts.json beside the post).")
@click.pass_context
def check_cmd(ctx: click.Context, posts: tuple[Path, ...], facts_file: Path | None) -> None:
    """Check that every figure in POST is the value of the fact its sentence names.

    Prints PATH:LINE: <claim>: <why> per unsupported claim and exits 1 if there is any, 0 if none.
    Claims listed under `accepted_claims:` in the front matter are not reported.
    """
    from publisher.drafting.check import check_post
    from publisher.errors import ConfigError

    try:
        config = get_config(ctx)
    except ConfigError:
        config = None  # a post checked outside a project: the facts alone
    found = 0
    for post in posts:
        for claim in check_post(post, config, facts_file):
            click.echo(str(claim))
            found += 1
    if found:
        click.echo(f"{found} unsupported claim(s)", err=True)
        sys.exit(1)
