"""`publish` commands of the weekly stage."""

from publisher.cli.app import main  # noqa: F401
