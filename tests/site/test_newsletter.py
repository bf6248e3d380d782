"""The weekly email: parseable .eml, text + HTML parts, inlined CSS, no style/script/SVG, CID or URL images,
a fluid layout with a preheader, one-click unsubscribe, and a public web version without recipient."""

from __future__ import annotations

import email
import email.policy
import re
from urllib.parse import urljoin

from facts_sample import HOSTILE_TITLE, quiet_facts, sample_facts, write_weekly

from publisher.config import Config, NewsletterConfig, SiteConfig
from publisher.site.newsletter import email_subject, make_issue, preview_path, write_newsletter

DRAFT = {"sections": [{"key": "insight", "text": "Keep <script>alert(1)</script> & trust the tape. 🚀 مرحبا", "fallback": False}]}


def setup(tmp_path, images="url", facts=None, unsubscribe_url=""):
    config = Config(root=tmp_path, site=SiteConfig(url="https://blog.example.com/log/", title="Quant Log", timezone="Asia/Tokyo"),
                    newsletter=NewsletterConfig(images=images, sender="Ann <ann@example.com>", recipient="list@example.com",
                                                list_unsubscribe="<https://blog.example.com/unsub>",
                                                unsubscribe_url=unsubscribe_url))
    post = write_weekly(config, facts or sample_facts(), DRAFT)
    path = write_newsletter(post, config, tmp_path / "site")
    return config, post, path


def parse(path):
    """The preview message, which the build writes outside the site (it names a recipient)."""
    eml = path.parents[3] / ".publisher" / "newsletter" / path.parent.name / "message.eml"
    return email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)


def test_eml_parses_into_text_and_html_with_headers(tmp_path):
    config, post, path = setup(tmp_path)
    assert path == tmp_path / "site" / "newsletter" / "weekly-2026-w16" / "index.html"
    assert sorted(p.name for p in path.parent.iterdir()) == ["index.html"]  # nothing private in the site
    assert preview_path(post, config) == tmp_path / ".publisher" / "newsletter" / "weekly-2026-w16" / "message.eml"
    msg = parse(path)
    assert msg.get_content_type() == "multipart/alternative"
    # the week's headline figure: the standard book's (-1.55); with its inverted mirror the sum is -0.70
    assert msg["Subject"] == "Quant Log Weekly · 2026W16: realized PnL -1.55 USDT"
    assert msg["From"] == "Ann <ann@example.com>" and msg["To"] == "list@example.com"
    assert msg["List-Unsubscribe"] == "<https://blog.example.com/unsub>"
    assert msg["List-Unsubscribe-Post"] is None  # one-click needs a personal https URL
    assert msg["Message-ID"].startswith("<weekly-2026-w16.") and msg["Message-ID"].endswith("@blog.example.com>")
    assert msg["Date"] == "Mon, 20 Apr 2026 09:00:00 +0900"  # the week's end, in the site's zone
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Realized PnL: -1.55 USDT" in text and "Realized PnL: -1.55 USDT" in html  # the headline book


def test_html_is_email_safe(tmp_path):
    _, _, path = setup(tmp_path)
    html = parse(path).get_body(("html",)).get_content()
    lowered = html.lower()
    assert "<style" not in lowered and "<script" not in lowered and "<svg" not in lowered and ".svg" not in lowered
    assert "<table" in html and 'width="600"' not in html.replace("<!--[if mso]><table role=\"presentation\" width=\"600\"", "")
    assert re.search(r'class="inner"[^>]*style="width: 100%;max-width: 600px;', html)  # fluid up to 600 px
    assert re.search(r'<h2 id="this-week-in-paper-trading" style="[^"]*font-size', html)  # CSS inlined
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; trust the tape. 🚀 مرحبا" in html
    assert not re.findall(r'(?:href|src)="(?!https://|mailto:)', html)


def test_url_mode_links_the_png_charts(tmp_path):
    _, _, path = setup(tmp_path)
    msg = parse(path)
    assert [p.get_content_type() for p in msg.walk()] == ["multipart/alternative", "text/plain", "text/html"]
    html = msg.get_body(("html",)).get_content()
    srcs = re.findall(r'<img src="([^"]+)"', html)
    # the phone variants: a mail client has no <picture>, and a wide chart on a phone has 5 px text
    assert srcs == [f"https://blog.example.com/log/weekly/weekly-2026-w16/charts/{n}-narrow.png"
                    for n in ("equity", "drawdown", "win-rate", "vault")]
    web = (path.parent / "index.html").read_text(encoding="utf-8")
    # The web version is served from the site: its charts are relative, so they load before a deploy too.
    web_srcs = re.findall(r'<img src="([^"]+)"', web)
    assert [urljoin("https://blog.example.com/log/newsletter/weekly-2026-w16/", s) for s in web_srcs] == srcs
    assert all((path.parent / s).resolve().is_file() for s in web_srcs)
    assert re.findall(r'<img [^>]*width="360" height="(\d+)"', html)  # the size reserved before the image loads
    assert "list@example.com" not in web and "Unsubscribe" not in web  # public: nothing about a recipient


def test_cid_mode_attaches_the_pngs(tmp_path):
    _, post, path = setup(tmp_path, images="cid")
    msg = parse(path)
    assert [p.get_content_type() for p in msg.walk()][:4] == [
        "multipart/alternative", "text/plain", "multipart/related", "text/html"]
    html = msg.get_body(("html",)).get_content()
    cids = re.findall(r'<img src="cid:([^"]+)"', html)
    images = {p["Content-ID"].strip("<>"): p.get_content() for p in msg.walk() if p.get_content_type() == "image/png"}
    assert cids and sorted(cids) == sorted(images)
    chart = tmp_path / "site" / post.url_path / "charts" / "equity-narrow.png"
    assert images["weekly-2026-w16.equity-narrow@blog.example.com"] == chart.read_bytes()
    web = (path.parent / "index.html").read_text(encoding="utf-8")
    assert "cid:" not in web and "charts/equity-narrow.png" in web  # a browser cannot show cid: images


def test_plain_text_comes_from_the_markdown(tmp_path):
    _, _, path = setup(tmp_path)
    text = parse(path).get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "This week in paper trading\n==========================" in text
    assert "APT/USDT  5 / 5" in text  # the comparison table, aligned
    assert f"\u2068{HOSTILE_TITLE}\u2069\n   (https://example.org/btc?a=1&b=2)" in text  # RTL isolated
    assert "Read on the web: https://blog.example.com/log/newsletter/weekly-2026-w16/" in text
    assert "Unsubscribe: https://blog.example.com/unsub" in text
    assert "\\(" not in text and "**" not in text  # Markdown syntax does not leak into the text
    assert all(len(line) <= 80 for line in text.splitlines() if "://" not in line and "|" not in line)


def test_rebuild_is_byte_identical(tmp_path):
    config, post, path = setup(tmp_path, images="cid")
    first = preview_path(post, config).read_bytes()
    config, post, path = setup(tmp_path, images="cid")
    assert preview_path(post, config).read_bytes() == first


def test_quiet_week_email(tmp_path):
    _, _, path = setup(tmp_path, facts=quiet_facts())
    msg = parse(path)
    assert "No round-trips closed this week" in msg.get_body(("plain",)).get_content()
    assert "<img" not in msg.get_body(("html",)).get_content()


def test_preheader_is_the_weeks_figures_hidden_first_in_the_body(tmp_path):
    _, _, path = setup(tmp_path)
    html = parse(path).get_body(("html",)).get_content()
    body = html[html.index("<body"):]
    first = re.search(r"<div[^>]*>([^<]*)</div>", body)
    assert first is not None and body.index("<div") < body.index("<table")
    assert "display: none" in first.group(0) and "mso-hide: all" in first.group(0)
    # the standard book's week, not its sum with the inverted mirror (24 round-trips, -0.70 USDT)
    assert first.group(1).startswith("12 round-trips, win rate 41.7%, realized PnL -1.55 USDT, return -0.15%.")


def test_personal_one_click_unsubscribe(tmp_path):
    config, post, _ = setup(tmp_path, images="cid", unsubscribe_url="https://blog.example.com/u?e={email}&t={token}")
    issue = make_issue(post, config, tmp_path / "site")
    import publisher.site.newsletter as newsletter

    url = newsletter.personal_unsubscribe(config, "bo+b@mail.test", environ={"PUBLISHER_UNSUBSCRIBE_SECRET": "k"})
    assert url.startswith("https://blog.example.com/u?e=bo%2Bb@mail.test&t=") and len(url.rsplit("=", 1)[1]) == 32
    msg = email.message_from_bytes(issue.message("bo+b@mail.test", url).as_bytes(), policy=email.policy.default)
    assert msg["To"] == "bo+b@mail.test"
    assert msg["List-Unsubscribe"] == f"<{url}>, <https://blog.example.com/unsub>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = msg.get_body(("html",)).get_content()
    assert f'<a href="{url.replace("&", "&amp;")}"' in html
    assert "unsubscribe.invalid" not in msg.as_string()  # the stand-in never leaks


def test_hostile_title_cannot_inject_headers(tmp_path):
    config, post, _ = setup(tmp_path)
    post.title = "Week\r\nBcc: victim@mail.test\nX-Evil: 1"
    msg = make_issue(post, config, tmp_path / "site").message("ann@mail.test")
    raw = msg.as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert parsed["Subject"] == "Week Bcc: victim@mail.test X-Evil: 1: realized PnL -1.55 USDT"
    assert email_subject(post, None) == "Week Bcc: victim@mail.test X-Evil: 1"


def test_quiet_week_subject(tmp_path):
    _, _, path = setup(tmp_path, facts=quiet_facts())
    assert parse(path)["Subject"].endswith(": no round-trips closed")


def test_without_any_unsubscribe_address_no_empty_link(tmp_path):
    config, post, _ = setup(tmp_path)
    config.newsletter.list_unsubscribe = ""
    msg = make_issue(post, config, tmp_path / "site").message("ann@mail.test")
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    assert msg["List-Unsubscribe"] is None and msg["List-Unsubscribe-Post"] is None
    assert "Unsubscribe" not in html and 'href=""' not in html and "Unsubscribe" not in text
    assert "unsubscribe.invalid" not in msg.as_string()
