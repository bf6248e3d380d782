"""The hostile-input corpus: each case is a small generated project (a book and/or content files),
one `publish` command, and the outcome a user must see.

Outcomes:
- ERROR: exit code 1, exactly one line starting with `error:`, no traceback, and the line names
  what is wrong (the file, table, column, row or key given in `names`).
- SAFE: exit code 0; the site, every feed and every newsletter pass `safety.check_outputs` (no
  live tag, handler or dangerous URL; feeds parse strictly and without feedparser's bozo flag);
  the hostile text in `shown` is visible literally (legible) in the post page, the feed item and
  the email; `figures` equal the expected all-books figures of the week; `check` adds anything else.

docs/reliability.md carries `markdown_table()`; a test keeps the two identical.
"""

from __future__ import annotations

import html
import json
import os
import re
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bookmaker import make_native_book, make_sqlite, trade

# The operator's shell may carry PUBLISHER_* settings; every test runs on its own config only
# (None removes a variable in click's CliRunner).
CLEAN_ENV: dict[str, str | None] = {name: None for name in os.environ if name.startswith("PUBLISHER_")}

ERROR = "error"
SAFE = "safe-render"
WEEK = "2026-W16"  # Monday 2026-04-13 00:00 UTC to Monday 2026-04-20 00:00 UTC
W16_START = 1776038400  # 2026-04-13T00:00:00Z in epoch seconds

FACTS = ("facts", "--week", WEEK, "--json")
WEEKLY = ("weekly", "--week", WEEK, "--llm", "none", "--publish")
BUILD = ("build",)

SCRIPT = '<script>alert("pwned")</script>'
IMG = "<img src=x onerror=alert(1)>"
CDATA = "]]></description><item>injected"
CONTROL = "bell\x07 nul\x00 esc\x1b vt\x0b done"
CONTROL_SHOWN = "bell nul esc vt done"  # what a reader sees once XML-forbidden characters are gone
# In Markdown bodies CommonMark turns NUL into U+FFFD, so the body case leaves NUL out.
BODY_CONTROL, BODY_CONTROL_SHOWN = "bell\x07 esc\x1b vt\x0b ff\x0c done", "bell esc vt ff done"
ENTITIES = "Q&A: \"quoted\" & 'single' &amp; &lt;b&gt; &#60;i&#62; stay literal"
EMOJI_RTL = "🚀📉 السوق هادئ היום שקט 中文 done"
MARKDOWN = "[click](javascript:alert(1)) ![t](https://evil.example/t.png) **bold** | a | b |"

TOML = """[site]
title = "Hostile Lab"
url = "https://lab.example.org/blog/"
author = "Op"
timezone = "UTC"

[book]
path = "book.sqlite"

[llm]
backend = "none"
"""


@dataclass(frozen=True)
class Case:
    name: str
    what: str  # one line for docs/reliability.md
    build: Callable[[Path], None]
    command: tuple[str, ...]
    outcome: str  # ERROR | SAFE
    names: tuple[str, ...] = ()  # ERROR: substrings the error line must contain
    shown: tuple[str, ...] = ()  # SAFE: text a reader must see literally in page, feed and email
    figures: Mapping[str, float] = field(default_factory=dict)  # SAFE: all_books.week.<key>.value
    check: Callable[[Path, dict | None], None] | None = None  # SAFE: more assertions (root, facts)
    hold: Callable[[Path], AbstractContextManager[None]] | None = None  # held while the command runs
    bug: str | None = None  # a known bug: the test is xfail(strict) until the fix lands

    @property
    def shows(self) -> str:
        """How the test shows the outcome, for the docs table."""
        if self.outcome == ERROR:
            return "exit 1, one `error:` line naming " + ", ".join(f"`{n}`" for n in self.names)
        parts = ["exit 0, " + ("a strict-JSON fact sheet" if self.command[0] == "facts"
                               else "outputs parse and hold no live markup")]
        if self.shown:
            parts.append("text shown literally")
        if self.figures:
            parts.append("figures: " + ", ".join(f"{k} = {v:g}" for k, v in self.figures.items()))
        if self.check is not None and self.check.__doc__:
            parts.append(self.check.__doc__.strip().rstrip("."))
        return "; ".join(parts)


# ---------------------------------------------------------------- builders


def project(root: Path, extra_toml: str = "") -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "publisher.toml").write_text(TOML + extra_toml, encoding="utf-8")


def base_trades(**overrides: Any) -> list[dict[str, Any]]:
    """A win (+9.79) and a loss (-10.21, id 2) in book 1 during W16; `overrides` patch the loss."""
    win = trade(1, "BTC/USDT", entry=100, exit=110, opened="2026-04-14T09:00:00Z", closed="2026-04-14T10:00:00Z",
                fee_open=0.1, fee_close=0.11, id=1)
    loss = trade(1, "ETH/USDT", entry=100, exit=90, opened="2026-04-15T09:00:00Z", closed="2026-04-15T10:00:00Z",
                 fee_open=0.1, fee_close=0.11, id=2)
    loss.update(overrides)
    return [win, loss]


BASE_FIGURES = {"round_trips": 2, "wins": 1, "losses": 1, "realized_pnl": -0.42}


def book(**kwargs: Any) -> Callable[[Path], None]:
    """A project whose native book holds `kwargs` (make_native_book's arguments; base trades by default)."""

    def build(root: Path) -> None:
        project(root)
        kwargs.setdefault("trades", base_trades())
        make_native_book(root / "book.sqlite", **kwargs)

    return build


def news(title: str, url: str = "https://news.example.com/a?x=1&y=2", source: str = "Scraper") -> list[dict[str, Any]]:
    return [{"published_at": "2026-04-15T08:00:00Z", "rank": 1, "title": title, "source": source, "url": url}]


def vault(note: str, root_cause: str = "technical") -> list[dict[str, Any]]:
    return [{"trade_id": 2, "root_cause": root_cause, "note": note, "created_at": "2026-04-15T11:00:00Z"}]


def adjustment(scope: str, change: str) -> list[dict[str, Any]]:
    return [{"created_at": "2026-04-16T08:00:00Z", "scope": scope, "change": change, "confidence": 0.7,
             "status": "shipped", "targets": "technical", "book_id": None}]


def raw_sql(after: str, **kwargs: Any) -> Callable[[Path], None]:
    """A native book, then `after` run on it: for values the Python driver would not store as given."""

    def build(root: Path) -> None:
        book(**kwargs)(root)
        conn = sqlite3.connect(root / "book.sqlite")
        with conn:
            conn.executescript(after)
        conn.close()

    return build


def mapped(timestamps: str, opened: list[float], closed: list[float | None], pnl: list[float | None],
           ids: list[int] | None = None) -> Callable[[Path], None]:
    """A custom layout read through [book.mapping]: one table `fills`, no primary key."""
    ids = ids or list(range(1, len(opened) + 1))

    def build(root: Path) -> None:
        project(root, f'\n[book.mapping]\ntimestamps = "{timestamps}"\nstarting_balance = 1000.0\n'
                      '[book.mapping.trades]\ntable = "fills"\n')
        rows = [{"id": i, "symbol": "BTC/USDT", "opened_at": o, "closed_at": c, "realized_pnl": p}
                for i, o, c, p in zip(ids, opened, closed, pnl, strict=True)]
        make_sqlite(root / "book.sqlite", "CREATE TABLE fills (id INTEGER, symbol TEXT, opened_at, closed_at, "
                                          "realized_pnl REAL);", {"fills": rows})

    return build


def file_bytes(data: Callable[[Path], bytes]) -> Callable[[Path], None]:
    """A project whose book file holds `data(root)` (computed from a scratch book when needed)."""

    def build(root: Path) -> None:
        project(root)
        content = data(root)
        (root / "book.sqlite").write_bytes(content)

    return build


def sqlite_file(ddl: str) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        project(root)
        make_sqlite(root / "book.sqlite", ddl)

    return build


def filler_trades(n: int = 400) -> list[dict[str, Any]]:
    """Enough rows to span many pages, so damage lands in table data, not only in the schema."""
    return [trade(1, "SOL/USDT", entry=10, exit=11, opened="2026-04-16T09:00:00Z", closed="2026-04-16T10:00:00Z",
                  id=100 + i) for i in range(n)]


def truncated(root: Path) -> bytes:
    scratch = root / "scratch.sqlite"
    make_native_book(scratch, trades=filler_trades(), news=news("filler " * 200))
    data = scratch.read_bytes()
    scratch.unlink()
    return data[: len(data) // 2]


def corrupt_pages(root: Path) -> bytes:
    """A full-size book with every page after the schema overwritten by garbage."""
    scratch = root / "scratch.sqlite"
    make_native_book(scratch, trades=filler_trades())
    data = bytearray(scratch.read_bytes())
    scratch.unlink()
    page = int.from_bytes(data[16:18], "big")
    for offset in range(2 * page, len(data), 97):
        data[offset] = 0xA5
    return bytes(data)


@contextmanager
def exclusive_lock(root: Path) -> Iterator[None]:
    """Another process holds an EXCLUSIVE lock on the (rollback-journal) book until we are done."""
    code = ("import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE'); c.execute('DELETE FROM news_items')\n"
            "print('locked', flush=True); sys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(root / "book.sqlite")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        yield
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


def content(posts: Mapping[str, str | bytes], site_title: str = "Hostile Lab",
            templates: Mapping[str, str] | None = None) -> Callable[[Path], None]:
    """A project with only hand-written content (and optional template overrides)."""

    def build(root: Path) -> None:
        project(root)
        toml = root / "publisher.toml"
        toml.write_text(toml.read_text("utf-8").replace('"Hostile Lab"', json.dumps(site_title)), encoding="utf-8")
        for rel, text in posts.items():
            path = root / "content" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        for rel, text in (templates or {}).items():
            path = root / "templates" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    return build


def post(title: str = "A plain post", body: str = "Plain words.\n", **meta: str) -> str:
    lines = [f"title: {json.dumps(title)}", "date: 2026-04-20T09:30:00+00:00", "tags: [python]"]
    lines += [f"{key}: {value}" for key, value in meta.items()]
    return "---\n" + "\n".join(lines) + "\n---\n\n" + body


PLAIN = {"posts/plain.md": post()}


# ---------------------------------------------------------------- extra checks


def _week(facts: dict | None) -> dict:
    assert facts is not None
    return facts["all_books"]["week"]


def no_round_trips_in_w16(root: Path, facts: dict | None) -> None:
    """quiet week: 0 round-trips, the post says so"""
    assert _week(facts)["round_trips"]["value"] == 0
    assert "No round-trips closed this week" in (root / "content" / "weekly" / f"{WEEK}.md").read_text("utf-8")


def future_trade_not_counted(root: Path, facts: dict | None) -> None:
    """the future trade is neither a round-trip nor an open position of W16"""
    assert facts is not None
    assert facts["all_books"]["open_positions"]["count"]["value"] == 0


def big_note_kept_whole(root: Path, facts: dict | None) -> None:
    """the 1 MB note reaches the fact sheet whole"""
    assert facts is not None
    assert [len(n["note"]) for n in facts["vault"]["notes"]] == [1_000_000]


def duplicate_post_mortems_count_once(root: Path, facts: dict | None) -> None:
    """the losing trade is counted once despite two post-mortems"""
    assert facts is not None
    assert facts["vault"]["losing_trades"]["value"] == 1
    assert facts["vault"]["with_post_mortem"]["value"] == 1


def empty_vault(root: Path, facts: dict | None) -> None:
    """no post-mortem: the loss is still counted, with_post_mortem = 0"""
    assert facts is not None
    assert facts["vault"]["losing_trades"]["value"] == 1 and facts["vault"]["with_post_mortem"]["value"] == 0


def blob_title_is_text(root: Path, facts: dict | None) -> None:
    """the title reads as text (decoded), not as a Python bytes literal"""
    assert facts is not None
    title = facts["news"][0]["title"]
    assert "BTC dip" in title and not title.startswith(("b'", 'b"'))


def return_undefined(root: Path, facts: dict | None) -> None:
    """the return is n/a (null), not a division by zero"""
    assert facts is not None
    assert facts["books"][0]["week"]["return"]["value"] is None


def date_in_utc(root: Path, facts: dict | None) -> None:
    """dated 1 May 05:00 in UTC+9, it is 30 April 20:00 UTC: so say the feed, the page and the archive"""
    item = ET.fromstring((root / "site" / "feed.xml").read_bytes()).find("channel/item")
    assert item is not None and item.findtext("pubDate") == "Thu, 30 Apr 2026 20:00:00 +0000"
    page = (root / "site" / "posts" / "tokyo" / "index.html").read_text("utf-8")
    assert "30 April 2026" in page and "1 May 2026" not in page
    archive = (root / "site" / "archive" / "index.html").read_text("utf-8")
    assert "April" in archive and "May" not in archive


def hostile_site_title_escaped(root: Path, facts: dict | None) -> None:
    """the site title is the text of the page's `<title>` and of the feed channel's title"""
    page = (root / "site" / "index.html").read_text("utf-8")
    title = re.search(r"<title>(.*?)</title>", page, re.DOTALL)
    assert title is not None and html.unescape(title.group(1)).strip() == f"</title>{SCRIPT}"
    channel = ET.fromstring((root / "site" / "feed.xml").read_bytes()).find("channel")
    assert channel is not None and channel.findtext("title") == f"</title>{SCRIPT}"


def bad_urls_dropped(root: Path, facts: dict | None) -> None:
    """no page or feed points at the javascript: cover or canonical URL"""
    for path in (root / "site").rglob("*"):
        if path.suffix in (".html", ".xml"):
            assert "javascript:alert" not in path.read_text("utf-8").replace("&#x3A;", ":"), path


# ---------------------------------------------------------------- the corpus

CASES: list[Case] = [
    # -- untrusted text from the book, through the whole weekly pipeline (page, charts, feed, email)
    Case("news-title-script", "`<script>` in a news headline", book(news=news(f"BTC pumps {SCRIPT}")),
         WEEKLY, SAFE, shown=(f"BTC pumps {SCRIPT}",), figures=BASE_FIGURES),
    Case("news-title-img-onerror", "`<img onerror>` in a news headline", book(news=news(f"Dip {IMG} bought")),
         WEEKLY, SAFE, shown=(f"Dip {IMG} bought",)),
    Case("news-url-javascript", "`javascript:` URL (with a tab and mixed case) as a news link",
         book(news=news("Link bait", url="JaVa\tScRiPt:alert(document.cookie)")), WEEKLY, SAFE, shown=("Link bait",)),
    Case("news-title-cdata-end", "CDATA end marker `]]>` and a closing tag in a headline", book(news=news(f"ETF {CDATA}")),
         WEEKLY, SAFE, shown=(f"ETF {CDATA}",)),
    Case("news-title-control-chars", "XML-forbidden control characters (NUL, BEL, ESC, VT) in a headline",
         book(news=news(CONTROL)), WEEKLY, SAFE, shown=(CONTROL_SHOWN,)),
    Case("news-title-markdown", "Markdown link/image/table syntax in a headline", book(news=news(MARKDOWN)),
         WEEKLY, SAFE, shown=(MARKDOWN,)),
    Case("news-title-emoji-rtl", "emoji and right-to-left text in a headline", book(news=news(EMOJI_RTL)),
         WEEKLY, SAFE, shown=(EMOJI_RTL,)),
    Case("news-entities-quotes", "`&`, quotes and entity-like text in a headline and its source",
         book(news=news(ENTITIES, source="<b>Scraper</b> & Co")), WEEKLY, SAFE,
         shown=(ENTITIES, "<b>Scraper</b> & Co")),
    Case("vault-note-script", "`<script>` and `</textarea>` in a failure-vault note",
         book(vault=vault(f"{SCRIPT}</textarea>{IMG}")), WEEKLY, SAFE, figures=BASE_FIGURES),
    Case("vault-root-cause-html", "HTML as a failure-vault root-cause class (shown as the cluster label)",
         book(vault=vault("slipped", root_cause=f"<b onmouseover=alert(1)>tech</b>{IMG}")), WEEKLY, SAFE),
    Case("adjustment-html", "HTML, a `javascript:` link and table pipes in a strategy adjustment",
         book(adjustments=adjustment(f"{IMG}/USDT", f'<a href="javascript:alert(1)">cut size</a> | 25% {SCRIPT}')),
         WEEKLY, SAFE),
    Case("symbol-html", "HTML in a trading symbol (tables, chart labels and alt texts)",
         book(trades=base_trades(symbol=f"{IMG}/USDT")), WEEKLY, SAFE, figures=BASE_FIGURES),
    Case("book-name-html", "`<script>` in a book's name (warnings, table headers, chart legends)",
         book(books=[{"id": 1, "name": f'"><{SCRIPT}', "role": "standard", "starting_balance": 1000.0},
                     {"id": 2, "name": "inverted", "role": "inverted", "starting_balance": 1000.0}]),
         WEEKLY, SAFE, figures=BASE_FIGURES),
    Case("note-1mb", "a 1 MB failure-vault note", book(vault=vault("x" * 999_990 + " long note")),
         WEEKLY, SAFE, figures=BASE_FIGURES, check=big_note_kept_whole),
    Case("zero-trades", "a book with 0 trades: an honest quiet-week post", book(trades=[]), WEEKLY, SAFE,
         figures={"round_trips": 0, "realized_pnl": 0}, check=no_round_trips_in_w16),
    Case("no-vault-table", "a native book without the failure_vault table", raw_sql("DROP TABLE failure_vault;"),
         FACTS, SAFE, figures=BASE_FIGURES, check=empty_vault),
    Case("empty-vault", "losing trades but an empty failure vault", book(), FACTS, SAFE, figures=BASE_FIGURES,
         check=empty_vault),
    # -- numbers, timestamps and structure of the book
    Case("non-utf8-text", "invalid UTF-8 bytes stored in a TEXT column (news title)",
         raw_sql("UPDATE news_items SET title = CAST(x'4254432063616ffe20ff' AS TEXT);", news=news("placeholder")),
         FACTS, ERROR, names=("news_items", "UTF-8")),
    Case("null-pnl", "NULL realized PnL on a closed trade", book(trades=base_trades(realized_pnl=None)), FACTS, ERROR,
         names=("trades", "realized_pnl", "row id 2")),
    Case("text-pnl", "text in the numeric realized PnL column", book(trades=base_trades(realized_pnl="ten")), FACTS,
         ERROR, names=("trades", "realized_pnl", "row id 2", "'ten'")),
    Case("text-fee", "text in a numeric fee column", book(trades=base_trades(fee_close="n/a")), FACTS, ERROR,
         names=("trades", "fee_close", "row id 2")),
    Case("blob-in-text-column", "a BLOB where the news title (TEXT) belongs",
         raw_sql("UPDATE news_items SET title = x'00ff42544320646970';", news=news("placeholder")), FACTS, SAFE,
         check=blob_title_is_text),
    Case("blob-in-numeric-column", "a BLOB in the numeric realized PnL column",
         raw_sql("UPDATE trades SET realized_pnl = x'00ff' WHERE id = 2;"), FACTS, ERROR,
         names=("trades", "realized_pnl", "row id 2")),
    Case("overflowing-pnl", "a realized PnL of 1e308 (the return overflows to infinity)",
         raw_sql("UPDATE trades SET realized_pnl = 1e308 WHERE id = 2;"), FACTS, ERROR, names=(WEEK,)),
    Case("infinite-pnl", "an infinite realized PnL (9e999 stored as +Inf)",
         raw_sql("UPDATE trades SET realized_pnl = 9e999 WHERE id = 2;"), FACTS, ERROR, names=(WEEK, "consistency")),
    Case("zero-starting-balance", "a book whose starting balance is 0 (returns are undefined)",
         book(books=[{"id": 1, "name": "standard", "role": "standard", "starting_balance": 0.0}]), FACTS, SAFE,
         figures={**BASE_FIGURES}, check=return_undefined),
    Case("unknown-side", "an open trade whose side is neither long nor short",
         raw_sql("UPDATE trades SET side = 'sideways', closed_at = NULL, exit_price = NULL, realized_pnl = NULL "
                 "WHERE id = 2;"), FACTS, ERROR, names=("trades", "side", "row id 2")),
    Case("unknown-book-id", "a trade that references a book id the books table lacks",
         raw_sql("UPDATE trades SET book_id = 99 WHERE id = 2;"), FACTS, ERROR, names=("99", "books")),
    Case("negative-quantity", "a negative quantity on a closed trade (PnL is the book's own figure)",
         book(trades=base_trades(quantity=-1.0)), FACTS, SAFE, figures=BASE_FIGURES),
    Case("close-before-open", "a trade closed before it was opened", book(trades=base_trades(opened_at="2026-04-16T09:00:00Z")),
         FACTS, ERROR, names=("trades", "row id 2", "closed before")),
    Case("duplicate-post-mortems", "two post-mortems for the same losing trade",
         book(vault=vault("first") + vault("second")), FACTS, SAFE, figures=BASE_FIGURES,
         check=duplicate_post_mortems_count_once),
    Case("duplicate-trade-ids", "two trades with the same id in a mapped table without a primary key",
         mapped("epoch_s", [W16_START + 3600] * 2, [W16_START + 7200, W16_START + 9000], [5.0, -2.0], ids=[7, 7]),
         FACTS, ERROR, names=("fills", "id 7", "duplicate")),
    Case("epoch-seconds", "timestamps as epoch seconds ([book.mapping] timestamps = \"epoch_s\")",
         mapped("epoch_s", [W16_START - 60, W16_START + 3600, W16_START + 7 * 86400],
                [W16_START + 60, W16_START + 7200, W16_START + 7 * 86400 + 60], [1.5, -0.5, 100.0]),
         FACTS, SAFE, figures={"round_trips": 2, "realized_pnl": 1.0}),
    Case("epoch-milliseconds", "timestamps as epoch milliseconds",
         mapped("epoch_ms", [(W16_START - 60) * 1000, (W16_START + 3600) * 1000],
                [(W16_START - 1) * 1000, (W16_START + 7200) * 1000], [4.0, 2.5]),
         FACTS, SAFE, figures={"round_trips": 1, "realized_pnl": 2.5}),
    Case("iso-with-zone", "ISO timestamps with offsets that move a close across the week boundary",
         book(trades=base_trades(opened_at="2026-04-19T20:00:00-02:00", closed_at="2026-04-19T23:30:00-02:00")
              + [trade(1, "SOL/USDT", entry=10, exit=11, opened="2026-04-20T00:30:00+02:00",
                       closed="2026-04-20T01:00:00+02:00", id=3)]),
         FACTS, SAFE, figures={"round_trips": 2, "realized_pnl": 9.79 + 1.0}),
    Case("iso-without-zone", "ISO timestamps without a zone (read as UTC), with a space or a T",
         book(trades=base_trades(opened_at="2026-04-15 09:00:00", closed_at="2026-04-15 10:00:00")
              + [trade(1, "SOL/USDT", entry=10, exit=11, opened="2026-04-19T23:00:00",
                       closed="2026-04-19T23:59:59", id=3)]),
         FACTS, SAFE, figures={"round_trips": 3, "realized_pnl": -0.42 + 1.0}),
    Case("epoch-in-iso-book", "an epoch number in a native (ISO text) timestamp column",
         book(trades=base_trades(closed_at=W16_START + 3600)), FACTS, ERROR, names=("trades", "closed_at", "row id 2")),
    Case("far-future-trade", "a trade opened and closed in the year 9999",
         book(trades=base_trades() + [trade(1, "BTC/USDT", entry=1, exit=2, opened="9999-12-30T00:00:00Z",
                                            closed="9999-12-31T23:59:59Z", id=3),
                                      trade(1, "BTC/USDT", entry=1, opened="9999-12-30T00:00:00Z", id=4)]),
         FACTS, SAFE, figures=BASE_FIGURES, check=future_trade_not_counted),
    Case("week-9999", "the last ISO week a date can hold (`--week 9999-W52`, its end overflows)", book(),
         ("facts", "--week", "9999-W52", "--json"), ERROR, names=("9999-W52",)),
    Case("not-sqlite", "a book file that is not SQLite (a CSV export)",
         file_bytes(lambda root: b"id,symbol,pnl\n1,BTC/USDT,9.79\n"), FACTS, ERROR, names=("book.sqlite", "not a SQLite")),
    Case("empty-file", "an empty (0-byte) book file", file_bytes(lambda root: b""), FACTS, ERROR,
         names=("book.sqlite", "not a SQLite")),
    Case("truncated-sqlite", "a SQLite book truncated to half its size", file_bytes(truncated), FACTS, ERROR,
         names=("book.sqlite",)),
    Case("corrupt-sqlite", "a SQLite book whose data pages are overwritten with garbage", file_bytes(corrupt_pages),
         FACTS, ERROR, names=("book.sqlite",)),
    Case("locked-book", "another process holds an EXCLUSIVE lock on the book (rollback journal)", book(),
         FACTS, ERROR, names=("book.sqlite", "locked"), hold=exclusive_lock),
    Case("missing-trades-table", "a SQLite file without the trades table",
         sqlite_file("CREATE TABLE books (id INTEGER);"),
         FACTS, ERROR, names=("book.sqlite",)),
    # -- content files and templates, through `publish build`
    Case("front-matter-invalid-yaml", "front matter that is not valid YAML",
         content({**PLAIN, "posts/broken.md": "---\ntitle: [unclosed\ndate: 2026-04-20\n---\n\nBody\n"}), BUILD, ERROR,
         names=("broken.md", "YAML")),
    Case("front-matter-unclosed", "front matter without its closing `---`",
         content({**PLAIN, "posts/open.md": "---\ntitle: x\n\nBody\n"}), BUILD, ERROR, names=("open.md",)),
    Case("content-not-utf8", "a post file in Latin-1, not UTF-8",
         content({**PLAIN, "posts/latin.md": post(body="Caf\xe9 cr\xe8me\n").encode("latin-1")}), BUILD, ERROR,
         names=("latin.md", "UTF-8")),
    Case("post-title-script", "`<script>` in a post title and an `onerror` in its description",
         content({"posts/evil.md": post(f"Title {SCRIPT}", description=json.dumps(f"Desc {IMG}"))}), BUILD, SAFE,
         shown=(f"Title {SCRIPT}",)),
    Case("post-body-raw-html", "raw `<script>`, `<iframe>`, `onerror`, `javascript:` links and control characters in a post body",
         content({"posts/body.md": post(body=f"Intro {BODY_CONTROL}.\n\n{SCRIPT}\n\n<iframe src=\"https://evil.example\"></iframe>\n\n"
                                             f"{IMG}\n\n[click](javascript:alert(1)) and <a href=\"jav&#x09;ascript:alert(1)\">x</a>\n\n"
                                             f"Tail {CDATA}\n")}), BUILD, SAFE,
         shown=(f"Intro {BODY_CONTROL_SHOWN}.", "[click](javascript:alert(1))")),
    Case("post-tag-html", "a tag that is HTML", content({"posts/tag.md": post(tags="[\"<script>\"]")}), BUILD, ERROR,
         names=("tag.md", "tag")),
    Case("post-urls-javascript", "`javascript:` as a post's cover image and canonical URL",
         content({"posts/urls.md": post(cover_image="'javascript:alert(1)'", canonical_url="'javascript:alert(2)'")}),
         BUILD, SAFE, check=bad_urls_dropped),
    Case("post-date-other-timezone", "a post dated early on 1 May in UTC+9 on a UTC site (still April in UTC)",
         content({"posts/tokyo.md": post().replace("2026-04-20T09:30:00+00:00", "2026-05-01T05:00:00+09:00")}),
         BUILD, SAFE, check=date_in_utc),
    Case("slug-collision", "two posts with the same slug",
         content({"posts/a.md": post(slug="same"), "posts/b.md": post("Other", slug="same")}), BUILD, ERROR,
         names=("a.md", "b.md", "same")),
    Case("site-title-html", "`</title><script>` as the site title in publisher.toml",
         content(PLAIN, site_title=f"</title>{SCRIPT}"), BUILD, SAFE, check=hostile_site_title_escaped),
    Case("template-raises", "a site template override that raises (`{{ 1/0 }}`)",
         content(PLAIN, templates={"post.html": '{% extends "base.html" %}{% block content %}{{ 1/0 }}{% endblock %}'}),
         BUILD, ERROR, names=("post.html", "division by zero")),
    Case("template-syntax-error", "a site template override with an unknown tag (`{% raise %}`)",
         content(PLAIN, templates={"post.html": "{% raise 'boom' %}"}), BUILD, ERROR, names=("post.html", "raise")),
    Case("no-posts", "an empty content folder", content({}), BUILD, ERROR, names=("content",)),
]


def markdown_table() -> str:
    """The corpus as the Markdown table of docs/reliability.md."""
    rows = ["| Case | Input | Command | Outcome | How the test shows it |", "|---|---|---|---|---|"]
    for case in CASES:
        command = "publish " + " ".join(case.command)
        outcome = case.outcome + (" (known bug, xfail)" if case.bug else "")
        rows.append(f"| `{case.name}` | {case.what.replace('|', '&#124;')} | `{command}` | {outcome} | "
                    f"{case.shows.replace('|', '&#124;')} |")
    return "\n".join(rows) + "\n"



def write_table(doc: Path) -> None:
    """Replace the corpus table in docs/reliability.md (from its header row to the next heading)."""
    text = doc.read_text("utf-8")
    start = text.index("| Case | Input |")
    end = text.index("\n## ", start)
    doc.write_text(text[:start] + markdown_table() + text[end:], encoding="utf-8")


if __name__ == "__main__":  # cd tests && python -m hostile.cases [--write]: print or update the docs table
    if sys.argv[1:] == ["--write"]:
        write_table(Path(__file__).resolve().parents[2] / "docs" / "reliability.md")
    else:
        print(markdown_table(), end="")
