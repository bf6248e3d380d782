"""`publish serve`: a preview over HTTP that rebuilds on edits and tells open pages to reload."""

from __future__ import annotations

import html
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from publisher.config import Config, load_config
from publisher.errors import BuildError, PublisherError
from publisher.ops.serve import DevServer, preview_config


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8")


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the preview")
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
        wait_for(lambda: fetch(url + "__reload")[1] == "2", timeout=30)
        assert "Second thoughts." in fetch(url + "posts/hello/")[1]
        assert not (tmp_path / "site").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


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
