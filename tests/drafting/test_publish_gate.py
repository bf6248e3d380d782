"""`weekly --publish` and `build` refuse unsupported claims unless the operator accepts them."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner
from site_project import make_project

from publisher.book.demo import DemoSpec, make_demo_book
from publisher.cli import main
from publisher.common.weeks import parse_week

WEEK = "2026-W47"


def _run(root: Path, *args: str):
    return CliRunner().invoke(main, ["-C", str(root), *args])


def _front(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("\n---", 1)[0].removeprefix("---\n"))


def test_publish_refuses_an_edited_wrong_claim_until_accepted(tmp_path):
    root = tmp_path / "proj"
    make_project(root, weekly=False, draft=False)
    book = make_demo_book(tmp_path / "demo.sqlite", DemoSpec(weeks=2, trades_per_week=40,
                                                             end_week=parse_week(WEEK))).path
    drafted = _run(root, "weekly", "--week", WEEK, "--book", str(book), "--llm", "none")
    assert drafted.exit_code == 0, drafted.output
    post = root / "content" / "weekly" / f"{WEEK}.md"
    assert _run(root, "check", str(post)).exit_code == 0

    text = post.read_text(encoding="utf-8")
    wrong = "There were 23 open positions at week end."
    post.write_text(text.replace("## Failure vault", f"{wrong}\n\n## Failure vault", 1), encoding="utf-8")
    checked = _run(root, "check", str(post))
    assert checked.exit_code == 1
    assert f"{wrong}: number 23" in checked.output

    refused = _run(root, "weekly", "--week", WEEK, "--book", str(book), "--llm", "none", "--publish")
    assert refused.exit_code == 1
    assert "1 unsupported claim(s), not published" in refused.output and "--accept-claims" in refused.output
    assert _front(post)["status"] == "draft"

    accepted = _run(root, "weekly", "--week", WEEK, "--book", str(book), "--llm", "none", "--publish",
                    "--accept-claims")
    assert accepted.exit_code == 0, accepted.output
    meta = _front(post)
    assert meta["status"] == "published"
    assert [a["claim"] for a in meta["accepted_claims"]] == [wrong]
    assert wrong in post.read_text(encoding="utf-8")  # the hand edit is kept
    assert _run(root, "check", str(post)).exit_code == 0  # accepted claims are not reported again
    assert (root / "site" / "index.html").is_file()

    # A later edit of the published post: the build refuses it, unless accepted.
    post.write_text(post.read_text(encoding="utf-8").replace(wrong, wrong + " Every trade was a win."),
                    encoding="utf-8")
    built = _run(root, "build")
    assert built.exit_code == 1
    assert "unsupported claim(s) in a published weekly" in built.output
    assert _run(root, "build", "--accept-claims").exit_code == 0
