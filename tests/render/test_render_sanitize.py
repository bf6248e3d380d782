"""The sanitising policy: untrusted text stays literal and harmless in Markdown, HTML and XML."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.common.sanitize import (
    chart_label,
    clean_html,
    json_terminal_safe,
    md_escape,
    rewrite_start_tags,
    safe_url,
    strip_control_chars,
    terminal_text,
)
from publisher.render.markdown import markdown_to_html

HOSTILE = [
    '<script>alert("x")</script>',
    "AT&T &amp; friends",
    'She said "buy" & \'sell\'',
    "**not bold** _not italic_ `not code`",
    "[click](javascript:alert(1)) ![img](http://evil/x.png)",
    "| a | b |",
    "# not a heading",
    "- not a list",
    "1. not a list either",
    "> not a quote",
    "Rocket 🚀 and بيتكوين and שלום",
    "{% embed https://x %}",
    "line one\nline two\r\nline three",
    "back\\slash \\*",
]


def visible_text(rendered: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip()


def test_hostile_text_renders_literally_through_markdown():
    for text in HOSTILE:
        rendered = markdown_to_html(md_escape(text))
        assert re.fullmatch(r"<p>[^<]*</p>\n", rendered), (text, rendered)  # one paragraph, no markup
        assert visible_text(rendered) == " ".join(text.split()), text


def test_hostile_text_inside_a_table_cell_and_a_list_item_keeps_the_structure():
    rendered = markdown_to_html(f"| note |\n|---|\n| {md_escape('a | b <i>x</i>')} |\n\n- {md_escape('* [x](y)')}\n")
    assert rendered.count("<td>") == 1 and "a | b &lt;i&gt;x&lt;/i&gt;" in rendered
    assert "<li>* [x](y)</li>" in rendered


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_escaped_into_markdown_yields_no_tags(text):
    rendered = markdown_to_html(md_escape(text), allow_html=False)
    assert set(re.findall(r"</?([a-z0-9]+)", rendered)) <= {"p"}
    assert visible_text(rendered) == " ".join(strip_control_chars(text).split())


def test_safe_url_allows_web_and_relative_urls_only():
    for url in ["https://dev.to/x?a=1&b=2", "http://a.b", "mailto:me@x.org", "/static/a.png", "charts/eq.svg", "#fn1", "//cdn.x/y"]:
        assert safe_url(url) == url
    for url in ["javascript:alert(1)", " JavaScript:alert(1)", "java\tscript:alert(1)", "java\x00script:x",
                "data:text/html;base64,PHNjcmlwdD4=", "vbscript:msgbox", "file:///etc/passwd"]:
        assert safe_url(url) == "", url


def test_clean_html_drops_scripts_handlers_styles_and_bad_urls():
    dirty = (
        '<p style="color:red" onmouseover="x()">t<script>bad()</script><style>p{}</style>'
        '<a href="javascript:x()">l</a><a href="https://ok.example/">ok</a><iframe src="https://x"></iframe></p>'
        '<table><tr><th style="text-align:right; position:fixed">h</th></tr></table>'
    )
    out = clean_html(dirty)
    assert out == (
        '<p>t<a>l</a><a href="https://ok.example/">ok</a></p>'
        '<table><tbody><tr><th style="text-align:right">h</th></tr></tbody></table>'
    )


def test_strip_control_chars_makes_text_xml_safe_and_keeps_unicode():
    text = "ok\x00\x08\x0b\x1f\ufffe end\ttab\nnl 🚀 שלום"
    cleaned = strip_control_chars(text)
    assert cleaned == "ok end\ttab\nnl 🚀 שלום"
    assert ET.fromstring(f"<a>{html.escape(cleaned)}</a>").text == cleaned


# ---------------------------------------------------------------- round two (issue 12)


@pytest.mark.parametrize("url", [
    "javascript&colon;alert(1)", "&#106;avascript:alert(1)", "&#x6A;avascript:alert(1)", "javascript\\:alert(1)",
    "java&Tab;script:alert(1)", "JaVaScRiPt&#58;alert(1)", "&amp;#106;avascript:alert(1)", "data&colon;text/html,x",
    "java\u202escript:alert(1)", "vbscript&#x3a;msgbox",
])
def test_urls_that_decode_to_a_script_scheme_are_refused(url: str) -> None:
    """Renderers decode entities and Markdown backslash escapes before a browser sees the URL."""
    assert safe_url(url) == ""


@pytest.mark.parametrize("url", ["https://ex.org/?a=1&amp;b=2", "/posts/x/", "mailto:a@b.org", "#top",
                                 "https://ex.org/a%3Ab", "charts/equity.svg"])
def test_ordinary_urls_pass_unchanged(url: str) -> None:
    assert safe_url(url) == url


def test_terminal_text_removes_escape_sequences_and_bidi_but_keeps_lines() -> None:
    hostile = "a\x1b]0;title\x07b\x1b[31mc\x9b2Jd\u202ee\r\nf\tg"
    assert terminal_text(hostile) == "a]0;titleb[31mc2Jde\nf\tg"


def test_json_for_a_terminal_is_the_same_data() -> None:
    data = {"symbol": "x\x9b31m\u202e\u2066y", "n": 1}
    text = json_terminal_safe(json.dumps(data, ensure_ascii=False))
    assert json.loads(text) == data and not re.search("[\x80-\x9f\u202a-\u202e\u2066-\u2069]", text)


def test_md_escape_drops_bidi_controls() -> None:
    assert md_escape("BTC\u202e/USDT\u2066x\u2069") == "BTC/USDTx"


def test_chart_labels_are_one_bounded_line() -> None:
    assert chart_label("a\nb\x1b[1m") == "a b[1m"
    assert chart_label("S" * 1_000_000) == "S" * 59 + "…"


def test_start_tags_are_rewritten_but_text_and_code_are_not() -> None:
    markup = ('<p>set src="logo.png" <code>&lt;img src="x.png"&gt;</code> '
              '<a href="/a" title="x &lt; y">a</a><img src="/i.png" alt="1 &gt; 0"/></p>')

    def absolute(tag: str, attrs: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
        return [(k, "https://ex.org" + v if k in ("href", "src") and v else v) for k, v in attrs]

    out = rewrite_start_tags(markup, absolute)
    assert 'set src="logo.png"' in out and '&lt;img src="x.png"&gt;' in out
    assert '<a href="https://ex.org/a" title="x &lt; y">' in out
    assert '<img src="https://ex.org/i.png" alt="1 &gt; 0"/>' in out
