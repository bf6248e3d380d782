"""The section engine with the `none` backend and scripted backends: caps, fallbacks, clean-up."""

from __future__ import annotations

import json

import pytest
from facts_sample import quiet_facts, sample_facts

from publisher.config import LLMConfig, SiteConfig
from publisher.drafting import WEEKLY_SECTION_KEYS, draft_weekly, section_cap, weekly_sections
from publisher.drafting.backends import Generation, Request
from publisher.drafting.engine import clean_text, draft_sections
from publisher.drafting.guard import index_facts
from publisher.drafting.plan import drafting_line
from publisher.errors import DraftError

SITE = SiteConfig(stack=["Apple M1 Max, 64GB unified memory", "MLX Qwen 3.6 35B-A3B 8-bit quant"])


class Scripted:
    """A backend that answers each section from a script (by the section heading in the prompt)."""

    name = "scripted"
    model_name = "scripted"

    def __init__(self, answers: dict[str, Generation | Exception], batched: bool = True) -> None:
        self.answers = answers
        self.batched = batched
        self.requests: list[Request] = []

    def generate(self, requests: list[Request]) -> list[Generation]:
        self.requests += requests
        out = []
        for req in requests:
            heading = req.user.split("\n", 1)[0].removeprefix("Section: ")
            answer = self.answers.get(heading, Generation(_notes_first_sentence(req.user), 6, "stop", 0.1))
            if isinstance(answer, Exception):
                raise answer
            out.append(answer)
        return out


def _notes_first_sentence(user: str) -> str:
    """What a model that only rewrites would write: the first sentence of the section's notes."""
    notes = user.split("Notes: ", 1)[1].split("\nMain point:", 1)[0]
    return notes.split(". ", 1)[0].rstrip(".") + "."


def _draft(answers: dict, llm: LLMConfig | None = None, batched: bool = True, facts: dict | None = None) -> dict:
    facts = facts or sample_facts()
    llm = llm or LLMConfig(backend="mlx")
    backend = Scripted(answers, batched)
    sections = weekly_sections(facts, SITE, llm)
    # the index draft_weekly builds: the stack and the line that says how the issue was drafted
    return draft_sections(sections, llm, index_facts(facts, [*SITE.stack, drafting_line(llm)]), backend=backend)


@pytest.mark.parametrize("facts", [sample_facts(), quiet_facts()], ids=["busy", "quiet"])
def test_none_backend_drafts_every_section_from_facts_only(facts):
    calls = []
    draft = draft_weekly(facts, LLMConfig(backend="none"), SITE, progress=lambda *a: calls.append(a))
    assert [s["key"] for s in draft["sections"]] == list(WEEKLY_SECTION_KEYS)
    assert calls == [(k, i, 5) for i, k in enumerate(WEEKLY_SECTION_KEYS, 1)]
    assert draft["backend"] == "none" and draft["model"] is None and draft["batched"] is False
    for s in draft["sections"]:
        assert s["text"].strip()
        assert s["guard"]["dropped"] == []  # the templates only print figures of the facts
        assert not s["fallback"]
        assert s["tokens"] <= s["cap"] < 500
    json.dumps(draft)  # stored beside the post


def test_none_backend_text_says_what_the_lists_do_not():
    """The figures, clusters, adjustments and stack are listed by the template: the facts-only text
    reads them against last week and the control, reports the fix check and builds the insight on
    the top finding, without repeating the lists."""
    draft = draft_weekly(sample_facts(), LLMConfig(backend="none"), SITE)
    text = {s["key"]: s["text"] for s in draft["sections"]}
    assert "Against the previous week, the loss narrowed." in text["week"]  # -9.00 then, -1.55 now
    assert "not distinguishable from zero" in text["week"]
    assert "12 round-trips" not in text["week"]
    assert "losses per trade went from 0.436 to 0.220 USDT (-50%)" in text["vault"]
    assert "cut position size 25%" in text["vault"] and "pause for 48 hours" not in text["vault"]
    assert text["insight"].startswith("Control test: the standard book minus its mirror made -2.28 USDT")
    assert "Apple M1 Max" not in text["stack"] and "facts-only templates" in text["stack"]


def test_quiet_week_says_so():
    draft = draft_weekly(quiet_facts(), LLMConfig(backend="none"), SiteConfig())
    text = {s["key"]: s["text"] for s in draft["sections"]}
    assert text["week"].startswith("No round-trip closed this week")
    assert "No news item" in text["news"]
    assert "demo.sqlite" in text["stack"]


def test_caps_follow_target_length_and_stay_under_the_ceiling():
    llm = LLMConfig()
    assert section_cap(70, llm) == 136
    assert section_cap(1000, llm) == 400  # default upper bound
    assert section_cap(1000, LLMConfig(token_ceiling=300)) == 299
    assert section_cap(1000, LLMConfig(max_tokens=250)) == 250
    with pytest.raises(DraftError, match="at or above token_ceiling"):
        section_cap(100, LLMConfig(max_tokens=500, token_ceiling=500))


def test_sections_never_see_each_other():
    backend = Scripted({})
    llm = LLMConfig()
    sections = weekly_sections(sample_facts(), SITE, llm)
    draft_sections(sections, llm, index_facts(sample_facts()), backend=backend)
    drafted = [s for s in sections if s.model]
    assert [s.key for s in drafted] == ["week", "vault", "news", "insight"]  # the stack list is not drafted
    assert len(backend.requests) == 4
    for req, own in zip(backend.requests, drafted, strict=True):
        assert req.max_tokens < llm.token_ceiling
        # the notes are given on one line: a blank line inside them would read as the paragraph's end
        assert " ".join((own.notes or own.fallback).split()) in req.user
        assert not any(" ".join((other.notes or other.fallback).split()) in req.user
                       for other in sections if other is not own)


def test_good_text_is_kept_and_bad_sentences_are_reported():
    draft = _draft({"One operating insight": Generation(
        "## One operating insight\n\nThe win rate was 41.7% on 12 round-trips. Expectancy was negative. "
        "The bot made 5,000 USDT.", 40, "stop", 1.5)})
    insight = draft["sections"][3]
    said, tail = insight["text"].split("\n\n", 1)
    assert said == "The win rate was 41.7% on 12 round-trips."  # the headline book's
    assert tail.startswith("The standard side won 5 of 12 paired trades")  # facts-only: the test's figures
    assert insight["guard"] == {"kept": 2, "dropped": [{"sentence": "The bot made 5,000 USDT.",
                                                        "reason": "number 5,000 USDT not in facts"}]}
    assert insight["vacuous"] == ["Expectancy was negative."]  # names no figure, symbol or cause
    assert insight["tokens"] == 40 and insight["finish_reason"] == "stop" and not insight["fallback"]


def test_a_looping_model_publishes_each_sentence_once():
    said = "The win rate was 41.7% on 12 round-trips."
    draft = _draft({"One operating insight": Generation(f"{said} {said}\n\n{said} {said}", 60, "length")})
    insight = draft["sections"][3]
    assert insight["text"].split("\n\n")[0] == said and insight["text"].count(said) == 1 and not insight["fallback"]


@pytest.mark.parametrize(("answer", "reason"), [
    (Generation(error="TimeoutError: timed out"), "backend error: TimeoutError: timed out"),
    (Generation("", 0, "stop"), "empty text"),
    (Generation("Fees were 1.23 USDT.", 900, "length"), "over the cap: 900 tokens > 69"),  # 28 words at most
    (Generation("The trade went wrong again and " * 20 + "it ended.", 60, "stop"), "repetitive output"),
    (Generation("It made 5,000 USDT. Win rate 99%. Fees were 1.23 USDT.", 30, "stop"), "guard dropped 2 of 3 sentences"),
    (Generation("The books closed 24 round-trips and then the", 69, "length"), "no complete sentence before the cap"),
])
def test_a_failing_section_falls_back_to_facts_only_text(answer, reason):
    draft = _draft({"One operating insight": answer})
    insight = draft["sections"][3]
    facts_only = weekly_sections(sample_facts(), SITE, LLMConfig())[3].fallback
    assert insight["fallback"] is True
    assert insight["fallback_reason"] == reason
    assert insight["text"] == facts_only
    assert [s["fallback"] for s in draft["sections"]] == [False, False, False, True, False]


def test_a_backend_that_raises_fails_its_sections_not_the_post():
    for batched in (True, False):
        draft = _draft({"News that mattered": RuntimeError("server went away")}, batched=batched)
        news = draft["sections"][2]
        assert news["fallback"] and news["fallback_reason"] == "backend error: RuntimeError: server went away"
        assert len(draft["sections"]) == 5


def test_clean_text_strips_what_the_template_owns():
    raw = ("Section: News that mattered Task: say it\n# News that mattered\n<div onclick=x>hi</div>\n"
           "```python\nprint(1)\n```\nBitcoin led the list.<|im_end|> More <b>news</b> came in.\n\nThe tape was quiet and")
    assert clean_text(raw, "News that mattered", "length") == "Bitcoin led the list. More news came in."


def test_an_unfinished_last_sentence_is_dropped_whatever_stopped_the_model():
    # cut by the cap right after a number's point: it ends in "." and is still unfinished
    assert clean_text("Fees were 1.23 USDT. The edge was +0.", "x", "length") == "Fees were 1.23 USDT."
    # a paragraph that ends mid-sentence at a stop string
    assert clean_text("Fees were 1.23 USDT. Against its mirror it made +9", "x", "stop") == "Fees were 1.23 USDT."
    assert clean_text("Fees were 1.23 USDT (0.5% of volume)", "x", "stop") == "Fees were 1.23 USDT (0.5% of volume)"


def test_sentences_copied_from_the_prompt_are_dropped():
    draft = _draft({"This week in paper trading": Generation(
        "You rewrite the notes of a paper-trading bot's weekly log as one short paragraph of its newsletter. "  # the prompt's rules
        "The standard book closed 12 round-trips. Half of them won.", 30, "stop")})
    week = draft["sections"][0]
    assert week["text"].split("\n\n")[0] == "The standard book closed 12 round-trips."
    assert week["guard"]["dropped"][0]["reason"] == "copied from the prompt"
    assert week["vacuous"] == ["Half of them won."]


def test_a_section_left_with_only_empty_sentences_falls_back_and_says_so():
    draft = _draft({"News that mattered": Generation(
        "The market moved a lot this week. Many things happened, and the team kept going.", 20, "stop")})
    news = draft["sections"][2]
    assert news["fallback"] and news["text"] == weekly_sections(sample_facts(), SITE, LLMConfig())[2].fallback
    assert news["fallback_reason"].startswith("no sentence names a figure, symbol, root cause")
    assert len(news["vacuous"]) == 2


def test_a_rewrite_keeps_its_point_and_the_facts_only_text_follows():
    """Each drafted section says one point; what the point leaves out (whether the fixes worked, why
    the finding matters, the week against the last) follows it as facts-only text, never dropped."""
    draft = _draft({})
    text = {s["key"]: s["text"] for s in draft["sections"]}
    facts_only = {s.key: s.fallback for s in weekly_sections(sample_facts(), SITE, LLMConfig())}
    assert text["vault"] == "Execution slippage did the most damage: 6 trades, -7.75 USDT.\n\n" + facts_only["vault"]
    assert "losses per trade went from 0.436 to 0.220 USDT (-50%)" in text["vault"]
    assert text["week"] == "The week lost money: realized PnL was -1.55 USDT.\n\n" + facts_only["week"]
    assert text["news"].count("\n\n") == 0  # its point says it all
    # the insight: its point, then the test's figures the point leaves out (not its verdict again),
    # then why that kind of finding matters
    point, details, why = text["insight"].split("\n\n")
    assert point == ("The standard book's edge over its inverted mirror was -2.28 USDT this week, and the edge "
                     "was not distinguishable from zero.")
    assert details == "The standard side won 5 of 12 paired trades (sign test p = 0.77, median difference interval -2.10 to +1.90 USDT)."
    assert why.startswith("The inverted book takes the same signals on the other side")


@pytest.mark.parametrize(("said", "published"), [
    # a superlative the facts do not make: the clause that holds it is cut
    ("The week lost money: realized PnL was -1.55 USDT, the biggest drop on record.",
     "The week lost money: realized PnL was -1.55 USDT."),
    # a negation the vault's facts do not hold turns the point around: the sentence goes
    ("Execution slippage did the most damage: 6 trades, -7.75 USDT. It was not ETH/USDT.",
     "Execution slippage did the most damage: 6 trades, -7.75 USDT."),
])
def test_claims_of_the_models_own_are_cut(said, published):
    heading = "This week in paper trading" if said.startswith("The week") else "Failure vault: what broke, what changed"
    draft = _draft({heading: Generation(said, 30, "stop")})
    section = next(s for s in draft["sections"] if s["heading"] == heading)
    assert section["text"].split("\n\n")[0] == published and not section["fallback"]
    assert section["trimmed"] and section["trimmed"][0] in said


def test_a_sentence_naming_a_cluster_claims_the_clusters_figures():
    """"Execution slippage: 6 trades, -7.75 USDT" is the cluster's count and loss, even where a
    finding's text shares more of its words; another cluster's loss in its place is caught."""
    index = index_facts(sample_facts())
    from publisher.drafting.guard import guard_text

    assert guard_text("Execution slippage: 6 trades, -7.75 USDT.", index).kept == 1
    wrong = guard_text("Execution slippage: 6 trades, -4.75 USDT.", index)  # the other cluster's loss
    assert wrong.kept == 0 and "not" in wrong.dropped[0]["reason"]


def test_a_rewrite_that_loses_its_points_figures_is_not_published():
    """The vault's point names a cluster's count and loss: a sentence that names the cluster and
    nothing else ("far-reaching consequences") has dropped the point, however on-topic it sounds."""
    draft = _draft({"Failure vault: what broke, what changed": Generation(
        "Execution slippage had far-reaching consequences for the entire market.", 20, "stop")})
    vault = draft["sections"][1]
    assert vault["fallback"] and vault["fallback_reason"].startswith("no sentence names a figure")
    assert vault["vacuous"] == ["Execution slippage had far-reaching consequences for the entire market."]


def test_without_a_failure_vault_the_point_is_the_weeks_losing_trades():
    """A Freqtrade book has no post-mortems, so no clusters: the point must not say "no losing trade"."""
    facts = sample_facts()
    facts["vault"]["clusters"] = []
    vault = next(s for s in weekly_sections(facts, SITE, LLMConfig()) if s.key == "vault")
    losing, loss = facts["vault"]["losing_trades"]["value"], facts["vault"]["total_loss"]["value"]
    assert vault.point == f"{losing} losing trades cost {loss:.2f} USDT this week."


def test_a_large_model_rewrites_the_whole_facts_only_text():
    """With `[llm] max_tokens` set the model has room: it is given the facts-only text around the
    point, and its paragraph is published alone (nothing is appended to say it twice)."""
    llm = LLMConfig(backend="mlx", max_tokens=300)
    small = {s.key: s for s in weekly_sections(sample_facts(), SITE, LLMConfig(backend="mlx"))}
    backend = Scripted({})
    sections = weekly_sections(sample_facts(), SITE, llm)
    draft = draft_sections(sections, llm, index_facts(sample_facts(), [*SITE.stack, drafting_line(llm)]),
                           backend=backend)
    vault_request = next(r for r in backend.requests if r.user.startswith("Section: Failure vault"))
    assert " ".join(small["vault"].fallback.split()) in vault_request.user  # the fix checks are the model's to say
    assert small["vault"].tail and all(not s.tail for s in sections)
    vault = draft["sections"][1]
    assert "\n\n" not in vault["text"] and not vault["fallback"]
