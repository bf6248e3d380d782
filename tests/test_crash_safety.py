"""A crash at any moment leaves the previous complete output or the new complete output, never half.

`publish build` and `publish weekly` run as real processes and are killed with SIGKILL (no cleanup
code runs) after random delays drawn with a fixed seed (the window covers start-up, the writes and
the site swap). After each kill:
- `site/` is byte-for-byte one of the two known-good builds (a manifest of path -> SHA-256);
- the weekly post is the old file or a complete new one (front matter parses, the body hash in
  it matches the body) and agrees with its fact sheet;
- the next build recovers (no leftover temporary folders) and produces the new site.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from bookmaker import make_native_book, trade
from click.testing import CliRunner
from hostile.cases import CLEAN_ENV

from publisher.cli import main
from publisher.common.figures import figures_hash
from publisher.config import load_config
from publisher.site.content import parse_front_matter
from publisher.weekly import body_hash

SEED = 20260420
WEEK = "2026-W16"
POSTS = 12
TOML = '[site]\ntitle = "{title}"\nurl = "https://ex.org/"\n[book]\npath = "book.sqlite"\n[llm]\nbackend = "none"\n'


def manifest(site: Path) -> dict[str, str]:
    return {p.relative_to(site).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(site.rglob("*")) if p.is_file()}


def cli(root: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["-C", str(root), *args], env=CLEAN_ENV)
    assert result.exit_code == 0, result.output[-2000:]
    return result.output


def spawn(root: Path, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    return subprocess.Popen([sys.executable, "-m", "publisher", "-C", str(root), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_after(proc: subprocess.Popen, delay: float) -> bool:
    """SIGKILL after `delay` seconds; True if the process was still running (killed mid-work)."""
    try:
        assert proc.wait(timeout=delay) == 0, "the command failed on its own; the kill tested nothing"
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True


def kill_when(proc: subprocess.Popen, event: Callable[[], bool], timeout: float = 600.0) -> bool:
    """SIGKILL as soon as `event()` holds; True if the process was still running then."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if event():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        assert time.monotonic() < deadline, "the event never happened"
        time.sleep(0.001)
    assert proc.returncode == 0, "the command failed on its own; the kill tested nothing"
    return False


def replaced(path: Path) -> Callable[[], bool]:
    """An event that holds once `path` names another file (inode) than now: a rename replaced it."""
    inode = path.stat().st_ino

    def event() -> bool:
        try:
            return path.stat().st_ino != inode
        except FileNotFoundError:
            return False

    return event


def delays(rng: random.Random, full: float, n: int, low: float, high: float) -> list[float]:
    """n kill delays spread over [low, high] x the command's duration: one random point per stratum, so
    the kills cover the whole window (start-up, writes, swap) instead of bunching by chance."""
    width = (high - low) / n
    return [full * (low + width * (i + rng.random())) for i in range(n)]


def timed(root: Path, *args: str) -> float:
    start = time.perf_counter()
    proc = spawn(root, *args)
    assert proc.wait(timeout=600) == 0  # a safety net, not a speed bound
    return time.perf_counter() - start


def write_site(root: Path, title: str, posts: int) -> None:
    (root / "publisher.toml").write_text(TOML.format(title=title), encoding="utf-8")
    for n in range(posts):
        path = root / "content" / "posts" / f"post-{n:02d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = f"Post {n} of the crash test.\n\n| a | b |\n|---|---|\n| {n} | {n * n} |\n\n```python\nprint({n})\n```\n"
        path.write_text(f"---\ntitle: Post {n}\ndate: 2026-04-{1 + n % 28:02d}T10:00:00+00:00\ntags: [python]\n"
                        f"---\n\n{body}", encoding="utf-8")


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith((".site-build-", ".site-old-")))


@pytest.fixture()
def rng() -> random.Random:
    """Each test draws its own delays from the fixed seed, whatever else runs."""
    return random.Random(SEED)


@pytest.mark.slow
def test_killed_build_leaves_the_old_or_the_new_site(tmp_path: Path, rng: random.Random) -> None:
    template = tmp_path / "a"
    template.mkdir()
    write_site(template, "Site A", POSTS)
    cli(template, "build")
    old = manifest(template / "site")

    def to_new(root: Path) -> None:  # new title (every page changes) plus one more post
        write_site(root, "Site B", POSTS + 1)

    reference = tmp_path / "b"
    shutil.copytree(template, reference)
    to_new(reference)
    full = timed(reference, "build")
    new = manifest(reference / "site")
    assert old != new and set(old) < set(new)

    outcomes = []
    trial = tmp_path / "trial"
    for n, delay in enumerate(delays(rng, full, 14, 0.2, 1.1)):
        shutil.rmtree(trial, ignore_errors=True)
        shutil.copytree(template, trial)
        to_new(trial)
        first_build = n < 2  # no previous site: the kill must leave none or the whole new one
        if first_build:
            shutil.rmtree(trial / "site")
        killed = kill_after(spawn(trial, "build"), delay)
        state = manifest(trial / "site") if (trial / "site").exists() else None
        allowed = (None, new) if first_build else (old, new)
        assert state in allowed, f"trial {n}: site/ is neither the previous nor the new complete build"
        outcomes.append(("new" if state == new else "old", killed))
        if n % 5 == 4:  # the next build cleans up whatever the kill left and completes
            cli(trial, "build")
            assert manifest(trial / "site") == new and leftovers(trial) == []
    assert any(killed for _, killed in outcomes), outcomes  # some kills landed while the build ran


def weekly_project(root: Path) -> None:
    root.mkdir()
    (root / "publisher.toml").write_text(TOML.format(title="Weekly"), encoding="utf-8")
    trades = [trade(1, "BTC/USDT", entry=100, exit=110, opened="2026-04-14T09:00:00Z", closed="2026-04-14T10:00:00Z",
                    fee_open=0.1, fee_close=0.1, id=1)]
    make_native_book(root / "book.sqlite", trades=trades)


def add_trade(root: Path) -> None:
    """The bot closes one more trade in the week, so the next weekly run regenerates the post."""
    with sqlite3.connect(root / "book.sqlite") as conn:
        conn.execute("INSERT INTO trades (id, book_id, symbol, side, quantity, entry_price, exit_price, opened_at, "
                     "closed_at, realized_pnl) VALUES (2, 1, 'ETH/USDT', 'long', 1, 100, 95, '2026-04-15T09:00:00Z', "
                     "'2026-04-15T10:00:00Z', -5)")
    conn.close()


def assert_post_whole(weekly: Path, old: bytes) -> str:
    """The post is the old file, or a complete new one that agrees with the fact sheet beside it."""
    post = weekly / f"{WEEK}.md"
    data = post.read_bytes()
    if data == old:
        return "old"
    meta, body = parse_front_matter(data.decode("utf-8"), post)
    assert meta.get("generated_hash") == body_hash(body), "the post body is cut short"
    facts = json.loads((weekly / f"{WEEK}.facts.json").read_text("utf-8"))
    assert meta.get("facts_hash") == figures_hash(facts), "the post and its fact sheet disagree"
    return "new"


@pytest.mark.slow
def test_killed_weekly_leaves_the_old_or_a_complete_post(tmp_path: Path, rng: random.Random) -> None:
    template = tmp_path / "w"
    weekly_project(template)
    cli(template, "weekly", "--week", WEEK, "--publish")
    weekly = template / "content" / "weekly"
    old = (weekly / f"{WEEK}.md").read_bytes()
    assert assert_post_whole(weekly, old) == "old"
    reference = tmp_path / "ref"  # how long a regenerating run takes here, to spread the kills over it
    shutil.copytree(template, reference)
    add_trade(reference)
    full = timed(reference, "weekly", "--week", WEEK, "--publish")
    assert assert_post_whole(reference / "content" / "weekly", old) == "new"

    trial = tmp_path / "trial"
    seen = []
    for delay in [*delays(rng, full, 5, 0.05, 0.75), None]:  # the post is written at about 40%, then the build
        shutil.rmtree(trial, ignore_errors=True)
        shutil.copytree(template, trial)
        add_trade(trial)
        post = trial / "content" / "weekly" / f"{WEEK}.md"
        landed = replaced(post)
        proc = spawn(trial, "weekly", "--week", WEEK, "--publish")
        if delay is None:  # one kill pinned to the instant the new post lands: the build is still to come
            killed = kill_when(proc, landed)
            assert killed and assert_post_whole(post.parent, old) == "new"
        else:
            killed = kill_after(proc, delay)
        seen.append((assert_post_whole(post.parent, old), killed))
        assert (trial / "site" / "index.html").is_file()  # the previous site is never lost
    assert all(killed for _, killed in seen), seen


def test_crash_between_fact_sheet_and_post_never_publishes_a_mismatched_pair(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "w"
    weekly_project(root)
    cli(root, "weekly", "--week", WEEK, "--publish")
    add_trade(root)

    import publisher.weekly as weekly_module

    real_write = weekly_module.atomic_write_text

    def crash_before_the_post(path: Path, text: str) -> None:
        if path.suffix == ".md" and path.parent.name == "weekly":
            raise KeyboardInterrupt("power cut")  # what a kill at this instant leaves behind
        real_write(path, text)

    monkeypatch.setattr(weekly_module, "atomic_write_text", crash_before_the_post)
    with pytest.raises(KeyboardInterrupt):
        weekly_module.run_weekly(load_config(root, environ={}), WEEK, publish=True)
    monkeypatch.undo()

    weekly = root / "content" / "weekly"
    meta, _ = parse_front_matter((weekly / f"{WEEK}.md").read_text("utf-8"), weekly / f"{WEEK}.md")
    consistent = meta["facts_hash"] == figures_hash(json.loads((weekly / f"{WEEK}.facts.json").read_text("utf-8")))
    result = CliRunner().invoke(main, ["-C", str(root), "build"], env=CLEAN_ENV)
    assert consistent or (result.exit_code == 1 and f"{WEEK}.md" in result.output), result.output[-500:]
