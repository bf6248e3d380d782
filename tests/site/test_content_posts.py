"""Posts as files: front matter parsing, validation messages, dates, ordering, round trips."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from publisher.errors import ContentError
from publisher.site.content import dump_post, load_post, load_posts, parse_front_matter, summarize


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def post_text(title: str = "Hello", date: str = "2026-04-20T09:30:00+02:00", extra: str = "", body: str = "Body text.\n") -> str:
    return f"---\ntitle: {title}\ndate: {date}\n{extra}---\n\n{body}"


def test_fields_defaults_and_url(tmp_path):
    path = write(tmp_path, "posts/My First Post.md", post_text(extra="tags: [Python, trading]\n", body="First *para* [link](x).\n\nSecond.\n"))
    post = load_post(path, tmp_path, "UTC")
    assert post.title == "Hello"
    assert post.slug == "my-first-post"
    assert post.url_path == "posts/my-first-post/"
    assert post.kind == "post" and post.facts_path is None
    assert post.tags == ["python", "trading"]
    assert post.status == "published"
    assert post.description == "First para link."  # derived from the first paragraph, markup removed
    assert post.date == dt.datetime(2026, 4, 20, 7, 30, tzinfo=dt.UTC)
    assert post.body == "First *para* [link](x).\n\nSecond.\n"


def test_weekly_kind_and_fact_sheet_beside_it(tmp_path):
    path = write(tmp_path, "weekly/2026-W16.md", post_text())
    write(tmp_path, "weekly/2026-W16.facts.json", "{}")
    post = load_post(path, tmp_path, "UTC")
    assert (post.kind, post.slug, post.url_path) == ("weekly", "2026-w16", "weekly/2026-w16/")
    assert post.facts_path == tmp_path / "weekly" / "2026-W16.facts.json"


@pytest.mark.parametrize(
    ("date", "tz", "expected_utc"),
    [
        ("2026-04-20 09:30:00", "America/New_York", dt.datetime(2026, 4, 20, 13, 30, tzinfo=dt.UTC)),  # naive -> site tz (EDT)
        ("2026-01-20 09:30:00", "America/New_York", dt.datetime(2026, 1, 20, 14, 30, tzinfo=dt.UTC)),  # EST in winter
        ("2026-04-20", "Asia/Tokyo", dt.datetime(2026, 4, 19, 15, 0, tzinfo=dt.UTC)),  # date only: local midnight
        ("'2026-04-20T09:30:00-03:00'", "Asia/Tokyo", dt.datetime(2026, 4, 20, 12, 30, tzinfo=dt.UTC)),  # explicit offset wins
    ],
)
def test_dates_are_aware_and_use_the_site_timezone_not_the_machine(tmp_path, date, tz, expected_utc):
    post = load_post(write(tmp_path, "p.md", post_text(date=date)), tmp_path, tz)
    assert post.date.tzinfo is not None
    assert post.date == expected_utc


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("---\ntitle: [unclosed\ndate: 2026-04-20\n---\nx", "invalid YAML in front matter (front matter line"),
        ("---\ndate: 2026-04-20\n---\nx", "missing 'title'"),
        ("---\ntitle: T\ndate: 20 April\n---\nx", "date '20 April' is not a date"),
        ("---\ntitle: T\n---\nx", "missing 'date'"),
        ("---\ntitle: T\ndate: 2026-04-20\ntags: [a, b, c, d, e]\n---\nx", "5 tags (a, b, c, d, e); dev.to allows at most 4"),
        ("---\ntitle: T\ndate: 2026-04-20\ntags: [build-in-public]\n---\nx", "use 'buildinpublic'"),
        ("---\ntitle: T\ndate: 2026-04-20\nstatus: live\n---\nx", "status 'live' is not one of: draft, published"),
        ("---\ntitle: T\ndate: 2026-04-20\nslug: Bad Slug\n---\nx", "e.g. 'bad-slug'"),
        ("title: T\n\nno fence", "no front matter"),
        ("---\ntitle: T\ndate: 2026-04-20\n", "front matter is not closed"),
        ("---\n- a\n- b\n---\nx", "front matter must be 'key: value' lines"),
    ],
)
def test_invalid_posts_name_the_file_and_the_fix(tmp_path, text, message):
    path = write(tmp_path, "broken.md", text)
    with pytest.raises(ContentError) as err:
        load_post(path, tmp_path, "UTC")
    assert str(err.value).startswith(str(path))
    assert message in str(err.value)


def test_slug_collision_names_both_files(tmp_path):
    a = write(tmp_path, "posts/a/hello.md", post_text())
    b = write(tmp_path, "notes/Hello.md", post_text())
    with pytest.raises(ContentError) as err:
        load_posts(tmp_path, "UTC")
    assert "slug 'hello' is already used" in str(err.value)
    assert str(a) in str(err.value) and str(b) in str(err.value)


def test_load_posts_newest_first_by_instant_and_skips_hidden_files(tmp_path):
    write(tmp_path, "posts/old.md", post_text(date="2026-04-20T23:00:00+00:00"))
    write(tmp_path, "posts/new.md", post_text(date="2026-04-21T08:00:00+09:00"))  # the same instant as old.md
    write(tmp_path, "posts/newest.md", post_text(date="2026-04-21T00:30:00+00:00"))
    write(tmp_path, "posts/.draft-autosave.md", "garbage")
    write(tmp_path, "_templates/skeleton.md", "garbage")
    slugs = [p.slug for p in load_posts(tmp_path, "UTC")]
    assert slugs == ["newest", "old", "new"]  # by instant, whatever the zone; ties by slug, stable


def test_missing_content_folder_is_a_content_error(tmp_path):
    with pytest.raises(ContentError, match="content folder not found"):
        load_posts(tmp_path / "nope", "UTC")


def test_dump_post_round_trips_unknown_keys_and_the_exact_body(tmp_path):
    meta = {
        "status": "draft", "generated_hash": "abc123", "title": "Weekly: «quotes» & colons", "week": "2026-W16",
        "date": "2026-04-20T00:00:00+00:00", "tags": ["trading", "python"], "description": "One: two",
    }
    body = "\n## Heading\n\nText with trailing spaces  \n\n```python\nx = 1\n```"
    text = dump_post(meta, body)
    assert text.splitlines()[1:4] == ["title: 'Weekly: «quotes» & colons'", "date: '2026-04-20T00:00:00+00:00'", "description: 'One: two'"]
    parsed_meta, parsed_body = parse_front_matter(text, Path("x.md"))
    assert parsed_meta == meta
    assert parsed_body == body
    assert dump_post(parsed_meta, parsed_body) == text  # stable: re-dumping changes nothing
    path = write(tmp_path, "weekly/2026-W16.md", text)
    post = load_post(path, tmp_path, "UTC")
    assert post.meta["generated_hash"] == "abc123" and post.status == "draft"


def test_crlf_and_bom_files_parse(tmp_path):
    path = tmp_path / "win.md"
    path.write_bytes("\ufeff---\r\ntitle: Windows\r\ndate: 2026-04-20\r\n---\r\n\r\nLine one.\r\n".encode())
    post = load_post(path, tmp_path, "UTC")
    assert post.title == "Windows" and post.body == "Line one.\n"


def test_summarize_skips_headings_code_and_truncates_on_a_word():
    body = "# Title\n\n```\ncode\n```\n\n" + "word " * 100
    summary = summarize(body, limit=30)
    assert summary.endswith("…") and len(summary) <= 31 and "code" not in summary
