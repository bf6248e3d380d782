"""The `publish` command group. Commands only parse options and call library functions."""

from __future__ import annotations

import datetime as dt
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from publisher import __version__
from publisher.common.sanitize import terminal_text
from publisher.config import Config, load_config
from publisher.errors import PublisherError, one_line


class PublishGroup(click.Group):
    """Maps known errors to one line and unexpected ones to one line plus a log with the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PublisherError as exc:
            click.echo(f"error: {_one_line(exc)}", err=True)
            sys.exit(1)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except OSError as exc:
            if exc.filename is None:
                return self._crash(ctx, exc)
            what = exc.strerror or type(exc).__name__
            click.echo(f"error: {_one_line(exc.filename)}: {what}; check that the folder exists and you may write "
                       "there (permissions, disk space, a read-only mount)", err=True)
            sys.exit(1)
        except Exception as exc:  # the last line of defence: never a bare traceback
            return self._crash(ctx, exc)

    @staticmethod
    def _crash(ctx: click.Context, exc: BaseException) -> Any:
        log = _write_crash_log(ctx)
        summary = terminal_text(one_line(exc))
        click.echo(f"error: unexpected failure ({summary}); traceback in {log}", err=True)
        sys.exit(2)


def _one_line(value: object) -> str:
    """An error as the one line the CLI prints: no terminal escapes, line breaks folded."""
    return " ".join(terminal_text(value).split())


def _write_crash_log(ctx: click.Context) -> Path:
    obj = ctx.obj or {}
    root = Path(obj.get("root") or ".")
    log_dir = root / ".publisher" / "logs"
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        import tempfile

        log_dir = Path(tempfile.gettempdir())
    path = log_dir / f"crash-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}.log"
    text = f"publish {__version__} {' '.join(sys.argv)}\n{traceback.format_exc()}"
    path.write_text(terminal_text(text), encoding="utf-8")  # read with cat/less: no escape sequences
    return path


@click.group(cls=PublishGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-C", "--project", "root", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True, help="Site project folder (holds publisher.toml, content/, site/).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Config file (default: PROJECT/publisher.toml).")
@click.version_option(__version__, prog_name="publish")
@click.pass_context
def main(ctx: click.Context, root: Path, config_file: Path | None) -> None:
    """Turn a trading book into a weekly post-mortem: facts, draft, site, feed, email."""
    ctx.ensure_object(dict)
    ctx.obj.update(root=root, config_file=config_file)


def get_config(ctx: click.Context, **overrides: Any) -> Config:
    """Load the project's config with CLI overrides ("section.key" -> value) applied last."""
    obj = ctx.find_root().obj
    return load_config(obj["root"], obj["config_file"], overrides)


book_option = click.option(
    "--book", "book_path", type=click.Path(dir_okay=False, path_type=Path), envvar="PUBLISHER_BOOK",
    default=None, help="Trading book (SQLite). Default: [book] path in publisher.toml. Env: PUBLISHER_BOOK.")
week_option = click.option("--week", default=None, help="ISO week, e.g. 2026-W16. Default: the last complete week.")
