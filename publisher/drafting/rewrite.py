"""The job a small model can do well: rewrite a section's facts-only skeleton in the operator's voice.

Composing 70 words from fact lines is beyond a 135M model; paraphrasing a short paragraph that
already holds the right figures and the one point of the section is not. The system prompt and the
few-shot examples are the same for every section, so they form the shared prompt prefix whose KV
cache the mlx backend computes once. A sentence that names nothing of its section (no figure,
symbol, root-cause class, adjustment, finding or stack item) is filler and is not published.
"""

from __future__ import annotations

import re

from publisher.config import LLMConfig
from publisher.drafting.backends import Request
from publisher.drafting.constrain import allowed_strings
from publisher.drafting.guard import COMMON_ACRONYMS, normalize_sentence, split_sentences
from publisher.drafting.plan import Section

REWRITE_RULES = (
    "You rewrite the notes of a paper-trading bot's weekly log as one short paragraph of its "
    "newsletter. Voice: {voice} Keep the main point and every number and ticker exactly as the notes "
    "write them; add no number, name or claim of your own. Plain sentences only: no heading, no list."
)

# Bundled examples (notes -> paragraph), in the form the weekly sections take: the notes are the
# point, and the answer says it again in the operator's voice with its figures and nothing else
# (an example that added figures of its own taught the model to add some too). Their figures are
# not this week's, and the fact constraint stops the model from copying them.
EXAMPLES: tuple[tuple[str, str, str, str], ...] = (
    ("This week in paper trading",
     "The week lost money: realized PnL was -3.10 USDT.",
     "The week lost money: realized PnL was -3.10 USDT.",
     "A losing week: realized PnL ended at -3.10 USDT."),
    ("Failure vault: what broke, what changed",
     "Execution slippage did the most damage: 7 trades, -5.10 USDT.",
     "Execution slippage did the most damage: 7 trades, -5.10 USDT.",
     "Execution slippage did the most damage this week: 7 trades and -5.10 USDT."),
)


def _shot(heading: str, notes: str, point: str) -> str:
    """A user turn: the section, its facts-only notes on one line, and the one point to keep."""
    return f"Section: {heading}\nNotes: {' '.join(notes.split())}\nMain point: {' '.join(point.split())}"


PARAGRAPH_END = "\n\n"  # a rewrite is one paragraph: generation stops at the first blank line


def system_prompt(llm: LLMConfig) -> str:
    return REWRITE_RULES.format(voice=llm.voice.strip())


def rewrite_request(section: Section, llm: LLMConfig, cap: int) -> Request:
    """The section's request: the shared rules and worked examples (earlier chat turns, so a chat
    model answers with a paragraph instead of continuing a form), then its own notes and point."""
    examples = tuple((_shot(h, n, p), out) for h, n, p, out in EXAMPLES)
    notes = section.notes or section.fallback
    return Request(system_prompt(llm), _shot(section.heading, notes, section.point or notes), cap,
                   allowed_lines(section), examples=examples, stop=(PARAGRAPH_END,))


def allowed_lines(section: Section) -> tuple[str, ...]:
    """What the model may take numbers and tickers from: the section's fact lines, skeleton and point."""
    return (*section.facts, section.fallback, section.point, section.notes)


_WORDS_RE = re.compile(r"[a-z0-9]+")
_STOP = frozenset(["a", "an", "and", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with", "was", "were", "is", "are", "this", "that", "it", "its"])


def _shingles(text: str, n: int = 2) -> set[tuple[str, ...]]:
    words = [w for w in _WORDS_RE.findall(text.lower()) if w not in _STOP]
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)} if len(words) >= n else {tuple(words)}


def is_vacuous(sentence: str, section: Section) -> bool:
    """True when `sentence` names no figure, symbol, root-cause class, adjustment or finding of its section."""
    own = {normalize_sentence(s) for s in split_sentences(section.fallback.replace("\n", " "))}
    if normalize_sentence(sentence) in own:
        return False  # a sentence of the section's own facts-only text says its point
    numbers, names = allowed_strings(allowed_lines(section))
    for number in re.findall(r"\d(?:[\d,.]*\d)?", sentence):
        if number in numbers:
            return False
    words = set(re.findall(r"[A-Za-z]+", sentence))
    if words & (names - COMMON_ACRONYMS):
        return False
    if section.rewrite and _cites(section.point):
        return True  # its point names a figure or a coin: a sentence that names neither has lost it
    lowered = sentence.lower()
    sentence_shingles = _shingles(sentence)
    for anchor in section.anchors:
        if anchor.lower() in lowered or _shingles(anchor) & sentence_shingles:
            return False
    return True


# Words that make a claim of their own ("the largest single-day increase since 2026"): a rewrite may
# use one only where its section's facts do ("Technical failure was the largest cluster").
_SUPERLATIVE_RE = re.compile(r"\b(?:largest|biggest|highest|lowest|smallest|best|worst|record|first|ever|never|always)\b",
                             re.IGNORECASE)
# A negation the section's facts do not hold turns the point around ("it's not SUI", "a coin that
# was not in the news"): such a sentence is dropped.
_NEGATION_RE = re.compile(r"\b(?:not|no|none|nor|without)\b|n't\b", re.IGNORECASE)


def trim_unsupported(sentence: str, section: Section) -> str:
    """The sentence without the claims of its own a rewrite may not make: "" (dropped) when it
    negates what its section's facts do not; cut before a superlative the facts do not make when
    what comes before is a sentence of its own, else ""."""
    facts = " ".join(allowed_lines(section))
    said = {w.lower() for rx in (_NEGATION_RE, _SUPERLATIVE_RE) for w in rx.findall(facts)}
    if any(m.group(0).lower() not in said for m in _NEGATION_RE.finditer(sentence)):
        return ""
    first = next((m for m in _SUPERLATIVE_RE.finditer(sentence) if m.group(0).lower() not in said), None)
    if first is None:
        return sentence
    cut = sentence.rfind(", ", 0, first.start())
    head = sentence[:cut].rstrip(" ,;:") if cut > 0 else ""
    return f"{head}." if len(head.split()) >= 4 else ""  # the head holds no superlative: `first` was the first


def _cites(text: str) -> bool:
    """Whether `text` names a figure or a ticker (what a rewrite of it must keep)."""
    return bool(re.search(r"\d", text) or re.search(r"\b[A-Z][A-Z0-9]{1,9}\b", text))
