"""The weekly newsletter: an email-safe HTML page, a plain-text twin and a ready-to-send `.eml`.

Email HTML is not web HTML: clients strip `<style>`, never run scripts and many do not show SVG.
So the post's HTML goes into a 600px table layout (`templates/email.html.j2`), every CSS rule is
inlined with css-inline, chart SVGs are swapped for their 2x PNGs (by absolute URL, or attached
and referenced as `cid:` when `[newsletter] images = "cid"`), and every link is made absolute.
The text part is rendered from the same Markdown, not scraped from the HTML.

Output is deterministic (Message-ID, Date and MIME boundaries derive from the post), so a rebuild
of an unchanged week rewrites identical files.
"""

from __future__ import annotations

import email.policy
import email.utils
import hashlib
import html as htmllib
import re
import textwrap
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urljoin, urlparse

import css_inline
from markdown_it import MarkdownIt
from markdown_it.token import Token

from publisher.common.dates import display_date
from publisher.common.fsutil import atomic_write_bytes, atomic_write_text
from publisher.common.sanitize import clean_html, safe_url, strip_control_chars
from publisher.config import Config
from publisher.render.markdown import template_env
from publisher.site.content import Post
from publisher.site.feed import absolutize_html, post_url, site_url

TEMPLATE = "email.html.j2"
WIDTH = 600
TEXT_WIDTH = 72
_IMG = re.compile(r"<img\b[^>]*>")
_ATTR = re.compile(r'\b([a-z-]+)="([^"]*)"')
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False, keep_link_tags=False)


def newsletter_dir(post: Post, site_dir: Path) -> Path:
    return Path(site_dir) / "newsletter" / post.slug


def _domain(config: Config) -> str:
    return urlparse(config.site.url).hostname or "localhost"


def _cid(png: Path, post: Post, config: Config) -> str:
    return f"{post.slug}.{png.stem}@{_domain(config)}"


# --- HTML --------------------------------------------------------------------------------------------


def _email_images(html: str, post: Post, config: Config, charts: dict[str, Path], cid: bool) -> str:
    """Chart SVGs become their PNGs (absolute URL or cid:); any other SVG image becomes its alt text.

    Runs on HTML whose URLs are already absolute."""

    base = post_url(post, config)

    def swap(match: re.Match[str]) -> str:
        attrs = {k: htmllib.unescape(v) for k, v in _ATTR.findall(match.group(0))}
        src, alt = attrs.get("src", ""), attrs.get("alt", "")
        stem = Path(urlparse(src).path).stem
        if src == urljoin(base, f"charts/{stem}.svg") and stem in charts:
            png = charts[stem]
            target = f"cid:{_cid(png, post, config)}" if cid else urljoin(base, f"charts/{png.name}")
        elif urlparse(src).path.lower().endswith(".svg"):
            return f"<em>{htmllib.escape(alt)}</em>" if alt else ""
        else:
            target = src
        return (f'<img src="{htmllib.escape(target)}" alt="{htmllib.escape(alt)}" width="{WIDTH - 48}" '
                f'style="width: 100%; max-width: {WIDTH - 48}px;">')

    return _IMG.sub(swap, html)


def _unsubscribe_url(config: Config) -> str:
    """The first URL of the List-Unsubscribe header value (`<mailto:...>, <https://...>`)."""
    urls = re.findall(r"<([^>]+)>", config.newsletter.list_unsubscribe) or [config.newsletter.list_unsubscribe]
    return safe_url(urls[0].strip())


def render_email_html(post: Post, config: Config, charts: dict[str, Path], *, cid: bool) -> str:
    """The email's HTML with every style inlined; `cid=True` points chart images at attachments."""
    base = post_url(post, config)
    body = absolutize_html(clean_html(post.html), base)  # links absolute, before images become cid:
    body = _email_images(body, post, config, charts, cid)
    page = template_env(config).get_template(TEMPLATE).render(
        language=config.site.language,
        title=post.title,
        date=display_date(post.date),
        site_title=config.site.title,
        site_url=site_url(config),
        web_url=urljoin(site_url(config), f"newsletter/{post.slug}/"),
        post_url=base,
        unsubscribe_url=_unsubscribe_url(config),
        body_html=body,
    )
    return _INLINER.inline(strip_control_chars(page))


# --- plain text ----------------------------------------------------------------------------------------


class _TextRenderer:
    """Markdown tokens to readable plain text: underlined headings, wrapped paragraphs, aligned tables."""

    def __init__(self, base: str) -> None:
        self.base = base

    def inline(self, token: Token) -> str:
        out: list[str] = []
        links: list[str] = []
        for child in token.children or []:
            if child.type in ("text", "code_inline"):
                out.append(child.content)
            elif child.type == "softbreak":
                out.append(" ")
            elif child.type == "hardbreak":
                out.append("\n")
            elif child.type == "link_open":
                links.append(urljoin(self.base, str(child.attrs.get("href", ""))))
            elif child.type == "link_close" and links:
                href = links.pop()
                if safe_url(href):
                    out.append(f" ({href})")
            elif child.type == "image":
                out.append(f"[{self.inline(child) or 'image'}]")
        return strip_control_chars("".join(out))

    def render(self, tokens: list[Token]) -> str:
        blocks: list[str] = []
        prefixes: list[str] = []  # per open list / quote: the marker of the current item
        counters: list[int] = []
        table: list[list[str]] | None = None
        fresh = False  # the next paragraph starts a list item and carries its marker
        tight = False  # the last block was an item of a tight list
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            kind = tok.type
            if kind in ("bullet_list_close", "ordered_list_close") and len(prefixes) == 1 or kind == "heading_open":
                tight = False
            if kind == "heading_open":
                text = self.inline(tokens[i + 1])
                rule = "=" if tok.tag in ("h1", "h2") else "-"
                blocks.append(f"{text}\n{rule * min(len(text), TEXT_WIDTH)}")
                i += 3
                continue
            if kind == "bullet_list_open":
                counters.append(0)
                prefixes.append("- ")
            elif kind == "ordered_list_open":
                counters.append(int(tok.attrs.get("start", 1)) - 1)
                prefixes.append("#")
            elif kind in ("bullet_list_close", "ordered_list_close"):
                counters.pop()
                prefixes.pop()
            elif kind == "list_item_open":
                counters[-1] += 1
                fresh = True
            elif kind == "blockquote_open":
                counters.append(0)
                prefixes.append("> ")
            elif kind == "blockquote_close":
                counters.pop()
                prefixes.pop()
            elif kind == "inline" and table is None:
                text = self._wrap(self.inline(tok), prefixes, counters, fresh)
                if tokens[i - 1].hidden and tight and blocks:  # tight list: one item per line
                    blocks[-1] += "\n" + text
                else:
                    blocks.append(text)
                tight, fresh = tokens[i - 1].hidden, False
                i += 1
                continue
            elif kind in ("fence", "code_block"):
                blocks.append(textwrap.indent(tok.content.rstrip("\n"), "    "))
            elif kind == "hr":
                blocks.append("-" * 20)
            elif kind == "table_open":
                table = []
            elif kind == "tr_open" and table is not None:
                table.append([])
            elif kind == "inline" and table is not None:
                table[-1].append(self.inline(tok))
            elif kind == "table_close" and table is not None:
                blocks.append(self._table(table))
                table = None
            i += 1
        return "\n\n".join(b for b in blocks if b.strip()) + "\n"

    @staticmethod
    def _wrap(text: str, prefixes: list[str], counters: list[int], fresh: bool) -> str:
        depth = sum(1 for p in prefixes if p != "> ")
        quote = "> " * sum(1 for p in prefixes if p == "> ")
        first = quote
        rest = quote
        if prefixes and prefixes[-1] != "> ":
            marker = "- " if prefixes[-1] == "- " else f"{counters[-1]}. "
            indent = "  " * (depth - 1)
            rest = quote + indent + " " * len(marker)
            first = quote + indent + marker if fresh else rest
        lines = []
        for para_line in text.split("\n"):
            lines += textwrap.wrap(para_line, TEXT_WIDTH, break_long_words=False, break_on_hyphens=False) or [""]
        return "\n".join((first if n == 0 else rest) + line for n, line in enumerate(lines))

    @staticmethod
    def _table(rows: list[list[str]]) -> str:
        widths = [max(len(r[c]) if c < len(r) else 0 for r in rows) for c in range(max(map(len, rows)))]
        lines = ["  ".join(cell.ljust(widths[c]) for c, cell in enumerate(row)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)


def markdown_to_text(markdown: str, base: str) -> str:
    """Plain text from Markdown; raw HTML stays as inert text, links become `text (absolute url)`."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    return _TextRenderer(base).render(md.parse(markdown))


def render_email_text(post: Post, config: Config) -> str:
    web = urljoin(site_url(config), f"newsletter/{post.slug}/")
    head = f"{post.title}\n{display_date(post.date)}\n\nRead on the web: {web}"
    foot = f"You are receiving this because you subscribed to {config.site.title}."
    unsubscribe = _unsubscribe_url(config)
    if unsubscribe:
        foot += f"\nUnsubscribe: {unsubscribe}"
    return f"{strip_control_chars(head)}\n\n{markdown_to_text(post.body, post_url(post, config))}\n-- \n{foot}\n"


# --- the message -----------------------------------------------------------------------------------------


def build_message(post: Post, config: Config, text: str, html: str, attachments: dict[str, Path]) -> EmailMessage:
    """multipart/alternative (text, html); the html part becomes multipart/related with cid images."""
    news = config.newsletter
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = news.sender
    msg["To"] = news.recipient
    msg["Subject"] = strip_control_chars(post.title)
    msg["Date"] = email.utils.format_datetime(post.date)
    msg["Message-ID"] = f"<{post.slug}@{_domain(config)}>"
    if news.list_unsubscribe:
        msg["List-Unsubscribe"] = news.list_unsubscribe
    # quoted-printable: 7-bit safe through any relay, whatever the script or emoji in the text.
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    if attachments:
        html_part = msg.get_payload()[1]
        for cid, png in attachments.items():
            html_part.add_related(png.read_bytes(), "image", "png", cid=f"<{cid}>", filename=png.name)
    seed = hashlib.sha256((text + html).encode("utf-8")).hexdigest()[:24]
    for n, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        part.set_boundary(f"=={seed}.{n}==")  # deterministic: rebuilds do not churn
    return msg


def _charts(post: Post, site_dir: Path) -> dict[str, Path]:
    folder = Path(site_dir) / post.url_path / "charts"
    return {p.stem: p for p in sorted(folder.glob("*.png"))} if folder.is_dir() else {}


def write_newsletter(post: Post, config: Config, site_dir: Path) -> Path:
    """Write `newsletter/<slug>/index.html` (web version), `message.eml` and `message.txt`."""
    charts = _charts(post, site_dir)
    cid = config.newsletter.images == "cid"
    web_html = render_email_html(post, config, charts, cid=False)
    mail_html = render_email_html(post, config, charts, cid=True) if cid else web_html
    used = {_cid(png, post, config): png for png in charts.values() if f"cid:{_cid(png, post, config)}" in mail_html}
    text = render_email_text(post, config)
    message = build_message(post, config, text, mail_html, used if cid else {})
    folder = newsletter_dir(post, site_dir)
    atomic_write_text(folder / "index.html", web_html)
    atomic_write_text(folder / "message.txt", text)
    atomic_write_bytes(folder / "message.eml", message.as_bytes())
    return folder / "index.html"
