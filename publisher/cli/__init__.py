"""CLI entry point: importing the command modules registers their commands on `main`."""

from publisher.cli import check, draft, facts, ops, send, site, weekly  # noqa: F401
from publisher.cli.app import main

__all__ = ["main"]
