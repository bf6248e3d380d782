"""Errors a user can act on. The CLI prints them as one line and exits non-zero."""


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


class DeployError(PublisherError):
    pass


class SendError(PublisherError):
    pass
