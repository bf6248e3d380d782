"""`publish send`: deliver a weekly newsletter to the subscribers file by SMTP, exactly once each."""

from __future__ import annotations

import click

from publisher.cli.app import get_config, main


@main.command()
@click.argument("post", required=False)
@click.option("--dry-run", is_flag=True, help="Write each recipient's message under .publisher/outbox/ and send nothing.")
@click.option("--resend-in-doubt", is_flag=True,
              help="Also send to recipients whose delivery an earlier run could not confirm (they may get it twice).")
@click.pass_context
def send(ctx: click.Context, post: str | None, dry_run: bool, resend_in_doubt: bool) -> None:
    """Send POST (a weekly's slug, week like 2026-W16, or path; default: the newest) to [newsletter] subscribers.

    SMTP settings come from [smtp] (host, port, security, user); the password from the environment
    variable named by [smtp] password_env. A send log under .publisher/ makes a re-run after a crash
    or a dropped connection continue where it stopped: nobody is sent the issue twice."""
    from publisher.ops.send import send_newsletter

    report = send_newsletter(get_config(ctx), post, dry_run=dry_run, resend_in_doubt=resend_in_doubt)
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        raise SystemExit(1)
