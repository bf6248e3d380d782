"""The one display format for dates, on the site, in the feed's pages, in the email: "2 December 2026"."""

from __future__ import annotations

import datetime as dt


def display_date(value: dt.date | dt.datetime) -> str:
    """Day without a leading zero, full month, year: the same wherever a reader sees a date."""
    return f"{value.day} {value:%B %Y}"


def display_day_month(value: dt.date | dt.datetime) -> str:
    """The short form for lists grouped by year (the archive): "2 Dec"."""
    return f"{value.day} {value:%b}"
