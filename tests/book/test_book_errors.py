"""Bad books give one clear line (CLI exit 1), never a traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from bookmaker import make_native_book, trade
from click.testing import CliRunner

from publisher.book.reader import open_book
from publisher.cli import main
from publisher.errors import BookError
from publisher.facts.compute import compute_facts


def facts_error(path: Path, week: str = "2026-W16") -> str:
    """Run `publish facts` and return its one-line error."""
    result = CliRunner().invoke(main, ["-C", str(path.parent), "facts", "--book", str(path), "--week", week])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


def closed(book_id: int = 1, **over: object) -> dict:
    row = trade(book_id, "BTC/USDT", entry=100, exit=110, opened="2026-04-14T08:00:00Z",
                closed="2026-04-14T09:00:00Z")
    row.update(over)
    return row


def test_not_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "book.sqlite"
    path.write_text("id,symbol\n1,BTC\n", encoding="utf-8")
    assert "not a SQLite database" in facts_error(path)


def test_empty_file_is_not_a_book(tmp_path: Path) -> None:
    path = tmp_path / "book.sqlite"
    path.write_bytes(b"")
    assert "not a SQLite database" in facts_error(path)


def test_corrupt_sqlite_file(tmp_path: Path) -> None:
    path = make_native_book(tmp_path / "book.sqlite", trades=[closed()])
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # wreck the schema page after the header
    path.write_bytes(bytes(data))
    message = facts_error(path)
    assert str(path) in message


def test_missing_book_file(tmp_path: Path) -> None:
    assert "book not found" in facts_error(tmp_path / "nope.sqlite")


def test_unknown_layout(tmp_path: Path) -> None:
    path = tmp_path / "book.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE fills (x)")
    conn.close()
    message = facts_error(path)
    assert "no known book layout" in message and "[book.mapping]" in message


def test_missing_native_column_names_it(tmp_path: Path) -> None:
    path = tmp_path / "book.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE books (id INTEGER PRIMARY KEY, name TEXT, starting_balance REAL);"
                       "CREATE TABLE trades (id INTEGER PRIMARY KEY, book_id INTEGER, symbol TEXT, "
                       "opened_at TEXT, closed_at TEXT);")
    conn.close()
    message = facts_error(path)
    assert "trades.realized_pnl" in message and "[book.mapping.trades] realized_pnl" in message


@pytest.mark.parametrize(("column", "value", "shown"), [
    ("realized_pnl", None, "NULL"), ("realized_pnl", "12,5", "'12,5'"), ("fee_close", "n/a", "'n/a'")])
def test_bad_numbers_name_table_column_and_row(tmp_path: Path, column: str, value: object, shown: str) -> None:
    path = make_native_book(tmp_path / "book.sqlite", trades=[closed(), closed(id=42, **{column: value})])
    message = facts_error(path)
    assert f"column {column} row id 42" in message and shown in message and "table trades" in message


def test_bad_number_in_history_is_found_too(tmp_path: Path) -> None:
    old = closed(id=7, realized_pnl="oops", opened_at="2026-01-05T08:00:00Z", closed_at="2026-01-05T09:00:00Z")
    path = make_native_book(tmp_path / "book.sqlite", trades=[old, closed()])
    assert "row id 7" in facts_error(path)


def test_epoch_number_in_an_iso_book_is_reported(tmp_path: Path) -> None:
    path = make_native_book(tmp_path / "book.sqlite", trades=[closed(), closed(id=9, closed_at=1776157200)])
    message = facts_error(path)
    assert "row id 9" in message and "1776157200" in message and "timestamps" in message


def test_unreadable_timestamp_text(tmp_path: Path) -> None:
    path = make_native_book(tmp_path / "book.sqlite", trades=[closed(id=5, closed_at="2026-04-14 late evening")])
    message = facts_error(path)
    assert "row id 5" in message and "timestamp" in message


def test_mixed_iso_spellings_are_read_alike(tmp_path: Path) -> None:
    rows = [closed(closed_at="2026-04-14T09:00:00Z"), closed(closed_at="2026-04-14 10:00:00"),
            closed(closed_at="2026-04-14T13:00:00+02:00"), closed(closed_at="2026-04-14T12:00:00.250")]
    path = make_native_book(tmp_path / "book.sqlite", trades=rows)
    with open_book(path) as book:
        facts = compute_facts(book, "2026-W16")
    assert facts["books"][0]["week"]["round_trips"]["value"] == 4
    times = [p["t"] for p in facts["books"][0]["equity_curve"][1:]]
    assert times == ["2026-04-14T09:00:00+00:00", "2026-04-14T10:00:00+00:00", "2026-04-14T11:00:00+00:00",
                     "2026-04-14T12:00:00.250000+00:00"]


def test_trade_of_an_unknown_book_id(tmp_path: Path) -> None:
    path = make_native_book(tmp_path / "book.sqlite", trades=[closed(), closed(book_id=9)])
    message = facts_error(path)
    assert "book id(s) 9" in message


def test_bad_week_option(tmp_path: Path) -> None:
    path = make_native_book(tmp_path / "book.sqlite", trades=[closed()])
    assert "2026-W16" in facts_error(path, week="April")


def test_locked_book_is_one_line(tmp_path: Path) -> None:
    path = make_native_book(tmp_path / "book.sqlite", trades=[closed()])
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(BookError, match="locked"), open_book(path, timeout=0.05) as book:
            compute_facts(book, "2026-W16")
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_trade_closed_before_it_was_opened(tmp_path: Path) -> None:
    path = make_native_book(tmp_path / "book.sqlite", trades=[closed(id=3, opened_at="2026-04-14T10:00:00Z")])
    message = facts_error(path)
    assert "row id 3" in message and "closed before it was opened" in message


def test_duplicate_trade_ids_in_a_mapped_table(tmp_path: Path) -> None:
    path = tmp_path / "fills.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE fills (id INTEGER, symbol TEXT, opened_at TEXT, closed_at TEXT, realized_pnl REAL)")
    conn.executemany("INSERT INTO fills VALUES (7, 'BTC/USDT', ?, ?, ?)", [
        ("2026-04-14T08:00:00Z", "2026-04-14T09:00:00Z", 5.0), ("2026-04-14T08:00:00Z", "2026-04-14T10:00:00Z", -2.0)])
    conn.commit()
    conn.close()
    (tmp_path / "publisher.toml").write_text('[book.mapping.trades]\ntable = "fills"\n', encoding="utf-8")
    message = facts_error(path)
    assert "fills" in message and "id 7" in message and "duplicate" in message


def test_overflowing_pnl_fails_the_checks(tmp_path: Path) -> None:
    path = make_native_book(tmp_path / "book.sqlite", trades=[closed(realized_pnl=1e308), closed(realized_pnl=1e308)])
    message = facts_error(path)
    assert "2026-W16" in message and "consistency check failed" in message


def test_blob_text_is_decoded_not_repr(tmp_path: Path) -> None:
    path = make_native_book(tmp_path / "book.sqlite", trades=[closed()], news=[
        {"published_at": "2026-04-15T00:00:00Z", "rank": 1, "title": b"\x00\xffBTC dip", "source": "s", "url": "u"}])
    with open_book(path) as book:
        title = compute_facts(book, "2026-W16")["news"][0]["title"]
    assert title == "\x00\ufffdBTC dip"
