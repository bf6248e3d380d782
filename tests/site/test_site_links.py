"""Link checker: every internal href/src (and #fragment) in the built site resolves to a file."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

from site_project import SITE_URL, make_project

from publisher.site.build import build_site

SITE_PATH = urlparse(SITE_URL).path  # "/quant/": the site's path on its host


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"])
        for name in ("href", "src"):
            if values.get(name) is not None:
                self.refs.append(values[name])
        if tag == "meta" and values.get("property", "").startswith("og:") and (values.get("content") or "").startswith(SITE_URL):
            self.refs.append(values["content"])


def parse(path: Path) -> _Refs:
    parser = _Refs()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def resolve(site: Path, page: Path, ref: str) -> tuple[Path | None, str]:
    """The file a reference points to inside the site (None: external) and its fragment."""
    if ref.startswith(SITE_URL):
        ref = "/" + ref.removeprefix(SITE_URL)
    elif ref.startswith("/") and not ref.startswith("//"):
        assert ref.startswith(SITE_PATH), f"{page}: root-relative link {ref} outside the site path {SITE_PATH}"
        ref = "/" + ref.removeprefix(SITE_PATH)
    parsed = urlparse(ref)
    if parsed.scheme or parsed.netloc:
        return None, ""
    page_url = "/" + page.relative_to(site).as_posix()
    target = unquote(urlparse(urljoin(page_url, ref)).path)
    path = site / target.lstrip("/")
    if target.endswith("/"):
        path = path / "index.html"
    return path, parsed.fragment


def broken_links(site: Path) -> list[str]:
    parsed = {page: parse(page) for page in sorted(site.rglob("*.html"))}
    broken = []
    for page, refs in parsed.items():
        for ref in refs.refs:
            target, fragment = resolve(site, page, ref)
            if target is None:
                continue
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {ref} -> missing {target.relative_to(site)}")
            elif fragment and target.suffix == ".html" and fragment not in (parsed.get(target) or parse(target)).ids:
                broken.append(f"{page.relative_to(site)}: {ref} -> no id {fragment!r}")
    return broken


def test_every_internal_link_resolves(tmp_path):
    config = make_project(tmp_path / "proj")
    build_site(config, include_drafts=True)
    site = config.site_dir
    pages = list(site.rglob("*.html"))
    assert len(pages) >= 12
    assert broken_links(site) == []
    refs = [r for p in pages for r in parse(p).refs]
    assert any("charts/" in r and r.endswith(".svg") for r in refs)  # the checker did see chart images
    assert any(r.startswith("#fn") for r in refs)  # and footnote fragments


def test_the_checker_catches_a_broken_link(tmp_path):
    site = tmp_path / "site"
    (site / "a").mkdir(parents=True)
    (site / "a" / "index.html").write_text('<a href="../b/">b</a><img src="x.png"><a href="#nope">n</a><a href="https://x.org/">x</a>')
    assert broken_links(site) == [
        "a/index.html: ../b/ -> missing b/index.html",
        "a/index.html: x.png -> missing a/x.png",
        "a/index.html: #nope -> no id 'nope'",
    ]
