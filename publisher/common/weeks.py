"""ISO weeks and their bounds in the operator's timezone.

A week is Monday 00:00 to the next Monday 00:00 *local* time, so a week that contains a DST switch
is 167 or 169 hours long; bounds are computed with zoneinfo, never by adding 168 hours.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from publisher.errors import ConfigError

_WEEK_RE = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)
WEEK_FORMAT_HINT = "expected an ISO week like 2026-W16 (year, 'W', week number 01-53)"


class WeekError(ConfigError):
    """A week string that is not an ISO week; a ConfigError so the CLI prints one line."""


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"

    def monday(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.week, 1)

    def bounds(self, tz: str | dt.tzinfo = "UTC") -> tuple[dt.datetime, dt.datetime]:
        """Aware datetimes [start, end): Monday 00:00 local and the next Monday 00:00 local."""
        zone = get_zone(tz)
        start_day = self.monday()
        end_day = start_day + dt.timedelta(days=7)
        return (dt.datetime.combine(start_day, dt.time(), zone),
                dt.datetime.combine(end_day, dt.time(), zone))

    def next(self) -> IsoWeek:
        return week_of(self.monday() + dt.timedelta(days=7))

    def previous(self) -> IsoWeek:
        return week_of(self.monday() - dt.timedelta(days=7))


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def week_label(week: IsoWeek) -> str:
    """The week's days as a reader says them: '23–29 Nov 2026', '30 Nov – 6 Dec 2026',
    '29 Dec 2025 – 4 Jan 2026' (English month abbreviations, whatever the locale)."""
    first = week.monday()
    last = first + dt.timedelta(days=6)
    if first.year != last.year:
        return f"{first.day} {_MONTHS[first.month - 1]} {first.year} \u2013 {last.day} {_MONTHS[last.month - 1]} {last.year}"
    if first.month != last.month:
        return f"{first.day} {_MONTHS[first.month - 1]} \u2013 {last.day} {_MONTHS[last.month - 1]} {last.year}"
    return f"{first.day}\u2013{last.day} {_MONTHS[first.month - 1]} {last.year}"


def get_zone(tz: str | dt.tzinfo) -> dt.tzinfo:
    if isinstance(tz, dt.tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone {tz!r} is not an IANA timezone (e.g. UTC, Europe/Paris)") from None


def week_of(day: dt.date | dt.datetime) -> IsoWeek:
    year, week, _ = day.isocalendar()
    return IsoWeek(year, week)


def parse_week(text: str) -> IsoWeek:
    """`2026-W16` (also `2026W16`, `2026-w16`) -> IsoWeek; anything else -> WeekError."""
    match = _WEEK_RE.match(text or "")
    if not match:
        raise WeekError(f"week {text!r}: {WEEK_FORMAT_HINT}")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        monday = dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise WeekError(f"week {text!r}: {year} has no ISO week {week}; {WEEK_FORMAT_HINT}") from None
    if monday < dt.date.min + dt.timedelta(days=7):  # the week before it (and a day of slack) must be dates
        raise WeekError(f"week {text!r}: starts too close to 0001-01-01, the first date this tool can handle")
    if monday > dt.date.max - dt.timedelta(days=8):  # its end (and a day of slack) must be a date
        raise WeekError(f"week {text!r}: ends after 9999-12-31, the last date this tool can handle")
    return IsoWeek(year, week)


def last_complete_week(now: dt.datetime | None = None, tz: str | dt.tzinfo = "UTC") -> IsoWeek:
    """The most recent week whose end is at or before `now` (local time in `tz`)."""
    zone = get_zone(tz)
    now = dt.datetime.now(zone) if now is None else now
    local = now.astimezone(zone) if now.tzinfo else now.replace(tzinfo=zone)
    return week_of(local.date()).previous()
