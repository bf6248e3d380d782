"""The JSON contract: every fact sheet validates against publisher/facts/facts.schema.json."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from bookmaker import freqtrade_trade, make_freqtrade_book, make_native_book, trade
from click.testing import CliRunner

from publisher.book.reader import NATIVE_SCHEMA, open_book
from publisher.cli import main
from publisher.common.weeks import last_complete_week
from publisher.facts.compute import compute_facts, format_facts_table


@pytest.fixture(scope="module")
def schema() -> dict:
    text = resources.files("publisher.facts").joinpath("facts.schema.json").read_text(encoding="utf-8")
    loaded = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(loaded)
    return loaded


def native(tmp_path: Path) -> Path:
    return make_native_book(tmp_path / "n.sqlite", trades=[
        trade(1, "BTC/USDT", entry=100, exit=90, opened="2026-04-14T08:00:00Z", closed="2026-04-14T09:00:00Z",
              fee_open=0.1, fee_close=0.1),
        trade(2, "BTC/USDT", entry=100, exit=90, side="short", opened="2026-04-14T08:00:00Z",
              closed="2026-04-14T09:00:00Z", fee_open=0.1, fee_close=0.1),
        trade(2, "ETH/USDT", entry=10, qty=3, opened="2026-04-15T08:00:00Z")],
        news=[{"published_at": "2026-04-15T00:00:00Z", "rank": None, "title": "<b>x</b>", "source": None,
               "url": None}])


@pytest.mark.parametrize("week", ["2026-W16", "2026-W30"])
def test_native_sheets_validate(tmp_path: Path, schema: dict, week: str) -> None:
    with open_book(native(tmp_path)) as book:
        jsonschema.validate(compute_facts(book, week, "Europe/Paris"), schema)


def test_freqtrade_sheet_validates(tmp_path: Path, schema: dict) -> None:
    path = make_freqtrade_book(tmp_path / "tradesv3.sqlite", [
        freqtrade_trade("BTC/USDT", open_rate=100, close_rate=99, open_date="2026-04-14 08:00:00.000000",
                        close_date="2026-04-14 09:00:00.000000", exit_reason="stop_loss")])
    with open_book(path) as book:
        jsonschema.validate(compute_facts(book, "2026-W16"), schema)


def test_a_failed_sheet_would_not_validate(tmp_path: Path, schema: dict) -> None:
    with open_book(native(tmp_path)) as book:
        facts = compute_facts(book, "2026-W16")
    facts["books"][0]["week"]["win_rate"]["unit"] = "USDT"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(facts, schema)


def test_table_output_shows_every_book_and_na(tmp_path: Path) -> None:
    with open_book(native(tmp_path)) as book:
        text = format_facts_table(compute_facts(book, "2026-W16"))
    assert "#1 standard" in text and "#2 inverted" in text and "all books" in text
    assert "Realized PnL" in text and "-10.20 USDT" in text and "n/a" in text
    assert "Open positions (week end)" in text


def test_facts_defaults_to_the_last_complete_week(tmp_path: Path) -> None:
    path = native(tmp_path)
    (tmp_path / "publisher.toml").write_text('[site]\ntimezone = "Asia/Tokyo"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["-C", str(tmp_path), "facts", "--book", str(path), "--json"])
    assert result.exit_code == 0, result.output
    week = json.loads(result.stdout)["week"]
    assert week["iso"] == str(last_complete_week(dt.datetime.now(dt.UTC), "Asia/Tokyo"))
    assert week["timezone"] == "Asia/Tokyo" and week["start"].endswith("+09:00")


def test_schema_command_prints_a_schema_sqlite_accepts(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0 and NATIVE_SCHEMA in result.stdout and "docs/schema.md" in result.stdout
    conn = sqlite3.connect(tmp_path / "fresh.sqlite")
    conn.executescript(result.stdout)
    tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert tables == {"books", "trades", "failure_vault", "strategy_adjustments", "news_items"}
