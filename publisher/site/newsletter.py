"""The weekly newsletter: a fluid email-safe HTML page, a plain-text twin and per-recipient messages.

Email HTML is not web HTML: clients strip `<style>`, never run scripts and many do not show SVG.
So the post's HTML goes into a fluid table layout (`templates/email.html.j2`: 100% wide up to
600px, with a fixed-width ghost table for Outlook's Word engine), every CSS rule is inlined with
css-inline, chart SVGs are swapped for their 2x PNGs (attached and referenced as `cid:` by default,
or by absolute URL when `[newsletter] images = "url"`), and every link is made absolute. The text
part is rendered from the same Markdown, not scraped from the HTML.

Public and private outputs are kept apart: the build writes the web version (no recipient, no
personal unsubscribe link) to `site/newsletter/<slug>/` and a preview message to
`.publisher/newsletter/<slug>/message.eml`, outside the published site. `publish send`
(`publisher.ops.send`) makes one message per subscriber from an `Issue`, each with its own
`List-Unsubscribe` link and `List-Unsubscribe-Post` (RFC 8058 one-click).

Output is deterministic (Message-ID, Date and MIME boundaries derive from the post and the
recipient), so a rebuild of an unchanged week rewrites identical files.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import hashlib
import hmac
import html as htmllib
import json
import os
import re
import struct
import textwrap
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote, urljoin, urlparse

import css_inline
from markdown_it import MarkdownIt
from markdown_it.token import Token

from publisher.common import figures
from publisher.common.dates import display_date
from publisher.common.fsutil import atomic_write_bytes, atomic_write_text
from publisher.common.rules import CHART_DPI, NARROW_CHART_WIDTH_IN, narrow_chart_name, newsletter_rel
from publisher.common.sanitize import Attrs, clean_html, rewrite_start_tags, safe_url, strip_control_chars
from publisher.config import Config
from publisher.errors import ConfigError, ContentError
from publisher.render.markdown import template_env
from publisher.site.content import Post
from publisher.site.feed import absolutize_html, post_url, site_url

if TYPE_CHECKING:
    from publisher.facts.contract import Facts

TEMPLATE = "email.html.j2"
WIDTH = 600  # the column's maximum width; narrower screens get 100%
TEXT_WIDTH = 72
PREHEADER_MAX = 140  # inbox previews show 40-140 characters
_TABLE = re.compile(r"<table\b.*?</table>", re.DOTALL)
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False, keep_link_tags=False)
# Stands for the recipient's own unsubscribe URL in a rendered issue until a message is made for them.
_PERSONAL = "https://unsubscribe.invalid/publisher-recipient"


def newsletter_dir(post: Post, site_dir: Path) -> Path:
    return Path(site_dir) / newsletter_rel(post.slug)


def preview_path(post: Post, config: Config) -> Path:
    """The preview message (private: it names a recipient), outside the published site."""
    return config.state_dir / "newsletter" / post.slug / "message.eml"


def _domain(config: Config) -> str:
    return urlparse(config.site.url).hostname or "localhost"


def _cid(png: Path, post: Post, config: Config) -> str:
    return f"{post.slug}.{png.stem}@{_domain(config)}"


# --- what the issue says in the inbox ----------------------------------------------------------------


def load_facts(post: Post) -> dict[str, Any] | None:
    """The weekly's fact sheet, if it has one beside it (a hand-made weekly may not)."""
    if post.facts_path is None or not post.facts_path.is_file():
        return None
    try:
        return json.loads(post.facts_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ContentError(f"{post.facts_path}: unreadable fact sheet ({exc}); run 'publish weekly --force' to recompute it") from None


def _headline_week(facts: dict[str, Any] | None) -> dict[str, Any] | None:
    """The week block the headline reports (`figures.headline_block`), None without a fact sheet."""
    return cast("dict[str, Any]", figures.headline_block(cast("Facts", facts)).get("week")) if facts else None


def headline_figure(facts: dict[str, Any] | None) -> str:
    """The week's headline figure for the subject: the headline book's realized PnL (the standard
    book when the other is its inverted mirror, whose sum with it says nothing)."""
    week = _headline_week(facts)
    if not week:
        return ""
    if not figures.num(week.get("round_trips")):
        return "no round-trips closed"
    return f"realized PnL {figures.money(week.get('realized_pnl'))}"


def email_subject(post: Post, facts: dict[str, Any] | None) -> str:
    """`<title>: realized PnL -0.70 USDT`: the title alone does not say what happened this week."""
    title = " ".join(strip_control_chars(post.title).split())
    figure = headline_figure(facts)
    return f"{title}: {figure}" if figure else title


def preheader(post: Post, facts: dict[str, Any] | None) -> str:
    """The inbox preview line: the headline book's figures for the week, or the post's description."""
    week = _headline_week(facts)
    if week and figures.num(week.get("round_trips")):
        text = (f"{figures.count(week.get('round_trips'))} round-trips, win rate {figures.pct(week.get('win_rate'))}, "
                f"realized PnL {figures.money(week.get('realized_pnl'))}, "
                f"return {figures.pct(week.get('return'), digits=2, sign=True)}.")
    elif week:
        text = "A quiet week: no round-trips closed."
    else:
        text = post.description or post.title
    text = " ".join(strip_control_chars(text).split())
    return text if len(text) <= PREHEADER_MAX else text[: PREHEADER_MAX - 1].rstrip() + "…"


# --- unsubscribe -----------------------------------------------------------------------------------------


def _static_unsubscribe(config: Config) -> list[str]:
    """The safe URLs of `[newsletter] list_unsubscribe` (`<mailto:...>, <https://...>`)."""
    value = config.newsletter.list_unsubscribe
    urls = re.findall(r"<([^<>]+)>", value) or ([value] if value.strip() else [])
    return [u for u in (safe_url(u.strip()) for u in urls) if u and not any(c.isspace() for c in u)]


def unsubscribe_token(address: str, secret: str) -> str:
    """HMAC of the address: the unsubscribe endpoint can check a request came from our link."""
    return hmac.new(secret.encode("utf-8"), address.lower().encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def personal_unsubscribe(config: Config, address: str, environ: dict[str, str] | None = None) -> str:
    """The recipient's own one-click unsubscribe URL (https), or "" when none is configured."""
    template = config.newsletter.unsubscribe_url.strip()
    if not template:
        return ""
    url = template.replace("{email}", quote(address, safe="@"))
    if "{token}" in template:
        env = os.environ if environ is None else environ
        secret = env.get(config.newsletter.unsubscribe_secret_env, "")
        if not secret:
            raise ConfigError(f"[newsletter] unsubscribe_url uses {{token}} but ${config.newsletter.unsubscribe_secret_env} "
                              "is not set; export the secret your unsubscribe endpoint checks")
        url = url.replace("{token}", unsubscribe_token(address, secret))
    if urlparse(url).scheme != "https" or not safe_url(url) or any(c.isspace() for c in url):
        raise ConfigError(f"[newsletter] unsubscribe_url = {template!r}: must be an https URL (RFC 8058 one-click)")
    return url


def _visible_unsubscribe(config: Config, personal: str) -> str:
    """The link in the footer: the personal one, else the first configured address."""
    return personal or next(iter(_static_unsubscribe(config)), "")


# --- HTML --------------------------------------------------------------------------------------------


def _png_size(png: Path) -> tuple[int, int] | None:
    """(width, height) from the PNG header, or None when the file is not a PNG."""
    with open(png, "rb") as handle:
        head = handle.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def _email_images(html: str, post: Post, config: Config, charts: dict[str, Path], cid: bool, web: bool = False) -> str:
    """Chart SVGs become their PNGs (cid:, absolute URL, or for the web version a URL relative to
    it, which works wherever the site is served); any other SVG image becomes its alt text.

    Runs on HTML whose URLs are already absolute."""

    base = post_url(post, config)
    column = WIDTH - 40  # the content cell's padding
    phone_chart = min(column, round(NARROW_CHART_WIDTH_IN * CHART_DPI))  # the narrow variant's own width, CSS px

    def swap(tag: str, attrs: Attrs) -> Attrs | str | None:
        if tag != "img":
            return None
        values = {k: v or "" for k, v in attrs}
        src, alt = values.get("src", ""), values.get("alt", "")
        stem = Path(urlparse(src).path).stem
        height = ""
        width = column
        if src == urljoin(base, f"charts/{stem}.svg") and stem in charts:
            # The phone variant, at its own width: legible on a phone, and a mail client has no
            # <picture> to switch variants (a wide chart shrunk to 375 px has 5 px text).
            png = charts.get(narrow_chart_name(stem), charts[stem])
            width = phone_chart if png.stem == narrow_chart_name(stem) else column
            if cid:
                target = f"cid:{_cid(png, post, config)}"
            elif web:  # newsletter/<slug>/index.html -> the post's charts
                target = f"../../{post.url_path}charts/{png.name}"
            else:
                target = urljoin(base, f"charts/{png.name}")
            size = _png_size(png)
            height = str(round(width * size[1] / size[0])) if size and size[0] else ""
        elif urlparse(src).path.lower().endswith(".svg"):
            return f"<em>{htmllib.escape(alt)}</em>" if alt else ""
        else:
            target = src
        style = f"display: block; margin: 0 auto; width: 100%; max-width: {width}px; height: auto;"
        sized = [("width", str(width))] + ([("height", height)] if height else [])
        return [("src", target), ("alt", alt), *sized, ("style", style)]

    return rewrite_start_tags(html, swap)


def _escape_attributes(page: str) -> str:
    """The CSS inliner re-serialises `<`/`>` inside attribute values raw; some mail clients end the tag
    there, so every attribute holding one is written again fully escaped."""

    def fix(tag: str, attrs: Attrs) -> Attrs | None:
        return attrs if any(v and ("<" in v or ">" in v) for _, v in attrs) else None

    return rewrite_start_tags(page, fix)


def _scrolling_tables(html: str) -> str:
    """Wide tables scroll inside their own box instead of widening the message on a phone."""
    return _TABLE.sub(lambda m: f'<div class="table-scroll">{m.group(0)}</div>', html)


def render_email_html(post: Post, config: Config, charts: dict[str, Path], *, cid: bool,
                      unsubscribe_url: str = "", web: bool = False, facts: dict[str, Any] | None = None) -> str:
    """The email's HTML with every style inlined; `cid=True` points chart images at attachments.

    `web=True` renders the public web version: no unsubscribe link, nothing about a recipient."""
    base = post_url(post, config)
    body = absolutize_html(clean_html(post.html), base)  # links absolute, before images become cid:
    body = _scrolling_tables(_email_images(body, post, config, charts, cid, web=web))
    page = template_env(config).get_template(TEMPLATE).render(
        language=config.site.language,
        title=post.title,
        date=display_date(post.date),
        preheader=preheader(post, facts),
        site_title=config.site.title,
        site_url=site_url(config),
        web_url=urljoin(site_url(config), newsletter_rel(post.slug)),
        post_url=base,
        unsubscribe_url="" if web else safe_url(unsubscribe_url),
        web=web,
        width=WIDTH,
        body_html=body,
    )
    return _escape_attributes(_INLINER.inline(strip_control_chars(page)))


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


def render_email_text(post: Post, config: Config, unsubscribe_url: str = "") -> str:
    web = urljoin(site_url(config), newsletter_rel(post.slug))
    head = f"{post.title}\n{display_date(post.date)}\n\nRead on the web: {web}"
    foot = f"You are receiving this because you subscribed to {config.site.title}."
    if unsubscribe_url:
        foot += f"\nUnsubscribe: {unsubscribe_url}"
    return f"{strip_control_chars(head)}\n\n{markdown_to_text(post.body, post_url(post, config))}\n-- \n{foot}\n"


# --- the messages ----------------------------------------------------------------------------------------


def parse_address(value: str, where: str) -> Address:
    """One email address (with an optional display name), validated by the email package."""
    if any(c in value for c in "\r\n\0"):
        raise ConfigError(f"{where}: {value!r} contains a line break; give one address")
    try:
        policy = email.policy.SMTP
        header = policy.header_factory("To", value)
        addresses = header.addresses
    except Exception:  # the header parser raises several types on garbage
        addresses = ()
    if len(addresses) != 1 or not addresses[0].username or "." not in addresses[0].domain or header.defects:
        raise ConfigError(f"{where}: {value!r} is not one valid email address (like 'Ann <ann@example.org>')")
    return addresses[0]


@dataclass
class Issue:
    """One newsletter issue rendered once, from which each recipient's message is made."""

    post: Post
    config: Config
    subject: str
    text: str  # with _PERSONAL where the recipient's unsubscribe URL goes
    html: str
    attachments: dict[str, Path]  # Content-ID -> PNG

    def message(self, to: str, unsubscribe_url: str = "", date: dt.datetime | None = None) -> EmailMessage:
        """The message for one recipient: their own To:, Message-ID and unsubscribe link.

        `date` is when it is sent (default: the post's date, so a rebuilt preview is identical)."""
        news, config = self.config.newsletter, self.config
        recipient = parse_address(to, "recipient")
        visible = _visible_unsubscribe(config, unsubscribe_url)
        text = self.text.replace(_PERSONAL, visible)
        html = self.html.replace(_PERSONAL, htmllib.escape(visible, quote=True))
        msg = EmailMessage(policy=email.policy.SMTP)
        msg["From"] = parse_address(news.sender, "[newsletter] sender")
        msg["To"] = recipient
        msg["Subject"] = self.subject
        msg["Date"] = email.utils.format_datetime(date or self.post.date)
        key = hashlib.sha256(recipient.addr_spec.lower().encode("utf-8")).hexdigest()[:16]
        msg["Message-ID"] = f"<{self.post.slug}.{key}@{_domain(config)}>"
        msg["List-Id"] = f"<newsletter.{_domain(config)}>"
        links = ([unsubscribe_url] if unsubscribe_url else []) + _static_unsubscribe(config)
        if links:
            msg["List-Unsubscribe"] = ", ".join(f"<{u}>" for u in links)
        if unsubscribe_url.startswith("https://"):
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
        # quoted-printable: 7-bit safe through any relay, whatever the script or emoji in the text.
        msg.set_content(text, cte="quoted-printable")
        msg.add_alternative(html, subtype="html", cte="quoted-printable")
        if self.attachments:
            html_part: Any = msg.get_payload()[1]  # type: ignore[index]  # multipart/alternative: [text, html]
            for cid, png in self.attachments.items():
                html_part.add_related(png.read_bytes(), "image", "png", cid=f"<{cid}>", filename=png.name)
        seed = hashlib.sha256((text + html).encode("utf-8")).hexdigest()[:24]
        for n, part in enumerate(p for p in msg.walk() if p.is_multipart()):
            part.set_boundary(f"=={seed}.{n}==")  # deterministic: rebuilds do not churn
        return msg


def _charts_of(post: Post, site_dir: Path) -> dict[str, Path]:
    folder = Path(site_dir) / post.url_path / "charts"
    return {p.stem: p for p in sorted(folder.glob("*.png"))} if folder.is_dir() else {}


def make_issue(post: Post, config: Config, site_dir: Path) -> Issue:
    """Render the issue once, with chart PNGs from `site_dir` (the site being built, or the built one)."""
    charts = _charts_of(post, site_dir)
    cid = config.newsletter.images == "cid"
    facts = load_facts(post)
    personal = _PERSONAL if config.newsletter.unsubscribe_url.strip() or _static_unsubscribe(config) else ""
    html = render_email_html(post, config, charts, cid=cid, unsubscribe_url=personal, facts=facts)
    used = {_cid(png, post, config): png for png in charts.values() if f"cid:{_cid(png, post, config)}" in html}
    return Issue(post=post, config=config, subject=email_subject(post, facts),
                 text=render_email_text(post, config, personal), html=html, attachments=used if cid else {})


def write_newsletter(post: Post, config: Config, site_dir: Path) -> Path:
    """Write the public web version `newsletter/<slug>/index.html` into `site_dir` and the private
    preview message (to `[newsletter] recipient`, else the sender) under `.publisher/newsletter/`."""
    charts = _charts_of(post, site_dir)
    facts = load_facts(post)
    web_html = render_email_html(post, config, charts, cid=False, web=True, facts=facts)
    issue = make_issue(post, config, site_dir)
    to = config.newsletter.recipient or config.newsletter.sender
    try:  # the preview shows the real link when it can; a send-only secret must not fail the build
        personal = personal_unsubscribe(config, parse_address(to, "[newsletter] recipient").addr_spec)
    except ConfigError:
        personal = ""
    message = issue.message(to, personal)
    folder = newsletter_dir(post, site_dir)
    atomic_write_text(folder / "index.html", web_html)
    atomic_write_bytes(preview_path(post, config), message.as_bytes())
    return folder / "index.html"
