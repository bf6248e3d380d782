"""ISO weeks: parsing, local-time bounds (DST included) and the default week."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from publisher.common.weeks import IsoWeek, last_complete_week, parse_week
from publisher.errors import ConfigError

UTC = dt.UTC


@pytest.mark.parametrize("text", ["2026-W16", "2026W16", "2026-w16", " 2026-W16 "])
def test_parse_week_accepts_iso_spellings(text: str) -> None:
    week = parse_week(text)
    assert week == IsoWeek(2026, 16)
    assert str(week) == "2026-W16"


@pytest.mark.parametrize("text", ["2026-16", "W16", "2026-W", "last week", "", "2026-W54", "2021-W53", "2026-W00"])
def test_parse_week_rejects_with_the_expected_format(text: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_week(text)
    message = str(err.value)
    assert "2026-W16" in message and "\n" not in message


def test_week_53_exists_only_in_long_years() -> None:
    assert parse_week("2020-W53").bounds()[0] == dt.datetime(2020, 12, 28, tzinfo=ZoneInfo("UTC"))


def test_utc_bounds_are_monday_to_monday() -> None:
    start, end = parse_week("2026-W16").bounds("UTC")
    assert start.isoformat() == "2026-04-13T00:00:00+00:00"
    assert end.isoformat() == "2026-04-20T00:00:00+00:00"


def test_week_one_can_start_in_the_previous_year() -> None:
    start, _ = parse_week("2026-W01").bounds("UTC")
    assert start.date() == dt.date(2025, 12, 29)


def test_bounds_follow_dst_in_the_configured_zone() -> None:
    # Europe/Paris springs forward on 2026-03-29: that week has 167 hours, the next one 168.
    start, end = parse_week("2026-W13").bounds("Europe/Paris")
    assert start.isoformat() == "2026-03-23T00:00:00+01:00"
    assert end.isoformat() == "2026-03-30T00:00:00+02:00"
    assert end.timestamp() - start.timestamp() == 167 * 3600
    start2, end2 = parse_week("2026-W14").bounds("Europe/Paris")
    assert end2.timestamp() - start2.timestamp() == 168 * 3600
    assert start2 == end


def test_last_complete_week_on_a_tuesday() -> None:
    assert last_complete_week(dt.datetime(2026, 4, 21, 9, 0, tzinfo=UTC), "UTC") == IsoWeek(2026, 16)


def test_last_complete_week_at_the_boundary() -> None:
    assert last_complete_week(dt.datetime(2026, 4, 20, 0, 0, tzinfo=UTC), "UTC") == IsoWeek(2026, 16)
    assert last_complete_week(dt.datetime(2026, 4, 19, 23, 59, tzinfo=UTC), "UTC") == IsoWeek(2026, 15)


def test_last_complete_week_uses_local_time() -> None:
    # Sunday 23:30 UTC is already Monday 01:30 in Paris: W16 is complete there, not in UTC.
    now = dt.datetime(2026, 4, 19, 23, 30, tzinfo=UTC)
    assert last_complete_week(now, "Europe/Paris") == IsoWeek(2026, 16)
    assert last_complete_week(now, "UTC") == IsoWeek(2026, 15)


def test_next_and_previous_cross_years() -> None:
    assert IsoWeek(2026, 1).previous() == IsoWeek(2025, 52)
    assert IsoWeek(2020, 53).next() == IsoWeek(2021, 1)


def test_unknown_timezone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="IANA"):
        parse_week("2026-W16").bounds("Mars/Olympus")


def test_a_week_ending_after_year_9999_is_refused() -> None:
    with pytest.raises(ConfigError, match="9999-12-31"):
        parse_week("9999-W52")
    assert parse_week("9999-W51").bounds("UTC")[1].year == 9999
