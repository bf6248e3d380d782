"""The fabrication guard: every number and ticker in generated prose must come from the fact sheet.

Small and quantised models invent figures; the newsletter promises that every number came from
the running system. The guard works sentence by sentence: a sentence with a number (digits, a
percentage, a currency amount, a ratio, a multiplier or a small count written as a word) that
matches no figure of the facts, or a ticker the facts never mention, is dropped with the reason.
Matching allows what the templates do at display time: rounding to 0, 1 or 2 decimals (or as many
as the prose shows), and dropping the sign ("a loss of 12.50 USDT" for -12.5).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

SMALL_NUMBER_WORDS = {
    "zero": 0, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "dozen": 12,
}
# "one" is left out on purpose: it is a pronoun far more often than a count ("no one", "one of").

# Acronyms that are vocabulary, not instruments: the ticker check must not drop them.
COMMON_ACRONYMS = frozenset(
    ["AI", "API", "ATR", "CPU", "CSV", "DCA", "DD", "EMA", "ETF", "GPU", "HTML", "ID", "JSON", "LLM", "MACD", "MLX", "MOE", "OK", "PNL", "RAM", "ROI", "RR", "RSI", "SL", "SMA", "SQL", "TLDR", "TP", "UTC", "USD", "ISO", "CLI", "GB", "MB", "KV", "OS", "RSS", "FAQ", "NA", "PR", "CI"]
)

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
_NUMBER_RE = re.compile(
    r"(?<![\w.])"  # not inside a word, a version string or a label like W16
    r"(?P<sign>[-+−–]?)"
    r"(?P<cur>[$€£]|USDT\s|USD\s)?"
    r"(?P<num>" + _NUM + r")"
    r"(?:(?P<ratio>:)(?P<den>\d+(?:\.\d+)?))?"
    r"(?P<suffix>\s?(?:%|percent\b|pct\b|x\b|×|[A-Z]{3,5}\b))?"
)
_WORD_RE = re.compile(
    r"\b(?P<tens>twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)-(?P<unit>two|three|four|five|six|seven|eight|nine|one)\b"
    r"|\b(?P<word>" + "|".join(sorted(SMALL_NUMBER_WORDS, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
_UNITS = {"one": 1, **{k: v for k, v in SMALL_NUMBER_WORDS.items() if v < 10}}
_SYMBOL_RE = re.compile(r"\b[A-Z0-9]{2,12}/[A-Z]{2,6}\b")
_TICKER_RE = re.compile(r"(?<![\w/$])\$?[A-Z][A-Z0-9]{1,9}\b(?!/)")
_ISO_TS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ]\d{2}:\d{2}")
_SKIP_KEYS = frozenset({"url", "book_sha256", "t", "at", "opened_at", "schema_version"})
_SENTENCE_END_RE = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[\"'(\[*_]?[A-Z0-9$])")


@dataclass(frozen=True)
class Number:
    """A number as written in prose: its absolute value, the decimals shown and its kind."""

    text: str
    value: Decimal
    decimals: int
    kind: str  # plain | percent | money | multiplier | ratio | word


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def extract_numbers(text: str) -> list[Number]:
    """Every number a reader would see in `text`, in order of appearance (words after digits)."""
    out: list[Number] = []
    for m in _NUMBER_RE.finditer(text):
        value = _decimal(m["num"])
        if value is None:
            continue
        frac = m["num"].split(".")[1] if "." in m["num"] else ""
        suffix = (m["suffix"] or "").strip()
        if m["ratio"]:
            den = _decimal(m["den"])
            out.append(Number(m.group(0).strip(), value, len(frac), "ratio"))
            if den is not None:
                den_frac = m["den"].split(".")[1] if "." in m["den"] else ""
                out.append(Number(m["den"], den, len(den_frac), "ratio"))
            continue
        if suffix in ("%", "percent", "pct"):
            kind = "percent"
        elif suffix in ("x", "×"):
            kind = "multiplier"
        elif m["cur"] or (suffix and suffix.isupper()):
            kind = "money"
        else:
            kind = "plain"
        out.append(Number(m.group(0).strip(), value, len(frac), kind))
    for m in _WORD_RE.finditer(text):
        if m["tens"]:
            value = Decimal(SMALL_NUMBER_WORDS[m["tens"].lower()] + _UNITS[m["unit"].lower()])
        else:
            value = Decimal(str(SMALL_NUMBER_WORDS[m["word"].lower()]))
        out.append(Number(m.group(0), value, 0, "word"))
    return out


# Which kinds of fact a number written in prose may stand for: a percentage must be a percentage
# figure, an amount an amount (or a plain number such as a price), a multiplier a ratio.
_COMPATIBLE = {
    "percent": {"percent"},
    "money": {"money", "plain"},
    "multiplier": {"multiplier", "plain"},
    "ratio": {"multiplier", "plain"},
}


def _unit_kind(unit: Any) -> str:
    if unit == "%":
        return "percent"
    if unit == "x":
        return "multiplier"
    if unit == "count":
        return "count"
    return "money" if unit else "plain"


@dataclass
class FactIndex:
    """The figures (with their kinds) and names of one fact sheet, ready for matching."""

    values: dict[Decimal, set[str]] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)

    def add_number(self, value: float | int | Decimal, kind: str = "plain") -> None:
        try:
            self.values.setdefault(abs(Decimal(str(value))), set()).add(kind)
        except InvalidOperation:
            return

    def add_text(self, text: str) -> None:
        ts = _ISO_TS_RE.match(text)
        if ts:  # a date may be named in prose (the year, the day of the month), not its clock time
            for part in ts.groups():
                self.add_number(int(part))
            return
        for number in extract_numbers(text):
            if number.kind != "word":
                self.add_number(number.value, number.kind if number.kind != "ratio" else "plain")
        for sym in _SYMBOL_RE.findall(text):
            self._add_symbol(sym)
        for tok in _TICKER_RE.findall(text):
            self.names.add(tok.lstrip("$"))

    def _add_symbol(self, symbol: str) -> None:
        self.names.add(symbol)
        for part in symbol.split("/"):
            self.names.add(part)

    def matches(self, number: Number) -> bool:
        """True when a figure of a compatible kind, rounded as the prose shows it, reads as `number`."""
        if number.kind == "ratio" and number.value == 1:
            return True  # the 1 of "1:2.5" is notation, not a figure
        allowed = _COMPATIBLE.get(number.kind)
        quantum = Decimal(1).scaleb(-number.decimals)
        for fact, kinds in self.values.items():
            if allowed is not None and not kinds & allowed:
                continue
            if fact == number.value:
                return True
            try:  # how the templates print it (binary float rounding), and how a person rounds
                if Decimal(f"{float(fact):.{number.decimals}f}") == number.value:
                    return True
                if fact.quantize(quantum, ROUND_HALF_UP) == number.value:
                    return True
            except (InvalidOperation, OverflowError):  # a figure too large for the prose's decimals
                continue
        return False


def index_facts(facts: Any, extra_texts: Iterable[str] = ()) -> FactIndex:
    """Walk the facts JSON generically: figures, plain numbers, symbols and numbers inside text."""
    index = FactIndex()

    def walk(node: Any, key: str | None) -> None:
        if key in _SKIP_KEYS:
            return
        if isinstance(node, dict):
            if "value" in node and "unit" in node and isinstance(node["value"], int | float):
                if not isinstance(node["value"], bool):
                    index.add_number(node["value"], _unit_kind(node["unit"]))
                if isinstance(node["unit"], str):
                    index.add_text(node["unit"])
                return
            for k, v in node.items():
                walk(v, str(k))
        elif isinstance(node, list):
            index.add_number(len(node), "count")  # "two adjustments" counts a list of the facts
            for v in node:
                walk(v, key)
        elif isinstance(node, bool) or node is None:
            return
        elif isinstance(node, int | float):
            index.add_number(node)
        elif isinstance(node, str):
            index.add_text(node)

    walk(facts, None)
    for text in extra_texts:
        index.add_text(text)
    return index


def split_sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END_RE.split(paragraph) if s.strip()]


def check_sentence(sentence: str, index: FactIndex) -> str | None:
    """The reason to drop `sentence`, or None when every number and ticker in it is in the facts."""
    for number in extract_numbers(sentence):
        if not index.matches(number):
            return f"number {number.text} not in facts"
    for sym in _SYMBOL_RE.findall(sentence):
        if sym not in index.names:
            return f"symbol {sym} not in facts"
    stripped = _SYMBOL_RE.sub(" ", sentence)
    for tok in _TICKER_RE.findall(stripped):
        name = tok.lstrip("$")
        if name in index.names:
            continue
        if tok.startswith("$") or (_looks_like_ticker(name) and name not in COMMON_ACRONYMS):
            return f"ticker {name} not in facts"
    return None


def _looks_like_ticker(token: str) -> bool:
    """All-caps tokens of 2-6 characters read as tickers; longer ones are shouted words."""
    return 2 <= len(token) <= 6 and token.isupper()


@dataclass
class GuardResult:
    text: str
    kept: int
    dropped: list[dict[str, str]]

    def as_dict(self) -> dict[str, Any]:
        return {"kept": self.kept, "dropped": self.dropped}


def _paragraph_units(text: str) -> Iterator[tuple[str, list[str]]]:
    """Paragraphs, keeping list items as their own units, each split into sentences."""
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [ln.rstrip() for ln in block.splitlines() if ln.strip()]
        if lines and all(re.match(r"\s*(?:[-*+]|\d+[.)])\s", ln) for ln in lines):
            for ln in lines:
                yield "item", [ln.strip()]
        elif lines:
            yield "para", split_sentences(" ".join(ln.strip() for ln in lines))


def _norm(sentence: str) -> str:
    return re.sub(r"\W+", " ", sentence.lower()).strip()


def guard_text(text: str, index: FactIndex, prompt: str = "") -> GuardResult:
    """Drop every sentence (or list item) with a figure or ticker the facts do not hold.

    Sentences repeated, or copied from the `prompt` (small models echo their instructions), go too.
    """
    kept_blocks: list[str] = []
    items: list[str] = []
    kept = 0
    dropped: list[dict[str, str]] = []
    seen: set[str] = set()
    prompt_norm = _norm(prompt)
    for kind, sentences in _paragraph_units(text):
        survivors = []
        for sentence in sentences:
            norm = _norm(sentence)
            if norm in seen:
                reason: str | None = "repeated sentence"
            elif len(norm) > 20 and norm in prompt_norm:
                reason = "copied from the prompt"
            else:
                reason = check_sentence(sentence, index)
            seen.add(norm)
            if reason:
                dropped.append({"sentence": sentence, "reason": reason})
            else:
                survivors.append(sentence)
                kept += 1
        if kind == "item":
            items.extend(survivors)
            continue
        if items:
            kept_blocks.append("\n".join(items))
            items = []
        if survivors:
            kept_blocks.append(" ".join(survivors))
    if items:
        kept_blocks.append("\n".join(items))
    return GuardResult("\n\n".join(kept_blocks), kept, dropped)
