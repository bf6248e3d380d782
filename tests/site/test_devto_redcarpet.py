"""dev.to exports rendered by dev.to's own renderer: Redcarpet with Forem's options.

Forem renders article Markdown with `Redcarpet::Render::HTMLRouge.new(hard_wrap: true,
filter_html: false)` and `Constants::Redcarpet::CONFIG` (below). HTMLRouge only adds code
highlighting, so the plain HTML renderer with the same options shows what a reader sees. Needs Ruby
and Debian's `ruby-redcarpet` (`.ci/run` installs it); skipped cleanly without them.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml
from facts_sample import HOSTILE_TITLE, sample_facts, write_weekly
from lxml import html as lxml_html

from publisher.config import Config, SiteConfig
from publisher.site.content import dump_post, load_post
from publisher.site.devto import export_post

RUBY = shutil.which("ruby")
FOREM = """
require "redcarpet"
config = {autolink: true, no_intra_emphasis: true, fenced_code_blocks: true, lax_html_blocks: true,
          lax_spacing: true, strikethrough: true, superscript: false, tables: true, footnotes: true}
renderer = Redcarpet::Render::HTML.new(hard_wrap: true, filter_html: false)
STDOUT.write(Redcarpet::Markdown.new(renderer, config).render(STDIN.read))
"""


def _redcarpet_available() -> bool:
    if RUBY is None:
        return False
    probe = subprocess.run([RUBY, "-e", 'require "redcarpet"'], capture_output=True, check=False)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _redcarpet_available(), reason="Ruby with redcarpet not installed (apt-get install ruby-redcarpet)")

WRAPPED = """I moved the drafting to MLX last month, and the first thing I noticed was that the model
loaded in under a second once the weights were converted, which changed how I think about running
it on every Tuesday instead of keeping a server warm all week.

> A quoted thought that also wraps because the editor wraps at a hundred columns or so, and keeps
> going on the next line of the quote.

- A list item whose text is long enough that it wraps onto a second line in the source file, as
  hand-written lists do.

Line one of an address with a hard break
line two after it.

```python
def keep(this):
    return "code \\% stays"   # two lines
```

Costs dropped 48.9\\% and \\$12 saved \\(roughly\\); braces \\{\\% raw \\%\\} stay literal.
""".replace("a hard break\n", "a hard break  \n")  # two trailing spaces: a Markdown hard break

HOSTILE_BODY = """Intro <span onclick="steal()">text</span> and <img src="x.png" onerror="steal()"> end.

<script>alert(1)</script>

<div style="color: red" onmouseover="steal()">block <a href="javascript:alert(1)">link</a></div>

A [bad link](javascript:alert(1)) and ![bad image](data:image/svg+xml;base64,PHN2Zz4=) here.

An autolink <javascript:alert(1)> next to a good one <https://ok.example/x>.
"""


def render(markdown_text: str) -> str:
    assert RUBY is not None
    run = subprocess.run([RUBY, "-e", FOREM], input=markdown_text, capture_output=True, text=True, check=True)
    return run.stdout


def split(export: str) -> tuple[dict, str]:
    _, header, body = export.split("---\n", 2)
    return yaml.safe_load(header), body


def visible_text(html: str) -> str:
    return lxml_html.fromstring(f"<div>{html}</div>").text_content()


def config_for(tmp_path) -> Config:
    return Config(root=tmp_path, site=SiteConfig(url="https://blog.example.com", title="Quant Log"))


def hand_post(tmp_path, body: str, **meta):
    path = tmp_path / "content" / "posts" / "p.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    front = {"title": "Notes", "date": "2026-04-01T10:00:00+02:00", "tags": ["mlx"], "slug": "p", **meta}
    path.write_text(dump_post(front, body), encoding="utf-8")
    return load_post(path, tmp_path / "content", "UTC")


def test_weekly_renders_without_visible_backslashes_and_with_its_figures(tmp_path):
    config = config_for(tmp_path)
    meta, body = split(export_post(write_weekly(config, sample_facts()), config))
    html = render(body)
    root = lxml_html.fromstring(f"<div>{html}</div>")
    text = root.text_content()
    assert "\\" not in text
    alts = [img.get("alt") for img in root.iter("img")]
    assert len(alts) == 4 and all("\\" not in alt for alt in alts)
    assert "book 1 (standard) from 1000.00 USDT to 998.45 USDT (-0.15%)" in alts[0]
    # the headline is book 1, the standard book (sample_facts: 5 wins of 12); book 2 is its inverted mirror
    assert "Win rate: 41.7% (95% interval 19.3% to 68.0%)" in text
    assert "Realized PnL: -1.55 USDT" in text
    assert "(< 30)" in text  # the small-sample warning, escaped for CommonMark, reads right here too
    assert HOSTILE_TITLE.replace("\u2068", "").replace("\u2069", "") in text.replace("\u2068", "").replace("\u2069", "")
    assert "<script" not in html and "{%" not in body


def test_weekly_front_matter_has_cover_and_series(tmp_path):
    config = config_for(tmp_path)
    meta, _ = split(export_post(write_weekly(config, sample_facts()), config))
    assert meta["cover_image"] == "https://blog.example.com/weekly/weekly-2026-w16/charts/equity.png"
    assert meta["series"] == "Quant Log Weekly"


def test_hand_written_paragraphs_are_unwrapped_but_hard_breaks_and_code_kept(tmp_path):
    config = config_for(tmp_path)
    _, body = split(export_post(hand_post(tmp_path, WRAPPED), config))
    html = render(body)
    root = lxml_html.fromstring(f"<div>{html}</div>")
    paragraphs = root.findall(".//p")
    first = paragraphs[0]
    assert not first.findall("br") and "converted, which changed how I think" in first.text_content()
    quote = root.find(".//blockquote")
    assert quote is not None and not quote.findall(".//br") and "hundred columns or so, and keeps going" in quote.text_content()
    item = root.find(".//li")
    assert not item.findall(".//br") and "wraps onto a second line in the source file, as hand-written" in item.text_content()
    address = next(p for p in paragraphs if "Line one" in p.text_content())
    assert len(address.findall("br")) == 1 and "line two after it." in address.text_content()
    code = root.find(".//pre/code")
    assert code is not None and code.text_content() == 'def keep(this):\n    return "code \\% stays"   # two lines\n'
    last = paragraphs[-1].text_content()
    assert last == "Costs dropped 48.9% and $12 saved (roughly); braces {% raw %} stay literal."
    assert "{%" not in body  # dev.to evaluates Liquid tags in the source before rendering


def test_hostile_html_and_urls_are_sanitised_in_body_and_front_matter(tmp_path):
    config = config_for(tmp_path)
    post = hand_post(tmp_path, HOSTILE_BODY, cover_image="javascript:alert(1)", canonical_url="data:text/html,x")
    export = export_post(post, config)
    meta, body = split(export)
    assert "cover_image" not in meta and meta["canonical_url"] == "https://blog.example.com/posts/p/"
    html = render(body)
    lowered = export.lower() + html.lower()
    for bad in ("<script", "onclick", "onerror", "onmouseover", "href=\"javascript:", "src=\"data:", "](javascript:", "](data:"):
        assert bad not in lowered, bad
    assert "javascript:" not in html.lower().replace("&lt;javascript:alert(1)&gt;", "")  # shown as text, not a link
    assert '<a href="https://ok.example/x">' in html
    assert re.search(r"<span>text</span>", html) and "block" in visible_text(html)
    assert 'src="https://blog.example.com/posts/p/x.png"' in html or 'src="x.png"' in html
