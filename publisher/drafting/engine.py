"""The section engine: one independent, capped generation per section, then clean-up and the guard.

Sparse MoE models stay coherent for about 500 tokens of one output; a post is therefore drafted as
independent sections, each capped under `llm.token_ceiling`, sharing no state, then concatenated.
Any failure of one section (error, timeout, empty text, over its cap, repetitive, mostly dropped by
the guard) publishes that section's facts-only text instead and says why; it never stops the post.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

from publisher.config import LLMConfig
from publisher.drafting.backends import Backend, Generation, MLXBackend, OpenAIBackend, Request
from publisher.drafting.guard import FactIndex, guard_text, split_sentences
from publisher.drafting.plan import Section, section_cap, section_words
from publisher.errors import DraftError

Progress = Callable[[str, int, int], None]
Log = Callable[[str], None]


class Meter(Protocol):
    """Live token counts while drafting (publisher.common.progress.Progress is one)."""

    def sections(self, items: list[tuple[str, int]]) -> None: ...

    def tokens(self, index: int, count: int, finished: bool = False) -> None: ...

SYSTEM_RULES = (
    "You write one section of a weekly build-in-public newsletter about a paper-trading bot. "
    "Voice: {voice} "
    "Use only the facts listed by the user. Copy every number exactly as it is written there; never "
    "compute, estimate or invent a number, a ticker or a name. Write plain prose paragraphs: no "
    "heading, no list, no HTML, no code, no sign-off."
)


def build_request(section: Section, llm: LLMConfig, cap: int) -> Request:
    """Weekly sections rewrite their skeleton (rewrite.py); briefs compose from their fact lines."""
    from publisher.drafting.rewrite import allowed_lines, rewrite_request

    if section.rewrite:
        return rewrite_request(section, llm, cap)
    facts = "\n".join(f"- {line}" for line in section.facts) or "- (no figures for this section)"
    user = (
        f"Section: {section.heading}\n"
        f"Task: {section.instruction}\n"
        f"Length: about {section.target_words} words.\n\n"
        f"Facts:\n{facts}\n"
    )
    return Request(SYSTEM_RULES.format(voice=llm.voice.strip()), user, cap, allowed_lines(section))


_FENCE_RE = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
_TAG_RE = re.compile(r"<\|?/?[A-Za-z_][^<>]{0,200}\|?>")
_HEADING_LINE_RE = re.compile(r"^\s*(?:#{1,6}\s|={3,}\s*$|-{3,}\s*$|\*\*[^*]{1,80}\*\*:?\s*$|<)")
_PROMPT_LABEL_RE = re.compile(r"\s*(?:Section|Task|Length|Facts|Voice|Notes|Examples?):", re.IGNORECASE)
_ANSWER_LABEL_RE = re.compile(r"^\s*(?:Main point|Paragraph|Answer|Rewrite):\s*", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffd]")


def clean_text(text: str, heading: str, finish_reason: str | None) -> str:
    """Strip what the template owns or the model should not emit: headings, HTML, code, a cut-off end."""
    text = _CONTROL_RE.sub("", _FENCE_RE.sub("", text.replace("\r\n", "\n")))
    lines: list[str] = []
    for line in text.split("\n"):
        if _HEADING_LINE_RE.match(line):
            continue
        line = _TAG_RE.sub("", line).rstrip()
        if _PROMPT_LABEL_RE.match(line):  # the model echoing the prompt's form, not writing prose
            continue
        line = _ANSWER_LABEL_RE.sub("", line)
        if not lines and line.strip().strip("*#:").strip().lower() == heading.lower():
            continue
        lines.append(line)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if text and text[-1] not in ".!?\"')”’":
        finish_reason = "length"  # a paragraph that ends mid-sentence was cut, whatever stopped it
    if finish_reason == "length" and text:
        # Cut by the cap: the last sentence is unfinished even when it ends in "." ("... to +0." is a
        # number cut after its point), so only what ends before a sentence boundary is kept.
        last = max(text.rfind(". "), text.rfind("! "), text.rfind("? "), text.rfind(".\n"))
        text = text[: last + 1].rstrip() if last > 0 else ""
    return text


def map_sentences(text: str, change: Callable[[str], str]) -> str:
    """The text with each sentence replaced by `change(sentence)` ("" drops it), paragraphs kept apart."""
    paragraphs: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        kept = [new for sentence in split_sentences(block.replace("\n", " ")) if (new := change(sentence))]
        if kept:
            paragraphs.append(" ".join(kept))
    return "\n\n".join(paragraphs)


def filter_sentences(text: str, keep: Callable[[str], bool]) -> tuple[str, list[str]]:
    """The text with only the sentences `keep` accepts (paragraphs kept apart), and those it did not."""
    dropped: list[str] = []

    def kept(sentence: str) -> str:
        if keep(sentence):
            return sentence
        dropped.append(sentence)
        return ""

    return map_sentences(text, kept), dropped


def drop_repeated_sentences(text: str) -> str:
    """Each sentence once: a small model that loops repeats whole sentences; the first say is kept."""
    from publisher.drafting.guard import normalize_sentence

    seen: set[str] = set()

    def first_time(sentence: str) -> bool:
        key = normalize_sentence(sentence)
        new = key not in seen
        seen.add(key)
        return new

    return filter_sentences(text, first_time)[0]


def is_repetitive(text: str) -> bool:
    """Word salad and loops: too few distinct word trigrams for the length of the text."""
    words = re.findall(r"\w+", text.lower())
    if len(words) < 30:
        return False
    trigrams = list(zip(words, words[1:], words[2:], strict=False))
    return len(set(trigrams)) / len(trigrams) < 0.5


def _section_result(section: Section, cap: int, gen: Generation, index: FactIndex, req: Request) -> dict[str, Any]:
    result: dict[str, Any] = {
        "key": section.key, "heading": section.heading, "text": "", "cap": cap,
        "tokens": gen.tokens, "finish_reason": gen.finish_reason, "seconds": round(gen.seconds, 3),
        "fallback": False, "fallback_reason": None, "guard": {"kept": 0, "dropped": []}, "vacuous": [],
        "drafted": True,
    }
    reason = None
    if gen.error:
        reason = f"backend error: {gen.error}"
    elif gen.tokens > cap:
        reason = f"over the cap: {gen.tokens} tokens > {cap}"
    else:
        # Claims of the model's own go first: the guard then checks what is left to publish.
        text = trim_claims(drop_repeated_sentences(clean_text(gen.text, section.heading, gen.finish_reason)),
                           section, result)
        if not text:
            reason = "empty text" if gen.finish_reason != "length" else "no complete sentence before the cap"
        elif is_repetitive(text):
            reason = "repetitive output"
        else:
            # A rewrite may keep a sentence of its own notes; copying the instructions or examples is not kept.
            prompt = "\n".join([req.system, *(answer for _, answer in req.examples)] if section.rewrite
                               else [req.system, req.user])
            guarded = guard_text(text, index, prompt=prompt)
            result["guard"] = guarded.as_dict()
            if guarded.kept == 0 or len(guarded.dropped) > guarded.kept:
                reason = f"guard dropped {len(guarded.dropped)} of {guarded.kept + len(guarded.dropped)} sentences"
            else:
                kept, vacuous = drop_vacuous(guarded.text, section)
                result["vacuous"] = vacuous
                if not kept:
                    reason = (f"no sentence names a figure, symbol, root cause, adjustment or finding of the section "
                              f"({len(vacuous)} dropped)")
                else:
                    result["text"] = f"{kept}\n\n{section.tail}" if section.tail else kept
    if reason:
        result.update(text=section.fallback, fallback=True, fallback_reason=reason)
    return result


def drop_vacuous(text: str, section: Section) -> tuple[str, list[str]]:
    """The text without sentences that name nothing of their section, and those sentences."""
    from publisher.drafting.rewrite import is_vacuous

    if not (section.facts or section.anchors):
        return text, []
    return filter_sentences(text, lambda sentence: not is_vacuous(sentence, section))


def trim_claims(text: str, section: Section, result: dict[str, Any]) -> str:
    """A rewrite's sentences without the negations and superlatives its facts do not make (each
    sentence changed is recorded in `result["trimmed"]`)."""
    from publisher.drafting.rewrite import trim_unsupported

    if not section.rewrite:
        return text

    def trimmed(sentence: str) -> str:
        new = trim_unsupported(sentence, section)
        if new != sentence:
            result.setdefault("trimmed", []).append(sentence)
        return new

    return map_sentences(text, trimmed)


def _none_result(section: Section, cap: int, index: FactIndex) -> dict[str, Any]:
    """The facts-only text: with the `none` backend, or for a section no model drafts."""
    guarded = guard_text(section.fallback, index)
    return {
        "key": section.key, "heading": section.heading, "text": section.fallback, "cap": cap, "tokens": 0,
        "finish_reason": "stop", "seconds": 0.0, "fallback": False, "fallback_reason": None,
        "guard": guarded.as_dict(), "vacuous": [], "drafted": False,
    }


def make_backend(llm: LLMConfig, log: Log | None = None) -> Backend | None:
    """The configured backend (None for `none`); config problems raise DraftError."""
    if llm.backend == "none":
        return None
    if llm.backend == "openai":
        return OpenAIBackend(llm)
    from publisher.drafting.models import locate_model

    located = locate_model(llm.model, log or _stderr)
    assert located is not None  # install=True either installs or raises
    try:
        return MLXBackend(llm, *located)
    except ImportError as exc:
        raise DraftError(f"the mlx backend needs mlx and mlx-lm ({exc}): reinstall publisher, "
                         "or draft with --llm none / [llm] backend = 'none'") from None


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def draft_sections(
    sections: list[Section],
    llm: LLMConfig,
    index: FactIndex,
    backend: Backend | None = None,
    progress: Progress | None = None,
    log: Log | None = None,
    meter: Meter | None = None,
) -> dict[str, Any]:
    """Draft every section independently; the JSON-ready draft record (texts plus metadata).

    `meter` gets each section's token count as the backend generates (backends that stream call
    their `on_tokens` hook), and the final count of every section in any case.
    """
    caps = [section_cap(section_words(s, llm), llm) for s in sections]
    start = time.perf_counter()
    if backend is None and llm.backend != "none":
        backend = make_backend(llm, log)
    results: dict[int, dict[str, Any]] = {}
    total = len(sections)
    # The sections a model drafts (all of them unless one is facts-only by design), in order: the
    # meter and the backend number them 0, 1, ... among themselves.
    drafted = [i for i, s in enumerate(sections) if s.model] if backend is not None else []
    if meter is not None and drafted:
        meter.sections([(sections[i].key, caps[i]) for i in drafted])

    def done(i: int, result: dict[str, Any]) -> None:
        results[i] = result
        if meter is not None and i in drafted:
            meter.tokens(drafted.index(i), result["tokens"], True)
        if progress:
            progress(result["key"], len(results), total)

    for i in range(total):
        if i not in drafted:
            done(i, _none_result(sections[i], caps[i], index))
    if backend is not None and drafted:
        requests = [build_request(sections[i], llm, caps[i]) for i in drafted]
        if backend.batched:
            _watch(backend, meter, 0)
            for i, gen, req in zip(drafted, _safe_generate(backend, requests), requests, strict=True):
                done(i, _section_result(sections[i], caps[i], gen, index, req))
        else:
            for n, (i, req) in enumerate(zip(drafted, requests, strict=True)):
                _watch(backend, meter, n)
                done(i, _section_result(sections[i], caps[i], _safe_generate(backend, [req])[0], index, req))
        _watch(backend, None, 0)
    return {
        "backend": llm.backend,
        "model": getattr(backend, "model_name", None) if backend else None,
        "token_ceiling": llm.token_ceiling,
        "batched": bool(backend and backend.batched),
        "seconds": round(time.perf_counter() - start, 3),
        "sections": [results[i] for i in range(total)],
    }


def _watch(backend: Backend, meter: Meter | None, offset: int) -> None:
    """Point the backend's token hook at the meter; request i of the next call is section offset + i."""
    if meter is not None:
        backend.on_tokens = lambda i, count, finished: meter.tokens(offset + i, count, finished)
    elif getattr(backend, "on_tokens", None) is not None:
        backend.on_tokens = None


def _safe_generate(backend: Backend, requests: list[Request]) -> list[Generation]:
    """A backend that raises, or answers with the wrong count, fails its sections, not the post."""
    try:
        gens = backend.generate(requests)
    except Exception as exc:
        return [Generation(error=f"{type(exc).__name__}: {exc}") for _ in requests]
    if len(gens) != len(requests):
        return [Generation(error=f"backend returned {len(gens)} texts for {len(requests)} sections") for _ in requests]
    return gens
