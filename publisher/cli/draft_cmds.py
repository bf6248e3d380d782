"""`publish` commands of the draft stage."""

from publisher.cli.app import main  # noqa: F401
