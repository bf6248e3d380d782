"""Property-based fuzzing of the parsers that read what operators and models write.

Skipped here because other tests already fuzz them: Markdown escaping (test_render_sanitize.py) and
the guard's extractor on plain formatted numbers (test_guard.py). Each test states its property.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from publisher.book.reader import LOGICAL, open_book
from publisher.common import figures as F
from publisher.common.weeks import IsoWeek, WeekError, parse_week
from publisher.config import BookConfig, load_config
from publisher.drafting.guard import check_sentence, extract_numbers, index_facts
from publisher.errors import BookError, ConfigError, ContentError
from publisher.facts.compute import compute_facts
from publisher.site.content import dump_post, load_post, parse_front_matter

SOURCE = Path("fuzz.md")
# YAML cannot hold lone surrogates, and a post file is UTF-8 text: generate real characters only.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)

# ---------------------------------------------------------------- front matter


@given(st.text(max_size=300))
def test_front_matter_never_raises_anything_but_content_error(text: str) -> None:
    """Any text at all: parse_front_matter returns (dict, str) or raises ContentError, nothing else."""
    try:
        meta, body = parse_front_matter(text, SOURCE)
    except ContentError as exc:
        assert str(exc).startswith(str(SOURCE)) and "\n" not in str(exc)  # one line naming the file
        return
    assert isinstance(meta, dict) and isinstance(body, str)


FENCED = st.builds(lambda head, body, bom: f"{bom}---\n{head}\n---\n{body}",
                   st.text(alphabet=st.sampled_from(list("ab:- \n'\"[]{}#&*!|>%@`\t,?1.") + ["ü", "\u2028"]),
                           max_size=80),
                   TEXT, st.sampled_from(["", "\ufeff"]))


@given(FENCED)
def test_front_matter_near_valid_yaml_never_raises_anything_but_content_error(text: str) -> None:
    """Fenced headers full of YAML punctuation (the realistic typos): a mapping or a ContentError."""
    try:
        meta, _ = parse_front_matter(text, SOURCE)
    except ContentError:
        return
    assert isinstance(meta, dict)


META = st.dictionaries(
    st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=12),
    st.one_of(TEXT, st.integers(), st.booleans(), st.lists(TEXT, max_size=3)), max_size=6)


@given(META, TEXT)
def test_front_matter_round_trips_whatever_dump_post_writes(meta: dict, body: str) -> None:
    """parse_front_matter(dump_post(meta, body)) gives back meta and body exactly."""
    got_meta, got_body = parse_front_matter(dump_post(meta, body), SOURCE)
    assert got_meta == meta and got_body == body


ANY_VALUE = st.one_of(TEXT, st.integers(), st.floats(allow_nan=True), st.booleans(), st.none(), st.dates(),
                     st.datetimes(), st.lists(TEXT, max_size=6), st.dictionaries(TEXT, TEXT, max_size=2),
                     st.sampled_from(["2026-04-20", "2026-04-20T09:30:00+02:00", "yesterday", "draft", "published",
                                      "python, trading", "[python]", "my-slug", "Bad Slug!", "javascript:alert(1)"]))
POST_META = st.fixed_dictionaries({}, optional={key: ANY_VALUE for key in (
    "title", "date", "slug", "tags", "status", "description", "canonical_url", "cover_image", "series")})


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(meta=POST_META, body=TEXT)
def test_any_front_matter_values_load_as_a_post_or_a_content_error(tmp_path: Path, meta: dict, body: str) -> None:
    """Whatever types the keys hold (a list as a date, a dict as a title, a number as a slug): load_post
    returns a Post with an aware date and at most four tags, or raises a one-line ContentError."""
    content = tmp_path / "content"
    path = content / "posts" / "fuzz.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_post(meta, body), encoding="utf-8")
    try:
        post = load_post(path, content, "Europe/Paris")
    except ContentError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
        return
    assert post.date.tzinfo is not None and len(post.tags) <= 4 and post.title.strip()


# ---------------------------------------------------------------- week strings

# Years 1000-9998: four-digit years whose weeks all have bounds (see the two xfail tests below).
VALID_WEEKS = st.dates(min_value=dt.date(1000, 1, 8), max_value=dt.date(9998, 12, 1)).map(
    lambda d: IsoWeek(*d.isocalendar()[:2]))


@given(VALID_WEEKS, st.sampled_from(["{y}-W{w:02d}", "{y}W{w:02d}", "{y}-w{w}", " {y}-W{w:02d} "]))
def test_every_iso_week_round_trips_in_every_accepted_spelling(week: IsoWeek, spelling: str) -> None:
    """str(parse_week(s)) is the canonical `YYYY-Www` for every real ISO week, however it is spelled,
    and its bounds are seven days apart in UTC."""
    text = spelling.format(y=f"{week.year:04d}", w=week.week)
    parsed = parse_week(text)
    assert parsed == week and str(parsed) == f"{week.year:04d}-W{week.week:02d}"
    start, end = parsed.bounds("UTC")
    assert end - start == dt.timedelta(days=7) and start.weekday() == 0


def test_a_year_below_1000_round_trips() -> None:
    assert str(parse_week("0999-W01")) == "0999-W01"


def test_the_first_week_of_year_one_is_refused_with_its_name() -> None:
    """0001-W01 starts on the first date there is: its previous week (history, comparisons) cannot exist."""
    with pytest.raises(WeekError, match="'0001-W01'"):
        parse_week("0001-W01")
    assert str(parse_week("0001-W02")) == "0001-W02"


@given(st.text(max_size=20))
def test_any_week_string_parses_to_a_round_tripping_week_or_a_config_error(text: str) -> None:
    """Anything else: a ConfigError (WeekError) that quotes the input, or a week that re-parses to itself."""
    try:
        week = parse_week(text)
    except WeekError as exc:
        assert isinstance(exc, ConfigError) and repr(text) in str(exc)
        return
    assert parse_week(str(week)) == week


@given(st.integers(min_value=0, max_value=9999), st.integers(min_value=0, max_value=99))
def test_week_numbers_outside_the_year_are_config_errors(year: int, number: int) -> None:
    """A week number the ISO year does not have is rejected, never wrapped into another year."""
    try:
        last = dt.date(year, 12, 28).isocalendar()[1]
    except ValueError:  # year 0
        last = 0
    text = f"{year:04d}-W{number:02d}"
    if 1 <= number <= last and (year, number) != (1, 1):  # 0001-W01 has no day before it (see below)
        assert parse_week(text) == IsoWeek(year, number)
    else:
        with pytest.raises(ConfigError):
            parse_week(text)


# ---------------------------------------------------------------- mapping config

KEYS = st.sampled_from(sorted({*LOGICAL, *(c for cols in LOGICAL.values() for c in cols), "table", "sql",
                               "timestamps", "values", "starting_balance", "quote_currency", "book_name"}))
VALUES = st.one_of(st.sampled_from(["fills", "books", "trades", "id", "ts", "pnl", "epoch_s", "epoch_ms", "iso",
                                    "SELECT * FROM fills", "pnl * 2", "no_such", "", "'", "id; DROP TABLE fills"]),
                   TEXT, st.integers(), st.floats(allow_nan=True), st.booleans())
COLUMNS = st.sampled_from(["id", "symbol", "ts", "closed", "pnl", "ts * 1000", "closed / 1000.0", "NULL", "'x'",
                           "pnl +", "(SELECT 1)", "missing_col"])
RANDOM_MAPPING = st.recursive(st.dictionaries(KEYS, VALUES, max_size=5),
                              lambda inner: st.dictionaries(KEYS, st.one_of(VALUES, inner), max_size=5), max_leaves=12)
# Mostly a trades table that exists with columns mapped right, wrong or half right, so the fuzzer
# reaches the queries and the figures, not only the first validation error.
TRADES_MAPPING = st.builds(
    lambda top, cols, values: {**top, "trades": {"table": "fills", **cols}, **({"values": values} if values else {})},
    st.dictionaries(st.sampled_from(["timestamps", "starting_balance", "quote_currency", "book_name"]),
                    st.one_of(st.sampled_from(["epoch_s", "epoch_ms", "iso"]), VALUES), max_size=3),
    st.dictionaries(st.sampled_from(sorted(LOGICAL["trades"])), st.one_of(COLUMNS, VALUES), max_size=6),
    st.dictionaries(st.sampled_from(["side", "symbol", "book_id"]),
                    st.dictionaries(TEXT, st.one_of(TEXT, st.integers(), st.booleans()), max_size=3), max_size=2))
MAPPING = st.one_of(TRADES_MAPPING, RANDOM_MAPPING)


@pytest.fixture(scope="module")
def custom_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "custom.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE fills (id INTEGER PRIMARY KEY, symbol TEXT, ts INTEGER, closed INTEGER, pnl REAL);"
                       "INSERT INTO fills VALUES (1, 'BTC/USDT', 1776042000, 1776045600, 2.5);"
                       "INSERT INTO fills VALUES (2, 'ETH/USDT', 1776042000, NULL, NULL);")
    conn.close()
    return path


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mapping=MAPPING)
def test_any_mapping_is_read_or_rejected_with_a_book_or_config_error(custom_book: Path, mapping: dict) -> None:
    """Whatever [book.mapping] says, reading a week gives facts or a one-line BookError/ConfigError,
    and the book file is never changed."""
    before = custom_book.read_bytes()
    try:
        with open_book(custom_book, BookConfig(path=str(custom_book), format="mapped", mapping=mapping)) as book:
            compute_facts(book, IsoWeek(2026, 16), "UTC")
    except (BookError, ConfigError) as exc:
        assert "\n" not in str(exc).strip()
    assert custom_book.read_bytes() == before


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([*"[]=\"'.\n #_", "book", "mapping", "trades", "table", "llm", "site",
                                 "timestamps", "1", "x", "true"]), max_size=30).map("".join))
def test_any_config_text_loads_or_is_a_config_error(tmp_path: Path, text: str) -> None:
    """publisher.toml with anything in it: a Config or a ConfigError naming the file, never a crash."""
    (tmp_path / "publisher.toml").write_text(text, encoding="utf-8")
    try:
        load_config(tmp_path, environ={})
    except ConfigError as exc:
        assert "\n" not in str(exc)


def test_mapping_fuzz_book_can_be_read_when_the_mapping_is_right(custom_book: Path) -> None:
    """The fuzzed book is readable, so the property above is not satisfied by errors alone."""
    mapping = {"timestamps": "epoch_s", "trades": {"table": "fills", "opened_at": "ts", "closed_at": "closed",
                                                   "realized_pnl": "pnl"}}
    with open_book(custom_book, BookConfig(path=str(custom_book), format="mapped", mapping=mapping)) as book:
        facts = compute_facts(book, IsoWeek(2026, 16), "UTC")
    assert facts["all_books"]["week"]["realized_pnl"]["value"] == 2.5


# ---------------------------------------------------------------- numbers in prose (guard)

UNITS = st.sampled_from(["USDT", "%", "x", "count", "USDT/trade"])
FIGURE_VALUES = st.floats(min_value=-1e7, max_value=1e7, allow_nan=False, allow_infinity=False)


def formatted(value: float, unit: str) -> list[str]:
    """Every way the display formatter (publisher.common.figures) prints a figure of this unit."""
    fig = {"value": value if unit != "count" else float(round(abs(value))), "unit": unit}
    if unit == "%":
        return [F.pct(fig), F.pct(fig, 2), F.pct(fig, 2, True), F.pct(fig, 0)]
    if unit == "x":
        return [F.ratio(fig)]
    if unit == "count":
        return [F.count(fig)]
    return [F.money(fig), F.money(fig, sign=False), F.money(fig, True, False)]


@given(FIGURE_VALUES, UNITS, st.sampled_from(["It was {}.", "({}) held.", "Then {}, as logged."]))
def test_every_figure_the_formatter_prints_is_found_and_matched(value: float, unit: str, frame: str) -> None:
    """A sentence quoting a fact-sheet figure exactly as the templates print it: the guard extracts
    one number from it and keeps the sentence."""
    fig = {"value": value if unit != "count" else float(round(abs(value))), "unit": unit}
    index = index_facts({"figure": fig})
    for shown in formatted(value, unit):
        sentence = frame.format(shown)
        assert len(extract_numbers(sentence)) == 1, sentence
        assert check_sentence(sentence, index) is None, sentence


@given(FIGURE_VALUES, st.sampled_from(["USDT", "%"]), st.integers(min_value=1, max_value=9))
def test_a_printed_figure_shifted_in_its_last_shown_digit_is_caught(value: float, unit: str, digit: int) -> None:
    """The same figure with its last displayed digit changed is not in the facts (when no other
    rounding of the true value reads that way)."""
    fig = {"value": value, "unit": unit}
    shown = F.money(fig, sign=False) if unit == "USDT" else F.pct(fig, 2)
    number = extract_numbers(shown)[0]
    wrong = number.value + digit * Decimal(1).scaleb(-number.decimals) * 3
    assume(abs(float(wrong) - abs(value)) > 0.02)
    text = f"{wrong:.{number.decimals}f}" + (" USDT" if unit == "USDT" else "%")
    assert check_sentence(f"It was {text}.", index_facts({"figure": fig})) is not None

