"""A misbehaving LLM never blocks the week: `publish weekly` against a fake OpenAI-compatible server
whose answer depends on the section. One run, five faults:

- "This week in paper trading": the server stalls past the client timeout;
- "Failure vault": an empty completion;
- "News that mattered": more tokens than the section's cap;
- "One operating insight": fluent prose with invented figures;
- "Stack and infra": HTTP 500.

The drafting engine's own tests (test_drafting_engine.py) cover each fault on scripted backends;
these tests cover what the operator sees: the command succeeds and publishes, each section holds
exactly its facts-only text, the draft record and the summary say what happened to which section,
and no invented figure reaches the post, the page, the feed or the email.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from bookmaker import make_native_book, trade
from click.testing import CliRunner
from hostile.cases import CLEAN_ENV
from hostile.safety import check_outputs

from publisher.cli import main
from publisher.config import LLMConfig, load_config
from publisher.drafting import draft_weekly
from publisher.drafting.backends import Generation, Request
from publisher.site.content import parse_front_matter

WEEK = "2026-W16"
INVENTED = ("5,000 USDT", "97.3%", "12,345")
# The stalled section's server answers only when the run is over (or after this safety net), so the run
# can finish only if the client gave up at its own timeout: behaviour, not a wall-clock bound.
RELEASE = threading.Event()
SAFETY_NET_S = 600.0


def answer(text: str, tokens: int) -> tuple[int, dict[str, Any]]:
    return 200, {"choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                 "usage": {"completion_tokens": tokens}}


def fault_for(heading: str, max_tokens: int) -> tuple[int, dict[str, Any] | None]:
    """(HTTP status, JSON body) the fake server answers for one section."""
    if heading.startswith("This week"):
        RELEASE.wait(SAFETY_NET_S)  # the client gave up long ago
        return answer("Too late.", 3)
    if heading.startswith("News"):
        return answer("Bitcoin led the news. " * 40, max_tokens + 57)
    if heading.startswith("One operating insight"):
        return answer(f"The bot made {INVENTED[0]} this week. The win rate hit {INVENTED[1]}. "
                      f"It placed {INVENTED[2]} trades.", 30)
    return 500, None


class FakeServer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming; the health probe before drafting
        self._send(200, {"status": "ok"})

    def do_POST(self) -> None:  # noqa: N802
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        user = payload["messages"][-1]["content"]
        heading = user.split("\n", 1)[0].removeprefix("Section: ")
        status, body = self.server.answer(heading, payload["max_tokens"])  # type: ignore[attr-defined]
        self._send(status, body or {"error": "internal"})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            pass

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def serve(respond: Callable[[str, int], tuple[int, dict[str, Any] | None]]) -> Iterator[str]:
    """A fake OpenAI-compatible server answering with `respond(heading, max_tokens)`; yields its /v1 URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeServer)
    server.answer = respond  # type: ignore[attr-defined]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[str]:
    RELEASE.clear()
    try:
        with serve(fault_for) as url:
            yield url
    finally:
        RELEASE.set()


def new_project(root: Path) -> Path:
    root.mkdir()
    (root / "publisher.toml").write_text('[site]\nurl = "https://ex.org/"\n[book]\npath = "book.sqlite"\n',
                                         encoding="utf-8")
    make_native_book(root / "book.sqlite", trades=[
        trade(1, "BTC/USDT", entry=100, exit=110, opened="2026-04-14T09:00:00Z", closed="2026-04-14T10:00:00Z", id=1),
        trade(1, "ETH/USDT", entry=100, exit=90, opened="2026-04-15T09:00:00Z", closed="2026-04-15T10:00:00Z", id=2),
    ], news=[{"published_at": "2026-04-15T08:00:00Z", "rank": 1, "title": "BTC ETF inflows", "source": "x", "url": ""}])
    return root


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    return new_project(tmp_path / "p")


@pytest.fixture(scope="module")
def faulty_run(fake_llm: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One weekly run against the faulty server: (project, CLI output)."""
    root = new_project(tmp_path_factory.mktemp("faults") / "p")
    # 2 s: long enough that a loaded machine answers the instant sections in time, short for the stall.
    env = {**CLEAN_ENV, "PUBLISHER_LLM_TIMEOUT": "2", "PUBLISHER_LLM_RETRIES": "0"}
    result = CliRunner().invoke(main, ["-C", str(root), "weekly", "--week", WEEK, "--publish", "--llm", "openai",
                                       "--base-url", fake_llm], env=env)
    assert result.exit_code == 0, result.output[-2000:]
    return root, result.output


EXPECTED_REASONS = {  # the stack list is facts-only by design: no request, no fault (empty text: engine tests)
    "week": "backend error",
    "vault": "HTTP 500",
    "news": "over the cap",
    "insight": "guard dropped 3 of 3",
}


def facts_only_texts(root: Path) -> dict[str, str]:
    """What the `none` backend writes for the same fact sheet: the fallback each section must hold."""
    facts = json.loads((root / "content" / "weekly" / f"{WEEK}.facts.json").read_text("utf-8"))
    config = load_config(root, environ={})
    draft = draft_weekly(facts, LLMConfig(backend="none"), config.site)
    return {s["key"]: s["text"] for s in draft["sections"]}


def test_every_kind_of_llm_fault_falls_back_and_is_reported(faulty_run: tuple[Path, str]) -> None:
    project, output = faulty_run

    draft = json.loads((project / "content" / "weekly" / f"{WEEK}.draft.json").read_text("utf-8"))
    sections = {s["key"]: s for s in draft["sections"]}
    fallback = facts_only_texts(project)
    for key, reason in EXPECTED_REASONS.items():
        assert sections[key]["fallback"] is True, key
        assert reason in sections[key]["fallback_reason"], (key, sections[key]["fallback_reason"])
        assert sections[key]["text"] == fallback[key], key  # exactly the facts-only paragraph
        assert f"section '{key}' fell back to facts-only text" in output, key  # the summary says so
    stalled = sections["week"]
    assert "timed out" in stalled["fallback_reason"].lower() or "timeout" in stalled["fallback_reason"].lower()
    assert not RELEASE.is_set()  # the server never answered the stalled section while the run was on
    assert sections["news"]["tokens"] > sections["news"]["cap"]  # the record keeps what the backend claimed
    assert len(sections["insight"]["guard"]["dropped"]) == 3

    post = (project / "content" / "weekly" / f"{WEEK}.md").read_text("utf-8")
    assert "status: published" in post
    outputs = [post] + [p.read_text("utf-8", errors="replace") for p in (project / "site").rglob("*")
                        if p.suffix in (".html", ".xml", ".eml", ".txt")]
    outputs += [p.read_text("utf-8", errors="replace") for p in (project / ".publisher" / "newsletter").rglob("*.eml")]
    for figure in INVENTED:
        assert not any(figure in text for text in outputs), f"{figure} was published"


def test_the_post_itself_is_marked_with_the_fallbacks(faulty_run: tuple[Path, str]) -> None:
    """The operator reviews the post file: its front matter says which sections fell back and why."""
    path = faulty_run[0] / "content" / "weekly" / f"{WEEK}.md"
    meta, _ = parse_front_matter(path.read_text("utf-8"), path)
    fallbacks = meta["drafting"]["fallback"]
    assert meta["drafting"]["backend"] == "openai" and set(fallbacks) == set(EXPECTED_REASONS)
    for key, reason in EXPECTED_REASONS.items():
        assert reason in fallbacks[key], (key, fallbacks[key])


class Exploding:
    """A backend object (the engine's Backend protocol) whose every call raises."""

    name = "exploding"
    model_name = "exploding-1b"
    batched = True

    def generate(self, requests: list[Request]) -> list[Generation]:
        raise RuntimeError("GPU fell off the bus")


def test_a_backend_that_raises_never_blocks_the_week(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import publisher.drafting.engine as engine

    monkeypatch.setattr(engine, "make_backend", lambda llm, log=None: Exploding())
    result = CliRunner().invoke(main, ["-C", str(project), "weekly", "--week", WEEK, "--publish", "--llm", "mlx"],
                                env=CLEAN_ENV)
    assert result.exit_code == 0, result.output[-2000:]
    draft = json.loads((project / "content" / "weekly" / f"{WEEK}.draft.json").read_text("utf-8"))
    assert draft["model"] == "exploding-1b"
    fallback = facts_only_texts(project)
    for section in draft["sections"]:
        assert section["text"] == fallback[section["key"]]
        if section["key"] == "stack":  # facts-only by design: never asked of the model, so it cannot fall back
            assert not section["drafted"] and not section["fallback"]
            continue
        assert section["fallback_reason"] == "backend error: RuntimeError: GPU fell off the bus"
        assert f"section '{section['key']}' fell back" in result.output
    assert (project / "site" / "index.html").is_file()


# Every sentence names a figure of the week section, so the empty-sentence filter keeps the markup there.
HOSTILE_PROSE = ("The books closed 2 round-trips this week. Read <img src=x onerror=alert(1)> and "
                 "[the thread](javascript:alert(1)) on the 2 round-trips now. ![pixel](https://evil.example/p.png) "
                 "Trust <script>alert(2)</script> the 2 round-trips.")


def test_llm_markup_is_inert_text(project: Path) -> None:
    """Model output is untrusted Markdown: its tags, links and images never become live in any output."""
    with serve(lambda heading, max_tokens: answer(HOSTILE_PROSE, 40)) as url:
        result = CliRunner().invoke(main, ["-C", str(project), "weekly", "--week", WEEK, "--publish", "--llm",
                                           "openai", "--base-url", url], env=CLEAN_ENV)
    assert result.exit_code == 0, result.output[-2000:]
    draft = json.loads((project / "content" / "weekly" / f"{WEEK}.draft.json").read_text("utf-8"))
    week = draft["sections"][0]
    assert not week["fallback"] and "javascript:" in week["text"]  # the prose was used, so the check means something
    assert check_outputs(project / "site") == []
    for path in (project / "site").rglob("*.html"):
        assert "evil.example/p.png\"" not in path.read_text("utf-8")  # never an image source
