"""Markdown -> HTML features, template lookup order and autoescaping."""

from __future__ import annotations

import html
import re

from publisher.common.bundled import bundled_path
from publisher.config import Config
from publisher.render.markdown import markdown_to_html, template_env


def test_tables_strikethrough_footnotes_and_anchors():
    out = markdown_to_html(
        "# Results & notes\n\n## Results & notes\n\n| sym | pnl |\n|:--|--:|\n| BTC | -1.5 |\n\n~~old~~ new[^1]\n\n[^1]: the footnote\n"
    )
    assert '<h1 id="results--notes">Results &amp; notes</h1>' in out
    assert '<h2 id="results--notes-1">' in out  # duplicate headings get distinct anchors
    assert '<td style="text-align:right">-1.5</td>' in out
    assert "<s>old</s>" in out
    assert '<a href="#fn1" id="fnref1">' in out and '<li id="fn1" class="footnote-item">' in out


def test_fenced_code_is_highlighted_with_classes_not_javascript():
    out = markdown_to_html("```python\ndef f(x):\n    return x < 1\n```\n\n```nosuchlang\n<b>\n```\n")
    assert '<pre><code class="language-python"><span class="k">def</span>' in out
    assert "&lt;" in out  # the comparison is escaped inside the highlighted block
    assert '<code class="language-nosuchlang">&lt;b&gt;' in out  # unknown language: plain, escaped
    assert "<script" not in out and "style=" not in out


def test_raw_html_in_posts_is_sanitised_and_can_be_disabled():
    md = 'Hi <b onclick="steal()">bold</b> <img src="x.png" onerror="x()"> [a](javascript:alert(1))\n\n<script>alert(1)</script>\n'
    out = markdown_to_html(md)
    assert "<b>bold</b>" in out and '<img src="x.png">' in out
    assert "onclick" not in out and "onerror" not in out and "<script" not in out and "href=\"javascript" not in out
    literal = markdown_to_html("<b>not bold</b>", allow_html=False)
    assert literal == "<p>&lt;b&gt;not bold&lt;/b&gt;</p>\n"


def test_site_templates_override_the_bundled_theme_and_html_is_autoescaped(tmp_path):
    config = Config(root=tmp_path)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "tag.html").write_text("MINE {{ tag }}", encoding="utf-8")
    (tmp_path / "templates" / "note.md.j2").write_text("{{ text }} / {{ text | md_escape }}", encoding="utf-8")
    env = template_env(config)
    assert env.get_template("tag.html").render(tag="<x>") == "MINE &lt;x&gt;"
    assert env.get_template("note.md.j2").render(text="*a*") == r"*a* / \*a\*"  # Markdown: escape explicitly
    assert "{% extends" in (bundled_path("templates") / "post.html").read_text(encoding="utf-8")
    assert env.loader.get_source(env, "base.html")[1] == str(bundled_path("templates") / "base.html")


def test_rendered_text_is_legible_unicode():
    out = markdown_to_html("Emoji 🚀 and Arabic بيتكوين and Hebrew שלום\n")
    assert html.unescape(re.sub(r"<[^>]+>", "", out)).strip() == "Emoji 🚀 and Arabic بيتكوين and Hebrew שלום"
