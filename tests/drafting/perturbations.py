"""A perturbation corpus for the guard: real rendered weekly posts with one claim made wrong.

Posts are rendered by the real pipeline (facts -> facts-only draft -> `weekly.md.j2`) from books
built here: every week of the demo book, a Freqtrade book, and the hand-built sample sheet. Each
claim unit of a post (a sentence, a list item, a table cell) gets, one at a time:

- `swap`: a number replaced by another number of the same fact sheet, shown the same way (same
  kind, decimals and unit): the error presence-based guards miss;
- `digit`: one digit of a number changed;
- `word`: a count written out as a wrong number word;
and each sheet gets false word-claims (quantifiers, fractions, multipliers) built from its figures
by this module's own arithmetic, never by the guard's.

A perturbation is "caught" when checking its unit reports at least one claim.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from publisher.config import Config, LLMConfig, load_config
from publisher.drafting import draft_weekly
from publisher.drafting.check import _units, config_texts
from publisher.drafting.guard import FactIndex, check_claims, extract_numbers, index_facts
from publisher.render.weekly_post import render_weekly_markdown

_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
          "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def words_for(n: int) -> str:
    """A cardinal in words, written independently of the guard's parser."""
    if n < 20:
        return _WORDS[n]
    if n < 100:
        return _TENS[n // 10] + ("-" + _WORDS[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        return _WORDS[n // 100] + " hundred" + (" " + words_for(rest) if rest else "")
    return str(n)


@dataclass(frozen=True)
class Post:
    name: str
    facts: dict
    markdown: str
    config: Config


@dataclass(frozen=True)
class Perturbation:
    post: str
    kind: str  # swap | digit | word | quantifier | fraction | multiplier
    original: str
    text: str
    mentions: str | None


def project_config(root: Path) -> Config:
    root.mkdir(parents=True, exist_ok=True)
    (root / "publisher.toml").write_text(
        '[site]\ntitle = "Quant Log"\nurl = "https://example.org"\n'
        'stack = ["Apple M1 Max, 64GB unified memory", "MLX Qwen 3.6 35B-A3B 8-bit quant"]\n'
        '[llm]\nbackend = "none"\n', encoding="utf-8")
    return load_config(root, environ={})


def render_post(name: str, facts: dict, config: Config) -> Post:
    draft = draft_weekly(facts, LLMConfig(backend="none"), config.site)
    meta, body = render_weekly_markdown(facts, draft, config)
    text = f"---\ntitle: {meta['title']}\ndescription: {meta['description']}\n---\n\n{body}"
    return Post(name, facts, text, config)


def index_for(post: Post) -> FactIndex:
    return index_facts(post.facts, extra_texts=config_texts(post.config))


def units(post: Post) -> list[tuple[int, str, str | None]]:
    lines = post.markdown.split("\n")
    out = []
    body_start = lines.index("---", 1) + 1
    for j in range(1, body_start - 1):
        m = re.match(r"^(title|description):\s*(.*)$", lines[j])
        if m:
            out.append((j + 1, m.group(2), None))
    out += list(_units(lines[body_start:], body_start + 1))
    return out


def _figures(facts: Any, out: list[Decimal]) -> list[Decimal]:
    """Every figure value of a sheet (figures, plain numbers, list lengths), for swaps."""
    if isinstance(facts, dict):
        if "value" in facts and "unit" in facts:
            if isinstance(facts["value"], int | float) and not isinstance(facts["value"], bool):
                out.append(Decimal(str(facts["value"])))
            return out
        for k, v in facts.items():
            if k not in ("equity_curve", "positions", "checks", "stamp"):
                _figures(v, out)
    elif isinstance(facts, list):
        out.append(Decimal(len(facts)))
        for v in facts:
            _figures(v, out)
    elif isinstance(facts, int | float) and not isinstance(facts, bool):
        out.append(Decimal(str(facts)))
    return out


def _shown(value: Decimal, decimals: int) -> str:
    return f"{abs(float(value)):.{decimals}f}"


def number_perturbations(post: Post, seed: int = 7) -> Iterator[Perturbation]:
    rng = random.Random(f"{post.name}-{seed}")
    values = sorted(set(_figures(post.facts, [])))
    for _line, text, mentions in units(post):
        for number in extract_numbers(text):
            if number.kind == "ratio" and number.value == 1:
                continue
            digit = next((c for c in number.text if c.isdigit() or c == "."), None)  # none in a number word
            digits_start = number.start + (number.text.index(digit) if digit else 0)
            shown = text[digits_start:]
            m = re.match(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+", shown)
            if number.kind != "word" and not m:
                continue
            if number.kind == "word":
                wrong_n = int(number.value) + rng.choice([1, 2, 3, 5, 10])
                yield Perturbation(post.name, "word", text,
                                   text[:number.start] + words_for(wrong_n) + text[number.end:], mentions)
                continue
            old = m.group(0)
            old_plain = old.replace(",", "")
            if number.kind == "plain" and number.decimals == 0 and mentions is None and "," not in old \
                    and 2 <= int(old) < 1000 and not re.match(r"\s*(?:%|-|\w)", text[number.end:]):
                # a count written out as a wrong number word ("267 losing" -> "two hundred seventy losing")
                wrong_n = int(old) + rng.choice([1, 2, 3, 5, 10])
                yield Perturbation(post.name, "word", text,
                                   text[:digits_start] + words_for(wrong_n) + text[digits_start + len(old):], mentions)
            # swap: other figures of this sheet, shown the way this one is
            pool = {_shown(v, number.decimals) for v in values} - {old_plain}
            if number.decimals == 0:
                pool = {p for p in pool if p != "0" or old_plain != "0"}
            for new in rng.sample(sorted(pool), min(3, len(pool))):
                new_text = f"{Decimal(new):,.{number.decimals}f}" if "," in old else new
                yield Perturbation(post.name, "swap", text,
                                   text[:digits_start] + new_text + text[digits_start + len(old):], mentions)
            # digit: one digit changed
            positions = [i for i, c in enumerate(old) if c.isdigit()]
            i = rng.choice(positions)
            changed = old[:i] + str((int(old[i]) + rng.choice([1, 3, 7])) % 10) + old[i + 1:]
            if re.match(r"^0\d", changed.replace(",", "")):
                changed = "9" + changed[1:]
            if changed != old:
                yield Perturbation(post.name, "digit", text,
                                   text[:digits_start] + changed + text[digits_start + len(old):], mentions)


def word_claims(post: Post) -> tuple[list[Perturbation], list[Perturbation]]:
    """(false, true) word-claims about a sheet, decided by this module's own arithmetic."""
    facts = post.facts
    week = facts["all_books"]["week"]
    vault = facts["vault"]

    def v(fig: Any) -> float | None:
        return fig.get("value") if isinstance(fig, dict) else None

    false: list[Perturbation] = []
    true: list[Perturbation] = []

    def claim(ok: bool, kind: str, text: str) -> None:
        (true if ok else false).append(Perturbation(post.name, kind, "", text, None))

    trips, wins, losses = v(week["round_trips"]) or 0, v(week["wins"]) or 0, v(week["losses"]) or 0
    losing, with_pm = v(vault["losing_trades"]) or 0, v(vault["with_post_mortem"]) or 0
    open_count = v(facts["all_books"]["open_positions"]["count"]) or 0
    win_rate = v(week["win_rate"])
    if trips:
        claim(wins == trips, "quantifier", "Every trade was a win this week.")
        claim(losses == trips, "quantifier", "All of the round-trips were losses this week.")
    claim(trips == 0, "quantifier", "No round-trips closed this week.")
    claim(losing == 0, "quantifier", "There were no losing trades this week.")
    claim(open_count == 0, "quantifier", "There were no open positions at week end.")
    if losing:
        claim(with_pm == losing, "quantifier", "Every losing trade has a post-mortem.")
    if facts.get("adjustments"):
        claim(False, "quantifier", "No strategy adjustments were logged this week.")
    if facts.get("news"):
        claim(False, "quantifier", "There were no news items this week.")
    # A sentence that names no book may mean all books or the headline book the post reports.
    rates_said = [r for r in (win_rate, v(facts["headline"]["week"]["win_rate"]) if "headline" in facts else None)
                  if r is not None]
    if win_rate is not None:
        for word, share in (("Half", 50.0), ("A third", 100 / 3), ("A quarter", 25.0), ("Three quarters", 75.0)):
            if all(abs(r - share) > 6 for r in rates_said):
                claim(False, "fraction", f"{word} of the round-trips were wins, a win rate to watch.")
    for word, k in (("doubled", 2), ("tripled", 3), ("halved", 0.5)):
        rates = [v(b["week"]["win_rate"]) for b in facts["books"]] + [win_rate]
        rates = [r for r in rates if r]
        if rates and all(abs(a / b - k) > 0.3 * k for a in rates for b in rates if a is not None and b):
            claim(False, "multiplier", f"The win rate {word} this week.")
    if trips > 20:
        claim(False, "word", f"The books closed {words_for(min(int(trips) + 7, 999))} round-trips this week.")
        if trips < 1000:
            claim(True, "word", f"The books closed {words_for(int(trips))} round-trips this week.")
    return false, true


def caught(p: Perturbation, index: FactIndex) -> list[str]:
    return check_claims(p.text, index, mentions=p.mentions)
