"""`publish` commands of the book stage: schema, facts, demo-book."""

from __future__ import annotations

import json
from pathlib import Path

import click

from publisher.cli.app import book_option, get_config, main, week_option
from publisher.common.weeks import last_complete_week, parse_week

SCHEMA_NOTES = """\
-- Open trades: closed_at, exit_price and realized_pnl are NULL; they are reported as open
-- positions, never counted as round-trips. A round-trip is a trade with closed_at set.
-- Freqtrade's tradesv3.sqlite is read as it is (detected automatically); any other layout is
-- described in [book.mapping] of publisher.toml. Details and a worked example: docs/schema.md.
"""


@main.command("schema")
def schema_cmd() -> None:
    """Print the native book schema (SQLite DDL) and how other layouts are read."""
    from publisher.book.reader import NATIVE_SCHEMA

    click.echo(NATIVE_SCHEMA + SCHEMA_NOTES, nl=False)


@main.command("facts")
@week_option
@book_option
@click.option("--json", "as_json", is_flag=True, help="Print the fact sheet as JSON (the contract later stages read).")
@click.option("--no-cache", is_flag=True,
              help="Re-read the whole history and re-hash the book instead of using .publisher/cache.")
@click.pass_context
def facts_cmd(ctx: click.Context, week: str | None, book_path: Path | None, as_json: bool, no_cache: bool) -> None:
    """Compute one ISO week's fact sheet from the book (read-only)."""
    # Imported here, as the other commands do: every `publish` start-up would otherwise pay for them.
    from publisher.book.reader import open_book
    from publisher.common.sanitize import json_terminal_safe, terminal_text
    from publisher.facts.compute import compute_facts, format_facts_table

    config = get_config(ctx, **{"book.path": str(book_path.resolve()) if book_path else None})
    tz = config.site.timezone
    iso_week = parse_week(week) if week else last_complete_week(tz=tz)
    cache = None if no_cache else config.state_dir / "cache"
    with open_book(config.path(config.book.path), config.book, cache_dir=cache) as book:
        facts = compute_facts(book, iso_week, tz, config.book.primary or None)
    if as_json:
        click.echo(json_terminal_safe(json.dumps(facts, indent=2, ensure_ascii=False, allow_nan=False)))
    else:
        click.echo(terminal_text(format_facts_table(facts)))


@main.command("demo-book")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--weeks", type=click.IntRange(min=1), default=12, show_default=True, help="Weeks of history.")
@click.option("--trades-per-week", type=click.IntRange(min=1), default=230, show_default=True,
              help="Signals per week (each book trades every signal).")
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed: same seed, same book.")
@click.option("--end-week", default=None, help="Last week in the book, e.g. 2026-W16. Default: the last complete week.")
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
def demo_book_cmd(path: Path, weeks: int, trades_per_week: int, seed: int, end_week: str | None,
                  force: bool) -> None:
    """Write a realistic demo book: a standard book and its inverted mirror, vault, adjustments, news."""
    from publisher.book.demo import DemoSpec, make_demo_book  # numpy: imported only for this command

    spec = DemoSpec(weeks=weeks, trades_per_week=trades_per_week, seed=seed,
                    end_week=parse_week(end_week) if end_week else None)
    result = make_demo_book(path, spec, force=force)
    click.echo(f"wrote {result.path}: {result.trades:,} trades ({result.open_trades} still open), "
               f"{result.vault:,} post-mortems, weeks {result.first_week} to {result.end_week}")
    click.echo(f"try: publish facts --book {result.path} --week {result.end_week}")
