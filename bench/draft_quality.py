"""Quality of drafted prose: every week of the demo book (or --book) drafted with the bundled model.

    .venv/bin/python bench/draft_quality.py                      # demo book, all 12 weeks
    .venv/bin/python bench/draft_quality.py --last 3 --out q.md  # the last 3 weeks only
    .venv/bin/python bench/draft_quality.py --book my.sqlite --config publisher.toml

Prints, over all sections: the share published from the model (not the facts-only fallback), the
sentences dropped by reason, vacuous sentences (dropped, and any left in published text), figures
cited per model section, the distinct word-trigram ratio of the model text, the share of model
sentences copied verbatim from the skeleton, and seconds per week (model warm: loaded once, the
first week's time is reported apart). Writes every drafted section to one Markdown file to read.
Targets (issue 10): >= 90% from the model, 0 invented numbers, 0 vacuous sentences published,
every model section cites a figure or symbol, <= 30 s per week warm.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

_NUMBER_RE = re.compile(r"\d(?:[\d,.]*\d)?")


def _reason_class(reason: str) -> str:
    for prefix in ("number", "ticker", "symbol"):
        if reason.startswith(prefix):
            return f"{prefix} not in facts (invented)"
    return reason


def _trigram_ratio(texts: list[str]) -> float | None:
    trigrams = []
    for text in texts:
        words = re.findall(r"\w+", text.lower())
        trigrams += list(zip(words, words[1:], words[2:], strict=False))
    return len(set(trigrams)) / len(trigrams) if trigrams else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--book", type=Path, help="Trading book (SQLite). Default: a fresh demo book (12 weeks).")
    ap.add_argument("--weeks", help="Comma-separated ISO weeks. Default: every week of the demo book.")
    ap.add_argument("--last", type=int, default=0, help="Only the last N of those weeks.")
    ap.add_argument("--config", type=Path, default=Path(__file__).resolve().parents[1] / "publisher.toml",
                    help="publisher.toml for the stack list and [llm] settings (default: the repository's).")
    ap.add_argument("--model", default=None, help="Model folder or hub id (default: [llm] model).")
    ap.add_argument("--out", type=Path, default=Path("draft_quality.md"), help="Markdown file of all sections.")
    args = ap.parse_args()

    from publisher.drafting.blas import preload_openblas

    blas = preload_openblas()
    from publisher.book.demo import DemoSpec, make_demo_book
    from publisher.book.reader import open_book
    from publisher.config import load_config
    from publisher.drafting.constrain import allowed_strings
    from publisher.drafting.engine import build_request, draft_sections, make_backend
    from publisher.drafting.guard import index_facts, normalize_sentence, split_sentences
    from publisher.drafting.plan import drafting_line, section_cap, section_words, weekly_sections
    from publisher.drafting.rewrite import allowed_lines, is_vacuous
    from publisher.facts.compute import compute_facts

    config = load_config(args.config.parent, args.config,
                         overrides={"llm.backend": "mlx", "llm.model": args.model})
    site, llm = config.site, config.llm

    tmp = tempfile.TemporaryDirectory()
    if args.book:
        book_path = args.book
        if not args.weeks:
            sys.exit("--book needs --weeks (comma-separated ISO weeks)")
        weeks = args.weeks.split(",")
    else:
        book_path = Path(tmp.name) / "demo.sqlite"
        result = make_demo_book(book_path, DemoSpec())
        weeks = [str(result.first_week)]
        while weeks[-1] != str(result.end_week):
            from publisher.common.weeks import parse_week

            weeks.append(str(parse_week(weeks[-1]).next()))
        if args.weeks:
            weeks = args.weeks.split(",")
    if args.last:
        weeks = weeks[-args.last:]

    load_start = time.perf_counter()
    backend = make_backend(llm)
    load_s = time.perf_counter() - load_start
    with open_book(book_path) as book:
        all_facts = [compute_facts(book, week) for week in weeks]

    sections_total = from_model = cited_ok = copied = model_sentences = facts_only = trimmed = restated = 0
    dropped: Counter[str] = Counter()
    vacuous_dropped = vacuous_published = 0
    figures_cited: list[int] = []
    model_texts: list[str] = []
    seconds: list[float] = []
    prompt_tokens = prefix_tokens = 0
    md = [f"# Drafted sections ({llm.model}, OpenBLAS {'on' if blas else 'off'})\n"]
    for week, facts in zip(weeks, all_facts, strict=True):
        sections = weekly_sections(facts, site, llm)
        index = index_facts(facts, extra_texts=[*site.stack, drafting_line(llm)])
        start = time.perf_counter()
        draft = draft_sections(sections, llm, index, backend=backend)
        seconds.append(time.perf_counter() - start)
        prefix_tokens += backend.prefix_tokens
        prompt_tokens += sum(len(backend.prompt_tokens(build_request(s, llm, section_cap(section_words(s, llm), llm))))
                             for s in sections)
        md.append(f"\n## {week} ({seconds[-1]:.1f} s)\n")
        args.out.write_text("\n".join(md), encoding="utf-8")  # readable while later weeks draft
        drafted = [r for r in draft["sections"] if r.get("drafted", True)]
        print(f"{week}: {seconds[-1]:.1f} s, {sum(not r['fallback'] for r in drafted)}/{len(drafted)} "
              "drafted sections from the model", flush=True)
        for section, result in zip(sections, draft["sections"], strict=True):
            if not result.get("drafted", True):  # facts-only by design (the stack list): no model call
                facts_only += 1
                md.append(f"\n### {section.heading} (facts-only by design, no model call)\n\n{result['text']}\n")
                continue
            sections_total += 1
            for d in result["guard"]["dropped"]:
                dropped[_reason_class(d["reason"])] += 1
            vacuous_dropped += len(result.get("vacuous") or [])
            trimmed += len(result.get("trimmed") or [])
            source = f"fallback: {result['fallback_reason']}" if result["fallback"] else "model"
            md.append(f"\n### {section.heading} ({source}, {result['tokens']} tokens)\n\n{result['text']}\n")
            md += [f"\n> dropped ({d['reason']}): {d['sentence']}\n" for d in result["guard"]["dropped"]]
            md += [f"\n> dropped (vacuous): {v}\n" for v in result.get("vacuous") or []]
            md += [f"\n> trimmed (superlative or negation): {v}\n" for v in result.get("trimmed") or []]
            if result["fallback"]:
                continue
            from_model += 1
            text = result["text"].removesuffix(section.tail).rstrip() if section.tail else result["text"]  # the model's part
            model_texts.append(text)
            numbers, names = allowed_strings(allowed_lines(section))
            cited = [n for n in _NUMBER_RE.findall(text) if n in numbers]
            figures_cited.append(len(cited))
            named = set(re.findall(r"[A-Z]{2,}", text)) & names
            cited_ok += bool(cited or named)
            sentences = [s for block in text.split("\n\n") for s in split_sentences(block)]
            model_sentences += len(sentences)
            vacuous_published += sum(is_vacuous(s, section) for s in sentences)
            copied += sum(s in section.fallback for s in sentences)
            restated += sum(normalize_sentence(s) == normalize_sentence(section.point) for s in sentences)
    args.out.write_text("\n".join(md), encoding="utf-8")

    warm = seconds[1:] or seconds
    ratio = _trigram_ratio(model_texts)
    print(f"model {llm.model}; OpenBLAS {'on' if blas else 'off'}; {len(weeks)} weeks, {sections_total} sections; "
          f"model load {load_s:.1f} s")
    print(f"published from the model: {from_model}/{sections_total} drafted sections = "
          f"{from_model / max(sections_total, 1):.0%} (and {facts_only} facts-only by design, not drafted: "
          f"{from_model}/{sections_total + facts_only} = {from_model / max(sections_total + facts_only, 1):.0%} of all)")
    print(f"sentences dropped by reason: {dict(dropped) or 'none'}; vacuous dropped: {vacuous_dropped}")
    print(f"invented numbers/tickers caught by the guard: "
          f"{sum(v for k, v in dropped.items() if 'invented' in k)}")
    print(f"vacuous sentences published: {vacuous_published}; sentences cut before a superlative or dropped "
          f"for a negation the facts do not make: {trimmed}")
    print(f"model sections citing a figure or symbol: {cited_ok}/{from_model}; figures cited per model section: "
          f"{sum(figures_cited) / max(len(figures_cited), 1):.1f}")
    print(f"model sentences copied verbatim from the skeleton: {copied}/{model_sentences}; "
          f"the section's point said again word for word (normalised): {restated}/{model_sentences}")
    print(f"distinct word-trigram ratio of model text: {ratio:.2f}" if ratio is not None else "no model text")
    print(f"prompt tokens: {prompt_tokens}, of which {prefix_tokens} per-week shared prefixes computed once "
          f"instead of {len(sections)} times: {prefix_tokens * (len(sections) - 1)} prompt tokens not processed "
          f"({prefix_tokens * (len(sections) - 1) / max(prompt_tokens, 1):.0%})")
    print(f"seconds per week: first {seconds[0]:.1f}, warm mean {sum(warm) / len(warm):.1f}, "
          f"max {max(warm):.1f}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
