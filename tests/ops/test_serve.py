"""`publish serve`: a preview over HTTP that rebuilds on edits and tells open pages to reload."""

from __future__ import annotations

import html
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from publisher.config import Config, load_config
from publisher.errors import BuildError, PublisherError
from publisher.ops.serve import DevServer, preview_config

# Safety nets only, never performance bounds: a loaded machine may be slow, the test must not hang.
PATIENCE_S = 300


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=PATIENCE_S) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8")


def wait_for(check: Callable[[], bool], timeout: float = PATIENCE_S) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the preview never reached the expected state")
        time.sleep(0.05)


def tiny_build(config: Config) -> Callable[[Path], None]:
    """A real, small, atomic site builder: one page per post plus an index, in templates/page.html."""

    def build(out: Path) -> None:
        layout = (config.templates_dir / "page.html").read_text(encoding="utf-8")
        pages = {}
        for post in sorted(config.content_dir.glob("*.md")):
            text = post.read_text(encoding="utf-8")
            if "BROKEN" in text:
                raise BuildError(f"{post}: front matter is not valid YAML; fix the file")
            pages[post.stem] = html.escape(text.splitlines()[0].lstrip("# "))
        new = out.with_name(out.name + ".new")
        shutil.rmtree(new, ignore_errors=True)
        new.mkdir(parents=True)
        for stem, title in pages.items():
            (new / f"{stem}.html").write_text(layout.replace("{body}", f"<h1>{title}</h1>"), encoding="utf-8")
        (new / "index.html").write_text(layout.replace("{body}", "".join(f"<li>{t}</li>" for t in pages.values())),
                                        encoding="utf-8")
        (new / "style.css").write_text("body { color: black }", encoding="utf-8")
        if out.exists():
            old = out.with_name(out.name + ".old")
            out.rename(old)
            new.rename(out)
            shutil.rmtree(old)
        else:
            new.rename(out)

    return build


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "content").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "publisher.toml").write_text('[site]\ntitle = "Preview"\n', encoding="utf-8")
    (tmp_path / "templates" / "page.html").write_text("<html><body>{body}</body></html>", encoding="utf-8")
    (tmp_path / "content" / "first-week.md").write_text("# First week\nbody\n", encoding="utf-8")
    return tmp_path


@pytest.fixture()
def server(project: Path) -> Iterator[tuple[DevServer, list[str]]]:
    config = load_config(project, environ={})
    messages: list[str] = []
    with DevServer(config, port=0, build=tiny_build(config), poll_interval=0.05, echo=messages.append) as dev:
        yield dev, messages


def counter(dev: DevServer) -> int:
    return int(fetch(dev.url + "__reload")[1])


def test_serves_built_pages_with_reload_script(server: tuple[DevServer, list[str]]) -> None:
    dev, _ = server
    assert dev.url.startswith("http://127.0.0.1:")

    status, page = fetch(dev.url)
    assert status == 200
    assert "<li>First week</li>" in page
    assert page.endswith('<script src="/__reload.js" data-build="1"></script></body></html>')
    assert fetch(dev.url + "first-week")[1].startswith("<html><body><h1>First week</h1>")
    assert fetch(dev.url + "style.css") == (200, "body { color: black }")
    assert counter(dev) == 1
    status, script = fetch(dev.url + "__reload.js")
    assert status == 200 and 'fetch("/__reload"' in script and "location.reload()" in script
    assert fetch(dev.url + "missing.html")[0] == 404


def test_edit_rebuilds_and_bumps_counter(server: tuple[DevServer, list[str]], project: Path) -> None:
    dev, messages = server
    (project / "content" / "first-week.md").write_text("# First week, edited\nbody\n", encoding="utf-8")

    wait_for(lambda: counter(dev) == 2)
    page = fetch(dev.url + "first-week.html")[1]
    assert "<h1>First week, edited</h1>" in page and 'data-build="2"' in page

    (project / "templates" / "page.html").write_text("<html><body><main>{body}</main></body></html>", encoding="utf-8")
    wait_for(lambda: counter(dev) == 3)
    assert "<main><li>First week, edited</li></main>" in fetch(dev.url)[1]
    assert any(m.startswith("built in") and m.endswith("(build 3)") for m in messages)
    assert not (project / "site").exists()  # drafts are previewed elsewhere, never in the deployable site/


def test_failed_rebuild_keeps_last_good_site(server: tuple[DevServer, list[str]], project: Path) -> None:
    dev, messages = server
    post = project / "content" / "first-week.md"
    post.write_text("# BROKEN\n", encoding="utf-8")

    wait_for(lambda: any(m.startswith("rebuild failed") for m in messages))
    assert messages[-1] == f"rebuild failed: {post}: front matter is not valid YAML; fix the file (still serving the last good preview)"
    assert counter(dev) == 1
    assert "<li>First week</li>" in fetch(dev.url)[1]

    post.write_text("# Fixed week\n", encoding="utf-8")
    wait_for(lambda: counter(dev) == 2)
    assert "<li>Fixed week</li>" in fetch(dev.url)[1]


def test_first_build_failing_serves_the_error(project: Path) -> None:
    (project / "content" / "first-week.md").write_text("# BROKEN <script>\n", encoding="utf-8")
    config = load_config(project, environ={})
    with DevServer(config, port=0, build=tiny_build(config), poll_interval=0.05, echo=lambda _: None) as dev:
        status, page = fetch(dev.url)
        assert status == 503 and "front matter is not valid YAML" in page
        (project / "content" / "first-week.md").write_text("# Good\n", encoding="utf-8")
        wait_for(lambda: counter(dev) == 1)
        assert fetch(dev.url)[0] == 200


def test_busy_port_is_one_line(server: tuple[DevServer, list[str]], project: Path) -> None:
    dev, _ = server
    port = dev.httpd.server_address[1]
    with pytest.raises(PublisherError, match=f"cannot listen on 127.0.0.1:{port}.*--port"):
        DevServer(load_config(project, environ={}), port=port, build=lambda out: None)


def test_preview_config_only_moves_the_site(project: Path, tmp_path: Path) -> None:
    config = load_config(project, environ={})
    preview = preview_config(config, tmp_path / "preview")
    assert preview.site_dir == tmp_path / "preview"
    assert (preview.content_dir, preview.templates_dir, preview.state_dir, preview.site) == \
        (config.content_dir, config.templates_dir, config.state_dir, config.site)


def test_publish_serve_cli_shows_drafts_and_rebuilds(tmp_path: Path) -> None:
    """The real command and the real site build: a draft is previewed, an edit shows up, site/ stays empty."""
    pytest.importorskip("publisher.site.build")
    post = tmp_path / "content" / "posts" / "hello.md"
    post.parent.mkdir(parents=True)
    post.write_text("---\ntitle: Hello preview\ndate: 2026-04-14\nstatus: draft\n---\nFirst words.\n", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "publisher", "-C", str(tmp_path), "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        seen = []
        for line in proc.stdout:
            seen.append(line)
            found = re.search(r"serving (http://\S+)", line)
            if found:
                break
        assert found, "".join(seen)
        url = found.group(1)
        status, page = fetch(url + "posts/hello/")
        assert status == 200 and "Hello preview" in page and "First words." in page
        assert "draft-banner" in page and '<script src="/__reload.js" data-build="1">' in page

        post.write_text(post.read_text(encoding="utf-8").replace("First words.", "Second thoughts."), encoding="utf-8")
        wait_for(lambda: fetch(url + "__reload")[1] == "2")
        assert "Second thoughts." in fetch(url + "posts/hello/")[1]
        assert not (tmp_path / "site").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=PATIENCE_S)
    assert proc.returncode == 0 and "stopped" in proc.stdout.read()


@pytest.mark.parametrize(("host", "allowed"), [
    ("127.0.0.1:8000", True), ("localhost:8000", True), ("[::1]:8000", True), ("192.168.1.20:8000", True),
    ("app.localhost", True), ("evil.example:8000", False), ("127.0.0.1.nip.io", False), ("", False),
    ("localhost.evil.example", False),
])
def test_only_localhost_or_ip_host_headers_are_answered(server: tuple[DevServer, list[str]], host: str,
                                                        allowed: bool) -> None:
    """DNS rebinding: a hostile page whose own name resolves to 127.0.0.1 sends that name as Host."""
    dev, _ = server
    conn = http.client.HTTPConnection(*dev.httpd.server_address[:2], timeout=PATIENCE_S)
    conn.putrequest("GET", "/", skip_host=True)
    if host:
        conn.putheader("Host", host)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read().decode("utf-8")
    conn.close()
    if allowed:
        assert response.status == 200 and "<li>First week</li>" in body
    else:
        assert response.status == 403 and "First week" not in body


def test_stop_does_not_wait_for_a_rebuild_in_progress(project: Path) -> None:
    """Ctrl-C mid-build: stop() returns while the build is still running (it would block forever here)."""
    config = load_config(project, environ={})
    real = tiny_build(config)
    started, release = threading.Event(), threading.Event()

    def build(out: Path) -> None:
        if (project / "content" / "second.md").exists():
            started.set()
            release.wait()  # a build that does not end until the test says so
        real(out)

    dev = DevServer(config, port=0, build=build, poll_interval=0.05, echo=lambda _: None).start()
    try:
        (project / "content" / "second.md").write_text("# Second\n", encoding="utf-8")
        assert started.wait(PATIENCE_S)
        dev.stop()
        assert not release.is_set()  # stop() came back although the build never finished
        with pytest.raises(OSError):
            fetch(dev.url)
    finally:
        release.set()


@pytest.mark.parametrize(("sent", "started_ignoring_sigint"), [
    (signal.SIGINT, False), (signal.SIGINT, True), (signal.SIGTERM, False)])
def test_ctrl_c_during_the_first_build_stops_the_command(tmp_path: Path, sent: int, started_ignoring_sigint: bool) -> None:
    """SIGINT (or SIGTERM) while `publish serve` is still building: the command ends cleanly (exit 0,
    "stopped"), also when started as a shell's background job, which ignores SIGINT."""
    post = tmp_path / "content" / "posts" / "hello.md"
    post.parent.mkdir(parents=True)
    post.write_text("---\ntitle: Hello\ndate: 2026-04-14\n---\nWords.\n", encoding="utf-8")
    code = ("import sys, threading, publisher.site.build as b\n"
            "real = b.build_site\n"
            "def slow(*a, **k):\n"
            "    print('building', flush=True); threading.Event().wait()\n"
            "b.build_site = slow\n"
            "from publisher.cli import main\n"
            "main(['-C', sys.argv[1], 'serve', '--port', '0'])\n")
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if started_ignoring_sigint else None
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, preexec_fn=ignore,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "building"
        proc.send_signal(sent)
        proc.wait(timeout=PATIENCE_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "stopped" in proc.stdout.read()


def test_404_page_is_styled_and_its_links_work_under_the_sites_sub_path(tmp_path: Path) -> None:
    """The site URL has a sub-path (/quant/): the preview serves it there too, so the 404 page's
    absolute links (it is served at any depth) work in the preview as on the host."""
    from site_project import make_project

    from publisher.site.build import build_site

    config = make_project(tmp_path / "proj", weekly=False, draft=False)
    with DevServer(config, port=0, build=lambda out: build_site(preview_config(config, out)),
                   poll_interval=0.05, echo=lambda _: None) as dev:
        status, page = fetch(dev.url + "quant/no/such/page/")
        assert status == 404 and "<h1>Page not found</h1>" in page
        assert "<style>" in page and ".site-header" in page  # styled whatever the depth
        links = re.findall(r'href="(/[^"]*)"', page)
        assert "/quant/archive/" in links
        for link in links:
            assert fetch(dev.url.rstrip("/") + link)[0] == 200, link
        assert fetch(dev.url + "quant/archive/")[0] == fetch(dev.url + "archive/")[0] == 200
