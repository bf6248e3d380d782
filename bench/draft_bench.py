"""Sequential vs batched section drafting, same sections and model, in one run.

    .venv/bin/python bench/draft_bench.py                 # bundled model, OpenBLAS as installed
    .venv/bin/python bench/draft_bench.py --blas both     # also without OpenBLAS (child processes)
    .venv/bin/python bench/draft_bench.py --model PATH --sections 6 --tokens 300

Each mode drafts the same N sections with greedy decoding and the same per-section cap; the
throughput is generated tokens (as counted by mlx-lm) per wall-clock second, prompt processing
included, because that is what a weekly run waits for. Batched outputs are compared with the
sequential ones token for token.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

TOPICS = [
    ("The 500-token ceiling", "Explain why a sparse MoE model degrades after about 500 tokens of one output."),
    ("Sectional generation", "Explain how drafting a post as independent capped sections avoids that."),
    ("The failure vault", "Describe how losing trades are grouped by root cause and reviewed each week."),
    ("Inverted control book", "Explain why a mirrored paper book tests whether an edge is real."),
    ("Fees on both legs", "Explain why fees on open and close change the break-even win rate."),
    ("Memory settings", "Explain why wired and cache limits matter when a model shares memory with a bot."),
    ("News filters", "Explain how trending-coin news is ranked before it reaches the newsletter."),
    ("Publishing real numbers", "Explain why every number in the newsletter comes from one computation."),
]


def run_once(model: str, sections: int, tokens: int) -> dict:
    from publisher.drafting.blas import preload_openblas

    blas = preload_openblas()
    from publisher.config import LLMConfig
    from publisher.drafting.backends import MLXBackend, Request
    from publisher.drafting.engine import build_request
    from publisher.drafting.models import locate_model
    from publisher.drafting.plan import Section

    llm = LLMConfig(model=model, temperature=0.0, repetition_penalty=1.0, token_ceiling=max(500, tokens + 1))
    located = locate_model(model, lambda line: print(line, file=sys.stderr))
    assert located is not None
    backend = MLXBackend(llm, *located)
    requests = [
        build_request(Section(f"s{i}", h, ins, tokens, (), ""), llm, tokens)
        for i, (h, ins) in enumerate((TOPICS * 4)[:sections])
    ]
    backend.generate_one(Request(requests[0].system, "Warm up.", 8))  # load kernels once

    start = time.perf_counter()
    seq = [backend.generate_one(r) for r in requests]
    seq_s = time.perf_counter() - start
    start = time.perf_counter()
    bat = backend.generate_batch(requests)
    bat_s = time.perf_counter() - start
    seq_tok = sum(g.tokens for g in seq)
    bat_tok = sum(g.tokens for g in bat)
    return {
        "openblas": bool(blas), "model": located[1], "sections": sections, "cap": tokens,
        "prompt_tokens": sum(len(backend.prompt_tokens(r)) for r in requests),
        "sequential": {"seconds": round(seq_s, 2), "tokens": seq_tok, "tok_per_s": round(seq_tok / seq_s, 1)},
        "batched": {"seconds": round(bat_s, 2), "tokens": bat_tok, "tok_per_s": round(bat_tok / bat_s, 1)},
        "speedup": round((bat_tok / bat_s) / (seq_tok / seq_s), 2),
        "identical": [a.text for a in seq] == [b.text for b in bat],
        "max_tokens_seen": max(g.tokens for g in seq + bat),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--sections", type=int, default=6)
    ap.add_argument("--tokens", type=int, default=300)
    ap.add_argument("--blas", choices=["installed", "both"], default="installed")
    ap.add_argument("--json", action="store_true", help="Print one JSON object per run (used by --blas both).")
    args = ap.parse_args()
    if args.blas == "both":
        results = []
        for flag in ("1", "0"):
            env = {**os.environ, "PUBLISHER_OPENBLAS": flag}
            cmd = [sys.executable, str(Path(__file__)), "--model", args.model, "--sections", str(args.sections),
                   "--tokens", str(args.tokens), "--json"]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
    else:
        results = [run_once(args.model, args.sections, args.tokens)]
    if args.json:
        print(json.dumps(results[0]))
        return
    for r in results:
        print(f"model {r['model']}, {r['sections']} sections, cap {r['cap']} tokens, "
              f"{r['prompt_tokens']} prompt tokens, OpenBLAS {'on' if r['openblas'] else 'off'}")
        for mode in ("sequential", "batched"):
            m = r[mode]
            print(f"  {mode:<10} {m['seconds']:7.2f} s  {m['tokens']:5d} tokens  {m['tok_per_s']:6.1f} tok/s")
        print(f"  batched/sequential throughput: {r['speedup']:.2f}x; identical outputs: {r['identical']}; "
              f"largest section: {r['max_tokens_seen']} tokens (cap {r['cap']})")


if __name__ == "__main__":
    main()
