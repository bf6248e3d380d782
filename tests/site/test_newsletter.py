"""The weekly email: parseable .eml, text + HTML parts, inlined CSS, no style/script/SVG, CID or URL images."""

from __future__ import annotations

import email
import email.policy
import re

from facts_sample import HOSTILE_TITLE, quiet_facts, sample_facts, write_weekly

from publisher.config import Config, NewsletterConfig, SiteConfig
from publisher.site.newsletter import write_newsletter

DRAFT = {"sections": [{"key": "insight", "text": "Keep <script>alert(1)</script> & trust the tape. 🚀 مرحبا", "fallback": False}]}


def setup(tmp_path, images="url", facts=None):
    config = Config(root=tmp_path, site=SiteConfig(url="https://blog.example.com/log/", title="Quant Log", timezone="Asia/Tokyo"),
                    newsletter=NewsletterConfig(images=images, sender="Ann <ann@example.com>", recipient="list@example.com",
                                                list_unsubscribe="<https://blog.example.com/unsub>"))
    post = write_weekly(config, facts or sample_facts(), DRAFT)
    path = write_newsletter(post, config, tmp_path / "site")
    return config, post, path


def parse(path):
    return email.message_from_bytes((path.parent / "message.eml").read_bytes(), policy=email.policy.default)


def test_eml_parses_into_text_and_html_with_headers(tmp_path):
    _, post, path = setup(tmp_path)
    assert path == tmp_path / "site" / "newsletter" / "weekly-2026-w16" / "index.html"
    msg = parse(path)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Subject"] == "Quant Log Weekly · 2026W16"
    assert msg["From"] == "Ann <ann@example.com>" and msg["To"] == "list@example.com"
    assert msg["List-Unsubscribe"] == "<https://blog.example.com/unsub>"
    assert msg["Message-ID"] == "<weekly-2026-w16@blog.example.com>"
    assert msg["Date"] == "Mon, 20 Apr 2026 09:00:00 +0900"  # the week's end, in the site's zone
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Realized PnL: -1.55 USDT" in text and "Realized PnL: -1.55 USDT" in html  # the headline book
    assert text.replace("\r\n", "\n") == (path.parent / "message.txt").read_text(encoding="utf-8")


def test_html_is_email_safe(tmp_path):
    _, _, path = setup(tmp_path)
    html = parse(path).get_body(("html",)).get_content()
    lowered = html.lower()
    assert "<style" not in lowered and "<script" not in lowered and "<svg" not in lowered and ".svg" not in lowered
    assert 'width="600"' in html and "<table" in html
    assert re.search(r'<h2 id="this-week-in-paper-trading" style="[^"]*font-size', html)  # CSS inlined
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; trust the tape. 🚀 مرحبا" in html
    assert not re.findall(r'(?:href|src)="(?!https://|mailto:)', html)


def test_url_mode_links_the_png_charts(tmp_path):
    _, _, path = setup(tmp_path)
    msg = parse(path)
    assert [p.get_content_type() for p in msg.walk()] == ["multipart/alternative", "text/plain", "text/html"]
    html = msg.get_body(("html",)).get_content()
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert srcs == [f"https://blog.example.com/log/weekly/weekly-2026-w16/charts/{n}.png"
                    for n in ("equity", "drawdown", "win-rate", "vault")]
    assert (path.parent / "index.html").read_text(encoding="utf-8").rstrip() == html.replace("\r\n", "\n").rstrip()


def test_cid_mode_attaches_the_pngs(tmp_path):
    _, post, path = setup(tmp_path, images="cid")
    msg = parse(path)
    assert [p.get_content_type() for p in msg.walk()][:4] == [
        "multipart/alternative", "text/plain", "multipart/related", "text/html"]
    html = msg.get_body(("html",)).get_content()
    cids = re.findall(r'<img src="cid:([^"]+)"', html)
    images = {p["Content-ID"].strip("<>"): p.get_content() for p in msg.walk() if p.get_content_type() == "image/png"}
    assert cids and sorted(cids) == sorted(images)
    chart = tmp_path / "site" / post.url_path / "charts" / "equity.png"
    assert images["weekly-2026-w16.equity@blog.example.com"] == chart.read_bytes()
    web = (path.parent / "index.html").read_text(encoding="utf-8")
    assert "cid:" not in web and "charts/equity.png" in web  # a browser cannot show cid: images


def test_plain_text_comes_from_the_markdown(tmp_path):
    _, _, path = setup(tmp_path)
    text = (path.parent / "message.txt").read_text(encoding="utf-8")
    assert "This week in paper trading\n==========================" in text
    assert "APT/USDT  5 / 5" in text  # the comparison table, aligned
    assert f"\u2068{HOSTILE_TITLE}\u2069\n   (https://example.org/btc?a=1&b=2)" in text  # RTL isolated
    assert "Read on the web: https://blog.example.com/log/newsletter/weekly-2026-w16/" in text
    assert "Unsubscribe: https://blog.example.com/unsub" in text
    assert "\\(" not in text and "**" not in text  # Markdown syntax does not leak into the text
    assert all(len(line) <= 80 for line in text.splitlines() if "://" not in line and "|" not in line)


def test_rebuild_is_byte_identical(tmp_path):
    _, post, path = setup(tmp_path, images="cid")
    first = (path.parent / "message.eml").read_bytes()
    config, post, path = setup(tmp_path, images="cid")
    assert (path.parent / "message.eml").read_bytes() == first


def test_quiet_week_email(tmp_path):
    _, _, path = setup(tmp_path, facts=quiet_facts())
    msg = parse(path)
    assert "No round-trips closed this week" in msg.get_body(("plain",)).get_content()
    assert "<img" not in msg.get_body(("html",)).get_content()
