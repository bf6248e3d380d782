"""CLI entry point: importing the command modules registers their commands on `main`."""

from publisher.cli import book_cmds, draft_cmds, project_cmds, render_cmds, weekly_cmds  # noqa: F401
from publisher.cli.app import main

__all__ = ["main"]
