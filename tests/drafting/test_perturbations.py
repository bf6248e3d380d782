"""The guard on real rendered posts: clean output checks clean, wrong claims are caught.

Posts come from every week of the demo book, a Freqtrade book and the hand-built sample sheet;
the perturbation corpus is `perturbations.py`. The catch rate is reported in docs/drafting.md.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
from bookmaker import freqtrade_trade, make_freqtrade_book
from click.testing import CliRunner
from facts_sample import sample_facts
from perturbations import (
    Post,
    caught,
    index_for,
    number_perturbations,
    project_config,
    render_post,
    units,
    word_claims,
)

from publisher.book.demo import DemoSpec, make_demo_book
from publisher.book.reader import open_book
from publisher.cli import main
from publisher.common.weeks import parse_week
from publisher.facts.compute import compute_facts

DEMO_END = "2026-W48"


def _freqtrade_book(path: Path) -> Path:
    rng = random.Random(3)
    trades = []
    pairs = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "DOGE/USDT", "XRP/USDT"]
    for i in range(60):
        day = 23 + (i % 7)
        pair = pairs[i % len(pairs)]
        price = 100.0 + rng.random() * 10
        move = rng.uniform(-0.03, 0.03)
        trades.append(freqtrade_trade(
            pair, open_rate=price, close_rate=price * (1 + move), amount=1.0 + rng.random(),
            is_short=bool(i % 3 == 0), open_date=f"2026-11-{day:02d} {i % 20:02d}:00:00",
            close_date=f"2026-11-{day:02d} {i % 20:02d}:30:00", exit_reason="roi"))
    trades.append(freqtrade_trade("BTC/USDT", open_rate=101.0, amount=0.5, open_date="2026-11-29 10:00:00"))
    return make_freqtrade_book(path, trades)


@pytest.fixture(scope="module")
def posts(tmp_path_factory) -> list[Post]:
    root = tmp_path_factory.mktemp("corpus")
    config = project_config(root / "site")
    out = [render_post("sample", sample_facts(), config)]
    demo = make_demo_book(root / "demo.sqlite", DemoSpec(end_week=parse_week(DEMO_END))).path
    with open_book(demo, config.book) as book:
        end = parse_week(DEMO_END)
        week = end
        weeks = []
        for _ in range(DemoSpec().weeks):
            weeks.append(week)
            week = week.previous()
        for w in reversed(weeks):
            out.append(render_post(f"demo {w}", compute_facts(book, w), config))
    ft = _freqtrade_book(root / "tradesv3.sqlite")
    with open_book(ft, config.book) as book:
        out.append(render_post("freqtrade 2026-W48", compute_facts(book, "2026-W48"), config))
    return out


def test_rendered_posts_check_clean(posts):
    """The tool's own output, every demo week, the Freqtrade book and the sample: nothing reported."""
    assert len(posts) >= 14
    for post in posts:
        index = index_for(post)
        problems = [(line, text, check) for line, text, mentions in units(post)
                    for check in caught_text(text, mentions, index)]
        assert problems == [], post.name


def caught_text(text, mentions, index):
    from publisher.drafting.guard import check_claims

    return check_claims(text, index, mentions=mentions)


PER_POST = 160  # perturbations drawn per post (all of them: PER_POST = 0), to keep the test quick


def _corpus(posts):
    stats: Counter = Counter()
    missed: list[tuple[str, str, str]] = []
    for post in posts:
        index = index_for(post)
        corpus = list(number_perturbations(post))
        if PER_POST and len(corpus) > PER_POST:
            words = [p for p in corpus if p.kind == "word"]
            corpus = words + random.Random(post.name).sample([p for p in corpus if p.kind != "word"], PER_POST)
        for p in corpus:
            stats[p.kind, "n"] += 1
            if caught(p, index):
                stats[p.kind, "caught"] += 1
            else:
                missed.append((post.name, p.kind, p.text))
    return stats, missed


def test_perturbed_numbers_are_caught(posts):
    stats, missed = _corpus(posts)
    total = sum(n for (kind, what), n in stats.items() if what == "n")
    hit = sum(n for (kind, what), n in stats.items() if what == "caught")
    rate = hit / total
    print(f"\nperturbation corpus: {hit}/{total} caught ({rate:.1%}); "
          + ", ".join(f"{k}: {stats[k, 'caught']}/{stats[k, 'n']}" for k in ("swap", "digit", "word")))
    for m in missed[:40]:
        print("  missed:", m)
    assert total > 1500
    assert stats["swap", "n"] > 800 and stats["word", "n"] > 0
    assert rate >= 0.98
    assert stats["word", "caught"] == stats["word", "n"]


def test_false_word_claims_are_caught_and_true_ones_kept(posts):
    n_false = 0
    for post in posts:
        index = index_for(post)
        false, true = word_claims(post)
        for p in false:
            assert caught(p, index), (post.name, p.text)
            n_false += 1
        for p in true:
            assert not caught(p, index), (post.name, p.text, caught(p, index))
    assert n_false >= 50


def test_publish_check_cli_reports_path_line_claim_and_exit_code(posts, tmp_path):
    post = posts[1]
    tmp_path = post.config.root  # the project whose [site] stack the post shows
    weekly = tmp_path / "content" / "weekly"
    weekly.mkdir(parents=True, exist_ok=True)
    path = weekly / "2026-W37.md"
    path.write_text(post.markdown, encoding="utf-8")
    (weekly / "2026-W37.facts.json").write_text(json.dumps(post.facts), encoding="utf-8")
    runner = CliRunner()
    clean = runner.invoke(main, ["-C", str(tmp_path), "check", str(path)])
    assert clean.exit_code == 0, clean.output
    assert clean.output == ""

    # The list reports the headline book (the standard one, book 1) against its inverted mirror.
    week = post.facts["headline"]["week"]
    shown = f"{week['win_rate']['value']:.1f}%"
    line_no = next(i for i, line in enumerate(post.markdown.split("\n"), 1) if line.startswith("- Win rate:"))
    # The win rate of the inverted book: present in the facts, but not the figure the line names.
    other = f"{post.facts['books'][1]['week']['win_rate']['value']:.1f}%"
    assert other != shown
    path.write_text(post.markdown.replace(f"- Win rate: {shown}", f"- Win rate: {other}"), encoding="utf-8")
    bad = runner.invoke(main, ["-C", str(tmp_path), "check", str(path)])
    assert bad.exit_code == 1
    first = bad.output.splitlines()[0]
    assert first.startswith(f"{path}:{line_no}: Win rate: {other}")
    assert "win_rate" in first


def test_check_without_a_fact_sheet_says_what_to_do(tmp_path):
    post = tmp_path / "post.md"
    post.write_text("---\ntitle: x\n---\n\nIt made 3 USDT.\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["-C", str(tmp_path), "check", str(post)])
    assert result.exit_code == 1
    assert "no fact sheet" in result.output and "--facts" in result.output
