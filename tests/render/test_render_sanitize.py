"""The sanitising policy: untrusted text stays literal and harmless in Markdown, HTML and XML."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.common.sanitize import clean_html, md_escape, safe_url, strip_control_chars
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
