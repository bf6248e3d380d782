"""`publish` commands of the book stage."""

from publisher.cli.app import main  # noqa: F401
