"""`publish` commands of the render stage."""

from publisher.cli.app import main  # noqa: F401
