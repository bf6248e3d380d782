"""`publish serve`: a local preview that rebuilds when sources change and reloads open pages.

The preview is built into `.publisher/preview/site/`, never into `site/`, so drafts shown here
can not be deployed by accident. The build callable must be atomic, as `build_site` is (it swaps a
complete new site in or leaves the old one): a broken edit then keeps the last good preview on
screen, and the server only stops counting builds until the edit is fixed.
"""

from __future__ import annotations

import dataclasses
import html
import ipaddress
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from publisher.common.sanitize import terminal_text
from publisher.config import CONFIG_NAME, Config
from publisher.errors import PublisherError, one_line

Build = Callable[[Path], Any]  # atomically replaces the given folder with a complete site

RELOAD_PATH = "/__reload"
RELOAD_SCRIPT_PATH = "/__reload.js"
# An external script (not inline) so a theme's Content-Security-Policy of script-src 'self' allows it.
RELOAD_JS = b"""(function () {
  var me = document.currentScript, seen = me && me.getAttribute("data-build");
  function poll() {
    fetch("/__reload", {cache: "no-store"}).then(function (r) { return r.text(); }).then(function (t) {
      if (t !== seen) { location.reload(); } else { setTimeout(poll, 1000); }
    }, function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 1000);
})();
"""
_IGNORED = re.compile(r"(^\.|~$|\.swp$|\.tmp$)")  # editor and atomic-write scratch files
STOP_JOIN_S = 0.5  # how long stop() waits for a thread; a build still running is left to die with the process


def host_allowed(host_header: str | None) -> bool:
    """Answer only requests addressed to localhost or to an IP literal: a page on another site that
    re-points its own DNS name at 127.0.0.1 (DNS rebinding) sends that name and is refused."""
    if not host_header:
        return False
    host = urlsplit(f"//{host_header.strip()}").hostname
    if host is None:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass
class PreviewConfig(Config):
    """The project's config with `site_dir` pointing at a preview folder instead of `site/`."""

    preview_dir: Path = field(default_factory=Path)

    @property
    def site_dir(self) -> Path:
        return self.preview_dir


def preview_config(config: Config, site_dir: Path) -> PreviewConfig:
    values = {f.name: getattr(config, f.name) for f in dataclasses.fields(Config)}
    return PreviewConfig(**values, preview_dir=site_dir)


def watched_files(config: Config) -> Iterator[Path]:
    config_file = config.source or config.root / CONFIG_NAME
    if config_file.is_file():
        yield config_file
    for folder in (config.content_dir, config.templates_dir):
        if folder.is_dir():
            for path in folder.rglob("*"):
                if path.is_file() and not _IGNORED.search(path.name):
                    yield path


def snapshot(config: Config) -> dict[Path, tuple[int, int]]:
    """(mtime, size) per watched file: polling needs no dependency and works on every filesystem."""
    state = {}
    for path in watched_files(config):
        try:
            stat = path.stat()
        except OSError:  # deleted between listing and stat: the next poll sees it gone
            continue
        state[path] = (stat.st_mtime_ns, stat.st_size)
    return state


def inject_reload(page: bytes, build: int) -> bytes:
    tag = f'<script src="{RELOAD_SCRIPT_PATH}" data-build="{build}"></script>'.encode()
    at = page.lower().rfind(b"</body>")
    return page + tag if at < 0 else page[:at] + tag + page[at:]


class DevServer:
    """The preview server and its watcher; `start()`/`stop()` or use it as a context manager."""

    def __init__(self, config: Config, host: str = "127.0.0.1", port: int = 8000, *, build: Build,
                 poll_interval: float = 0.5, echo: Callable[[str], Any] = print) -> None:
        self.config = config
        self.build = build
        self.poll_interval = poll_interval
        self.echo = echo
        self.site = config.state_dir / "preview" / "site"
        self.build_count = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        try:
            self.httpd = ThreadingHTTPServer((host, port), _handler(self))
        except OSError as exc:
            raise PublisherError(f"cannot listen on {host}:{port} ({exc.strerror}); pick another port with --port") from None
        self.httpd.daemon_threads = True
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}/"

    @property
    def live(self) -> bool:
        return (self.site / "index.html").is_file()

    def rebuild(self) -> bool:
        """Build the preview; count (and so reload pages) only builds that succeeded."""
        with self._lock:
            started = time.monotonic()
            try:
                self.build(self.site)
            except Exception as exc:  # any failure: the last good preview stays; say why in one line
                self.last_error = one_line(exc, with_type=not isinstance(exc, PublisherError), limit=None)
                still = "still serving the last good preview" if self.live else "nothing to serve yet"
                self.echo(terminal_text(f"rebuild failed: {self.last_error} ({still})"))
                return False
            self.build_count += 1
            self.last_error = None
            self.echo(f"built in {time.monotonic() - started:.1f} s (build {self.build_count})")
            return True

    def watch(self, seen: dict[Path, tuple[int, int]]) -> None:
        """Rebuild whenever the watched files differ from `seen`, the state the last build started from."""
        while not self._stop.wait(self.poll_interval):
            now = snapshot(self.config)
            if now != seen:
                seen = now
                self.rebuild()

    def start(self) -> DevServer:
        self.site.parent.mkdir(parents=True, exist_ok=True)
        before = snapshot(self.config)  # taken first, so an edit made during the first build is not missed
        self.rebuild()
        for target, args in ((self.httpd.serve_forever, (0.1,)), (self.watch, (before,))):
            thread = threading.Thread(target=target, args=args, daemon=True, name=f"publish-serve-{target.__name__}")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop at once: the server loop notices within 0.1 s; a rebuild in progress is not waited for
        (its thread is a daemon, and the build is atomic, so the process may end mid-build)."""
        self._stop.set()
        if self._threads:  # shutdown() would wait forever for a serve_forever() that never started
            self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=STOP_JOIN_S)

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(dev: DevServer) -> type[SimpleHTTPRequestHandler]:
    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(dev.site), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            """Quiet: the terminal shows builds, not every request."""

        def do_HEAD(self) -> None:
            if self._refuse_host():
                return None
            return super().do_HEAD()

        def _refuse_host(self) -> bool:
            if host_allowed(self.headers.get("Host")):
                return False
            self._send(403, b"publish serve answers only localhost requests\n", "text/plain; charset=utf-8")
            return True

        def do_GET(self) -> None:
            if self._refuse_host():
                return None
            path = urlsplit(self.path).path
            # The site is also served under its URL's own sub-path (https://x.github.io/blog/ -> /blog/),
            # where the 404 page's links point: it is served at any depth, so they are absolute.
            mount = urlsplit(dev.config.site.url).path.rstrip("/")
            if mount and (path == mount or path.startswith(mount + "/")):
                self.path = self.path[len(mount):] or "/"
                path = path[len(mount):] or "/"
            if path == RELOAD_PATH:
                return self._send(200, str(dev.build_count).encode(), "text/plain; charset=utf-8")
            if path == RELOAD_SCRIPT_PATH:
                return self._send(200, RELOAD_JS, "text/javascript; charset=utf-8")
            if not dev.live:
                page = (f"<!doctype html><title>build failed</title><body><h1>The preview did not build</h1>"
                        f"<pre>{html.escape(dev.last_error or 'building...')}</pre></body>").encode()
                return self._send(503, inject_reload(page, dev.build_count), "text/html; charset=utf-8")
            fs_path = Path(self.translate_path(self.path))
            if fs_path.is_dir():
                if not path.endswith("/"):
                    return super().do_GET()  # the base class redirects to the slash form
                fs_path = fs_path / "index.html"
            elif not fs_path.exists() and fs_path.with_name(fs_path.name + ".html").is_file():
                fs_path = fs_path.with_name(fs_path.name + ".html")  # pretty URLs, as Pages hosts serve them
            if not fs_path.exists():
                missing = dev.site / "404.html"
                if missing.is_file():
                    return self._send(404, inject_reload(missing.read_bytes(), dev.build_count), "text/html; charset=utf-8")
                return super().do_GET()
            if fs_path.suffix.lower() in (".html", ".htm"):
                return self._send(200, inject_reload(fs_path.read_bytes(), dev.build_count), "text/html; charset=utf-8")
            return super().do_GET()

        def end_headers(self) -> None:
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM stop the preview, also where it was started with SIGINT ignored (a shell's
    background job, `nohup`: Python then keeps it ignored and Ctrl-C would never reach it)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)


def serve(config: Config, host: str = "127.0.0.1", port: int = 8000, *, build: Build,
          poll_interval: float = 0.5, echo: Callable[[str], Any] = print) -> None:
    """Run the preview until Ctrl-C, which stops it at once, even during the first build."""
    dev = DevServer(config, host, port, build=build, poll_interval=poll_interval, echo=echo)
    _stop_on_signals()
    try:
        dev.start()
        echo(f"serving {dev.url} (watching content/, templates/, {CONFIG_NAME}; Ctrl-C to stop)")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        echo("stopped")
    finally:
        dev.stop()
