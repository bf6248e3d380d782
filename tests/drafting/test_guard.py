"""The fabrication guard: wrong numbers and unknown tickers are dropped, correct sentences kept."""

from __future__ import annotations

from decimal import Decimal

import pytest
from facts_sample import sample_facts
from hypothesis import given
from hypothesis import strategies as st

from publisher.drafting.guard import check_sentence, extract_numbers, guard_text, index_facts

STACK = ["Apple M1 Max, 64GB unified memory", "MLX Qwen 3.6 35B-A3B 8-bit quant"]


@pytest.fixture(scope="module")
def index():
    return index_facts(sample_facts(), extra_texts=STACK)


# Sentences a model could write from sample_facts(), each with its figures shown the way the
# templates round them (or with the sign dropped, or as a word).
CORRECT = [
    "The books closed 24 round-trips this week with a win rate of 50.0%.",
    "Realized PnL came to -0.70 USDT across both books.",
    "That is a loss of 0.7 USDT, small against 2,000.00 USDT of starting equity.",
    "The standard book lost $1.55 while the inverted book made +0.85 USDT.",
    "Ten losing trades cost 12.50 USDT in total, and seven of them have a post-mortem.",
    "Execution slippage was the largest cluster with 6 trades and -7.75 USDT.",
    "APT/USDT was hit hardest, with four losses worth 5.20 USDT.",
    "The shipped change cuts position size 25% and has 65% confidence.",
    "APT/USDT is paused for 48 hours, an adjustment held at 85% confidence.",
    "The R:R ratio was 1.20 and the profit factor 0.87x.",
    "An average win of 1.50 USDT did not cover an average loss of 1.25 USDT.",
    "Max drawdown stayed at 0.31% for the week.",
    "BTC/USDT was the best symbol for the standard book.",
    "BTC carried the standard book while APT dragged on it.",
    "The win rate interval runs from 19.3% to 68.0% because the sample is small.",
    "Two news items made the list, from CoinGecko Trending.",
    "This was week 16 of 2026.",
    "The model runs on an Apple M1 Max with 64GB of unified memory.",
    "Fees were 1.23 USDT.",
    "Twelve round-trips per book is too few to judge the edge.",
]

# The same kind of sentences with one figure or name changed: every one must be dropped.
WRONG = [
    "The books closed 23 round-trips this week with a win rate of 50.0%.",
    "The books closed 24 round-trips this week with a win rate of 51.0%.",
    "Realized PnL came to -0.71 USDT across both books.",
    "That is a loss of 0.6 USDT.",
    "The standard book lost $1.65 while the inverted book made +0.85 USDT.",
    "Fourteen losing trades cost 12.50 USDT in total.",
    "Execution slippage was the largest cluster with 6 trades and -7.57 USDT.",
    "APT/USDT was hit hardest, with four losses worth 5.30 USDT.",
    "The shipped change cuts position size 30% and has 65% confidence.",
    "The R:R ratio was 1.45.",
    "The profit factor was 3x.",
    "Max drawdown stayed at 4.7% for the week.",
    "SOL/USDT was the best symbol for the standard book.",
    "DOGE carried the standard book.",
    "$PEPE led the trending list.",
    "The win rate interval runs from 19.3% to 72.0%.",
    "Seventeen news items made the list.",
    "This was week 17 of 2026.",
    "The model runs on 128GB of unified memory.",
    "Expectancy was 2.4 USDT per trade.",
    "A ratio of 3:1 held all week.",
    "The bot made 1,250.00 USDT this week.",
    "Win rate improved by 12.5 percent.",
]


@pytest.mark.parametrize("sentence", CORRECT)
def test_correct_sentences_are_kept(index, sentence):
    assert check_sentence(sentence, index) is None


@pytest.mark.parametrize("sentence", WRONG)
def test_wrong_figures_and_names_are_caught(index, sentence):
    reason = check_sentence(sentence, index)
    assert reason is not None and ("not in facts" in reason or "not the figure it is claimed for" in reason)


def test_guard_text_drops_only_the_bad_sentences_and_says_why(index):
    text = ("The books closed 24 round-trips this week. The win rate was 62.5%. "
            "Execution slippage was the largest cluster.\n\nSOL/USDT was never traded.")
    result = guard_text(text, index)
    assert result.text == "The books closed 24 round-trips this week. Execution slippage was the largest cluster."
    assert result.kept == 2
    assert result.dropped == [
        {"sentence": "The win rate was 62.5%.", "reason": "number 62.5% not in facts"},
        {"sentence": "SOL/USDT was never traded.", "reason": "symbol SOL/USDT not in facts"},
    ]


def test_guard_drops_repeated_sentences(index):
    result = guard_text("Fees were 1.23 USDT. Fees were 1.23 USDT. Fees were 1.23 USDT.", index)
    assert result.text == "Fees were 1.23 USDT."
    assert [d["reason"] for d in result.dropped] == ["repeated sentence", "repeated sentence"]


def test_list_items_are_checked_one_by_one(index):
    result = guard_text("- 24 round-trips\n- 99 losing trades\n- 50.0% win rate", index)
    assert result.text == "- 24 round-trips\n- 50.0% win rate"
    assert result.dropped[0]["reason"] == "number 99 not in facts"


def test_clock_times_of_timestamps_are_not_figures():
    index = index_facts({"at": "2026-04-14T09:42:00+00:00", "week": {"start": "2026-04-13T00:00:00+00:00"}})
    assert check_sentence("The week started on April 13, 2026.", index) is None
    assert check_sentence("It lost 42 USDT.", index) is not None


@pytest.mark.parametrize(("text", "values", "kinds"), [
    ("a win rate of 38.1%", ["38.1"], ["percent"]),
    ("lost -34.58 USDT", ["34.58"], ["money"]),
    ("made $1,003.20", ["1003.20"], ["money"]),
    ("a 3x multiplier", ["3"], ["multiplier"]),
    ("R:R of 1:2.5", ["1", "2.5"], ["ratio", "ratio"]),
    ("twenty-five trades and a dozen wins", ["25", "12"], ["word", "word"]),
    ("week W16 on Qwen3 and v1.2", [], []),
    ("no one trade", [], []),
])
def test_extract_numbers_reads_what_a_reader_sees(text, values, kinds):
    found = extract_numbers(text)
    assert [str(n.value) for n in found] == values
    assert [n.kind for n in found] == kinds


@given(
    value=st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
    decimals=st.integers(min_value=0, max_value=2),
    sign=st.sampled_from(["", "-", "+"]),
    suffix=st.sampled_from(["", "%", " USDT", "x"]),
    prefix=st.sampled_from(["The figure was ", "(", "about "]),
    commas=st.booleans(),
)
def test_extractor_finds_any_formatted_number(value, decimals, sign, suffix, prefix, commas):
    shown = f"{value:,.{decimals}f}" if commas else f"{value:.{decimals}f}"
    found = extract_numbers(f"{prefix}{sign}{shown}{suffix} this week.")
    assert len(found) == 1
    assert found[0].value == Decimal(shown.replace(",", ""))
    assert found[0].decimals == decimals


@given(
    figure=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    decimals=st.integers(min_value=0, max_value=2),
)
def test_every_display_rounding_of_a_figure_passes(figure, decimals):
    index = index_facts({"x": {"value": figure, "unit": "USDT"}})
    assert check_sentence(f"It came to {figure:.{decimals}f} USDT.", index) is None
    assert check_sentence(f"It came to {abs(figure):.{decimals}f} USDT.", index) is None


@given(figure=st.floats(min_value=0, max_value=1e5, allow_nan=False), delta=st.integers(min_value=1, max_value=999))
def test_a_figure_off_by_a_displayed_unit_is_caught(figure, delta):
    index = index_facts({"x": {"value": round(figure, 2), "unit": "USDT"}})
    wrong = round(figure, 2) + delta / 100 + 1000  # far from every rounding of the figure
    assert check_sentence(f"It came to {wrong:.2f} USDT.", index) is not None


def _perturbed(number, index):
    """The nearest wrong value, as written with the same decimals, that no figure rounds to."""
    step = Decimal(1).scaleb(-number.decimals)
    for k in range(1, 50):
        candidate = number.value + k * step
        if not index.matches(type(number)(str(candidate), candidate, number.decimals, number.kind)):
            return candidate
    raise AssertionError(f"no wrong value near {number.text}")


def test_every_number_injected_into_drafted_sections_is_caught():
    """Each figure of the facts-only sections, nudged to a nearby wrong value, gets its sentence dropped."""
    from publisher.config import LLMConfig, SiteConfig
    from publisher.drafting import weekly_sections
    from publisher.drafting.guard import split_sentences

    facts = sample_facts()
    site = SiteConfig(stack=STACK)
    index = index_facts(facts, STACK)
    injected = 0
    for section in weekly_sections(facts, site, LLMConfig(backend="none")):
        for sentence in split_sentences(section.fallback.replace("\n\n", " ")):
            assert check_sentence(sentence, index) is None
            for number in extract_numbers(sentence):
                if number.kind == "word":
                    continue
                wrong = _perturbed(number, index)
                digits = number.text.lstrip("+-−–$€£").split()[0].rstrip("%x×")
                assert digits in sentence
                bad = sentence.replace(digits, f"{wrong:,.{number.decimals}f}" if "," in digits else
                                       f"{wrong:.{number.decimals}f}", 1)
                assert check_sentence(bad, index) is not None, bad
                injected += 1
    # the facts-only texts state the findings (13 figures in the sample); the figure lists are the template's
    assert injected >= 12


def test_a_share_is_bound_to_the_cause_the_sentence_names():
    """A nested record with a root cause (the concentration finding's top cluster) is qualified by
    it, so "Technical failure caused 55.0% of the losses" binds to that cluster's share, not to the
    finding's text, where "caused 11.1%" is said of the top symbol."""
    facts = {"currency": "USDT", "findings": [{
        "kind": "concentration", "rank": 1, "score": 0.1,
        "text": "Concentration: ADA/USDT caused 11.1% of the week's 75.76 USDT of losses, and the technical "
                "failure cluster 55.0%.",
        "loss": {"value": -75.76, "unit": "USDT"},
        "top_symbol": {"symbol": "ADA/USDT", "loss": {"value": -8.39, "unit": "USDT"},
                       "share": {"value": 11.07, "unit": "%"}},
        "top_cluster": {"label": "Technical failure", "root_cause": "technical",
                        "loss": {"value": -41.63, "unit": "USDT"}, "share": {"value": 54.95, "unit": "%"}},
    }]}
    index = index_facts(facts)
    assert check_sentence("Technical failure caused 55.0% of the week's losses.", index) is None
    assert check_sentence("Execution slippage caused 55.0% of the week's losses.", index) is not None
    assert check_sentence("ADA/USDT caused 55.0% of the week's losses.", index) is not None
