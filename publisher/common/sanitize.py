"""The one place where the sanitising policy lives.

Untrusted text reaches our outputs from headlines, failure-vault notes, symbols, news URLs and LLM
output. The policy, applied everywhere those land:

1. **Text into Markdown** (the weekly template): pass it through `md_escape`. It neutralises every
   Markdown and HTML construct (emphasis, links, images, tables, raw tags, entities, block markers)
   and collapses line breaks, so a headline stays one line of literal text.
2. **Markdown to HTML**: `publisher.render.markdown.markdown_to_html` renders with markdown-it. Raw HTML in
   a hand-written post is allowed by the renderer, then the result always goes through
   `clean_html` (below); with ``allow_html=False`` raw HTML is shown as text.
3. **HTML that must keep markup** (post bodies in pages, feeds, email): `clean_html`, an nh3
   (ammonia) allow-list: the tags Markdown produces plus tables, figures and footnotes; classes and
   ids for code highlighting, footnotes and heading anchors; `dir`/`lang` for right-to-left text;
   only `text-align` in styles; no scripts, no event handlers, no `<style>`, no forms, no iframes.
4. **URLs in attributes**: `safe_url` lets through http(s), mailto and relative URLs only, so
   `javascript:`, `data:` and `vbscript:` (also hidden behind whitespace, control characters or
   entity-like case tricks) never reach an ``href`` or ``src``.
5. **Text into HTML/XML via templates**: jinja2 autoescaping (on for .html and .xml templates).
6. **XML and email**: `strip_control_chars` removes characters XML 1.0 forbids (C0 controls other
   than tab/newline/carriage return, lone surrogates, U+FFFE/U+FFFF) which would make a feed
   unparseable; emoji and right-to-left text pass through unchanged.
"""

from __future__ import annotations

import re
import unicodedata

import nh3

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col",
        "colgroup", "dd", "del", "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1",
        "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre",
        "q", "s", "section", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody",
        "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
    }
)  # fmt: skip

ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "dir", "lang", "title"},
    "a": {"href", "id", "hreflang"},
    "img": {"src", "alt", "width", "height", "loading"},
    "h1": {"id"}, "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "h5": {"id"}, "h6": {"id"},
    "li": {"id"}, "sup": {"id"}, "section": {"id"},
    "ol": {"start"},
    "td": {"colspan", "rowspan", "style"}, "th": {"colspan", "rowspan", "scope", "style"},
    "time": {"datetime"}, "abbr": {"title"}, "q": {"cite"}, "blockquote": {"cite"},
}  # fmt: skip

SAFE_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})

# Characters XML 1.0 forbids (and DEL, which mail clients show as garbage).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
# A URL scheme is letters/digits/+.- before the first colon, as long as no / ? # comes first.
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
# The ASCII punctuation CommonMark (and dev.to's Liquid tags, `{%`) give a meaning to inline.
_MD_INLINE = re.compile(r"([\\`*_{}\[\]()<>#|~!&%])")
# Block-level markers that only matter at the start of a line.
_MD_BLOCK_START = re.compile(r"^(\s*\d*)([-+=.)])")


def strip_control_chars(text: str) -> str:
    """Remove the characters that make XML unparseable; keeps tab, newline, emoji and RTL text."""
    return _CONTROL.sub("", text)


def md_escape(text: object) -> str:
    """Make untrusted text literal inside Markdown: one line, no markup, no raw HTML, no entities."""
    value = strip_control_chars("" if text is None else str(text))
    value = " ".join(value.split())  # newlines would end a table row or a list item
    value = _MD_INLINE.sub(r"\\\1", value)
    return _MD_BLOCK_START.sub(r"\1\\\2", value)


def safe_url(url: object) -> str:
    """Return the URL if it is http(s), mailto or relative; otherwise "" (never javascript: & co)."""
    raw = strip_control_chars("" if url is None else str(url)).strip()
    # Browsers ignore embedded whitespace in a scheme ("java\tscript:"); so do we when checking.
    probe = "".join(raw.split())
    probe = unicodedata.normalize("NFKC", probe)
    match = _SCHEME.match(probe)
    if match and match.group(1).lower() not in SAFE_SCHEMES:
        return ""
    return raw


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if attr in ("href", "src"):
        return safe_url(value) or None
    return value


def clean_html(html: str) -> str:
    """Sanitise an HTML fragment with the allow-list above (post bodies in pages, feeds and email)."""
    return nh3.clean(
        strip_control_chars(html),
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_attribute_filter,
        clean_content_tags={"script", "style"},
        url_schemes=set(SAFE_SCHEMES),
        filter_style_properties={"text-align"},
        link_rel=None,
        strip_comments=True,
    )
