"""Runs the hostile-input corpus (tests/hostile/cases.py) through the real CLI, in process.

Each case must end in one of two ways a user can live with: a one-line error that names the
culprit, or a safe and correct render. See the module docstring of hostile.cases for the rules.
"""

from __future__ import annotations

import json
import re
from contextlib import nullcontext
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hostile.cases import CASES, CLEAN_ENV, ERROR, SAFE, WEEK, Case, markdown_table
from hostile.safety import (
    check_devto_exports,
    check_outputs,
    feed_items,
    newsletter_messages,
    read_eml,
    scan_html,
    visible,
)

from publisher.cli import main

DOCS = Path(__file__).resolve().parent.parent / "docs" / "reliability.md"


def invoke(root: Path, args: tuple[str, ...], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["-C", str(root), *args], env={**CLEAN_ENV, **(env or {})})


# What a terminal acts on (ESC starts OSC/CSI sequences, BEL ends them, 0x9B is the 8-bit CSI) and the
# bidi controls that reorder a line: none may reach the user's terminal, whatever the book holds.
TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def tail(output: str, lines: int = 6) -> str:
    """The end of the CLI's output, for short failure messages (a fact sheet is hundreds of lines)."""
    return "\n".join(output.splitlines()[-lines:])


def assert_one_line_error(result: Result, names: tuple[str, ...]) -> None:
    output = result.output
    assert "Traceback" not in output, tail(output, 30)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, f"exit {result.exit_code}, {len(errors)} error lines: {tail(output)}"
    assert result.exit_code == 1, f"exit {result.exit_code} (2 = an unexpected failure, not a known error): {tail(output)}"
    for name in names:
        assert name in errors[0], f"{name!r} not named in: {errors[0]}"


def strict_json(text: str) -> dict:
    """JSON as other tools read it: NaN and Infinity are not JSON, so they fail here."""
    def reject(token: str) -> None:
        raise AssertionError(f"{token} in the fact sheet: not valid JSON")

    return json.loads(text, parse_constant=reject)


def load_facts(root: Path, case: Case, result: Result) -> dict | None:
    if case.command[0] == "facts":
        return strict_json(result.stdout) if "--json" in case.command else None
    path = root / "content" / "weekly" / f"{WEEK}.facts.json"
    return strict_json(path.read_text("utf-8")) if path.exists() else None


def assert_shown(site: Path, needle: str) -> None:
    """`needle` reads literally in a post page, in a feed item and in every newsletter part."""
    needle = visible(needle)
    pages = [scan_html(p.read_text("utf-8"))[1] for p in sorted(site.glob("*/*/index.html"))
             if p.parent.parent.name in ("weekly", "posts")]
    assert any(needle in text for text in pages), f"{needle!r} not shown on any post page"
    items = [visible(title) + " " + scan_html(body)[1] for title, body in feed_items(site / "feed.xml")]
    assert any(needle in item for item in items), f"{needle!r} not shown in any feed item"
    for eml in newsletter_messages(site):
        text, body = read_eml(eml)
        assert needle in visible(text), f"{needle!r} not in the plain-text part of {eml.name}"
        assert needle in scan_html(body)[1], f"{needle!r} not in the HTML part of {eml.name}"


def assert_safe(root: Path, case: Case, result: Result) -> None:
    assert result.exit_code == 0, tail(result.output)
    assert "Traceback" not in result.output
    site = root / "site"
    if case.builds_site:
        assert (site / "index.html").is_file(), tail(result.output)
        assert check_outputs(site) == []
    for text in case.says:
        assert text in result.output, f"{text!r} not in: {tail(result.output)}"
    if case.command[0] == "weekly" and case.builds_site:  # the weekly's Markdown carries untrusted text to dev.to
        exports = root / "exports" / "devto"
        assert any(exports.glob("*.md")) and check_devto_exports(exports) == []
    for needle in case.shown:
        assert_shown(site, needle)
    facts = load_facts(root, case, result)
    if case.figures:
        assert facts is not None
        week = facts["all_books"]["week"]
        got = {key: week[key]["value"] for key in case.figures}
        assert got == pytest.approx(dict(case.figures)), got
    if case.check is not None:
        case.check(root, facts)


def _param(case: Case) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_hostile_case(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "project"
    case.build(root)
    monkeypatch.chdir(root)  # file arguments (a brief) are relative to the project
    with case.hold(root) if case.hold else nullcontext():
        result = invoke(root, case.command, dict(case.env))
    assert not TERMINAL_CONTROLS.search(result.output), f"terminal control characters in: {result.output[-300:]!r}"
    if case.outcome == ERROR:
        assert_one_line_error(result, case.names)
        if case.check is not None:
            case.check(root, None)
    else:
        assert case.outcome == SAFE
        assert_safe(root, case, result)


@pytest.mark.parametrize("markup", [
    "<p>hi</p><script>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    '<a href=" java\tscript:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<iframe src="https://evil.example"></iframe>',
    '<body onload="alert(1)">',
    '<link rel="canonical" href="JAVASCRIPT:alert(1)">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<meta property="og:image" content="javascript:alert(1)">',
])
def test_the_safety_check_catches_live_markup(markup: str) -> None:
    """The judge of the corpus is not vacuous: each of these is reported."""
    assert scan_html(markup)[0]


def test_the_safety_check_passes_escaped_text_and_sees_it() -> None:
    problems, text = scan_html('<p>&lt;script&gt;alert(1)&lt;/script&gt; <a href="https://ok.example/?a=1&amp;b=2">ok</a></p>')
    assert problems == [] and text == "<script>alert(1)</script> ok"


def test_the_feed_check_rejects_xml_a_reader_cannot_parse(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    feed = tmp_path / "feed.xml"
    feed.write_text("<rss><channel><item><title>bell \x07</title></item></channel></rss>", encoding="utf-8")
    with pytest.raises(ET.ParseError):
        feed_items(feed)


def test_an_unexpected_failure_is_one_line_plus_a_log_with_the_traceback(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line of defence: a bug we did not foresee still never shows the user a traceback."""
    import publisher.facts.compute

    def broken(*args: object, **kwargs: object) -> dict:
        raise RuntimeError("a bug nobody foresaw\nsecond line")

    monkeypatch.setattr(publisher.facts.compute, "compute_facts", broken)
    root = tmp_path / "project"
    next(c for c in CASES if c.name == "empty-vault").build(root)
    result = invoke(root, ("facts", "--week", WEEK))
    assert result.exit_code == 2 and "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "RuntimeError: a bug nobody foresaw" in errors[0] and "second line" not in errors[0]
    log = Path(errors[0].rsplit("traceback in ", 1)[1])
    assert log.is_file() and "Traceback" in log.read_text("utf-8") and "a bug nobody foresaw" in log.read_text("utf-8")


def test_corpus_is_large_named_uniquely_and_covers_every_command() -> None:
    names = [case.name for case in CASES]
    assert len(names) >= 30 and len(set(names)) == len(names)
    assert {case.command[0] for case in CASES} >= {"facts", "weekly", "build", "deploy", "draft"}
    assert {case.outcome for case in CASES} == {ERROR, SAFE}


def test_reliability_doc_lists_every_case_as_the_corpus_declares_it() -> None:
    assert markdown_table() in DOCS.read_text("utf-8"), "regenerate it: cd tests && python -m hostile.cases --write"
