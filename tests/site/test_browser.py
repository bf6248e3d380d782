"""The built site in a real browser: headless Chromium loads every page kind (home, a weekly, a tag
page, the archive, the series page, the 404 page and the newsletter's web version) from a local
server that mounts the site under its URL's sub-path, as a Pages host does.

At 1280 px: every image and stylesheet loads, no request fails, nothing is logged to the console.
At 375 px (a phone; headless Chromium will not open a window that narrow, so pages load in a 375 px
iframe): no horizontal overflow, no console error, charts shown as their narrow variant with text
at least 11 CSS px. Screenshots of each page at both widths are written to tests/output/browser/
(git-ignored) to be looked at."""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import matplotlib.text
import pytest
from facts_sample import sample_facts
from headless import CHROMIUM, chromium
from PIL import Image
from site_project import make_project

from publisher.render.charts import chart_figure
from publisher.site.build import build_site

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (apt-get install -y chromium)")

OUTPUT = Path(__file__).resolve().parents[1] / "output" / "browser"
MOUNT = "/quant/"  # the path of site_project's SITE_URL
WEEKLY = "weekly/weekly-2026-w16/"
PAGES = {
    "home": "",
    "weekly": WEEKLY,
    "tag": "tags/python/",
    "archive": "archive/",
    "series": "series/quant-log-notes-weekly/",
    "404": "no/such/page/",
    "newsletter": "newsletter/weekly-2026-w16/",
}
PHONE = 375
MIN_PHONE_TEXT_PX = 11

# Test-only harness pages (never part of the site). PROBE loads each page in a same-origin iframe of
# the given width and reports what the browser did; --dump-dom then prints it.
PROBE = """<!doctype html><html><head><link rel="icon" href="data:,"></head><body><pre id="out">pending</pre><script>
const pages = %s, width = %d, results = {};
let left = pages.length;
for (const page of pages) {
  const frame = document.createElement("iframe");
  frame.width = width; frame.height = 900; frame.style.border = "0";
  frame.onload = () => {
    const doc = frame.contentDocument, view = frame.contentWindow;
    const wide = [...doc.body.querySelectorAll("*")].filter(el => {
      const box = el.getBoundingClientRect();
      for (let p = el.parentElement; p; p = p.parentElement) {
        if (["auto", "scroll", "hidden"].includes(view.getComputedStyle(p).overflowX) && p !== doc.body) return false;
      }
      return box.width > 0 && box.right > view.innerWidth + 1;
    }).map(el => el.tagName + "." + el.className).slice(0, 5);
    results[page] = {
      lang: doc.documentElement.lang,
      viewport: view.innerWidth,
      scroll: doc.documentElement.scrollWidth,
      overflowing: wide,
      images: [...doc.images].map(i => [i.getAttribute("src"), i.complete && i.naturalWidth > 0, i.currentSrc,
                                        i.getBoundingClientRect().width, i.naturalWidth]),
      sheets: [...doc.querySelectorAll('link[rel=stylesheet]')].map(l => [l.getAttribute("href"), !!l.sheet && l.sheet.cssRules.length > 0]),
      styled: view.getComputedStyle(doc.body).fontFamily.includes("system-ui"),
      text: doc.body.innerText.length,
    };
    if (--left === 0) document.getElementById("out").textContent = JSON.stringify(results);
  };
  frame.src = "%s" + page;
  document.body.appendChild(frame);
}
</script></body></html>"""
# One page in a phone-width iframe at the top left, for the 375 px screenshot (cropped to 375).
FRAME = """<!doctype html><html><head><link rel="icon" href="data:,"><style>body{margin:0}iframe{border:0;display:block}</style></head>
<body><iframe width="%d" height="%d" src="%s"></iframe></body></html>"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the site under MOUNT (and a 404 page for anything missing), plus the harness pages."""

    requests: list[tuple[str, int]]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = urlsplit(self.path).path
        if path == "/__probe.html":
            query = dict(part.split("=", 1) for part in urlsplit(self.path).query.split("&"))
            return self._send(200, (PROBE % (json.dumps(list(PAGES.values())), int(query["width"]), MOUNT)).encode())
        if path == "/__frame.html":
            query = dict(part.split("=", 1) for part in urlsplit(self.path).query.split("&"))
            return self._send(200, (FRAME % (PHONE, int(query["height"]), MOUNT + query["page"])).encode())
        if not path.startswith(MOUNT):
            return self._send(404, b"outside the site")
        self.path = "/" + self.path[len(MOUNT):]
        local = Path(self.translate_path(self.path))
        if local.is_dir():
            local = local / "index.html"
        if not local.exists():
            return self._send(404, (Path(self.directory) / "404.html").read_bytes())
        super().do_GET()

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.requests.append((self.path, status))

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if isinstance(code, int) or str(code).isdigit():
            self.requests.append((self.path, int(code)))

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence stderr
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[tuple[str, int]], Path]]:
    root = tmp_path_factory.mktemp("browser")
    config = make_project(root / "proj")
    build_site(config)
    requests: list[tuple[str, int]] = []
    handler = functools.partial(type("H", (_Handler,), {"requests": requests}), directory=str(config.site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requests, root
    finally:
        server.shutdown()
        server.server_close()


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def probe(base: str, root: Path, width: int) -> tuple[dict, str]:
    run = chromium(f"{base}__probe.html?width={width}", root, "--virtual-time-budget=20000", "--dump-dom",
                   "--window-size=1400,1000")
    assert run.returncode == 0, run.stderr[-2000:]
    match = re.search(r'<pre id="out">(.*?)</pre>', run.stdout, re.S)
    assert match and match.group(1) != "pending", run.stdout[-2000:]
    return json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&")), run.stderr


def local_images(found: dict) -> list[list]:
    """The images served by the test server; the web newsletter's point at the (undeployed, and
    here unreachable) public site."""
    return [image for image in found["images"] if "://" not in image[0] or image[0].startswith("http://127.0.0.1")]


@pytest.fixture(scope="module")
def wide(served) -> tuple[dict, str]:
    base, _, root = served
    return probe(base, root, 1280)


@pytest.fixture(scope="module")
def phone(served) -> tuple[dict, str]:
    base, _, root = served
    return probe(base, root, PHONE)


def test_pages_load_completely_with_charts_and_no_console_errors(served, wide):
    _, requests, _ = served
    results, stderr = wide
    assert set(results) == set(PAGES.values())
    for page, found in results.items():
        assert found["lang"] == "en" and found["text"] > 200, page
        assert found["styled"] or page == PAGES["newsletter"], page  # the email has its own inline style
        assert all(ok for _, ok in found["sheets"]), (page, found["sheets"])
        assert all(image[1] for image in local_images(found)), (page, found["images"])
    charts = [image for image in results[WEEKLY]["images"] if "charts/" in image[0]]
    assert len(charts) >= 2 and all(image[2].endswith(".svg") and "-narrow" not in image[2] for image in charts)
    assert console_lines(stderr) == []
    failed = [(path, code) for path, code in requests if code >= 400 and "no/such/page" not in path]
    assert failed == []
    assert any("/charts/" in path and code == 200 for path, code in requests)


@pytest.mark.parametrize("name", list(PAGES))
def test_no_horizontal_overflow_on_a_375_px_phone(phone, name):
    results, _ = phone
    found = results[PAGES[name]]
    assert found["viewport"] == PHONE
    assert found["scroll"] <= PHONE and found["overflowing"] == [], found


def test_phone_pages_log_nothing_and_charts_are_legible(phone):
    results, stderr = phone
    assert console_lines(stderr) == []
    for page, found in results.items():
        assert all(image[1] for image in local_images(found)), (page, found["images"])
    charts = [image for image in results[WEEKLY]["images"] if "charts/" in image[0]]
    assert len(charts) == 4
    for src, _, current, shown, natural in charts:
        name = src.removeprefix("charts/").removesuffix(".svg")
        assert current.endswith(f"charts/{name}-narrow.svg"), current
        fig = chart_figure(name, sample_facts(), narrow=True)
        smallest_pt = min(t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip())
        assert smallest_pt * fig.dpi / 72 * shown / natural >= MIN_PHONE_TEXT_PX, (name, shown, natural)


@pytest.mark.parametrize("name", list(PAGES))
def test_screenshots_at_phone_and_desktop_width(served, name):
    base, _, root = served
    page = PAGES[name]
    desktop = OUTPUT / f"{name}-1280.png"
    run = chromium(base + MOUNT.lstrip("/") + page, root, f"--screenshot={desktop}", "--window-size=1280,1800")
    assert run.returncode == 0 and desktop.is_file(), run.stderr[-2000:]
    height = 2600
    framed = OUTPUT / f".{name}-frame.png"
    run = chromium(f"{base}__frame.html?height={height}&page={page}", root, f"--screenshot={framed}",
                   f"--window-size=520,{height}", "--virtual-time-budget=10000")
    assert run.returncode == 0 and framed.is_file(), run.stderr[-2000:]
    with Image.open(framed) as image:
        image.crop((0, 0, PHONE, height)).save(OUTPUT / f"{name}-{PHONE}.png")
    framed.unlink()
    for shot, size in ((desktop, (1280, 1800)), (OUTPUT / f"{name}-{PHONE}.png", (PHONE, height))):
        image = Image.open(shot).convert("RGB")
        assert image.size == size
        colors = image.getcolors(maxcolors=1_000_000) or []
        background = max(colors)[0] / (image.width * image.height)
        assert len(colors) > 30 and background < 0.995, shot  # text, links and (on the weekly) charts drawn
