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
# The fabrication guard cannot bind a table row whose symbol carries terminal escapes, bidi controls or markup (the
# post shows the name cleaned): it keeps such a post a draft, fail-safe, until the operator accepts
# the claims. These cases test the safety of what is then published.
WEEKLY_ACCEPTING = (*WEEKLY, "--accept-claims")
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
    env: Mapping[str, str] = field(default_factory=dict)  # PUBLISHER_* variables set for the command
    says: tuple[str, ...] = ()  # SAFE: text the command's output must contain

    @property
    def shows(self) -> str:
        """How the test shows the outcome, for the docs table."""
        if self.outcome == ERROR:
            line = "exit 1, one `error:` line naming " + ", ".join(f"`{n}`" for n in self.names)
            if self.check is not None and self.check.__doc__:
                line += "; " + self.check.__doc__.strip().rstrip(".")
            return line
        if self.command[0] == "facts":
            parts = ["exit 0, " + ("a strict-JSON fact sheet" if "--json" in self.command else "the fact table")]
        elif self.builds_site:
            parts = ["exit 0, outputs parse and hold no live markup"]
        else:
            parts = ["exit 0"]
        if self.says:
            parts.append("the output says " + ", ".join(f"`{s}`" for s in self.says))
        if self.shown:
            parts.append("text shown literally")
        if self.figures:
            parts.append("figures: " + ", ".join(f"{k} = {v:g}" for k, v in self.figures.items()))
        if self.check is not None and self.check.__doc__:
            parts.append(self.check.__doc__.strip().rstrip("."))
        return "; ".join(parts)


    @property
    def builds_site(self) -> bool:
        """Whether the command leaves a built site to check (a weekly draft alone builds none)."""
        return self.command[0] == "build" or (self.command[0] == "weekly" and "--publish" in self.command)


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


# ---------------------------------------------------------------- round two (issue 12)

OSC_CSI = "\x1b]0;pwned title\x07\x1b]52;c;cm0gLXJmIH4=\x07\x1b[31mred\x1b[0m\x9b2J"
OSC_CSI_SHOWN = "]0;pwned title]52;c;cm0gLXJmIH4=[31mred[0m2J"  # what is left once every control is gone
BIDI = "BTC\u202e/USDT 10\u2066 20"
DOLLARS = "10$ to 1000$ challenge"
SRC_TEXT = 'set src="logo.png" and href="/about" in text'
ALIAS_BOMB = "".join(f"{a}: &{a} [" + ",".join([f"*{p}" if p else '"lol"'] * 9) + "]\n"
                     for a, p in zip("abcdefghi", ["", *"abcdefgh"], strict=True))


def toml_extra(extra: str, **kwargs: Any) -> Callable[[Path], None]:
    """A native-book project with `extra` appended to publisher.toml."""

    def build(root: Path) -> None:
        book(**kwargs)(root)
        toml = root / "publisher.toml"
        toml.write_text(toml.read_text("utf-8") + extra, encoding="utf-8")

    return build


def no_pwned_file(root: Path, facts: dict | None) -> None:
    """git ran no command: no `pwned` file appeared"""
    assert not list(root.rglob("pwned*")) and not Path("pwned").exists()


def fifo_book(root: Path) -> None:
    project(root)
    os.mkfifo(root / "book.sqlite")


def endless_sql(root: Path) -> None:
    mapped("epoch_s", [W16_START + 3600], [W16_START + 7200], [5.0])(root)
    toml = root / "publisher.toml"
    text = toml.read_text("utf-8").replace('path = "book.sqlite"\n', 'path = "book.sqlite"\nquery_timeout = 1\n')
    endless = ('sql = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) '
               'SELECT f.* FROM fills AS f, n WHERE n.x < 0"')
    toml.write_text(text.replace('table = "fills"', endless), encoding="utf-8")


def hot_journal(root: Path) -> None:
    """A writer died mid-transaction in rollback-journal mode: book.sqlite-journal is hot."""
    book(trades=base_trades() + filler_trades())(root)
    code = ("import os, sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('PRAGMA journal_mode=DELETE'); c.execute('PRAGMA cache_size=1'); c.execute('BEGIN')\n"
            "c.execute(\"UPDATE trades SET symbol = symbol || 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'\")\n"
            "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", code, str(root / "book.sqlite")], check=True)
    assert (root / "book.sqlite-journal").stat().st_size > 0


def state_is_a_file(root: Path) -> None:
    """The output folder .publisher/ cannot be created: a file of that name is in the way."""
    content(PLAIN)(root)
    (root / ".publisher").write_text("not a folder\n", encoding="utf-8")


def brief(text: str) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        project(root)
        (root / "brief.yaml").write_text(text, encoding="utf-8")

    return build


def charts_drawn_and_rebuild_works(root: Path, facts: dict | None) -> None:
    """every chart is drawn, `$` pairs stay text, and a later `publish build` still succeeds"""
    from click.testing import CliRunner

    from publisher.cli import main

    charts = sorted(p.name for p in (root / "site").rglob("*.svg"))
    assert {"equity.svg", "win-rate.svg", "vault.svg"} <= set(charts), charts
    result = CliRunner().invoke(main, ["-C", str(root), "build"], env=CLEAN_ENV)
    assert result.exit_code == 0, result.output[-500:]


def _markdown_files(root: Path) -> list[Path]:
    return [*(root / "content" / "weekly").glob("*.md"), *(root / "exports" / "devto").glob("*.md")]


def no_script_link_in_markdown(root: Path, facts: dict | None) -> None:
    """the post's Markdown and the dev.to export hold no link a CommonMark renderer decodes to `javascript:`"""
    from markdown_it import MarkdownIt

    from hostile.safety import scan_html

    md = MarkdownIt("commonmark", {"html": True})
    md.validateLink = lambda url: True  # as a renderer without markdown-it's own link check
    for path in _markdown_files(root):
        problems, _ = scan_html(md.render(path.read_text("utf-8")))
        assert problems == [], (path.name, problems)


def no_bidi_controls(root: Path, facts: dict | None) -> None:
    """no embedding, override or isolate control from the book reaches a page, chart, feed, email or Markdown"""
    outputs = [*(root / "site").rglob("*"), *_markdown_files(root)]
    for path in outputs:
        if path.suffix in (".html", ".svg", ".xml", ".eml", ".md", ".txt"):
            text = path.read_text("utf-8", errors="replace")
            assert not re.search("[\u202a-\u202e\u2067]", text), path  # our own FSI (U+2068)/PDI stay allowed


def email_attributes_escaped(root: Path, facts: dict | None) -> None:
    """no attribute value in the email's HTML holds a raw `<` or `>`"""
    from hostile.safety import read_eml

    emls = sorted((root / ".publisher" / "newsletter").rglob("*.eml"))  # the private preview, outside site/
    assert emls
    for eml in emls:
        _, body = read_eml(eml)
        assert not re.search(r'=\s*"[^"]*[<>][^"]*"', body), eml.name


def draft_not_published(root: Path, facts: dict | None) -> None:
    """the draft is not on the site (drafts are built only with `--drafts`)"""
    assert (root / "site" / "posts" / "plain").is_dir()
    assert not (root / "site" / "posts" / "secret").exists()


def first_draft_written(root: Path, facts: dict | None) -> None:
    """the draft is written (status draft), no site yet"""
    post = (root / "content" / "weekly" / f"{WEEK}.md").read_text("utf-8")
    assert "status: draft" in post and not (root / "site" / "index.html").exists()


def huge_symbol_bounded(root: Path, facts: dict | None) -> None:
    """charts are drawn with the label cut to a few dozen characters"""
    svgs = list((root / "site").rglob("win-rate.svg"))
    assert len(svgs) == 1 and "S" * 100 not in svgs[0].read_text("utf-8")


PUBLISHED_AND_DRAFT = {"posts/plain.md": post(), "posts/secret.md": post("Secret draft", status="draft")}

CASES += [
    # 1. argument injection into git
    Case("deploy-remote-upload-pack", "`[deploy] remote` that git would read as `--upload-pack=<command>`",
         toml_extra('[deploy]\nremote = "--upload-pack=touch pwned; false"\n'), ("deploy",), ERROR,
         names=("[deploy] remote", "option"), check=no_pwned_file),
    Case("deploy-remote-ext", "an `ext::` remote (git's remote helper that runs a command), from the environment",
         book(), ("deploy",), ERROR, names=("[deploy] remote", "helper"), check=no_pwned_file,
         env={"PUBLISHER_DEPLOY_REMOTE": "ext::sh -c touch% pwned"}),
    # 2. `$...$` read as mathtext by matplotlib
    Case("symbol-dollar-math", "`$...$` pairs in a symbol, a book name and a root cause (matplotlib mathtext)",
         book(trades=base_trades(symbol=DOLLARS),
              books=[{"id": 1, "name": "$\\frac{1}{0}$ book", "role": "standard", "starting_balance": 1000.0}],
              vault=vault("bad", root_cause="$x^$ slip")),
         WEEKLY, SAFE, shown=(DOLLARS,), figures=BASE_FIGURES, check=charts_drawn_and_rebuild_works),
    # 3. resource bombs
    Case("front-matter-alias-bomb", "a 400-byte front matter of nested YAML aliases (a billion laughs)",
         content({**PLAIN, "posts/bomb.md": "---\n" + ALIAS_BOMB + "title: boom\ndate: 2026-04-20\n---\n\nBody\n"}),
         BUILD, ERROR, names=("bomb.md", "aliases")),
    Case("front-matter-huge-field", "a 100,000-character title in front matter",
         content({**PLAIN, "posts/huge.md": post("t" * 100_000)}), BUILD, ERROR, names=("huge.md", "'title'")),
    Case("brief-alias-bomb", "a research brief made of nested YAML aliases", brief(ALIAS_BOMB),
         ("draft", "brief.yaml", "--llm", "none"), ERROR, names=("brief.yaml", "aliases")),
    # 4. hangs
    Case("book-is-a-fifo", "the book path is a FIFO (opening it would block forever)", fifo_book, FACTS, ERROR,
         names=("book.sqlite", "not a regular file")),
    Case("mapped-sql-never-ends", "a mapped table whose SQL never ends (a recursive CTE), `query_timeout = 1`",
         endless_sql, FACTS, ERROR, names=("[book.mapping.trades] sql", "query_timeout")),
    # 5. invalid dates
    Case("front-matter-feb-30", "`date: 2026-02-30` in front matter", content({**PLAIN, "posts/feb.md": post().replace(
        "2026-04-20T09:30:00+00:00", "2026-02-30")}), BUILD, ERROR, names=("feb.md", "'date'", "2026-02-30")),
    Case("front-matter-hour-25", "hour 25 in a front-matter date", content({**PLAIN, "posts/hour.md": post().replace(
        "2026-04-20T09:30:00+00:00", "2026-04-20 25:00:00")}), BUILD, ERROR, names=("hour.md", "'date'")),
    Case("front-matter-offset-25h", "offset `+25:00` in a front-matter date", content({
        **PLAIN, "posts/zone.md": post().replace("+00:00", "+25:00")}), BUILD, ERROR, names=("zone.md", "'date'")),
    Case("front-matter-year-9999", "a post dated 9999-12-31 23:00 at UTC-5 (after the last UTC date)",
         content({**PLAIN, "posts/late.md": post().replace("2026-04-20T09:30:00+00:00", "9999-12-31T23:00:00-05:00")}),
         BUILD, ERROR, names=("late.md", "date")),
    Case("brief-feb-30", "`date: 2026-02-30` in a research brief",
         brief("title: T\ndate: 2026-02-30\nsections:\n  - {heading: A, instruction: B, words: 50}\n"),
         ("draft", "brief.yaml", "--llm", "none"), ERROR, names=("brief.yaml", "'date'")),
    Case("timestamp-year-0000", "an open trade opened in the year 0000 (SQLite accepts it, Python cannot)",
         book(trades=base_trades() + [trade(1, "BTC/USDT", entry=1, opened="0000-01-01T00:00:00Z", id=3)]),
         FACTS, ERROR, names=("trades", "opened_at", "row id 3")),
    Case("week-0001-W01", "`--week 0001-W01` (the week before it has no dates)", book(),
         ("facts", "--week", "0001-W01", "--json"), ERROR, names=("0001-W01",)),
    Case("output-folder-blocked", "the output folder `.publisher/` cannot be created (a file is in the way)",
         state_is_a_file, BUILD, ERROR, names=(".publisher",)),
    # 6. terminal escapes
    Case("book-text-terminal-escapes", "OSC (window title, clipboard) and CSI sequences in a symbol and a book name",
         book(trades=base_trades(symbol=OSC_CSI),
              books=[{"id": 1, "name": OSC_CSI, "role": "standard", "starting_balance": 1000.0}]),
         ("facts", "--week", WEEK), SAFE, says=(OSC_CSI_SHOWN,)),
    Case("weekly-terminal-escapes", "OSC/CSI sequences in book text through the weekly run and its summary",
         book(trades=base_trades(symbol=OSC_CSI), news=news(OSC_CSI)), WEEKLY_ACCEPTING, SAFE, figures=BASE_FIGURES),
    # 7. one URL policy
    Case("news-url-entity-colon", "a news URL written `javascript&colon;...`", book(news=news(
        "Colon bait", url="javascript&colon;alert(document.cookie)")), WEEKLY, SAFE, shown=("Colon bait",),
         check=no_script_link_in_markdown),
    Case("news-url-entity-j", "a news URL written `&#106;avascript:...` and one with a Markdown backslash escape",
         book(news=news("Entity bait", url="&#106;avascript:alert(1)")
              + [{**news("Slash bait", url="javascript\\:alert(2)")[0], "rank": 2}]),
         WEEKLY, SAFE, shown=("Entity bait", "Slash bait"), check=no_script_link_in_markdown),
    Case("post-cover-entity-javascript", "entity-encoded `javascript:` as a post's cover image and canonical URL",
         content({"posts/urls.md": post(cover_image="'javascript&colon;alert(1)'",
                                        canonical_url="'&#x6A;avascript:alert(2)'")}), BUILD, SAFE,
         check=bad_urls_dropped),
    # 8. bidirectional controls
    Case("symbol-bidi-override", "U+202E (right-to-left override) and a stray isolate in a symbol and a headline",
         book(trades=base_trades(symbol=BIDI), news=news(f"Rates {BIDI} up")), WEEKLY_ACCEPTING, SAFE,
         figures=BASE_FIGURES, check=no_bidi_controls),
    # 9. link rewriting on text
    Case("news-title-src-attribute", "`src=\"...\"` and `href=\"...\"` written in a headline (text, not markup)",
         book(news=news(SRC_TEXT)), WEEKLY, SAFE, shown=(SRC_TEXT,)),
    Case("post-inline-code-src", "`src=\"logo.png\"` in a paragraph and in inline code of a post",
         content({"posts/code.md": post(body=f"Write {SRC_TEXT}.\n\nOr `<img src=\"logo.png\">` in code.\n")}),
         BUILD, SAFE, shown=(f"Write {SRC_TEXT}.", '<img src="logo.png">')),
    # 10. email attributes
    Case("chart-alt-markup", "markup in a symbol that reaches the chart descriptions (`alt`) of the email",
         book(trades=base_trades(symbol="<b>ETH</b>\"/><x")), WEEKLY_ACCEPTING, SAFE, check=email_attributes_escaped),
    # 11. environment variables acting as flags; config values
    Case("env-weekly-force", "`PUBLISHER_WEEKLY_FORCE=1` (not a config key: flags are options only)", book(),
         WEEKLY, ERROR, names=("PUBLISHER_WEEKLY_FORCE",), env={"PUBLISHER_WEEKLY_FORCE": "1"}),
    Case("env-weekly-push", "`PUBLISHER_WEEKLY_PUSH=1`", book(), WEEKLY, ERROR, names=("PUBLISHER_WEEKLY_PUSH",),
         env={"PUBLISHER_WEEKLY_PUSH": "1"}),
    Case("env-build-drafts", "`PUBLISHER_BUILD_DRAFTS=1` (click's automatic prefix is gone)",
         content(PUBLISHED_AND_DRAFT), BUILD, SAFE, check=draft_not_published, env={"PUBLISHER_BUILD_DRAFTS": "1"}),
    Case("feed-limit-negative", "`[feed] limit = -1`", toml_extra("[feed]\nlimit = -1\n"), WEEKLY, ERROR,
         names=("[feed] limit",)),
    Case("weekly-title-internals", "a `weekly_title` format reaching Python internals (`{site.__class__}`)",
         book(), WEEKLY, ERROR, names=("weekly_title",),
         env={"PUBLISHER_SITE_WEEKLY_TITLE": "{site.__class__.__mro__}"}),
    # 12. the README's own flow
    Case("first-draft", "`publish weekly` right after `publish init`: a first draft, nothing published yet", book(),
         ("weekly", "--week", WEEK, "--llm", "none"), SAFE, check=first_draft_written, says=("next:",)),
    # 15. smaller
    Case("hot-journal", "a hot journal left by a writer that crashed mid-transaction (rollback-journal book)",
         hot_journal, FACTS, ERROR, names=("book.sqlite", "hot journal")),
    Case("post-guid-mapping", "a `guid` that is a mapping, not text", content({**PLAIN, "posts/guid.md": post(
        guid="{a: 1}")}), BUILD, ERROR, names=("guid.md", "guid")),
    Case("post-tag-300", "a 300-character tag", content({**PLAIN, "posts/longtag.md": post().replace(
        "tags: [python]", "tags: [" + "a" * 300 + "]")}), BUILD, ERROR, names=("longtag.md", "tag")),
    Case("symbol-1mb", "a 1 MB symbol (chart labels are bounded)", book(trades=base_trades(symbol="S" * 1_000_000)),
         WEEKLY, SAFE, figures=BASE_FIGURES, check=huge_symbol_bounded),
]


def markdown_table() -> str:
    """The corpus as the Markdown table of docs/reliability.md."""
    rows = ["| Case | Input | Command | Outcome | How the test shows it |", "|---|---|---|---|---|"]
    for case in CASES:
        env = "".join(f"{k}={v} " for k, v in case.env.items())
        command = env + "publish " + " ".join(case.command)
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
