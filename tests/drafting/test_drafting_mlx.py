"""The real MLX path on a tiny random MoE model: loading, batching, caps, the server backend."""

from __future__ import annotations

import pytest
from facts_sample import sample_facts

from publisher.config import LLMConfig, SiteConfig
from publisher.drafting import WEEKLY_SECTION_KEYS, draft_weekly, probe_server
from publisher.drafting.backends import MLXBackend, OpenAIBackend, apply_memory_limits
from publisher.errors import DraftError

pytest_plugins = ["drafting_fixtures"]  # the tiny model and mlx_lm.server fixtures

SITE = SiteConfig(stack=["Apple M1 Max, 64GB unified memory"])


def _llm(model_dir, **kw) -> LLMConfig:
    return LLMConfig(backend="mlx", model=str(model_dir), temperature=0.0, **kw)


def test_every_section_stays_under_its_cap_batched_and_sequential(tiny_model_dir):
    for batch in (True, False):
        progress = []
        draft = draft_weekly(sample_facts(), _llm(tiny_model_dir, batch=batch), SITE,
                             progress=lambda k, d, t, p=progress: p.append((k, d, t)))
        assert draft["backend"] == "mlx" and draft["model"] == "tiny-moe" and draft["batched"] is batch
        assert [s["key"] for s in draft["sections"]] == list(WEEKLY_SECTION_KEYS)
        assert [p[1] for p in progress] == [1, 2, 3, 4, 5]
        for s in draft["sections"]:
            assert s["text"]  # random weights: the guard or clean-up usually sends it to the facts-only text
            if s["key"] == "stack":  # the stack list is facts-only by design: no model call
                assert not s["drafted"] and s["tokens"] == 0 and not s["fallback"]
                continue
            assert 0 < s["tokens"] <= s["cap"] < draft["token_ceiling"]
            assert s["finish_reason"] in ("stop", "length")


def test_a_lower_ceiling_lowers_every_cap(tiny_model_dir):
    draft = draft_weekly(sample_facts(), _llm(tiny_model_dir, token_ceiling=40), SITE)
    assert {s["cap"] for s in draft["sections"]} == {39}
    assert all(s["tokens"] <= 39 for s in draft["sections"])


@pytest.mark.parametrize("penalty", [1.0, 1.1])
def test_batched_generation_matches_sequential_with_greedy_decoding(tiny_model_dir, penalty):
    from publisher.drafting.backends import Request

    backend = MLXBackend(_llm(tiny_model_dir, repetition_penalty=penalty), str(tiny_model_dir))
    requests = [Request("Write plainly.", f"Section {i}: the week in numbers.", 12 + 9 * i) for i in range(4)]
    sequential = [backend.generate_one(r) for r in requests]
    batched = backend.generate_batch(requests)
    assert [g.text for g in batched] == [g.text for g in sequential]
    assert [g.tokens for g in batched] == [g.tokens for g in sequential]
    assert all(g.tokens <= r.max_tokens for g, r in zip(batched, requests, strict=True))


def test_a_stop_string_ends_the_generation_batched_and_one_by_one(tiny_model_dir):
    """A rewrite stops at its paragraph's end: the text before the stop string, nothing after."""
    from publisher.drafting.backends import Request

    backend = MLXBackend(_llm(tiny_model_dir, repetition_penalty=1.0), str(tiny_model_dir))
    free = [Request("Write plainly.", f"Section {i}: the week in numbers.", 40) for i in range(3)]
    unstopped = backend.generate_batch(free)
    # a stop string taken from the middle of what each request writes when nothing stops it
    stops = [g.text[len(g.text) // 2:len(g.text) // 2 + 3] for g in unstopped]
    assert all(len(s) == 3 for s in stops)
    stopped = [Request(r.system, r.user, r.max_tokens, stop=(s,)) for r, s in zip(free, stops, strict=True)]
    for generations in (backend.generate_batch(stopped), [backend.generate_one(r) for r in stopped]):
        for gen, full, stop in zip(generations, unstopped, stops, strict=True):
            assert gen.text == full.text.split(stop, 1)[0]
            assert gen.finish_reason == "stop" and gen.tokens < full.tokens


def test_memory_settings_apply_or_are_skipped_never_an_error(tiny_model_dir):
    import mlx.core as mx

    llm = _llm(tiny_model_dir, wired_limit_mb=256, memory_limit_mb=4096, cache_limit_mb=128)
    applied = apply_memory_limits(mx, llm)
    assert set(applied) == {"set_wired_limit", "set_memory_limit", "set_cache_limit"}
    assert applied["set_memory_limit"] is True
    draft = draft_weekly(sample_facts(), llm, SITE)
    assert len(draft["sections"]) == 5


def test_unknown_model_is_a_config_error_that_says_what_to_do(tmp_path):
    with pytest.raises(DraftError, match="publish model"):
        draft_weekly(sample_facts(), LLMConfig(model="no-such-model"), SITE)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DraftError, match="import-gguf"):
        draft_weekly(sample_facts(), LLMConfig(model=str(tmp_path / "empty")), SITE)


def test_openai_backend_drafts_through_a_real_mlx_lm_server(mlx_server):
    llm = LLMConfig(backend="openai", base_url=mlx_server, api_model="default_model", timeout=60, retries=0)
    assert probe_server(llm).endswith("/health")
    draft = draft_weekly(sample_facts(), llm, SITE)
    assert draft["backend"] == "openai" and draft["model"] == "default_model"
    for s in draft["sections"]:
        assert s["fallback_reason"] is None or not s["fallback_reason"].startswith("backend error"), s
        assert 0 < s["tokens"] <= s["cap"] or not s["drafted"]


def test_openai_backend_sends_the_cap_per_request(mlx_server):
    from publisher.drafting.backends import Request

    backend = OpenAIBackend(LLMConfig(backend="openai", base_url=mlx_server, retries=0, timeout=60))
    gens = backend.generate([Request("Be brief.", "Say hi.", 2), Request("Be brief.", "Say hello.", 3)])
    assert [g.error for g in gens] == [None, None]
    assert [(g.tokens, g.finish_reason) for g in gens] == [(2, "length"), (3, "length")]


def test_an_unreachable_server_falls_back_per_section_and_never_raises():
    llm = LLMConfig(backend="openai", base_url="http://127.0.0.1:9/v1", timeout=1, retries=1)
    draft = draft_weekly(sample_facts(), llm, SITE)
    drafted = [s for s in draft["sections"] if s["drafted"]]
    assert [s["key"] for s in drafted] == ["week", "vault", "news", "insight"]
    assert all(s["fallback"] for s in drafted)
    assert all(s["fallback_reason"].startswith("backend error: ") for s in drafted)
    with pytest.raises(DraftError, match="no OpenAI-compatible server answers"):
        probe_server(llm, timeout=1)
