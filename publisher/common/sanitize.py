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
7. **Bidirectional controls** (U+202A-U+202E embeddings/overrides, U+2066-U+2069 isolates) in
   untrusted text are dropped by `md_escape`, `chart_label` and `terminal_text`, so a symbol cannot
   reverse the figures shown after it; our own isolation (`bidi_isolate`) is added afterwards.
8. **Terminal and logs**: `terminal_text` removes every C0/C1 control (ESC, so no OSC/CSI sequence
   can set a window title or the clipboard) and bidi controls, keeping newlines and tabs.
9. **Charts**: `chart_label` makes a label one bounded line; matplotlib's mathtext is off
   (`text.parse_math`), so `$...$` in a name is drawn literally.
10. **Rewriting attributes** of generated HTML (absolute URLs in feeds and email, email images):
   `rewrite_start_tags` touches the start tags an HTML parser finds, never text or inline code,
   and re-serialises attributes fully escaped (`<`, `>`, `&`, quotes).
"""

from __future__ import annotations

import html as _html
import re
import unicodedata
from collections.abc import Callable
from html.parser import HTMLParser

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
# Embedding, override and isolate controls: they reorder the text that follows them.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Everything a terminal interprets (C0 but tab/newline, DEL, C1 incl. CSI/OSC introducers) plus bidi.
_TERMINAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# What json.dumps(ensure_ascii=False) writes raw though a terminal acts on it (C0 is already escaped).
_JSON_RAW_CONTROL = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# CommonMark backslash escapes (`javascript\:`) are decoded in link destinations, like entities.
_MD_BACKSLASH = re.compile(r"\\([!-/:-@\[-`{-~])")
MAX_LABEL = 60  # characters of a chart label (symbol, book name, root cause); the rest becomes "…"
# A URL scheme is letters/digits/+.- before the first colon, as long as no / ? # comes first.
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
# The ASCII punctuation CommonMark (and dev.to's Liquid tags, `{%`) give a meaning to inline.
_MD_INLINE = re.compile(r"([\\`*_{}\[\]()<>#|~!&%])")
# Block-level markers that only matter at the start of a line.
_MD_BLOCK_START = re.compile(r"^(\s*\d*)([-+=.)])")


def strip_control_chars(text: str) -> str:
    """Remove the characters that make XML unparseable; keeps tab, newline, emoji and RTL text."""
    return _CONTROL.sub("", text)


def strip_bidi_controls(text: str) -> str:
    """Drop embedding/override/isolate controls (right-to-left letters themselves are kept)."""
    return _BIDI.sub("", text)


def terminal_text(text: object) -> str:
    """Text safe to print to a terminal or a log: no escape sequences, no bidi controls."""
    return _TERMINAL.sub("", "" if text is None else str(text))


def json_terminal_safe(text: str) -> str:
    """JSON to print: the C1 and bidi controls JSON leaves raw become \\uXXXX escapes (same data)."""
    return _JSON_RAW_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def chart_label(text: object, limit: int = MAX_LABEL) -> str:
    """An untrusted name as a chart label: one line, no controls, at most `limit` characters."""
    value = " ".join(terminal_text(text).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def md_escape(text: object) -> str:
    """Make untrusted text literal inside Markdown: one line, no markup, no raw HTML, no entities."""
    value = strip_bidi_controls(strip_control_chars("" if text is None else str(text)))
    value = " ".join(value.split())  # newlines would end a table row or a list item
    value = _MD_INLINE.sub(r"\\\1", value)
    return _MD_BLOCK_START.sub(r"\1\\\2", value)


def safe_url(url: object) -> str:
    """Return the URL if it is http(s), mailto or relative; otherwise "" (never javascript: & co)."""
    raw = strip_control_chars("" if url is None else str(url)).strip()
    # Renderers decode entities (`javascript&colon;`, `&#106;avascript:`) and, in Markdown link
    # destinations, backslash escapes before a browser sees the URL: check what they will produce.
    probe = raw
    for _ in range(4):
        decoded = _html.unescape(_MD_BACKSLASH.sub(r"\1", probe))
        if decoded == probe:
            break
        probe = decoded
    # Browsers ignore embedded whitespace and controls in a scheme ("java\tscript:"); so do we.
    probe = "".join(strip_bidi_controls(_TERMINAL.sub("", probe)).split())
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


class _StartTags(HTMLParser):
    """Collects (offset, raw text, tag, attributes) of every start tag, as a browser would see them."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[tuple[int, int], str, str, list[tuple[str, str | None]]]] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((self.getpos(), self.get_starttag_text() or "", tag, attrs))

    handle_startendtag = handle_starttag


Attrs = list[tuple[str, str | None]]


def rewrite_start_tags(markup: str, rewrite: Callable[[str, Attrs], Attrs | str | None]) -> str:
    """Apply `rewrite(tag, attrs)` to each start tag of `markup`, leaving text and code untouched.

    `rewrite` returns new attributes (the tag is re-serialised with every value escaped), a string
    (replaces the whole tag) or None (tag unchanged). Text that merely looks like `src="..."`,
    in a paragraph or in inline code, is text to the parser and is never touched.
    """
    tags = _StartTags(markup).tags
    if not tags:
        return markup
    line_starts = [0]
    for match in re.finditer("\n", markup):
        line_starts.append(match.end())
    out, last = [], 0
    for (line, col), raw, tag, attrs in tags:
        start = line_starts[line - 1] + col
        if markup[start : start + len(raw)] != raw:  # cannot locate it exactly: leave it alone
            continue
        new = rewrite(tag, attrs)
        if new is None:
            continue
        if not isinstance(new, str):
            parts = [name if value is None else f'{name}="{_html.escape(value, quote=True)}"' for name, value in new]
            closing = "/>" if raw.rstrip().endswith("/>") else ">"
            new = f"<{tag}{''.join(' ' + p for p in parts)}{closing}"
        out.append(markup[last:start])
        out.append(new)
        last = start + len(raw)
    out.append(markup[last:])
    return "".join(out)
