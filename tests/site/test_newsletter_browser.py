"""The newsletter as a reader's mail client shows it, in headless Chromium: the HTML part of the
built message, with its CID charts resolved from the attachments (as a client does), and the
public web version served with the site, fit phones
from 320 px to the 600 px column without horizontal scrolling (wide tables scroll inside their own
box), shows its charts, and logs nothing to the console. Screenshots at 375 and 1280 px are left
under the test's tmp folder (the path is printed) for a person to look at."""

from __future__ import annotations

import base64
import email
import email.policy
import functools
import http.server
import json
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from headless import CHROMIUM, chromium
from PIL import Image

from publisher.cli import main
from publisher.common.rules import CHART_DPI

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (apt-get install -y chromium)")
WIDTHS = (320, 375, 600)
MIN_PHONE_TEXT_PX = 11
SMALLEST_PT = 9  # the smallest font the narrow chart variants use: tick labels (checked below)

# Test-only harness (never part of the site): the message in iframes as wide as each phone, and
# what overflows horizontally, which --dump-dom prints.
PROBE = """<!doctype html><html><head><link rel="icon" href="data:,"></head><body><pre id="out">pending</pre><script>
const pages = %s, widths = %s, results = {};
let left = pages.length * widths.length;
for (const page of pages) for (const width of widths) {
  const frame = document.createElement("iframe");
  frame.width = width; frame.height = 800; frame.style.border = "0";
  frame.onload = () => {
    const doc = frame.contentDocument, root = doc.documentElement;
    const wide = [...doc.body.querySelectorAll("*")].filter(el => {
      for (let p = el.parentElement; p; p = p.parentElement) {
        if (getComputedStyle(p).overflowX === "auto") return false;  // scrolls inside its own box
      }
      return el.getBoundingClientRect().right > root.clientWidth + 0.5;
    }).map(el => el.tagName + "." + el.className);
    results[page + "@" + width] = {
      scroll: root.scrollWidth, client: root.clientWidth, wide: wide,
      images: [...doc.images].map(i => [i.naturalWidth, Math.round(i.getBoundingClientRect().width)]),
      scrollers: [...doc.querySelectorAll("div")].filter(d => getComputedStyle(d).overflowX === "auto").length,
    };
    if (--left === 0) document.getElementById("out").textContent = JSON.stringify(results);
  };
  frame.src = "/" + page;
  document.body.appendChild(frame);
}
</script></body></html>"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence stderr
        pass


def as_a_client_shows_it(eml: Path) -> str:
    """The HTML part with each `cid:` image replaced by its attachment, as a mail client renders it."""
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    html = msg.get_body(("html",)).get_content()
    for part in msg.walk():
        if part.get_content_type() == "image/png":
            data = base64.b64encode(part.get_content()).decode("ascii")
            html = html.replace(f'cid:{part["Content-ID"].strip("<>")}', f"data:image/png;base64,{data}")
    assert "cid:" not in html
    return html


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The demo project's weekly (both books, the 30-row symbol table), built and served."""
    root = tmp_path_factory.mktemp("mail") / "proj"
    env = {"PUBLISHER_LLM": "none"}
    for args in (["init", str(root), "--demo"], ["-C", str(root), "weekly", "--publish"]):
        result = CliRunner().invoke(main, args, env=env)
        assert result.exit_code == 0, result.output
    (eml,) = (root / ".publisher" / "newsletter").rglob("message.eml")
    www = root / "mailview"
    www.mkdir()
    (www / "mail.html").write_text(as_a_client_shows_it(eml), encoding="utf-8")
    shutil.copytree(root / "site", www / "site")  # the public web version, served with the site
    (web,) = (www / "site" / "newsletter").glob("*/index.html")
    pages = ["mail.html", web.parent.relative_to(www).as_posix() + "/"]
    (www / "probe.html").write_text(PROBE % (json.dumps(pages), json.dumps(WIDTHS)), encoding="utf-8")
    handler = functools.partial(_Quiet, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", www
    finally:
        server.shutdown()
        server.server_close()


def test_the_email_charts_are_the_phone_variants_with_no_text_under_9_pt(served):
    """What the legibility check below assumes: the email shows the narrow charts, whose smallest
    text is SMALLEST_PT (read from the figures themselves, on the demo week's facts)."""
    import matplotlib.text

    from publisher.render.charts import chart_figure, chart_specs

    base, www = served
    html = (www / "mail.html").read_text(encoding="utf-8")
    facts = json.loads(next((www.parent / "content").rglob("*.facts.json")).read_text(encoding="utf-8"))
    for spec in chart_specs(facts):
        fig = chart_figure(spec.name, facts, narrow=True)
        sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip()]
        assert min(sizes) >= SMALLEST_PT, (spec.name, min(sizes))
    assert html.count("data:image/png") == len(chart_specs(facts))
    assert 'width="360"' in html


def test_email_fits_phones_without_horizontal_scroll(served):
    base, www = served
    run = chromium(base + "probe.html", www, "--virtual-time-budget=15000", "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    match = re.search(r'<pre id="out">(.*?)</pre>', run.stdout, re.S)
    assert match and match.group(1) != "pending", run.stdout[-2000:]
    results = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert len(results) == 2 * len(WIDTHS)
    for key, found in results.items():
        width = int(key.rsplit("@", 1)[1])
        assert found["client"] == width
        assert found["scroll"] <= width, (key, found)  # no horizontal scroll of the message
        assert found["wide"] == [], (key, found["wide"])  # nothing cut off on the right
        assert len(found["images"]) >= 2 and all(natural > 0 for natural, _ in found["images"]), found["images"]
        assert all(shown <= width for _, shown in found["images"])
        # at a phone's 375 px and wider, every chart's smallest text as shown is legible (PNGs at 2x)
        for natural, shown in found["images"] if width >= 375 else []:
            assert SMALLEST_PT * 2 * CHART_DPI / 72 * shown / natural >= MIN_PHONE_TEXT_PX, (key, natural, shown)
        assert found["scrollers"] >= 1  # the tables scroll inside their own box
    assert not [line for line in run.stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.parametrize("width", [375, 1280])
def test_screenshots(served, width):
    base, www = served
    shot = www / f"newsletter-{width}.png"
    run = chromium(base + "mail.html", www, f"--screenshot={shot}", f"--window-size={width},2400")
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    assert not [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    image = Image.open(shot).convert("RGB")
    assert image.size == (width, 2400)
    colors = image.getcolors(maxcolors=1_000_000) or []
    assert len(colors) > 30  # text and charts drawn
    print(f"newsletter screenshot: {shot}")
