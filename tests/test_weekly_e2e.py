"""The Tuesday job end to end through the CLI: init, weekly twice, hand edit, --force, deploy."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from publisher.cli import main


def run(project: Path, *args: str, env: dict | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["-C", str(project), *args], env=env or {}, catch_exceptions=False)
    return result.exit_code, result.output


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture()
def project(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "site-project"
    code, out = run(root, "init", str(root), "--demo")
    assert code == 0, out
    remote = tmp_path / "remote.git"
    git("init", "--bare", "-q", str(remote))
    return root, remote


def week_in_demo(root: Path) -> str:
    """The week the demo book ends with: the default week of `publish weekly`."""
    code, out = run(root, "facts", "--json")
    assert code == 0, out
    import json

    return json.loads(out)["week"]["iso"]


def pushed_files(remote: Path, branch: str = "gh-pages") -> set[str]:
    return set(git("--git-dir", str(remote), "ls-tree", "-r", "--name-only", branch).split())


def test_weekly_twice_edit_force_and_push(project: tuple[Path, Path]) -> None:
    root, remote = project
    env = {"PUBLISHER_DEPLOY_REMOTE": str(remote), "PUBLISHER_LLM": "none"}
    week = week_in_demo(root)
    post = root / "content" / "weekly" / f"{week}.md"

    code, out = run(root, "weekly", "--publish", "--push", env=env)
    assert code == 0, out
    assert post.exists() and "status: published" in post.read_text()
    assert (root / "content" / "weekly" / f"{week}.facts.json").exists()
    files = pushed_files(remote)
    slug = f"weekly-{week.lower()}"
    assert any(f.startswith("weekly/") and f.endswith("index.html") for f in files), files
    assert "feed.xml" in files and ".nojekyll" in files
    feed = git("--git-dir", str(remote), "show", "gh-pages:feed.xml")
    assert feed.count("<item>") >= 1 and week.replace("-", "") in feed.replace("-", "")
    assert f"newsletter/{slug}/index.html" in files, files  # the public web version
    assert not any(f.endswith(".eml") for f in files), files  # messages name recipients: never published
    assert (root / ".publisher" / "newsletter" / slug / "message.eml").is_file()
    commits = git("--git-dir", str(remote), "rev-list", "--count", "gh-pages").strip()

    # Second run: nothing changes, nothing new is pushed, still one feed item for the week.
    before = post.read_bytes()
    code, out = run(root, "weekly", "--publish", "--push", env=env)
    assert code == 0, out
    assert post.read_bytes() == before
    assert git("--git-dir", str(remote), "rev-list", "--count", "gh-pages").strip() == commits
    assert len(list((root / "content" / "weekly").glob("*.md"))) == 1

    # A hand edit is kept on re-run.
    edited = before.decode().replace("## One operating insight", "## One operating insight\n\nMy own words here.")
    post.write_text(edited)
    code, out = run(root, "weekly", "--publish", env=env)
    assert code == 0, out
    assert "My own words here." in post.read_text()
    assert "edited by hand" in out

    # --force regenerates and keeps a backup of the edited file.
    code, out = run(root, "weekly", "--publish", "--force", env=env)
    assert code == 0, out
    assert "My own words here." not in post.read_text()
    backups = list(post.parent.glob(f"{post.name}.*.bak"))
    assert len(backups) == 1 and "My own words here." in backups[0].read_text()


def test_broken_inputs_fail_in_one_line_and_keep_the_site(project: tuple[Path, Path], tmp_path: Path) -> None:
    root, remote = project
    env = {"PUBLISHER_LLM": "none"}
    code, out = run(root, "weekly", "--publish", env=env)
    assert code == 0, out
    site_index = (root / "site" / "index.html").read_bytes()
    posts = {p: p.read_bytes() for p in (root / "content").rglob("*.md")}

    year, number = (int(part) for part in week_in_demo(root).split("-W"))
    monday = dt.date.fromisocalendar(year, number, 1) - dt.timedelta(days=7)
    earlier = "{}-W{:02d}".format(*monday.isocalendar()[:2])
    cases = {
        "missing book": (["weekly", "--book", str(tmp_path / "nope.sqlite")], env),
        "unreachable LLM server": (["weekly", "--week", earlier, "--llm", "openai", "--base-url", "http://127.0.0.1:9/v1"], {}),
        "rejecting remote": (["weekly", "--push"], {**env, "PUBLISHER_DEPLOY_REMOTE": str(tmp_path / "no-such-remote.git")}),
    }
    for name, (args, case_env) in cases.items():
        code, out = run(root, *args, env=case_env)
        lines = [line for line in out.splitlines() if line.startswith("error:")]
        assert code != 0, f"{name}: {out}"
        assert len(lines) == 1 and "Traceback" not in out, f"{name}: {out}"
        assert (root / "site" / "index.html").read_bytes() == site_index, name
        assert {p: p.read_bytes() for p in posts} == posts, name

    (root / "publisher.toml").write_text("[site\ntitle = ")
    code, out = run(root, "weekly", env=env)
    assert code != 0 and out.count("error:") == 1 and "publisher.toml" in out
    assert (root / "site" / "index.html").read_bytes() == site_index


def test_a_quiet_week_is_published_honestly_or_skipped(project: tuple[Path, Path]) -> None:
    root, _ = project
    quiet = "2020-W10"  # years before the demo book starts: no trade closed
    code, out = run(root, "weekly", "--week", quiet, "--publish", env={"PUBLISHER_LLM": "none"})
    assert code == 0, out
    post = (root / "content" / "weekly" / f"{quiet}.md").read_text()
    assert "No round-trips closed this week" in post
    assert "0 round-trips" in out

    skipped = "2020-W11"
    env = {"PUBLISHER_LLM": "none", "PUBLISHER_WEEKLY_QUIET_WEEK": "skip"}
    code, out = run(root, "weekly", "--week", skipped, env=env)
    assert code == 0, out
    assert "skipped" in out and not (root / "content" / "weekly" / f"{skipped}.md").exists()


def test_a_relative_book_option_is_read_from_where_the_command_runs(
        project: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, _ = project
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "demo.sqlite").rename(elsewhere / "book.sqlite")
    monkeypatch.chdir(elsewhere)
    code, out = run(root, "weekly", "--book", "book.sqlite", env={"PUBLISHER_LLM": "none"})
    assert code == 0, out
    assert "round-trips" in out


def test_readme_flow_draft_then_hand_edit_then_publish(project: tuple[Path, Path]) -> None:
    """README: `publish weekly` drafts (not on the site), the operator edits the draft by hand,
    `publish weekly --publish` publishes the edited text: page, feed and email carry the edit."""
    root, _ = project
    env = {"PUBLISHER_LLM": "none"}
    week = week_in_demo(root)
    post = root / "content" / "weekly" / f"{week}.md"
    page = root / "site" / "weekly" / f"weekly-{week.lower()}" / "index.html"

    code, out = run(root, "weekly", env=env)
    assert code == 0, out
    assert "status: draft" in post.read_text(encoding="utf-8")
    assert not page.exists()  # a draft is not published

    text = post.read_text(encoding="utf-8")
    post.write_text(text.replace("## One operating insight", "## One operating insight\n\nHand-written insight."),
                    encoding="utf-8")
    code, out = run(root, "weekly", "--publish", env=env)
    assert code == 0, out
    published = post.read_text(encoding="utf-8")
    assert "status: published" in published and "Hand-written insight." in published
    assert "Hand-written insight." in page.read_text(encoding="utf-8")
    assert "Hand-written insight." in (root / "site" / "feed.xml").read_text(encoding="utf-8")
    # the newsletter's preview message is private, under .publisher/ (none in site/)
    message = root / ".publisher" / "newsletter" / f"weekly-{week.lower()}" / "message.eml"
    parsed = email.message_from_bytes(message.read_bytes(), policy=email.policy.default)
    text_part = parsed.get_body(preferencelist=("plain",))
    assert text_part is not None and "Hand-written insight." in text_part.get_content()
