"""Errors a user can act on. The CLI prints them as one line and exits non-zero."""

SUMMARY_LIMIT = 300  # characters of an exception's message quoted in a one-line error


def one_line(exc: BaseException, *, with_type: bool = True, limit: int | None = SUMMARY_LIMIT) -> str:
    """The first line of an exception's message, cut to `limit` characters, for a one-line error:
    `ValueError: bad thing` (or just `bad thing` with `with_type=False`; the type's name when the
    message is empty; `limit=None`: the whole line). The one place that shortens an exception for a user."""
    message = str(exc)
    text = f"{type(exc).__name__}: {message}" if with_type else (message or type(exc).__name__)
    return (text.splitlines() or [""])[0][:limit]


class PublisherError(Exception):
    """Base class: the message is the whole user-facing line (what is wrong, where, what to do)."""


class ConfigError(PublisherError):
    pass


class BookError(PublisherError):
    pass


class FactsError(PublisherError):
    pass


class ContentError(PublisherError):
    pass


class DraftError(PublisherError):
    pass


class BuildError(PublisherError):
    pass


class NothingToBuild(BuildError):
    """No published post yet: a first draft is not a failure of `publish weekly`."""


class DeployError(PublisherError):
    pass


class SendError(PublisherError):
    pass
