"""The OpenAI-compatible backend's retry paths, against a local fake server: a rate limit (429) is
retried after a pause, a strict server's 400 for `repetition_penalty` is retried once without it,
and any other 4xx is not retried (it would fail the same way)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import publisher.drafting.backends as backends
from publisher.config import LLMConfig
from publisher.drafting.backends import OpenAIBackend, Request

OK = {"choices": [{"message": {"role": "assistant", "content": "Fine."}, "finish_reason": "stop"}],
      "usage": {"completion_tokens": 2}}


class Server:
    """Answers each POST with the next (status, body) of `script` and records the payloads."""

    def __init__(self, script: list[tuple[int, dict[str, Any]]]) -> None:
        self.script = list(script)
        self.payloads: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers["Content-Length"])
                server.payloads.append(json.loads(self.rfile.read(length)))
                status, body = server.script.pop(0)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"


@pytest.fixture()
def serve() -> Iterator[Any]:
    servers: list[Server] = []

    def start(script: list[tuple[int, dict[str, Any]]]) -> Server:
        server = Server(script)
        threading.Thread(target=server.httpd.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.httpd.shutdown()
        server.httpd.server_close()


@pytest.fixture()
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff pauses the backend asked for (not slept: the test stays fast)."""
    slept: list[float] = []
    monkeypatch.setattr(backends.time, "sleep", slept.append)
    return slept


def backend(url: str, **llm: Any) -> OpenAIBackend:
    return OpenAIBackend(LLMConfig(backend="openai", base_url=url, timeout=5.0, **llm))


REQUEST = Request(system="You write.", user="Write.", max_tokens=50)


def test_rate_limit_is_retried_after_a_pause(serve: Any, pauses: list[float]) -> None:
    server = serve([(429, {"error": "slow down"}), (429, {"error": "slow down"}), (200, OK)])
    result = backend(server.url, retries=2).generate_one(REQUEST)
    assert (result.text, result.tokens, result.error) == ("Fine.", 2, None)
    assert len(server.payloads) == 3
    assert pauses == [0.5, 1.0]  # exponential backoff between the attempts


def test_rate_limit_past_the_retries_is_reported_not_raised(serve: Any, pauses: list[float]) -> None:
    server = serve([(429, {})] * 2)
    result = backend(server.url, retries=1).generate_one(REQUEST)
    assert result.text == "" and result.error == f"HTTP 429 from {server.url}/chat/completions"
    assert len(server.payloads) == 2


def test_a_400_for_repetition_penalty_is_retried_once_without_it(serve: Any, pauses: list[float]) -> None:
    server = serve([(400, {"error": "unknown field repetition_penalty"}), (200, OK)])
    result = backend(server.url, retries=2, repetition_penalty=1.1).generate_one(REQUEST)
    assert result.text == "Fine."
    assert [p.get("repetition_penalty") for p in server.payloads] == [1.1, None]
    assert pauses == []  # nothing to wait for: the request itself was wrong


def test_another_client_error_is_not_retried(serve: Any, pauses: list[float]) -> None:
    server = serve([(400, {"error": "bad"}), (401, {"error": "no key"}), (200, OK)])
    result = backend(server.url, retries=2, repetition_penalty=1.1).generate_one(REQUEST)
    assert result.error == f"HTTP 401 from {server.url}/chat/completions"
    assert len(server.payloads) == 2  # the 400 without the penalty, then the 401: given up
