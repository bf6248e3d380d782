"""`publish init`, `doctor`, `deploy`, `schedule`: setting a project up, checking it, getting the site out, scheduling the job."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from publisher.cli.app import get_config, main
from publisher.common.sanitize import terminal_text


@main.command()
@click.option("--force", is_flag=True, help="Overwrite the remote branch even if it has commits the local deploy history lacks.")
@click.option("-m", "--message", default=None, help="Commit message (default: 'Publish site <date>').")
@click.option("--remote", default=None, help="Git remote URL or path ([deploy] remote).")
@click.option("--branch", default=None, help="Branch that holds the built site ([deploy] branch).")
@click.pass_context
def deploy(ctx: click.Context, force: bool, message: str | None, remote: str | None, branch: str | None) -> None:
    """Push the built site/ to the [deploy] git remote and branch as one commit."""
    from publisher.ops.deploy import deploy_site

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
    from publisher.ops.schedule import schedule_unit

    project = Path(ctx.find_root().obj["root"]).resolve()
    click.echo(schedule_unit(kind, project, weekday=weekday, time=time_, log=log), nl=False)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--demo", is_flag=True, help="Also create a demo book and demo posts, so 'publish weekly' works at once.")
@click.option("--title", default="My Quant Log", show_default=True, help="Site title.")
@click.option("--force", is_flag=True, help="Overwrite an existing publisher.toml.")
def init(directory: Path, demo: bool, title: str, force: bool) -> None:
    """Scaffold a site project in DIRECTORY."""
    from publisher.ops.scaffold import init_project

    for path in init_project(directory, demo=demo, title=title, force=force):
        click.echo(f"created {path}")
    click.echo(f"next: cd {directory} && publish weekly" + ("" if demo else "  (after setting [book] path)"))


@main.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check config, book, model, output folder and git remote; say how to fix what is wrong."""
    from publisher.ops.doctor import run_checks

    obj = ctx.find_root().obj
    checks = run_checks(obj["root"], obj["config_file"])
    for check in checks:
        click.echo(f"{'✓' if check.ok else '✗'} {check.name}: {terminal_text(check.detail)}")
        if not check.ok and check.fix:
            click.echo(f"    fix: {check.fix}")
    if not all(check.ok for check in checks):
        raise SystemExit(1)
