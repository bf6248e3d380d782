"""Constrained decoding: in the mlx backend the model can only write numbers and tickers its section's facts hold.

The post-hoc guard drops a sentence with an invented figure after the fact; a small model then
loses most of its sentences. Here a logits processor masks, at every step, each token that would
start or continue a number (or an all-caps ticker) that is not a prefix of one written in the
section's fact lines, at the roundings shown there. A figure the facts do not hold therefore
cannot be generated, whatever the sampler picks. The check is a prefix test over the allowed
strings (a trie in effect); masks are memoised per state, so a step costs one addition.

A processor is stateful (it remembers where its prompt ended) and belongs to one sequence: make a
fresh one per generation with `FactConstraint.processor()`. mlx-lm calls it with the sequence's
token context and its (1, vocab) logits, alone or inside continuous batching, greedy or sampled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from publisher.drafting.guard import COMMON_ACRONYMS, SYMBOL_RE, TICKER_RE

_FACT_NUMBER_RE = re.compile(r"\d(?:[\d,.]*\d)?")
_NUM_RUN_RE = re.compile(r"[\d.,]+")
_NUM_TAIL_RE = re.compile(r"[\d.,]*\Z")
_WORD_RUN_RE = re.compile(r"[A-Za-z]+")
_WORD_TAIL_RE = re.compile(r"[A-Za-z]*\Z")
_WORD_HEAD_RE = re.compile(r"[A-Za-z]*")
_CAPS_RE = re.compile(r"\b[A-Z]{2,}\b")
# Characters of the generated text a processor decodes to find the number or word in progress.
_TAIL_TOKENS = 24


def allowed_strings(lines: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The numbers (as written, and without thousands separators) and all-caps names in `lines`."""
    numbers: set[str] = set()
    names: set[str] = set(COMMON_ACRONYMS)
    for line in lines:
        for number in _FACT_NUMBER_RE.findall(line):
            numbers.add(number)
            numbers.add(number.replace(",", ""))
        for sym in SYMBOL_RE.findall(line):
            names.update(sym.split("/"))
        names.update(tok.lstrip("$") for tok in TICKER_RE.findall(line))
        names.update(_CAPS_RE.findall(line))
    return frozenset(numbers), frozenset(n for n in names if n.isalpha() and n.isupper())


def _prefixes(words: Iterable[str]) -> frozenset[str]:
    return frozenset(w[:i] for w in words for i in range(1, len(w) + 1))


@dataclass
class TokenTable:
    """Per tokenizer: the tokens that can touch a number or an all-caps word, pre-split for fast masks."""

    numeric: list[tuple[int, str]]  # tokens with a digit, or starting with '.' or ','
    caps_lead: list[tuple[int, str, bool]]  # (id, leading all-caps letters, nothing after them)
    caps_rest: list[tuple[int, str]]  # (id, text after the leading letters) where two capitals meet
    tokenizer: Any

    @classmethod
    def build(cls, tokenizer: Any) -> TokenTable:
        vocab: dict[str, int] = tokenizer.get_vocab()
        # Byte-level and SentencePiece vocabularies keep ASCII digits and capitals as they are; byte
        # fallback tokens (<0x41>) carry digits in their name, so they are candidates too.
        ids = sorted({i for raw, i in vocab.items() if re.search(r"[\d.,A-Z]", raw)})
        texts = tokenizer.batch_decode([[i] for i in ids]) if ids else []
        numeric, caps_lead, caps_rest = [], [], []
        for i, t in zip(ids, texts, strict=True):
            if re.search(r"\d", t) or t[:1] in (".", ","):
                numeric.append((i, t))
            lead = _WORD_HEAD_RE.match(t).group(0)  # type: ignore[union-attr]
            rest = t[len(lead):]
            if lead and lead.isupper():
                caps_lead.append((i, lead, not rest))
            if re.search(r"[A-Z]{2}", rest):
                caps_rest.append((i, rest))
        return cls(numeric, caps_lead, caps_rest, tokenizer)


@dataclass
class FactConstraint:
    """The allowed numbers and names of one section, with memoised masks per decoding state."""

    table: TokenTable
    numbers: frozenset[str]
    names: frozenset[str]
    _num_prefixes: frozenset[str] = field(init=False)
    _name_prefixes: frozenset[str] = field(init=False)
    _bad_rest: frozenset[int] = field(init=False)
    _masks: dict[tuple[str, str, int], Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._num_prefixes = _prefixes(self.numbers)
        self._name_prefixes = _prefixes(self.names)
        # Tokens whose own inner words (after their leading letters) are a ticker the facts lack:
        # banned in every state.
        self._bad_rest = frozenset(i for i, rest in self.table.caps_rest if not self.word_ok("", rest))

    @classmethod
    def for_lines(cls, table: TokenTable, lines: Iterable[str]) -> FactConstraint:
        numbers, names = allowed_strings(lines)
        return cls(table, numbers, names)

    # ---- validity of text, pure -----------------------------------------------------------

    def number_ok(self, frag: str, text: str) -> bool:
        """Whether `text` may follow a generated text that ends in the number fragment `frag`."""
        combined = frag + text
        for m in _NUM_RUN_RE.finditer(combined):
            run = m.group(0)
            if not re.search(r"\d", run):
                continue
            if m.end() == len(combined):  # still open: must lead to an allowed number
                if run not in self._num_prefixes and run.rstrip(".,") not in self.numbers:
                    return False
            elif run.rstrip(".,") not in self.numbers:
                return False
        return True

    def word_ok(self, frag: str, text: str) -> bool:
        """Whether `text` may follow a generated text that ends in the word fragment `frag`."""
        combined = frag + text
        for m in _WORD_RUN_RE.finditer(combined):
            run = m.group(0)
            if len(run) < 2 or not run.isupper():
                continue
            if m.end() == len(combined):
                if run not in self._name_prefixes:
                    return False
            elif run not in self.names:
                return False
        return True

    def _lead_ok(self, word: str, lead: str, open_run: bool) -> bool:
        run = word + lead
        if len(run) < 2 or not run.isupper():
            return True
        return run in (self._name_prefixes if open_run else self.names)

    # ---- masks ----------------------------------------------------------------------------

    def mask(self, num_frag: str, word_frag: str, vocab: int, mx: Any, dtype: Any) -> Any:
        """Additive mask (0 or -inf per token) for the state the generated text ends in."""
        # A fragment with a lower-case letter can never become a ticker: all such states are one.
        word = "a" if word_frag and not word_frag.isupper() else word_frag
        key = (num_frag, word, vocab)
        cached = self._masks.get(key)
        if cached is None:
            cached = self._masks[key] = self._build_mask(num_frag, word, vocab, mx)
        return cached.astype(dtype) if cached.dtype != dtype else cached

    def _build_mask(self, num_frag: str, word: str, vocab: int, mx: Any) -> Any:
        open_number = bool(re.search(r"\d", num_frag)) and num_frag.rstrip(".,") not in self.numbers
        open_word = len(word) >= 2 and word.isupper() and word not in self.names
        if open_number or open_word:
            # An unfinished number or ticker must be continued: only tokens that do so remain.
            if open_number:
                keep = {i for i, t in self.table.numeric if self.number_ok(num_frag, t)}
            else:
                keep = {i for i, lead, alone in self.table.caps_lead
                        if i not in self._bad_rest and self._lead_ok(word, lead, alone)}
                keep -= {i for i, t in self.table.numeric if not self.number_ok(num_frag, t)}
            allowed = mx.zeros((vocab,), dtype=mx.bool_)
            idx = sorted(i for i in keep if i < vocab)
            if idx:
                allowed[mx.array(idx)] = True
            return mx.where(allowed, mx.array(0.0), mx.array(float("-inf")))
        banned = {i for i, t in self.table.numeric if not self.number_ok(num_frag, t)} | set(self._bad_rest)
        banned |= {i for i, lead, alone in self.table.caps_lead if not self._lead_ok(word, lead, alone)}
        out = mx.zeros((vocab,))
        idx = sorted(i for i in banned if i < vocab)
        if idx:
            out[mx.array(idx)] = float("-inf")
        return out

    def processor(self) -> FactProcessor:
        return FactProcessor(self)


class _PerSequence:
    """A logits processor of one sequence: mlx-lm passes it the context so far; what the sequence
    has generated is that context past the length it had on the first call (the prompt, or the part
    of it the prompt cache lacks)."""

    def __init__(self) -> None:
        import mlx.core as mx

        self.mx = mx
        self.prompt_len: int | None = None

    def generated(self, tokens: Any) -> list[int]:
        ids = tokens.tolist() if hasattr(tokens, "tolist") else list(tokens)
        if self.prompt_len is None:
            self.prompt_len = len(ids)
        return ids[self.prompt_len:]


class FactProcessor(_PerSequence):
    """An mlx-lm logits processor for one sequence: masks tokens that would invent a number or ticker."""

    def __init__(self, constraint: FactConstraint) -> None:
        super().__init__()
        self.constraint = constraint

    def generated_tail(self, tokens: Any) -> str:
        generated = self.generated(tokens)[-_TAIL_TOKENS:]
        return self.constraint.table.tokenizer.decode(generated) if generated else ""

    def __call__(self, tokens: Any, logits: Any) -> Any:
        tail = self.generated_tail(tokens)
        num_frag = _NUM_TAIL_RE.search(tail).group(0)  # type: ignore[union-attr]
        word_frag = _WORD_TAIL_RE.search(tail).group(0)  # type: ignore[union-attr]
        mask = self.constraint.mask(num_frag, word_frag, logits.shape[-1], self.mx, logits.dtype)
        return logits + mask


NO_REPEAT_NGRAM = 4  # tokens: a figure ("-3", ".", "10", " USDT") may still be said twice
REPEAT_PENALTY = 1e9


class NoRepeatNgram(_PerSequence):
    """A logits processor that bans the token completing an n-gram the sequence has already
    generated (the prompt excluded): a small model that starts to loop has to say something else,
    or end the paragraph, instead of filling its cap with the same clause."""

    def __init__(self, n: int = NO_REPEAT_NGRAM) -> None:
        super().__init__()
        self.n = n

    def banned(self, generated: list[int]) -> set[int]:
        """The tokens that would repeat an n-gram of `generated`, pure."""
        n = self.n
        if len(generated) < n:
            return set()
        key = generated[len(generated) - n + 1:]
        return {generated[i + n - 1] for i in range(len(generated) - n + 1) if generated[i:i + n - 1] == key}

    def __call__(self, tokens: Any, logits: Any) -> Any:
        banned = sorted(i for i in self.banned(self.generated(tokens)) if i < logits.shape[-1])
        if not banned:
            return logits
        # A large finite penalty, not -inf: where the fact constraint leaves only a banned token (the
        # one digit that finishes an allowed number), that token must still win over the masked rest.
        mask = self.mx.zeros((logits.shape[-1],), dtype=logits.dtype)
        mask[self.mx.array(banned)] = -REPEAT_PENALTY
        return logits + mask
