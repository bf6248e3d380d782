"""Progress while drafting: a live token count per section, on a TTY and in a log, never silent."""

from __future__ import annotations

import io
import re
import threading

import pytest
from facts_sample import sample_facts

from publisher.common.progress import Progress
from publisher.config import LLMConfig, SiteConfig
from publisher.drafting import WEEKLY_SECTION_KEYS, draft_weekly

pytest_plugins = ["drafting_fixtures"]  # the tiny model

SITE = SiteConfig(stack=["Apple M1 Max, 64GB unified memory"])
STATUS = re.compile(r"^  drafting: (\d)/4 sections, (\d+) tokens, ")  # the stack list is not drafted


class CountingProgress(Progress):
    """Counts the token reports the engine sends, to compare with the lines written."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.reports = 0

    def tokens(self, index: int, count: int, finished: bool = False) -> None:
        self.reports += 1
        super().tokens(index, count, finished)


@pytest.mark.parametrize("batch", [True, False])
def test_a_log_gets_a_status_line_per_token_batch_with_every_sections_count(tiny_model_dir, batch):
    out = io.StringIO()
    progress = CountingProgress(out, tty=False, interval=0, heartbeat=0)
    llm = LLMConfig(backend="mlx", model=str(tiny_model_dir), temperature=0.0, batch=batch)
    with progress.stage("draft"):
        draft = draft_weekly(sample_facts(), llm, SITE, meter=progress)
    lines = [line for line in out.getvalue().splitlines() if STATUS.match(line)]
    generated = sum(s["tokens"] for s in draft["sections"])
    # one line when drafting starts, then one per token report: each token step is visible
    assert progress.reports >= generated > 0
    assert len(lines) == 1 + progress.reports
    totals = [int(STATUS.match(line).group(2)) for line in lines]
    assert totals[0] == 0 and max(totals) >= generated
    last = lines[-1]
    assert STATUS.match(last).group(1) == "4"
    for s in draft["sections"]:
        assert (f"{s['key']} {s['tokens']}/{s['cap']} done" in last) is s["drafted"]
    assert "tok/s" in last


def test_a_tty_gets_a_bar_redrawn_in_place_with_tokens_per_second(tiny_model_dir):
    out = io.StringIO()
    progress = Progress(out, tty=True, interval=0, heartbeat=0)
    llm = LLMConfig(backend="mlx", model=str(tiny_model_dir), temperature=0.0)
    with progress.stage("draft (mlx: tiny-moe)"):
        draft = draft_weekly(sample_facts(), llm, SITE, meter=progress,
                             progress=lambda k, d, t: progress.step(k, d, t))
    frames = [f for f in out.getvalue().split("\r") if "tok/s" in f]
    assert len(frames) > sum(s["tokens"] for s in draft["sections"]) // 2
    assert any("[████████████████] 4/4" in f for f in frames)
    assert all(key in frames[-1] for key in WEEKLY_SECTION_KEYS[:2]), frames[-1]  # the first sections fit in 79 columns
    assert out.getvalue().rstrip().endswith("s)") and "✓ draft (mlx: tiny-moe)" in out.getvalue()


def test_the_facts_only_backend_shows_no_token_meter():
    out = io.StringIO()
    progress = Progress(out, tty=False, interval=0, heartbeat=0)
    with progress.stage("draft (facts only)"):
        draft_weekly(sample_facts(), LLMConfig(backend="none"), SITE, meter=progress)
    assert "drafting:" not in out.getvalue()


def test_a_stage_that_prints_nothing_gets_heartbeat_lines():
    """A silent step (a download, a conversion, prompt processing) still shows the stage is alive."""
    out = io.StringIO()
    progress = Progress(out, tty=False, heartbeat=0.05)
    seen = threading.Event()

    class Watch(io.StringIO):
        def write(self, text: str) -> int:
            if "… convert model (" in text:
                seen.set()
            return out.write(text)

    progress.stream = Watch()
    with progress.stage("convert model"):
        assert seen.wait(10), "no heartbeat line while the stage was silent"
    assert re.search(r"^  … convert model \(\d+s\)$", out.getvalue(), re.M)
    assert out.getvalue().rstrip().splitlines()[-1].startswith("✓ convert model (")


def test_heartbeat_repeats_the_token_status_while_prompts_are_read():
    out = io.StringIO()
    progress = Progress(out, tty=False, interval=60, heartbeat=0.05)
    with progress.stage("draft"):
        progress.sections([("week", 136), ("vault", 168)])
        start = out.getvalue().count("drafting:")
        for _ in range(1000):
            if out.getvalue().count("drafting:") > start:
                break
            threading.Event().wait(0.01)
    assert "drafting: 0/2 sections, 0 tokens, reading the prompts" in out.getvalue()
    assert out.getvalue().count("drafting:") > start
