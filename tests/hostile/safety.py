"""What "a safe, legible render" means, checked on the files a reader's browser, feed reader and mail
client receive: parsed, never grepped, so escaped hostile text (`&lt;script&gt;`) passes and a
live tag or handler fails wherever it hides (page, SVG chart, feed item body, email)."""

from __future__ import annotations

import email
import email.policy
import html
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import feedparser

FORBIDDEN_TAGS = frozenset({"script", "iframe", "object", "embed", "frame", "frameset", "applet", "form", "base"})
URL_ATTRS = frozenset({"href", "src", "action", "formaction", "xlink:href", "poster", "background", "cite", "srcset"})
_BAD_SCHEME = re.compile(r"^(?:javascript|vbscript|data):", re.IGNORECASE)


def _bad_url(value: str) -> bool:
    probe = "".join(html.unescape(value).split())  # browsers ignore whitespace/controls inside a scheme
    probe = re.sub(r"[\x00-\x1f]", "", probe)
    return bool(_BAD_SCHEME.match(probe))


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name}= on <{tag}>")
            if name in URL_ATTRS and value and _bad_url(value):
                self.problems.append(f"{name}={value!r} on <{tag}>")
        if tag == "meta":
            self._check_meta(dict(attrs))

    def _check_meta(self, attrs: dict[str, str | None]) -> None:
        """A refresh to a script URL, or a social card (og:url, og:image, twitter:image) pointing at one."""
        content = attrs.get("content") or ""
        kind = (attrs.get("property") or attrs.get("name") or "").lower()
        if (attrs.get("http-equiv") or "").lower() == "refresh" and "url=" in content.lower():
            content = content.split("=", 1)[1]
        elif not kind.endswith(("url", "image")):
            return
        if _bad_url(content):
            self.problems.append(f"<meta {kind or 'refresh'}> to {content!r}")

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def scan_html(markup: str) -> tuple[list[str], str]:
    """(problems, visible text with whitespace collapsed) of an HTML or SVG document or fragment."""
    scanner = _Scanner()
    scanner.feed(markup)
    scanner.close()
    return scanner.problems, " ".join(" ".join(scanner.text).split())


def visible(text: str) -> str:
    return " ".join(text.split())


def check_site(site: Path) -> list[str]:
    """Every page and SVG chart of the built site: no live markup from untrusted text."""
    problems = []
    for path in sorted([*site.rglob("*.html"), *site.rglob("*.svg")]):
        found, _ = scan_html(path.read_text(encoding="utf-8"))
        problems += [f"{path.relative_to(site)}: {p}" for p in found]
    return problems


def feed_items(path: Path) -> list[tuple[str, str]]:
    """(title, body HTML) of each item; fails the test when the XML or the feed is malformed."""
    raw = path.read_bytes()
    root = ET.fromstring(raw)  # strict XML: control characters or a broken CDATA would raise here
    parsed = feedparser.parse(raw)
    assert not parsed.bozo, f"{path}: feedparser bozo: {parsed.get('bozo_exception')!r}"
    return [(item.findtext("title") or "", item.findtext("description") or "") for item in root.iter("item")]


def check_feeds(site: Path) -> list[str]:
    problems = []
    for path in sorted(site.rglob("*.xml")):
        if path.name == "sitemap.xml":
            ET.fromstring(path.read_bytes())
            continue
        for title, body in feed_items(path):
            found, _ = scan_html(body)
            problems += [f"{path.relative_to(site)} item {title!r}: {p}" for p in found]
    return problems


def read_eml(path: Path) -> tuple[str, str]:
    """(plain text, HTML) of a newsletter; fails when it is not multipart/alternative."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message.get_content_type() in ("multipart/alternative", "multipart/related", "multipart/mixed"), path
    text = message.get_body(preferencelist=("plain",))
    body = message.get_body(preferencelist=("html",))
    assert text is not None and body is not None, f"{path}: needs a text and an HTML part"
    return text.get_content(), body.get_content()


def newsletter_messages(site: Path) -> list[Path]:
    """The built newsletter messages: private (they name a recipient), so beside the site, not in it."""
    return sorted((site.parent / ".publisher" / "newsletter").rglob("*.eml"))


def check_emails(site: Path) -> list[str]:
    problems = [f"{path.relative_to(site)}: a message with a recipient inside the published site"
                for path in sorted(site.rglob("*.eml"))]
    for path in newsletter_messages(site):
        _, body = read_eml(path)
        found, _ = scan_html(body)
        problems += [f"{path.relative_to(site.parent)}: {p}" for p in found]
        for marker in ("<style", "<svg"):
            if marker in body.lower():
                problems.append(f"{path.relative_to(site.parent)}: {marker}> in the email HTML")
    return problems


def check_devto_exports(folder: Path) -> list[str]:
    """dev.to renders an export's Markdown with raw HTML enabled: render it the same way and check it."""
    from markdown_it import MarkdownIt

    from publisher.site.content import parse_front_matter

    problems = []
    for path in sorted(folder.glob("*.md")):
        _, body = parse_front_matter(path.read_text("utf-8"), path)
        found, _ = scan_html(MarkdownIt("commonmark", {"html": True}).enable("table").render(body))
        problems += [f"{path.name}: {p}" for p in found]
    return problems


def check_outputs(site: Path) -> list[str]:
    """Everything unsafe in the site, its feeds and its newsletters (empty when all is well)."""
    return [*check_site(site), *check_feeds(site), *check_emails(site)]
