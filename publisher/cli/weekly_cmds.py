"""`publish deploy`, `publish serve`, `publish schedule`: getting the built site out and the job scheduled."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from publisher.cli.app import get_config, main


@main.command()
@click.option("--force", is_flag=True, help="Overwrite the remote branch even if it has commits the local deploy history lacks.")
@click.option("-m", "--message", default=None, help="Commit message (default: 'Publish site <date>').")
@click.option("--remote", default=None, help="Git remote URL or path ([deploy] remote).")
@click.option("--branch", default=None, help="Branch that holds the built site ([deploy] branch).")
@click.pass_context
def deploy(ctx: click.Context, force: bool, message: str | None, remote: str | None, branch: str | None) -> None:
    """Push the built site/ to the [deploy] git remote and branch as one commit."""
    from publisher.deploy import deploy_site

    config = get_config(ctx, **{"deploy.remote": remote, "deploy.branch": branch})
    message = message or f"Publish site {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    click.echo(deploy_site(config, message, force=force).summary)


@main.command()
@click.option("--print", "kind", type=click.Choice(["launchd", "cron", "systemd"]), required=True,
              help="Which scheduler's unit to print.")
@click.option("--weekday", default="tuesday", show_default=True, help="Day of the run.")
@click.option("--time", "time_", default="07:00", show_default=True, help="Local time of the run (HH:MM).")
@click.option("--log", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Log file (default: PROJECT/.publisher/logs/weekly.log).")
@click.pass_context
def schedule(ctx: click.Context, kind: str, weekday: str, time_: str, log: Path | None) -> None:
    """Print a unit that runs 'publish weekly --publish --push' every week (see docs/scheduling.md)."""
    from publisher.schedule import schedule_unit

    project = Path(ctx.find_root().obj["root"]).resolve()
    click.echo(schedule_unit(kind, project, weekday=weekday, time=time_, log=log), nl=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free port).")
@click.option("--no-drafts", is_flag=True, help="Preview only published posts.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, no_drafts: bool) -> None:
    """Preview the site locally; rebuilds on change and reloads open pages."""
    from publisher.serve import preview_config
    from publisher.serve import serve as run_preview
    from publisher.site import build_site

    def build(out: Path) -> None:
        # The config is read again on every build, so edits to publisher.toml show up too.
        build_site(preview_config(get_config(ctx), out), include_drafts=not no_drafts)

    run_preview(get_config(ctx), host, port, build=build, echo=click.echo)
