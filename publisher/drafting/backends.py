"""Generation backends behind one small interface: in-process mlx-lm, or an OpenAI-compatible server.

A backend turns requests (system prompt, user prompt, token cap) into generations (text, tokens
generated as counted by the generator itself, finish reason, seconds). A failure of one request is
returned as that generation's `error`, never raised: the engine falls back for that section only.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from publisher.config import LLMConfig
from publisher.errors import DraftError


@dataclass(frozen=True)
class Request:
    system: str
    user: str
    max_tokens: int
    # The fact lines whose numbers and tickers are the only ones the mlx backend lets the model
    # write (constrain.py); None leaves decoding unconstrained. Servers ignore it: the guard checks.
    allowed: tuple[str, ...] | None = None
    # Worked examples shown before the request as earlier turns of the chat: (user, assistant).
    examples: tuple[tuple[str, str], ...] = ()
    # Text that ends the generation where the model writes it ("\n\n": one paragraph), not part of it.
    stop: tuple[str, ...] = ()


def cut_at_stop(text: str, stop: tuple[str, ...]) -> str:
    """The text before the first stop string, as every backend returns it."""
    for s in stop:
        text = text.split(s, 1)[0]
    return text


@dataclass
class Generation:
    text: str = ""
    tokens: int = 0
    finish_reason: str | None = None
    seconds: float = 0.0
    error: str | None = None


TokenHook = Callable[[int, int, bool], None]  # (request index, tokens so far, finished)


class Backend(Protocol):
    name: str
    model_name: str
    batched: bool
    on_tokens: TokenHook | None  # set by the engine to show progress; called as tokens are generated

    def generate(self, requests: list[Request]) -> list[Generation]: ...


def _messages(req: Request) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": req.system}]
    for user, assistant in req.examples:
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return [*messages, {"role": "user", "content": req.user}]


# ---- mlx --------------------------------------------------------------------------------------


def apply_memory_limits(mx: Any, llm: LLMConfig) -> dict[str, bool]:
    """The operators' Mac settings (wired, memory, cache limits); skipped where MLX has no such limit."""
    applied = {}
    for name, mb in (("set_wired_limit", llm.wired_limit_mb), ("set_memory_limit", llm.memory_limit_mb),
                     ("set_cache_limit", llm.cache_limit_mb)):
        if mb <= 0:
            continue
        try:
            getattr(mx, name)(mb * 1024 * 1024)
            applied[name] = True
        except Exception:  # CPU builds and older versions have no wired limit: a no-op, not an error
            applied[name] = False
    return applied


class MLXBackend:
    """mlx-lm in this process; sections generated in one batch or one after another."""

    name = "mlx"
    on_tokens: TokenHook | None = None

    def __init__(self, llm: LLMConfig, model_path: str, model_name: str | None = None) -> None:
        from publisher.drafting.blas import preload_openblas

        preload_openblas()
        import mlx.core as mx
        from mlx_lm import load

        self.mx = mx
        self.llm = llm
        self.model_name = model_name or llm.model
        self.batched = llm.batch
        self._token_table: Any = None
        self.prefix_tokens = 0  # tokens of the shared prompt prefix computed once in the last generate()
        apply_memory_limits(mx, llm)
        try:
            self.model, self.tokenizer = load(model_path)[:2]
        except Exception as exc:
            raise DraftError(
                f"[llm] model {model_name or model_path!r} could not be loaded ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:160] if str(exc) else ''}); reinstall it with `publish model install`"
            ) from None

    def prompt_tokens(self, req: Request) -> list[int]:
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            return list(tok.apply_chat_template(_messages(req), add_generation_prompt=True, tokenize=True))
        return list(tok.encode("\n\n".join(m["content"] for m in _messages(req)) + "\n\n"))

    def _sampling(self) -> tuple[Any, Callable[[Request], list[Any]]]:
        from mlx_lm.sample_utils import make_logits_processors, make_sampler

        from publisher.drafting.constrain import FactConstraint, NoRepeatNgram, TokenTable

        sampler = make_sampler(temp=self.llm.temperature, top_p=self.llm.top_p if self.llm.top_p < 1 else 0.0)
        constraints: dict[tuple[str, ...], FactConstraint] = {}

        def processors(req: Request) -> list[Any]:
            """Fresh per sequence: the fact constraint keeps per-sequence state."""
            penalty = self.llm.repetition_penalty
            out = make_logits_processors(repetition_penalty=penalty if penalty and penalty != 1.0 else None)
            out.append(NoRepeatNgram())
            if req.allowed is not None:
                if self._token_table is None:
                    self._token_table = TokenTable.build(self.tokenizer)
                if req.allowed not in constraints:
                    constraints[req.allowed] = FactConstraint.for_lines(self._token_table, req.allowed)
                out.append(constraints[req.allowed].processor())
            return out

        return sampler, processors

    def shared_prefix(self, prompts: list[list[int]]) -> tuple[list[int], Any]:
        """The prompt prefix all requests share (system prompt, common facts) and its KV cache, computed once.

        Each section then starts from a copy of that cache and processes only its own tokens. Models
        whose caches cannot be copied and merged into a batch get no prefix (an empty one).
        """
        from mlx_lm.models.cache import make_prompt_cache

        if len(prompts) < 2:
            return [], None
        n = min(len(p) for p in prompts) - 1  # every request keeps at least one token of its own
        first = prompts[0]
        common = 0
        while common < n and all(p[common] == first[common] for p in prompts):
            common += 1
        if common < 8:
            return [], None
        cache = make_prompt_cache(self.model)
        if not all(hasattr(c, "merge") for c in cache):
            return [], None
        self.model(self.mx.array(first[:common])[None], cache=cache)
        self.mx.eval([c.state for c in cache])
        return first[:common], cache

    def generate(self, requests: list[Request]) -> list[Generation]:
        import copy

        self.mx.random.seed(self.llm.seed)
        try:
            prompts = [self.prompt_tokens(r) for r in requests]
            prefix, cache = self.shared_prefix(prompts)
            self.prefix_tokens = len(prefix)
            caches = [copy.deepcopy(cache) if cache is not None else None for _ in requests]
            suffixes = [p[len(prefix):] for p in prompts]
            if self.batched and len(requests) > 1:
                return self.generate_batch(requests, suffixes, caches, prefix)
            return [self.generate_one(r, s, c, i) for i, (r, s, c) in enumerate(zip(requests, suffixes, caches, strict=True))]
        finally:
            self.mx.clear_cache()

    def generate_one(self, req: Request, prompt: list[int] | None = None, cache: Any = None, index: int = 0) -> Generation:
        """One request; `prompt` is what `cache` (a copy of the shared prefix's cache) does not hold yet;
        `index` is the request's place in the batch, for the progress hook."""
        from mlx_lm import stream_generate

        sampler, processors = self._sampling()
        start = time.perf_counter()
        parts: list[str] = []
        last = None
        try:
            for last in stream_generate(self.model, self.tokenizer, prompt or self.prompt_tokens(req),
                                        max_tokens=req.max_tokens, sampler=sampler,
                                        logits_processors=processors(req), prompt_cache=cache):
                parts.append(last.text)
                stopped = bool(req.stop) and cut_at_stop("".join(parts), req.stop) != "".join(parts)
                if self.on_tokens:
                    self.on_tokens(index, last.generation_tokens, stopped or last.finish_reason is not None)
                if stopped:
                    break
        except Exception as exc:
            return Generation(error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - start)
        if last is None:
            return Generation(error="no tokens generated", seconds=time.perf_counter() - start)
        text = "".join(parts)
        if req.stop and cut_at_stop(text, req.stop) != text:
            return Generation(cut_at_stop(text, req.stop), last.generation_tokens, "stop", time.perf_counter() - start)
        # generation_tokens counts a final end-of-sequence token; it is not part of the text
        tokens = last.generation_tokens - (1 if last.finish_reason == "stop" else 0)
        return Generation(text, tokens, last.finish_reason, time.perf_counter() - start)

    def _wrote_stop(self, tokens: list[int], stop: tuple[str, ...]) -> bool:
        """Whether the last tokens wrote a stop string (a string of n characters spans at most n tokens)."""
        if not stop:
            return False
        tail = self.tokenizer.decode(tokens[-(max(map(len, stop)) + 1):])
        return any(s in tail for s in stop)

    def generate_batch(self, requests: list[Request], prompts: list[list[int]] | None = None,
                       caches: list[Any] | None = None, prefix: list[int] | None = None) -> list[Generation]:
        """All sections in one batch (continuous batching, per-section caps): the same tokens, faster."""
        from mlx_lm.generate import BatchGenerator

        sampler, processors = self._sampling()
        start = time.perf_counter()
        try:
            prompts = prompts or [self.prompt_tokens(r) for r in requests]
            with_cache = caches is not None and all(c is not None for c in caches)
            gen = BatchGenerator(self.model, stop_tokens=[[t] for t in self.tokenizer.eos_token_ids],
                                 sampler=sampler, completion_batch_size=len(prompts),
                                 prefill_batch_size=1)
            try:
                uids = gen.insert(prompts, [r.max_tokens for r in requests],
                                  caches=caches if with_cache else None,
                                  all_tokens=[list(prefix or []) for _ in prompts] if with_cache else None,
                                  logits_processors=[processors(r) for r in requests])
                tokens: dict[int, list[int]] = {uid: [] for uid in uids}
                finish: dict[int, tuple[str, float]] = {}
                while responses := gen.next_generated():
                    for r in responses:
                        if r.uid in finish:  # stopped by its text below: removed, nothing more to read
                            continue
                        if r.finish_reason != "stop":
                            tokens[r.uid].append(r.token)
                        if r.finish_reason is None and self._wrote_stop(tokens[r.uid], requests[uids.index(r.uid)].stop):
                            gen.remove([r.uid])
                            finish[r.uid] = ("stop", time.perf_counter() - start)
                        elif r.finish_reason is not None:
                            finish[r.uid] = (r.finish_reason, time.perf_counter() - start)
                        if self.on_tokens:
                            self.on_tokens(uids.index(r.uid), len(tokens[r.uid]), r.uid in finish)
            finally:
                gen.close()
        except Exception as exc:
            err = f"{type(exc).__name__}: {exc}"
            return [Generation(error=err, seconds=time.perf_counter() - start) for _ in requests]
        out = []
        for uid, req in zip(uids, requests, strict=True):
            reason, seconds = finish.get(uid, ("length", time.perf_counter() - start))
            text = cut_at_stop(self.tokenizer.decode(tokens[uid]), req.stop)
            out.append(Generation(text, len(tokens[uid]), reason, seconds))
        return out


# ---- openai-compatible server -----------------------------------------------------------------


class OpenAIBackend:
    """Any OpenAI-compatible chat endpoint (mlx_lm.server, vLLM, llama.cpp, Ollama)."""

    name = "openai"
    on_tokens: TokenHook | None = None

    def __init__(self, llm: LLMConfig) -> None:
        self.llm = llm
        self.model_name = llm.api_model
        self.batched = llm.batch
        self.url = llm.base_url.rstrip("/") + "/chat/completions"

    def _payload(self, req: Request, extras: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.llm.api_model, "messages": _messages(req), "max_tokens": req.max_tokens,
            "temperature": self.llm.temperature, "top_p": self.llm.top_p, "seed": self.llm.seed, "stream": False,
        }
        if req.stop:
            payload["stop"] = list(req.stop)
        if extras and self.llm.repetition_penalty and self.llm.repetition_penalty != 1.0:
            payload["repetition_penalty"] = self.llm.repetition_penalty
        return payload

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        key = self.llm.api_key or os.environ.get("PUBLISHER_LLM_API_KEY", "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(self.url, json.dumps(payload).encode("utf-8"), headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.llm.timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))

    def generate_one(self, req: Request) -> Generation:
        start = time.perf_counter()
        extras = True
        error = "no attempt"
        for attempt in range(self.llm.retries + 1):
            try:
                data = self._post(self._payload(req, extras))
                choice = data["choices"][0]
                text = cut_at_stop((choice.get("message") or {}).get("content") or choice.get("text") or "", req.stop)
                usage = data.get("usage") or {}
                tokens = usage.get("completion_tokens")
                if not isinstance(tokens, int):
                    return Generation(text, 0, choice.get("finish_reason"), time.perf_counter() - start,
                                      error="server reported no completion_tokens")
                return Generation(text, tokens, choice.get("finish_reason"), time.perf_counter() - start)
            except urllib.error.HTTPError as exc:
                error = f"HTTP {exc.code} from {self.url}"
                if exc.code == 400 and extras:  # a strict server rejecting repetition_penalty
                    extras = False
                    continue
                if exc.code < 500 and exc.code != 429:
                    break
            except (urllib.error.URLError, TimeoutError, OSError, ValueError, KeyError, IndexError) as exc:
                error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)} ({self.url})"
            if attempt < self.llm.retries:
                time.sleep(min(0.5 * 2**attempt, 4.0))
        return Generation(error=error, seconds=time.perf_counter() - start)

    def generate(self, requests: list[Request]) -> list[Generation]:
        workers = len(requests) if self.batched else 1

        def one(index: int) -> Generation:
            gen = self.generate_one(requests[index])
            if self.on_tokens:
                self.on_tokens(index, gen.tokens, True)
            return gen

        with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
            return list(pool.map(one, range(len(requests))))


def probe_server(llm: LLMConfig, timeout: float = 5.0) -> str:
    """Check that the OpenAI-compatible server answers; returns the URL that did, else DraftError."""
    base = llm.base_url.rstrip("/")
    root = base[: -len("/v1")] if base.endswith("/v1") else base
    # mlx_lm.server's /v1/models fails without a hub cache; its /health does not exist elsewhere.
    for url in (f"{root}/health", f"{base}/models"):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                json.loads(resp.read().decode("utf-8") or "{}")
                return url
        except (urllib.error.URLError, OSError, ValueError):
            continue
    raise DraftError(f"no OpenAI-compatible server answers at {llm.base_url}: start it (e.g. `mlx_lm.server "
                     "--port 8080`) or set [llm] base_url / --base-url")
