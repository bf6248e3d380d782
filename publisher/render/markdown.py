"""Markdown to HTML and the jinja2 environment shared by every rendered output.

Rendering choices, and why: markdown-it-py in CommonMark mode (predictable, spec-tested) plus
tables, strikethrough, footnotes and heading anchors; code blocks highlighted server-side by
Pygments into CSS classes (no JavaScript on the page, works in feeds and email); every HTML
result goes through `publisher.common.sanitize.clean_html`.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import TYPE_CHECKING

import jinja2
from markdown_it import MarkdownIt
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.footnote import footnote_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from publisher.common.bundled import bundled_path
from publisher.common.dates import display_date, display_day_month
from publisher.common.sanitize import clean_html, md_escape, safe_url

if TYPE_CHECKING:
    from publisher.config import Config
    from publisher.site.content import Post

_FORMATTER = HtmlFormatter(nowrap=True)


@lru_cache(maxsize=64)
def _lexer(name: str) -> Lexer | None:
    """Lexer lookup scans every Pygments plugin: as slow as highlighting a block, so do it once."""
    try:
        return get_lexer_by_name(name, stripnl=False)
    except ClassNotFound:
        return None


def _highlight(code: str, lang: str, _attrs: str) -> str:
    """Pygments spans inside markdown-it's own <pre><code class="language-x">; "" = plain block."""
    lexer = _lexer(lang.split()[0].lower()) if lang.strip() else None
    return highlight(code, lexer, _FORMATTER) if lexer is not None else ""


@lru_cache(maxsize=2)
def _markdown(allow_html: bool) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": allow_html, "highlight": _highlight})
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin)
    md.use(anchors_plugin, min_level=1, max_level=4)
    return md


def markdown_to_html(md: str, *, allow_html: bool = True) -> str:
    """Render Markdown to sanitised HTML. With `allow_html=False` raw HTML shows as text."""
    return clean_html(_markdown(allow_html).render(md))


def render_post_html(post: Post) -> str:
    """Render a post's body, store it on the post (`post.html`) and return it."""
    post.html = markdown_to_html(post.body)
    return post.html


def highlight_css(selector: str = "pre code") -> str:
    """Pygments colour rules for the theme's stylesheet (the class names `_highlight` emits)."""
    return HtmlFormatter(style="friendly").get_style_defs(selector)


def _datefmt(value: dt.datetime | dt.date, fmt: str = "%Y-%m-%d") -> str:
    return value.strftime(fmt)


def template_env(config: Config) -> jinja2.Environment:
    """Templates from the site's own `templates/` first, then the bundled default theme.

    Autoescaping is on for HTML and XML templates (including `*.html.j2` / `*.xml.j2`), off for
    Markdown templates, where untrusted text must go through the `md_escape` filter instead.
    """
    search = [str(p) for p in (config.templates_dir, bundled_path("templates")) if p.is_dir()]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "xml", "html.j2", "xml.j2"), default_for_string=True, default=False
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(md_escape=md_escape, safe_url=safe_url, datefmt=_datefmt, display_date=display_date,
                       display_day_month=display_day_month)
    return env
