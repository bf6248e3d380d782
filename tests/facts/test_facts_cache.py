"""The facts cache (project state folder) never changes a figure: it only saves re-reading history."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from bookmaker import make_native_book, trade

from publisher.book.reader import open_book
from publisher.facts.compute import compute_facts


def closes(day: str, n: int, pnl: float, book_id: int = 1) -> list[dict[str, Any]]:
    return [trade(book_id, "BTC/USDT", entry=100, exit=100, opened=f"{day}T08:00:00Z",
                  closed=f"{day}T{9 + i:02d}:00:00Z", pnl=pnl) for i in range(n)]


@pytest.fixture
def book(tmp_path: Path) -> Path:
    rows = closes("2026-03-03", 3, 10.0) + closes("2026-03-17", 2, -40.0) + closes("2026-04-14", 2, 5.0, 2)
    return make_native_book(tmp_path / "book.sqlite", trades=rows)


def facts(path: Path, week: str, cache: Path | None) -> dict[str, Any]:
    with open_book(path, cache_dir=cache) as b:
        result = compute_facts(b, week)
    return result


def figures(f: dict[str, Any]) -> Any:
    return [(b["week"], b["all_time"]) for b in [*f["books"], f["all_books"]]]


def insert(path: Path, rows: list[dict[str, Any]]) -> None:
    conn = sqlite3.connect(path)
    with conn:
        for row in rows:
            cols = [k for k, v in row.items() if v is not None or k != "id"]
            conn.execute(f"INSERT INTO trades ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                         [row[c] for c in cols])
    conn.close()


def test_cached_runs_match_uncached_runs(book: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = facts(book, "2026-W16", cache)
    assert list(cache.glob("book-*.json"))
    second = facts(book, "2026-W16", cache)
    assert figures(second) == figures(first) == figures(facts(book, "2026-W16", None))
    assert second["stamp"]["book_sha256"] == first["stamp"]["book_sha256"]
    assert first["books"][0]["all_time"]["round_trips"]["value"] == 5
    assert first["books"][0]["all_time"]["max_drawdown"]["value"] == pytest.approx(80 / 1030 * 100)


def test_new_trades_extend_the_cached_history(book: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    before = facts(book, "2026-W16", cache)["stamp"]["book_sha256"]
    insert(book, closes("2026-04-22", 2, 7.0) + closes("2026-04-28", 1, -3.0))
    later = facts(book, "2026-W18", cache)
    uncached = facts(book, "2026-W18", None)
    assert figures(later) == figures(uncached)
    assert later["books"][0]["all_time"]["round_trips"]["value"] == 8
    assert later["stamp"]["book_sha256"] == uncached["stamp"]["book_sha256"] != before


def test_back_dated_trade_invalidates_the_cache(book: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    facts(book, "2026-W16", cache)
    insert(book, closes("2026-03-04", 1, -100.0))
    again = facts(book, "2026-W16", cache)
    assert figures(again) == figures(facts(book, "2026-W16", None))
    assert again["books"][0]["all_time"]["realized_pnl"]["value"] == pytest.approx(30 - 80 - 100)


def test_an_older_week_after_a_newer_one(book: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    facts(book, "2026-W16", cache)
    older = facts(book, "2026-W12", cache)
    assert figures(older) == figures(facts(book, "2026-W12", None))
    assert older["books"][0]["week"]["realized_pnl"]["value"] == pytest.approx(-80.0)
    assert figures(facts(book, "2026-W16", cache)) == figures(facts(book, "2026-W16", None))


def test_unwritable_cache_folder_is_not_an_error(book: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    assert figures(facts(book, "2026-W16", blocker)) == figures(facts(book, "2026-W16", None))


def test_facts_command_keeps_a_cache_and_no_cache_bypasses_it(book: Path, tmp_path: Path) -> None:
    """`publish facts` keeps its cache in the project's .publisher/cache; `--no-cache` neither reads
    nor writes it, and prints the same sheet."""
    import json

    from click.testing import CliRunner

    from publisher.cli import main

    project = tmp_path / "project"
    project.mkdir()
    args = ["-C", str(project), "facts", "--book", str(book), "--week", "2026-W16", "--json"]
    uncached = CliRunner().invoke(main, [*args, "--no-cache"], env={})
    assert uncached.exit_code == 0, uncached.output
    assert not (project / ".publisher" / "cache").exists()
    cached = CliRunner().invoke(main, args, env={})
    assert cached.exit_code == 0, cached.output
    files = list((project / ".publisher" / "cache").glob("book-*.json"))
    assert len(files) == 1
    assert json.loads(cached.output) == json.loads(uncached.output)

    files[0].write_text('{"identity": "stale", "history": {"cut": "x"}}', encoding="utf-8")  # a cache gone bad
    again = CliRunner().invoke(main, [*args, "--no-cache"], env={})
    assert json.loads(again.output) == json.loads(uncached.output)
    assert files[0].read_text(encoding="utf-8") == '{"identity": "stale", "history": {"cut": "x"}}'  # not touched
