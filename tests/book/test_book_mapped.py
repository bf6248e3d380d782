"""Any other layout, described declaratively in [book.mapping] of publisher.toml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bookmaker import make_sqlite
from click.testing import CliRunner

from publisher.cli import main

CUSTOM_DDL = """
CREATE TABLE accounts (acct INTEGER PRIMARY KEY, label TEXT, capital REAL);
CREATE TABLE fills (
    fill_id INTEGER PRIMARY KEY, acct INTEGER, ticker TEXT, direction TEXT, size REAL,
    px_in REAL, px_out REAL, t_open INTEGER, t_close INTEGER, fee_total REAL, net REAL
);
CREATE TABLE postmortems (pm_id INTEGER PRIMARY KEY, fill INTEGER, kind TEXT, why TEXT, t INTEGER);
"""
MS = 1000
W16_START = 1776038400  # 2026-04-13T00:00:00Z


def custom_book(tmp_path: Path) -> Path:
    return make_sqlite(tmp_path / "custom.db", CUSTOM_DDL, {
        "accounts": [{"acct": 7, "label": "alpha", "capital": 2000.0}],
        "fills": [
            {"acct": 7, "ticker": "BTCUSDT", "direction": "BUY", "size": 1, "px_in": 100, "px_out": 110,
             "t_open": (W16_START + 3600) * MS, "t_close": (W16_START + 7200) * MS, "fee_total": 0.5, "net": 9.5},
            {"acct": 7, "ticker": "ETHUSDT", "direction": "SELL", "size": 2, "px_in": 50, "px_out": 53,
             "t_open": (W16_START + 86400) * MS, "t_close": (W16_START + 90000) * MS, "fee_total": 0.4, "net": -6.4},
            {"acct": 7, "ticker": "ETHUSDT", "direction": "SELL", "size": 2, "px_in": 50, "px_out": None,
             "t_open": (W16_START + 100000) * MS, "t_close": None, "fee_total": 0.1, "net": None},
        ],
        "postmortems": [{"fill": 2, "kind": "slip", "why": "thin book", "t": (W16_START + 90100) * MS}],
    })


MAPPING = """
[book]
path = "custom.db"

[book.mapping]
timestamps = "epoch_ms"

[book.mapping.books]
table = "accounts"
id = "acct"
name = "label"
starting_balance = "capital"

[book.mapping.trades]
table = "fills"
id = "fill_id"
book_id = "acct"
symbol = "ticker"
side = "direction"
quantity = "size"
entry_price = "px_in"
exit_price = "px_out"
opened_at = "t_open"
closed_at = "t_close"
fee_close = "fee_total"
realized_pnl = "net"

[book.mapping.failure_vault]
table = "postmortems"
trade_id = "fill"
root_cause = "kind"
note = "why"
created_at = "t"

[book.mapping.values.side]
BUY = "long"
SELL = "short"

[book.mapping.values.root_cause]
slip = "execution_slippage"
"""


def run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["-C", str(tmp_path), *args])
    return result.exit_code, result.stdout, result.stderr


def test_mapped_layout_end_to_end(tmp_path: Path) -> None:
    custom_book(tmp_path)
    (tmp_path / "publisher.toml").write_text(MAPPING, encoding="utf-8")
    code, out, err = run(tmp_path, "facts", "--week", "2026-W16", "--json")
    assert code == 0, err
    facts = json.loads(out)
    assert facts["stamp"]["book_format"] == "mapped"
    book = facts["books"][0]
    assert (book["id"], book["name"], book["starting_balance"]["value"]) == (7, "alpha", 2000.0)
    w = book["week"]
    assert w["round_trips"]["value"] == 2
    assert w["realized_pnl"]["value"] == pytest.approx(3.1)
    assert w["fees"]["value"] == pytest.approx(0.9)
    assert w["return"]["value"] == pytest.approx(3.1 / 2000 * 100)
    assert book["equity_curve"][1]["t"] == "2026-04-13T02:00:00+00:00"
    assert [(p["symbol"], p["side"]) for p in book["open_positions"]["positions"]] == [("ETHUSDT", "short")]
    assert [(c["root_cause"], c["count"]["value"]) for c in facts["vault"]["clusters"]] == [("execution_slippage", 1)]
    assert facts["vault"]["notes"][0]["note"] == "thin book"


def test_mapped_layout_with_a_sql_view(tmp_path: Path) -> None:
    custom_book(tmp_path)
    view = ('[book]\npath = "custom.db"\n[book.mapping]\ntimestamps = "epoch_s"\nstarting_balance = 100.0\n'
            '[book.mapping.trades]\nsql = """SELECT fill_id AS id, ticker AS symbol, t_open / 1000 AS opened_at, '
            't_close / 1000 AS closed_at, net AS realized_pnl, fee_total AS fee_open FROM fills"""\n')
    (tmp_path / "publisher.toml").write_text(view, encoding="utf-8")
    code, out, err = run(tmp_path, "facts", "--week", "2026-W16", "--json")
    assert code == 0, err
    w = json.loads(out)["books"][0]["week"]
    assert w["round_trips"]["value"] == 2 and w["realized_pnl"]["value"] == pytest.approx(3.1)


@pytest.mark.parametrize(
    ("setting", "wrong", "expected"),
    [
        ('realized_pnl = "net"', 'realized_pnl = "pnl_net"', ["no column 'pnl_net'", "[book.mapping.trades] realized_pnl"]),
        ('table = "fills"', 'table = "executions"', ["'executions' not found", "[book.mapping.trades] table"]),
        ('timestamps = "epoch_ms"', 'timestamps = "iso"', ["t_close", "timestamps", "epoch_s"]),
    ],
    ids=["missing-column", "missing-table", "epoch-read-as-iso"],
)
def test_a_wrong_mapping_is_one_line_naming_the_key_to_set(tmp_path: Path, setting: str, wrong: str,
                                                            expected: list[str]) -> None:
    custom_book(tmp_path)
    (tmp_path / "publisher.toml").write_text(MAPPING.replace(setting, wrong), encoding="utf-8")
    code, _, err = run(tmp_path, "facts", "--week", "2026-W16")
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert all(needle in err for needle in expected), err
