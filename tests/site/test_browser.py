"""The built site in a real browser: headless Chromium loads index, a weekly post, a tag page and the
archive from a local server; every image (the charts included) and stylesheet loads, no request
fails, nothing is logged to the console, and the screenshots are not blank."""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from site_project import make_project

from publisher.site.build import build_site

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (apt-get install -y chromium)")

PAGES = ["", "weekly/weekly-2026-w16/", "tags/python/", "archive/"]

# A test-only harness page (never part of the site): loads each page in a same-origin iframe and
# reports what the browser actually loaded, which --dump-dom then prints.
PROBE = """<!doctype html><html><head><link rel="icon" href="data:,"></head><body><pre id="out">pending</pre><script>
const pages = %s, results = {};
let left = pages.length;
for (const page of pages) {
  const frame = document.createElement("iframe");
  frame.width = 1200; frame.height = 900;
  frame.onload = () => {
    const doc = frame.contentDocument;
    results[page] = {
      lang: doc.documentElement.lang,
      images: [...doc.images].map(i => [i.getAttribute("src"), i.complete && i.naturalWidth > 0]),
      sheets: [...doc.querySelectorAll('link[rel=stylesheet]')].map(l => [l.getAttribute("href"), !!l.sheet && l.sheet.cssRules.length > 0]),
      text: doc.body.innerText.length,
    };
    if (--left === 0) document.getElementById("out").textContent = JSON.stringify(results);
  };
  frame.src = "/" + page;
  document.body.appendChild(frame);
}
</script></body></html>"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[tuple[str, int]]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/__probe.html":
            body = (PROBE % json.dumps(PAGES)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
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
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requests, root
    finally:
        server.shutdown()
        server.server_close()


def chromium(url: str, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={workdir / 'profile'}", "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
        *args, url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False, cwd=workdir)


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_pages_load_completely_with_charts_and_no_console_errors(served):
    base, requests, root = served
    run = chromium(base + "__probe.html", root, "--virtual-time-budget=15000", "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    match = re.search(r'<pre id="out">(.*?)</pre>', run.stdout, re.S)
    assert match and match.group(1) != "pending", run.stdout[-2000:]
    results = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert set(results) == set(PAGES)
    for page, found in results.items():
        assert found["lang"] == "en" and found["text"] > 200, page
        assert found["sheets"] and all(ok for _, ok in found["sheets"]), (page, found["sheets"])
        assert all(ok for _, ok in found["images"]), (page, found["images"])
    charts = [src for src, ok in results["weekly/weekly-2026-w16/"]["images"] if "charts/" in src]
    assert len(charts) >= 2 and all(src.endswith(".svg") for src in charts)
    assert console_lines(run.stderr) == []
    failed = [(path, code) for path, code in requests if code >= 400]
    assert failed == []
    assert any("/charts/" in path and code == 200 for path, code in requests)


@pytest.mark.parametrize("page", PAGES)
def test_screenshots_are_not_blank(served, page):
    base, _, root = served
    shot = root / f"shot-{page.strip('/').replace('/', '-') or 'index'}.png"
    run = chromium(base + page, root, f"--screenshot={shot}", "--window-size=1200,1600")
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    assert console_lines(run.stderr) == []
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 1600)
    colors = image.getcolors(maxcolors=1_000_000) or []
    background = max(colors)[0] / (image.width * image.height)
    assert len(colors) > 30 and background < 0.995  # text, links and (on the weekly) charts drawn
