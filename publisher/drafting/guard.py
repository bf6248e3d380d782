"""The fabrication guard: every number in prose must be the value of the fact its sentence names.

Small and quantised models invent figures, and a person editing a post can mistype one; the
newsletter promises that every number came from the running system. Presence is not enough: "Win
rate was 45.5%" is wrong when 45.5% is some symbol's win rate and not the week's. So the guard
*binds* each number to the facts its sentence claims it for:

- the fact sheet is walked generically into `Fact` records: every `{"value", "unit"}` figure, plain
  numbers, list lengths and numbers inside fact strings, each with label words (its key path, its
  unit, the words around a number inside a text) and qualifiers (the symbol, book, cluster or
  scope of the record it sits in);
- a number in prose is scored against every fact of a compatible kind by the label words around it
  (nearer words weigh more; synonyms such as "lost" for PnL or "trades" for round-trips) and by the
  qualifiers the sentence (or table row and column) names; it passes only when it equals, at the
  rounding it is shown with, one of the best-scoring facts;
- number words (any cardinal, "a dozen"), fractions ("half", "a third"), quantifiers ("every",
  "all", "none", "no") and multipliers ("doubled", "tripled") are claims too and are checked the
  same way; tickers and symbols must be named by the facts.

A number no label word binds (a bare "261" in a table cell of its own) falls back to presence
among the facts its qualifiers allow.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

# ---- numbers as a reader sees them ------------------------------------------------------------

_ONES = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
SMALL_NUMBER_WORDS = {**{k: v for k, v in _ONES.items() if k != "one"}, **_TENS, "dozen": 12}
# A lone "one" is not checked: it is a pronoun far more often than a count ("no one", "one of").

_FRACTIONS = {
    "half": Decimal("0.5"), "a third": Decimal(1) / 3, "one third": Decimal(1) / 3,
    "two thirds": Decimal(2) / 3, "two-thirds": Decimal(2) / 3, "a quarter": Decimal("0.25"),
    "one quarter": Decimal("0.25"), "three quarters": Decimal("0.75"), "three-quarters": Decimal("0.75"),
    "a fifth": Decimal("0.2"), "one fifth": Decimal("0.2"), "a tenth": Decimal("0.1"),
}
_MULTIPLIERS = {
    "doubled": Decimal(2), "tripled": Decimal(3), "trebled": Decimal(3), "quadrupled": Decimal(4),
    "halved": Decimal("0.5"), "twice": Decimal(2), "three times": Decimal(3), "four times": Decimal(4),
}
_QUANTIFIERS = ("every", "all", "none", "no")

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
_CARDINAL_WORDS = "|".join(sorted([*_ONES, *_TENS, *_SCALES, "dozen"], key=len, reverse=True))
_WORD_RE = re.compile(
    r"\b(?:(?:a|an)\s+(?=(?:dozen|hundred|thousand|million)\b))?"
    r"(?:" + _CARDINAL_WORDS + r")(?:(?:\s+and\s+|[\s-]+)(?:" + _CARDINAL_WORDS + r"))*\b",
    re.IGNORECASE,
)
SYMBOL_RE = re.compile(r"\b[A-Z0-9]{2,12}/[A-Z]{2,6}\b")
TICKER_RE = re.compile(r"(?<![\w/$])\$?[A-Z][A-Z0-9]{1,9}\b(?!/)")
_ISO_TS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}|$)")
_SKIP_KEYS = frozenset({"url", "book_sha256", "t", "at", "opened_at", "schema_version", "checks", "equity_curve", "positions"})
_SENTENCE_END_RE = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[\"'(\[*_]?[A-Z0-9$])")

# Spans that hold digits but are not figures: a hash, a version, an ISO week, "book 2", a duration
# such as "4-week" (checked for presence only), a date (checked against the facts' dates).
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_MONTH_RE = r"(?P<mon>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
_DATE_RES = [
    re.compile(r"\b(?P<d1>\d{1,2})(?:\s*[–-]\s*(?P<d2>\d{1,2}))?\s+" + _MONTH_RE + r"(?:\s+(?P<year>\d{4}))?\b"),
    re.compile(r"\b" + _MONTH_RE + r"\s+(?P<d1>\d{1,2})(?:\s*[–-]\s*(?P<d2>\d{1,2}))?(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{4}))?\b"),
    re.compile(r"\b(?P<year>\d{4})-(?P<mnum>\d{2})-(?P<d1>\d{2})\b"),
]
_MASK_RES = [
    re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,64}\b"),  # a hash
    re.compile(r"\bv?\d+\.\d+\.\d+\w*"),  # a version
    re.compile(r"\b(?:book|Book|BOOK)\s+#?\d+\b"),  # a book's id is a name
    re.compile(r"#\d+"),  # a rank inside a title ("#722"), checked with the title's text
]
# "not distinguishable from zero", "too few to tell the edge from zero": a test's verdict, not a count
_ZERO_IDIOM_RE = re.compile(
    r"\b(?:distinguishable|distinguished|distinguish|apart|different|differs?|tell|told)\b[^.;:\d]{0,60}?\bfrom (zero)\b",
    re.I)
_ISO_WEEK_RE = re.compile(r"\b\d{4}-?W\d{1,2}\b")
_DURATION_RE = re.compile(r"(?<![\w.])(?P<n>\d+)-(?:week|day|month|hour|minute|trade|symbol)s?\b", re.IGNORECASE)


@dataclass(frozen=True)
class Number:
    """A number as written in prose: its absolute value, the decimals shown and its kind."""

    text: str
    value: Decimal
    decimals: int
    kind: str  # plain | percent | money | multiplier | ratio | word
    start: int = 0
    end: int = 0
    sign: str = ""


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def _cardinal(text: str) -> Decimal | None:
    """The value of a cardinal written in words ("two hundred sixty-seven", "a dozen")."""
    total, current = 0, 0
    words = [w for w in re.split(r"[\s-]+", text.lower()) if w not in ("and", "a", "an")]
    if not words:
        return None
    for w in words:
        if w in _ONES:
            current += _ONES[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w == "dozen":
            current = (current or 1) * 12
        elif w == "hundred":
            current = (current or 1) * 100
        elif w in _SCALES:
            total += (current or 1) * _SCALES[w]
            current = 0
        else:
            return None
    return Decimal(total + current)


def _masked(text: str) -> str:
    for rx in (*_MASK_RES, _ISO_WEEK_RE, _DURATION_RE, *_DATE_RES):
        text = rx.sub(lambda m: " " * len(m.group(0)), text)
    for m in _ZERO_IDIOM_RE.finditer(text):  # only the word "zero" itself
        text = text[:m.start(1)] + " " * (m.end(1) - m.start(1)) + text[m.end(1):]
    return text


def extract_numbers(text: str) -> list[Number]:
    """Every number a reader would see in `text`, in order of appearance (words after digits)."""
    out: list[Number] = []
    scan = _masked(text)
    for m in _NUMBER_RE.finditer(scan):
        value = _decimal(m["num"])
        if value is None:
            continue
        frac = m["num"].split(".")[1] if "." in m["num"] else ""
        suffix = (m["suffix"] or "").strip()
        sign = "-" if m["sign"] in ("-", "−", "–") else m["sign"]
        if m["ratio"]:
            den = _decimal(m["den"])
            out.append(Number(m.group(0).strip(), value, len(frac), "ratio", m.start(), m.end()))
            if den is not None:
                den_frac = m["den"].split(".")[1] if "." in m["den"] else ""
                out.append(Number(m["den"], den, len(den_frac), "ratio", m.start("den"), m.end()))
            continue
        if suffix in ("%", "percent", "pct"):
            kind = "percent"
        elif suffix in ("x", "×"):
            kind = "multiplier"
        elif m["cur"] or (suffix and suffix.isupper()):
            kind = "money"
        else:
            kind = "plain"
        out.append(Number(m.group(0).strip(), value, len(frac), kind, m.start(), m.end(), sign))
    for m in _WORD_RE.finditer(scan):
        words = m.group(0)
        if words.lower() == "one":
            continue
        value = _cardinal(words)
        if value is None:
            continue
        # "twenty percent" is a percentage written out
        after = scan[m.end():m.end() + 9].lower()
        kind = "percent" if after.startswith((" percent", " per cent")) else "word"
        out.append(Number(words, value, 0, kind, m.start(), m.end()))
    return out


# ---- words, labels and synonyms ----------------------------------------------------------------

_STOP = frozenset(
    ["a", "an", "the", "of", "to", "in", "on", "at", "for", "and", "or", "but", "by", "with", "from", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that", "these", "those", "them", "they", "their", "there", "here", "have", "has", "had", "do", "did", "does", "so", "than", "then", "into", "over", "after", "before", "about", "across", "per", "each", "which", "who", "what", "when", "while", "again", "also", "just", "only", "still", "up", "down", "out", "we", "our", "us", "i", "my", "you", "your", "his", "her", "he", "she", "not", "did", "would", "could", "should", "will", "can", "may", "might"]
)
# Prose and key words mapped to shared label tokens (both sides go through `_tokens`).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "trades": ("trade",), "traded": (), "trips": ("roundtrip",), "roundtrips": ("roundtrip",),
    "won": ("win",), "wins": ("win",), "winning": ("win",), "winners": ("win",), "winner": ("win",),
    "lost": ("loss", "pnl"), "losing": ("loss",), "losses": ("loss",), "loses": ("loss",),
    "lose": ("loss",), "losers": ("loss",), "loser": ("loss",), "cost": ("loss",),
    "average": ("avg",), "mean": ("avg",), "averaged": ("avg",),
    "fees": ("fee",), "commission": ("fee",), "commissions": ("fee",),
    "profit": ("profit", "pnl"), "profits": ("profit", "pnl"), "made": ("pnl",), "result": ("pnl",),
    "net": ("pnl",), "earned": ("pnl",), "gained": ("pnl",), "ended": ("end", "pnl"),
    "realised": ("realized",), "positions": ("position",), "interval": ("ci95",),
    "starting": ("start",), "started": ("start",), "began": ("start",), "ending": ("end",), "closing": ("end",),
    "returned": ("return",), "returns": ("return",), "drawdowns": ("drawdown",),
    "postmortems": ("postmortem",), "items": ("item",), "adjustments": ("adjustment",),
    "changes": ("adjustment", "change"), "change": ("adjustment", "change"),
    "clusters": ("cluster",), "symbols": ("symbol",),
    "notes": ("note",), "books": ("book",), "weeks": ("week",), "hardest": ("worst",),
    "largest": ("largest",), "biggest": ("largest",), "rank": ("rank",), "confident": ("confidence",),
    "conf": ("confidence",), "headlines": ("news",), "headline": ("news",), "warnings": ("warning",),
    "count": ("count", "trade"), "shares": ("share",), "stories": ("news",), "news": ("news",),
    "status": ("status",), "previous": ("previous",), "prior": ("previous",), "bps": ("bp",), "minutes": ("minute",), "hours": ("hour",),
}
# Key tokens that are containers, not labels a sentence would use.
_GENERIC_KEYS = frozenset({"value", "unit", "all", "books", "all_books", "rows", "week", "data", "items", "id"})
_WEAK = frozenset({"realized", "week", "book", "total", "trade", "value", "count", "vault"})
# What prose words may also mean, on the prose side only ("a loss of 0.70" for a PnL of -0.70).
_PROSE_EXTRA: dict[str, tuple[str, ...]] = {"loss": ("pnl",), "profit": ("pnl",), "gain": ("pnl",), "down": ("pnl",), "up": ("pnl",)}
# Words after a number that start another claim: the following window stops there.
_CLAUSE_WORDS = frozenset({"and", "while", "but", "with", "against", "versus", "vs", "than", "whereas", "from", "to", "at"})
_PHRASES = [
    (re.compile(r"round[- ]?trips?", re.I), " roundtrip "),
    (re.compile(r"\bR\s*:\s*R\b|\brisk[- ]reward\b", re.I), " rr "),
    (re.compile(r"post[- ]?mortems?", re.I), " postmortem "),
    # a figure per trade ("loss_per_trade", "USDT/trade") is not the total it is the share of
    # (also at the start of a window cut right after a number's unit: "-0.21 USDT" + "/trade")
    (re.compile(r"\b(?:per|each)[- _]trade\b|(?:(?<=[A-Za-z])|^)/trade\b", re.I), " pertrade "),
    # the week before ("previous_week" in the facts): "week" alone would name this week's figures
    (re.compile(r"\b(?:previous|last|prior|preceding)[ _-]+week\b|\bweek[ _-]+before\b", re.I), " previous "),
    # an average over recent weeks ("recent_average", "4-week average"): not this week's figure
    (re.compile(r"\b(?:recent|(?:\d+|two|three|four|five|six|eight)[ -]+weeks?)[ _-]+(?:average|avg|mean)\b", re.I),
     " recent avg "),
    (re.compile(r"\b(?:in total|in all|all told|overall)\b", re.I), " "),  # idioms, not labels
    (re.compile(r"\b(?:this|that|the) week\b(?![ _-]*(?:before|number))", re.I), " "),  # the time frame, not the week's number
]
_WORD_TOKEN_RE = re.compile(r"[A-Za-z][A-Za-z0-9']*|[()\[\];:,.!?]|\d+(?:[.,]\d+)*%?")


def _word_tokens(word: str) -> tuple[str, ...]:
    w = word.lower().strip("'")
    if w.endswith("'s"):
        w = w[:-2]
    if w in _STOP or len(w) < 2:
        return ()
    if w in _SYNONYMS:
        return _SYNONYMS[w]
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    return (w,)


def _normal_text(text: str) -> str:
    for rx, rep in _PHRASES:
        text = rx.sub(rep, text)
    return text


def label_tokens(text: str) -> list[str]:
    """The label tokens of a key or a phrase ("round_trips" -> ["roundtrip"], "lost" -> ["loss", "pnl"])."""
    out: list[str] = []
    for w in re.findall(r"[A-Za-z][A-Za-z0-9']*", _normal_text(text.replace("_", " "))):
        out.extend(_word_tokens(w))
    return out


# ---- the fact index ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    """One figure of the fact sheet with what a sentence may call it."""

    value: Decimal | None  # None: undefined ("no win rate")
    kind: str  # percent | money | multiplier | count | plain
    labels: frozenset[str]
    leaf: frozenset[str]  # the labels that name it most closely (its own key)
    qualifiers: tuple[frozenset[str], ...]  # groups of names; a sentence names the record by any of a group
    path: str
    text: bool = False  # a number inside a text (a title, an adjustment): it binds more weakly
    quote: str = ""  # for such a number: the words around it, which a sentence quoting the text repeats


def _unit_kind(unit: Any) -> str:
    if unit == "%":
        return "percent"
    if unit == "x":
        return "multiplier"
    if unit in ("count", "trades", "weeks", "days"):
        return "count"
    if unit in ("pp", "p"):  # percentage points (a change of a percentage), a p-value
        return "plain"
    return "money" if unit else "plain"


def _quote(text: str, start: int, end: int) -> str:
    """A number inside a text with the word before and the word after it, normalised, as
    "before n|n after": a sentence quoting a fact's text repeats one of the two."""
    before = re.findall(r"[^\W\d]\w*", text[:start])[-1:]
    after = re.findall(r"[^\W\d]\w*", text[end:end + 40])[:1]
    n = normalize_sentence(text[start:end])
    return f"{normalize_sentence(' '.join([*before, n])) if before else ''}|{normalize_sentence(' '.join([n, *after])) if after else ''}"


def _quoted(fact_quote: str, ctx_quote: str) -> bool:
    fb, _, fa = fact_quote.partition("|")
    cb, _, ca = ctx_quote.partition("|")
    return bool((fb and fb == cb) or (fa and fa == ca))


def _near_words(text: str, start: int, end: int, n: int = 3) -> list[str]:
    """Label tokens of the `n` content words on each side of a number inside a fact's text."""
    before = [t for w in re.findall(r"[A-Za-z][A-Za-z0-9']*", _normal_text(text[:start]))
              if not (w.isupper() and len(w) >= 2) for t in _word_tokens(w)]
    after = [t for w in re.findall(r"[A-Za-z][A-Za-z0-9']*", _normal_text(text[end:]))
             if not (w.isupper() and len(w) >= 2) for t in _word_tokens(w)]
    return before[-n:] + after[:n]


_IDENTITY_KEYS = ("symbol", "name", "label", "scope", "root_cause", "title", "source")


@dataclass
class FactIndex:
    """The facts of one sheet (values with labels and qualifiers) and the names it mentions."""

    facts: list[Fact] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    dates: set[dt.date] = field(default_factory=set)
    strings: set[str] = field(default_factory=set)
    texts: list[str] = field(default_factory=list)  # config texts a sentence may quote
    week: tuple[dt.date, dt.date] | None = None
    book_names: dict[str, set[str]] = field(default_factory=dict)
    mention_cache: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    token_map: dict[str, list[Fact]] = field(default_factory=dict, repr=False)
    token_map_size: int = -1
    qualifier_names: set[str] = field(default_factory=set, repr=False)

    # -- building

    def add_number(self, value: Any, kind: str = "plain", labels: Iterable[str] = (), leaf: Iterable[str] = (),
                   qualifiers: tuple[frozenset[str], ...] = (), path: str = "", text: bool = False,
                   quote: str = "") -> None:
        if value is None:
            dec = None
        else:
            try:
                dec = Decimal(str(value))
            except InvalidOperation:
                return
            if not dec.is_finite():
                return
        self.facts.append(Fact(dec, kind, frozenset(labels) | frozenset(leaf), frozenset(leaf), qualifiers, path, text, quote))

    def add_text(self, text: str, labels: Iterable[str] = (), qualifiers: tuple[frozenset[str], ...] = (),
                 path: str = "") -> None:
        ts = _ISO_TS_RE.match(text)
        if ts:  # a date may be named in prose (the year, the day of the month), not its clock time
            with contextlib.suppress(ValueError):
                self.dates.add(dt.date(int(ts[1]), int(ts[2]), int(ts[3])))
            for part, name in zip(ts.groups(), ("year", "month", "day"), strict=True):
                self.add_number(int(part), "plain", [*labels, name, "date"], (), qualifiers, path)
            return
        self.strings.add(text.lower())
        text = _untagged(text)  # markup in a fact's text is not a figure's label
        base = list(labels)
        named = frozenset(n.lower() for n in SYMBOL_RE.findall(text)) | frozenset(
            n for names in self.book_names.values() for n in names
            if re.search(r"(?<![\w/])" + re.escape(n) + r"(?![\w/])", text.lower()))
        if named:
            qualifiers = (*qualifiers, named)
        for iso in _ISO_WEEK_RE.findall(text):
            self.strings.add(iso.lower())
        for number in extract_numbers(text):
            if number.kind == "word" and number.value < 2:
                continue
            near = _near_words(_masked(text), number.start, number.end)
            kind = number.kind if number.kind not in ("ratio", "word") else "plain"
            value = -number.value if number.sign == "-" else number.value  # "made -2.56 USDT" is a loss
            self.add_number(value, kind, [*base, *near], (), qualifiers, path, True,
                            _quote(text, number.start, number.end))
        for m in _DURATION_RE.finditer(text):
            self.add_number(int(m["n"]), "plain", [*base, *label_tokens(text[m.end():m.end() + 30])], (), qualifiers, path, True)
        for m in re.finditer(r"#(\d+)", text):
            self.add_number(int(m[1]), "plain", [*base, "rank"], (), qualifiers, path, True)
        for sym in SYMBOL_RE.findall(text):
            self._add_symbol(sym)
        for tok in TICKER_RE.findall(text):
            self.names.add(tok.lstrip("$"))

    def add_config_text(self, text: str) -> None:
        """`[site] stack` items and other config text: facts a sentence may quote or cite."""
        self.texts.append(normalize_sentence(text))
        self.add_text(text, ["config"], (), "config")

    def _add_symbol(self, symbol: str) -> None:
        self.names.add(symbol)
        for part in symbol.split("/"):
            self.names.add(part)

    # -- matching

    def matches(self, number: Number) -> bool:
        """True when any figure of a compatible kind, rounded as the prose shows it, reads as `number`."""
        if number.kind == "ratio" and number.value == 1:
            return True
        return any(_reads_as(f, number) for f in self.facts if _compatible(number, f))


_COMPATIBLE = {
    "percent": {"percent"},
    "money": {"money", "plain"},
    "multiplier": {"multiplier", "plain"},
    "ratio": {"multiplier", "plain"},
    "word": {"count", "plain"},
}


def _compatible(number: Number, fact: Fact) -> bool:
    if number.kind == "plain" and number.decimals == 0 and "," not in number.text:
        return fact.kind in ("count", "plain")
    allowed = _COMPATIBLE.get(number.kind)
    return allowed is None or fact.kind in allowed


def _reads_as(fact: Fact, number: Number) -> bool:
    """Does `fact`, shown with the prose's decimals (Python's or half-up rounding), read as `number`?"""
    if fact.value is None:
        return False
    return _value_reads_as(fact.value, number.value, number.decimals, number.sign)


@lru_cache(maxsize=1 << 16)
def _value_reads_as(fact_value: Decimal, shown: Decimal, decimals: int, sign: str) -> bool:
    value = abs(fact_value)
    if sign and fact_value != 0:
        shown_zero = f"{float(value):.{decimals}f}".strip("0.") == ""
        if not shown_zero and (sign == "-") != (fact_value < 0):
            return False
    if value == shown:
        return True
    try:
        if Decimal(f"{float(value):.{decimals}f}") == shown:
            return True
        return value.quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP) == shown
    except (InvalidOperation, OverflowError):
        return False


def _book_names(facts: Any) -> dict[str, set[str]]:
    """Book ids to the names a sentence may use for the book ("book 1", "standard")."""
    out: dict[str, set[str]] = {}
    for book in facts.get("books") or [] if isinstance(facts, dict) else []:
        if isinstance(book, dict) and book.get("id") is not None:
            names = {f"book {book['id']}"}
            for key in ("name", "role"):
                if isinstance(book.get(key), str) and _untagged(book[key]):
                    names.add(_untagged(book[key]).lower())
            out[str(book["id"])] = names
    return out


def _untagged(text: str) -> str:
    """Text as a post shows it to a reader: markup (escaped, so shown literally) is not a name."""
    return re.sub(r"</?[A-Za-z][^<>]*>", " ", text).strip()


def _identity(node: dict, books: dict[str, set[str]]) -> frozenset[str]:
    names: set[str] = set()
    for key in _IDENTITY_KEYS:
        v = node.get(key)
        if isinstance(v, str):
            v = _untagged(v)
        if isinstance(v, str) and 0 < len(v) <= 60:
            names.add(v.lower())
            if key == "symbol" and "/" in v:
                names.add(v.split("/")[0].lower())
            if key == "root_cause":
                names.add(v.replace("_", " ").lower())
    if node.get("id") is not None and str(node["id"]) in books:
        names |= books[str(node["id"])]
    target = node.get("target")  # a fix check is about its target class or symbol
    if isinstance(target, dict) and isinstance(target.get("value"), str) and 0 < len(target["value"]) <= 60:
        value = _untagged(target["value"]).lower()
        names |= {value, value.replace("_", " "), value.split("/")[0]}
    return frozenset(n for n in names if n.strip(" /"))


def index_facts(facts: Any, extra_texts: Iterable[str] = ()) -> FactIndex:
    """Walk the facts JSON generically into labelled, qualified facts (new keys are picked up as they come)."""
    books = _book_names(facts)
    index = FactIndex(book_names=books)

    def walk(node: Any, path: list[str], quals: tuple[frozenset[str], ...], identified: bool) -> None:
        key = path[-1] if path else None
        if key in _SKIP_KEYS:
            if key in ("at", "opened_at") and isinstance(node, str):
                ts = _ISO_TS_RE.match(node)  # the day a change shipped may be named, not its clock time
                with contextlib.suppress(TypeError, ValueError):
                    if ts is not None:
                        index.dates.add(dt.date(int(ts[1]), int(ts[2]), int(ts[3])))
            return
        labels = [t for k in path if k not in _GENERIC_KEYS and not k.isdigit() for t in label_tokens(k)]
        # Its own key names a figure most closely, with its parent's ("low" of "win_rate_ci95").
        leaf = [t for k in path[-2:] if k not in _GENERIC_KEYS and not k.isdigit() for t in label_tokens(k)]
        where = ".".join(path)
        if isinstance(node, dict):
            if "value" in node and "unit" in node and (node["value"] is None or isinstance(node["value"], int | float)):
                if not isinstance(node["value"], bool):
                    index.add_number(node["value"], _unit_kind(node["unit"]), labels, leaf, quals, where)
                if isinstance(node["unit"], str):
                    index.add_text(node["unit"])
                return
            ident = _identity(node, books) if (identified or "symbol" in node or "root_cause" in node) else frozenset()
            inner = (*quals, ident) if ident else quals
            for k, v in node.items():
                k = str(k)
                if k in books and isinstance(v, dict):  # a table keyed by book id
                    walk(v, [*path, k], (*inner, frozenset(books[k])), False)
                else:
                    walk(v, [*path, k], inner, False)
                    for digits in re.findall(r"\d+", k) if not k.isdigit() else ():
                        tag = [label_tokens(k)[-1]]
                        for word in ("interval", "confidence", "ci"):  # "95% interval" is notation
                            index.add_number(int(digits), "percent", tag, tag, inner, where + "." + k,
                                             True, f"|{digits} {word}")
        elif isinstance(node, list):
            own = label_tokens(key) if key else []
            index.add_number(len(node), "count", [*labels, *own], own, quals, where + ".length")
            for v in node:
                walk(v, path, quals, True)
        elif isinstance(node, bool) or node is None:
            return
        elif isinstance(node, int | float):
            own = label_tokens(key) if key and not key.isdigit() else []
            index.add_number(node, "plain", [*labels, *own], [*leaf, *own], quals, where)
        elif isinstance(node, str):
            index.add_text(node, labels, quals, where)

    walk(facts, [], (), False)
    if isinstance(facts, dict) and isinstance(facts.get("week"), dict):
        try:
            start = dt.datetime.fromisoformat(facts["week"]["start"]).date()
            end = dt.datetime.fromisoformat(facts["week"]["end"]).date()
            index.week = (start, end)
            index.add_number((end - start).days, "count", ["day"], ["day"], (), "week.days")
        except (KeyError, TypeError, ValueError):
            pass
    for text in extra_texts:
        index.add_config_text(text)
    return index


# ---- binding a claim to its fact ---------------------------------------------------------------

_PRE_WORDS, _POST_WORDS = 8, 4


@dataclass(frozen=True)
class Context:
    """What a claim is said about: weighted label tokens around it and the text naming its records."""

    labels: dict[str, float]
    mentions: str  # lower-case text in which qualifiers are looked for
    quote: str = ""  # the number with a word on each side, to match a quote of a fact's text
    year_word: bool = False  # the number follows "of", "in", "since" or a month: a year
    quote_after: str = ""  # the number and the word after it ("95% interval")


def _prose_tokens(tok: str) -> tuple[str, ...]:
    if len(tok) >= 2 and tok.isupper() and tok not in ("PNL", "RR", "DD"):
        return ()  # a ticker or a currency names a record, not a figure
    words = _word_tokens(tok)
    extra = _PROSE_EXTRA.get(tok.lower(), ())
    if not extra:
        for w in words:
            extra += _PROSE_EXTRA.get(w, ())
    return (*words, *extra)


def _window(text: str, start: int, end: int, lo: int, hi: int) -> dict[str, float]:
    """Label tokens before and after a claim at [start, end), by nearness. Before it, words past the
    previous claim (at `lo`) still count, further away; after it, the window ends at the next claim
    (`hi`), a clause break or a word such as "and" that starts another claim."""
    weights: dict[str, float] = {}

    def add(tokens: Iterable[str], distance: int) -> None:
        w = 1.0 / (1.0 + 0.35 * distance)
        for t in tokens:
            weights[t] = max(weights.get(t, 0.0), w)

    before = _WORD_TOKEN_RE.findall(_normal_text(text[lo:start]))
    if lo > 0:  # words before the previous claim: its label, shared ("6 trades and -7.75 USDT")
        before = [*_WORD_TOKEN_RE.findall(_normal_text(_masked(text)[:lo])), "#", "#", "#", *before]
    depth, d = 0, 0
    for tok in reversed(before):
        if tok == "#":
            d += 1
            continue
        if tok == ")":
            depth += 1
            continue
        if tok in ("(", "["):
            depth = max(0, depth - 1)
            continue
        if depth or tok == ",":
            continue
        if tok in (";", ".", "!", "?") or d >= _PRE_WORDS:
            break
        if tok == ":" or not (tok[0].isalpha()):
            continue
        if len(tok) >= 2 and tok.isupper() and tok not in ("PNL", "RR", "DD"):
            continue
        words = _prose_tokens(tok)
        if words or (tok[0].isalpha() and tok.lower() not in _STOP):
            add(words, d)
            d += 1
    after = _WORD_TOKEN_RE.findall(_normal_text(text[end:hi]))
    d = 0
    for i, tok in enumerate(after):
        if tok in ("(", ")", ",", ";", ":", ".", "!", "?", "[", "]") or d >= _POST_WORDS:
            break
        if i == 0 and tok.isupper() and len(tok) >= 3:  # the unit of an amount
            continue
        if not tok[0].isalpha():
            break
        if tok.lower() in _CLAUSE_WORDS:
            break
        words = _prose_tokens(tok)
        if words or (tok[0].isalpha() and tok.lower() not in _STOP):
            add(words, d)
            d += 1
    return weights


def _qual_score(fact: Fact, mentions: str | frozenset[str]) -> tuple[float, int]:
    matched = unmatched = 0
    for group in fact.qualifiers:
        if isinstance(mentions, frozenset):
            hit = not group.isdisjoint(mentions)
        else:
            hit = any(_mentioned(name, mentions) for name in group)
        if hit:
            matched += 1
        else:
            unmatched += 1
    return 0.3 * matched - 0.6 * unmatched, matched


@lru_cache(maxsize=1 << 16)
def _mentioned(name: str, mentions: str) -> bool:
    return re.search(r"(?<![\w/])" + re.escape(name) + r"(?![\w/])", mentions) is not None


def _mentioned_names(index: FactIndex, mentions: str) -> frozenset[str]:
    """The qualifier names of the index that `mentions` names (computed once per text)."""
    cache = index.mention_cache
    if mentions not in cache:
        if len(cache) > 4096:
            cache.clear()
        names = {n for f in index.facts for g in f.qualifiers for n in g} if not index.qualifier_names else index.qualifier_names
        index.qualifier_names = names
        cache[mentions] = frozenset(n for n in names if n in mentions and _mentioned(n, mentions))
    return cache[mentions]


# Label tokens that make a figure another one than this week's (the previous week's, a change,
# a recent average): a sentence must say them for a number to be claimed for it.
_REQUIRED = frozenset({"previous", "change", "recent", "pertrade"})


def _other_figure(fact: Fact, tokens: Iterable[str]) -> bool:
    """A figure of another week, a change or an average (or, for a word claim, of the weekly history)
    that `tokens` do not name."""
    return any(t in _REQUIRED | {"weekly"} and t not in tokens for t in fact.leaf)


def _label_score(fact: Fact, labels: dict[str, float]) -> float:
    if not fact.text and any(t in _REQUIRED and t not in labels for t in fact.leaf):
        return 0.0
    score = sum(w for t, w in labels.items() if t in fact.labels)
    score += 0.5 * sum(w for t, w in labels.items() if t in fact.leaf)
    missing = [t for t in fact.leaf if t not in labels and t not in _WEAK]
    if fact.text:
        score *= 0.5
    return score - 0.12 * len(missing) if score else 0.0


def _by_token(index: FactIndex) -> dict[str, list[Fact]]:
    """Facts by label token, rebuilt when facts were added: only facts sharing a word can bind."""
    if index.token_map_size != len(index.facts):
        table: dict[str, list[Fact]] = {}
        for f in index.facts:
            for t in f.labels:
                table.setdefault(t, []).append(f)
        index.token_map, index.token_map_size = table, len(index.facts)
    return index.token_map


def bound_facts(number: Number, ctx: Context, index: FactIndex) -> tuple[list[Fact], bool]:
    """The facts `number` is claimed for, and whether a label bound it (else: its qualifiers only)."""
    named = _mentioned_names(index, ctx.mentions)
    table = _by_token(index)
    seen: set[int] = set()
    labelled = []
    for t in ctx.labels:
        for f in table.get(t, ()):
            if id(f) in seen:
                continue
            seen.add(id(f))
            if not _compatible(number, f):
                continue
            ls = _label_score(f, ctx.labels)
            if ls > 0:
                q, _ = _qual_score(f, named)
                labelled.append((f, ls + (min(q, 0.0) if f.text else q)))
    if labelled:
        top = max(t for _, t in labelled)
        return [f for f, t in labelled if t >= top - 0.2], True
    scored = [(f, _qual_score(f, named)[0]) for f in index.facts if _compatible(number, f)]
    if not scored:
        return [], False
    best_q = max(q for _, q in scored)
    return [f for f, q in scored if q >= best_q - 1e-9], False


def _describe(facts: list[Fact]) -> str:
    shown = []
    for f in facts[:3]:
        value = "undefined" if f.value is None else _plain(f.value)
        shown.append(f"{f.path} = {value}")
    more = f" (+{len(facts) - 3} more)" if len(facts) > 3 else ""
    return "; ".join(shown) + more


def _plain(value: Decimal) -> str:
    text = f"{float(value):.4f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def check_number(number: Number, ctx: Context, index: FactIndex) -> str | None:
    """Why `number` is not the value of the fact its context names, or None when it is."""
    if number.kind == "ratio" and number.value == 1:
        return None  # the 1 of "1:2.5" is notation, not a figure
    if ctx.year_word and number.kind == "plain" and number.decimals == 0 and 1990 <= number.value <= 2100 and any(
            "year" in f.labels and _reads_as(f, number) for f in index.facts):
        return None  # a year, named by the facts' dates
    facts, bound = bound_facts(number, ctx, index)
    if any(_reads_as(f, number) for f in facts):
        return None
    if ctx.quote and any(f.quote and _quoted(f.quote, ctx.quote) and _reads_as(f, number) for f in index.facts if f.text):
        return None  # the sentence quotes a fact's text (an adjustment, a title) with its number
    if bound and facts and all(f.text for f in facts) and _record_figure(number, ctx, index):
        return None  # only numbers inside fact texts bound it, and the record the sentence names has it
    if not bound or not facts:
        return f"number {number.text} not in facts"
    if not index.matches(number):
        return f"number {number.text} not in facts"
    return f"number {number.text} is not the figure it is claimed for ({_describe(facts)})"


def _record_figure(number: Number, ctx: Context, index: FactIndex) -> bool:
    """A figure (not a number inside a fact's text) of the record the sentence names, every one of
    its qualifiers named (the cluster, symbol or book), that reads as `number`. Words of a finding's
    text bind a number more weakly than the record itself: "Technical failure: 55 trades, -33.27
    USDT" claims the cluster's loss, although only findings' texts share its words."""
    named = _mentioned_names(index, ctx.mentions)
    for f in index.facts:
        if f.text or not f.qualifiers or not _compatible(number, f) or not _reads_as(f, number):
            continue
        if _qual_score(f, named)[1] == len(f.qualifiers) and not _other_figure(f, ctx.labels):
            return True
    return False


def _ratio_ok(target: Decimal, facts: list[Fact], tolerance: Decimal, same_figure: bool = False) -> bool:
    """Is `target` a share of the claimed facts (a percentage figure, or one count over another), or
    with `same_figure` a multiple between two values of one figure (two weeks, two books)?"""
    if not same_figure:
        for f in facts:
            if f.value is not None and f.kind == "percent" and abs(f.value / 100 - target) <= tolerance:
                return True
    kinds = ("count", "money", "plain", "percent", "multiplier") if same_figure else ("count", "money", "plain")
    values = [(f, f.value) for f in facts if f.value is not None and f.kind in kinds and f.value != 0]
    for a, a_value in values:
        for b, b_value in values:
            related = a.leaf == b.leaf if same_figure else (
                a.qualifiers == b.qualifiers and a.path.rsplit(".", 1)[0] == b.path.rsplit(".", 1)[0])
            if a is not b and related and abs(abs(a_value) / abs(b_value) - target) <= tolerance:
                return True
    return False


def _word_claims(text: str, lo_hi: tuple[int, int], mentions: str, index: FactIndex) -> Iterator[str]:
    """Fractions, quantifiers and multipliers: each must hold for the facts its words name."""
    scan = _masked(text)
    low = scan.lower()
    lo, hi = lo_hi
    for phrase, target in _FRACTIONS.items():
        for m in re.finditer(r"\b" + re.escape(phrase) + r"\b", low):
            split = _whole_and_part(text, m.end(), hi, index, mentions)
            if split is not None:
                wholes, parts = split
                if not any(w.value and p.value is not None and abs(p.value / w.value - target) <= Decimal("0.04")
                           for w in wholes for p in parts if w is not p and _same_record(w, p)):
                    yield (f"'{text[m.start():m.end()]}' does not match the facts it is said of "
                           f"({_describe(parts)} of {_describe(wholes)})")
                continue
            facts = _claimed(text, m.start(), m.end(), lo, hi, mentions, index, wide=True)
            if facts is not None and not _ratio_ok(target, facts, Decimal("0.04")):
                yield f"'{text[m.start():m.end()]}' does not match the facts it is said of ({_describe(facts)})"
    for phrase, target in _MULTIPLIERS.items():
        for m in re.finditer(r"\b" + re.escape(phrase) + r"\b", low):
            facts = _claimed(text, m.start(), m.end(), lo, hi, mentions, index, wide=True)
            if facts is None or not _ratio_ok(target, facts, target * Decimal("0.12"), same_figure=True):
                yield f"'{text[m.start():m.end()]}' is not a ratio between the facts it is said of"
    for q in _QUANTIFIERS:
        for m in re.finditer(r"\b" + q + r"\b", low):
            after = low[m.end():m.end() + 12]
            if q == "all" and re.match(r"\s+(?:books?|time|of (?:it|this)|in all)\b", after):
                continue  # "all books" names a book; "all time" a period
            if q == "no" and re.match(r"\s+(?:one|longer|more|less|later|sooner|matter|doubt)\b", after):
                continue
            reason = _quantifier(q, text, m.start(), m.end(), lo, hi, mentions, index)
            if reason:
                yield reason


def _claimed(text: str, start: int, end: int, lo: int, hi: int, mentions: str, index: FactIndex,
             wide: bool = False) -> list[Fact] | None:
    """The facts a word claim at [start, end) is about; None when no label word names any."""
    labels = _window(text, start, end, lo, hi)
    if wide:
        for t, w in _window(text, end, end, end, hi).items():
            labels[t] = max(labels.get(t, 0), w)
        for t, w in _window(text, start, start, lo, start).items():
            labels[t] = max(labels.get(t, 0), w)
    if not labels:
        return None
    out = []
    for f in index.facts:
        ls = _label_score(f, labels)
        if ls <= 0:
            continue
        q, _ = _qual_score(f, _mentioned_names(index, mentions))
        out.append((f, ls + q))
    if not out:
        return None
    top = max(t for _, t in out)
    return [f for f, t in out if t >= top - 0.2]


# What a post talks about that is not a figure of the facts: "no stack changes", "no insight".
_NOT_FIGURES = frozenset({"stack", "insight", "infra", "model", "section", "prose", "draft", "config", "one"})


def _quantifier(q: str, text: str, start: int, end: int, lo: int, hi: int, mentions: str, index: FactIndex) -> str | None:
    # What the quantifier ranges over: the words right after it ("no losing trades", "every trade").
    labels = {t: w for t, w in _window(text, end, end, end, hi).items() if w >= 0.7}
    if not labels or not labels.keys().isdisjoint(_NOT_FIGURES):
        return None
    scored = []
    named = _mentioned_names(index, mentions)
    for f in index.facts:
        if f.kind not in ("count", "percent", "plain") and f.value is not None:
            continue
        if not any(t in f.leaf and t not in _WEAK for t in labels) or _other_figure(f, labels):
            continue  # only a figure's own name binds a quantifier ("no insight ... this week" binds nothing)
        ls = _label_score(f, labels)
        if ls > 0:
            q_score, _ = _qual_score(f, named)
            scored.append((f, ls + q_score))
    if not scored:
        return None
    top = max(t for _, t in scored)
    facts = [f for f, t in scored if t >= top - 0.2]
    said = text[start:end]
    if q in ("no", "none"):
        if any(f.value is None or f.value == 0 for f in facts):
            return None
        return f"'{said}' claims zero, but the facts say otherwise ({_describe(facts)})"
    # every / all: the whole it ranges over (the words right after it) equals the part the rest
    # of the sentence names ("every losing trade has a post-mortem": losing trades = post-mortems)
    split = _whole_and_part(text, end, hi, index, mentions)
    if split is None:
        return None
    wholes, parts = split
    # the whole and its part are two figures of one record ("round_trips" and "wins" of one week)
    if any(w is not p and w.value == p.value and w.path != p.path and _same_record(w, p)
           for w in wholes for p in parts):
        return None
    return f"'{said}' claims the whole, but the facts do not show it ({_describe(wholes)} vs {_describe(parts)})"


def _same_record(whole: Fact, part: Fact) -> bool:
    """Is `part` a figure of the record `whole` counts ("wins" of the week whose "round_trips" it is,
    the clusters of the vault whose losing trades it is), not of another week, book or finding?"""
    return part.path.startswith(whole.path.rsplit(".", 1)[0] + ".")


def _whole_and_part(text: str, end: int, hi: int, index: FactIndex, mentions: str) -> tuple[list[Fact], list[Fact]] | None:
    """The counts a quantifier or fraction ranges over (the words right after it) and the part the
    rest of the sentence names; None when the words name no count."""
    words = [_prose_tokens(w) for w in _WORD_TOKEN_RE.findall(_normal_text(text[end:hi]))
             if w[0].isalpha() and w.lower() not in _STOP]
    words = [w for w in words if w]
    if len(words) < 2:
        return None
    first = set(words[0])
    simple = bool(first & {"trade", "roundtrip"}) or len(words) <= 2
    whole_tokens = first if simple else first | set(words[1])
    if "trade" in whole_tokens:
        whole_tokens.add("roundtrip")
    rest_tokens = {t for w in words[1 if simple else 2:][:6] for t in w} - whole_tokens
    named = _mentioned_names(index, mentions)

    def best(tokens: set[str]) -> list[Fact]:
        found = [(f, _qual_score(f, named)[0]) for f in index.facts if f.kind == "count" and f.value is not None
                 and any(t in f.leaf and (t not in _WEAK or t == "trade") for t in tokens)
                 and not _other_figure(f, tokens | rest_tokens | whole_tokens)]
        if not found:
            return []
        top = max(q for _, q in found)
        return [f for f, q in found if q >= top - 1e-9]

    wholes, parts = best(whole_tokens), best(rest_tokens)
    if not wholes or not parts:
        return None
    return wholes, parts


def _check_dates(text: str, index: FactIndex) -> str | None:
    if not index.dates and index.week is None:
        return None
    lo, hi = (index.week or (min(index.dates), max(index.dates)))
    known_years = {d.year for d in index.dates} | {lo.year, hi.year}
    for rx in _DATE_RES:
        for m in rx.finditer(text):
            g = m.groupdict()
            try:
                month = _MONTHS[g["mon"][:3].lower()] if g.get("mon") else int(g["mnum"])
            except (KeyError, TypeError, ValueError):
                continue
            years = [int(g["year"])] if g.get("year") else sorted(known_years)
            for day_text in filter(None, (g.get("d1"), g.get("d2"))):
                ok = False
                for year in years:
                    try:
                        day = dt.date(year, month, int(day_text))
                    except ValueError:
                        continue
                    if lo <= day <= hi or day in index.dates:
                        ok = True
                if not ok:
                    return f"date {m.group(0)} not in facts"
    for m in _ISO_WEEK_RE.finditer(text):
        iso = m.group(0).lower()
        if iso not in index.strings and not any(iso.replace("-", "") == s.replace("-", "") for s in index.strings
                                                if re.fullmatch(r"\d{4}-?w\d{1,2}", s)):
            return f"week {m.group(0)} not in facts"
    for m in _DURATION_RE.finditer(text):
        if not any(f.value == int(m["n"]) for f in index.facts):
            return f"number {m.group(0)} not in facts"
    return None


_CHANGE_AFTER_RE = re.compile(r"\s*(?:/\w+)?\s*\(\s*")
_CHANGE_CLOSE_RE = re.compile(r"\s*(pts?\b|points?\b|pp\b)?(?:/\w+)?\s*\)")


def check_claims(text: str, index: FactIndex, mentions: str | None = None,
                 contexts: list[tuple[Number, Context]] | None = None) -> list[str]:
    """Every reason `text` (one sentence) is unsupported: numbers, words, dates, tickers."""
    low_text = text.lower()
    if any(len(normalize_sentence(text)) > 8 and normalize_sentence(text) in t for t in index.texts):
        return []  # quoting config text (a stack item, the closing line)
    mentions = low_text if mentions is None else mentions
    if re.search(r"\b(?:each|per|either|every) book\b", mentions):  # names every book
        mentions += " " + " ".join(n for names in index.book_names.values() for n in names)
    reasons: list[str] = []
    numbers = extract_numbers(text)
    digits = sorted((n for n in numbers), key=lambda n: n.start)
    for i, number in enumerate(digits):
        lo = digits[i - 1].end if i else 0
        hi = digits[i + 1].start if i + 1 < len(digits) else len(text)
        prev = re.findall(r"[A-Za-z]+", text[max(0, number.start - 12):number.start])
        year_word = bool(prev) and (prev[-1].lower() in ("of", "in", "since", "year") or prev[-1][:3].lower() in _MONTHS)
        labels = _window(text, number.start, number.end, lo, hi)
        close = _CHANGE_CLOSE_RE.match(text[number.end:])
        if i and number.sign and close and _CHANGE_AFTER_RE.fullmatch(text[lo:number.start]) and (
                number.kind == digits[i - 1].kind or number.kind == "percent" or close.group(1)):
            # "previous week 212 (+49)": a signed figure in brackets right after another is the change
            labels = {t: w for t, w in labels.items() if t not in ("previous", "recent", "avg")}
            labels["change"] = 1.0
        ctx = Context(labels, mentions, _quote(text, number.start, number.end), year_word)
        reason = check_number(number, ctx, index)
        if reason:
            reasons.append(reason)
    reasons += list(_word_claims(text, (0, len(text)), mentions, index))
    date_reason = _check_dates(text, index)
    if date_reason:
        reasons.append(date_reason)
    name_reason = _check_names(text, index)
    if name_reason:
        reasons.append(name_reason)
    return reasons


def _check_names(sentence: str, index: FactIndex) -> str | None:
    for sym in SYMBOL_RE.findall(sentence):
        if sym not in index.names:
            return f"symbol {sym} not in facts"
    stripped = SYMBOL_RE.sub(" ", sentence)
    for tok in TICKER_RE.findall(stripped):
        name = tok.lstrip("$")
        if name in index.names:
            continue
        if tok.startswith("$") or (_looks_like_ticker(name) and name not in COMMON_ACRONYMS):
            return f"ticker {name} not in facts"
    return None


def split_sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END_RE.split(paragraph) if s.strip()]


def check_sentence(sentence: str, index: FactIndex) -> str | None:
    """The reason to drop `sentence`, or None when each of its claims is the value of the fact it names."""
    reasons = check_claims(sentence, index)
    return reasons[0] if reasons else None


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


def normalize_sentence(sentence: str) -> str:
    return re.sub(r"\W+", " ", sentence.lower()).strip()


def guard_text(text: str, index: FactIndex, prompt: str = "") -> GuardResult:
    """Drop every sentence (or list item) with a claim the facts do not support.

    Sentences repeated, or copied from the `prompt` (small models echo their instructions), go too.
    """
    kept_blocks: list[str] = []
    items: list[str] = []
    kept = 0
    dropped: list[dict[str, str]] = []
    seen: set[str] = set()
    prompt_norm = normalize_sentence(prompt)
    for kind, sentences in _paragraph_units(text):
        survivors = []
        for sentence in sentences:
            norm = normalize_sentence(sentence)
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
