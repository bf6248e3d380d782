"""Config precedence (file < environment < CLI) and one-line errors for bad config."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from publisher.config import load_config
from publisher.errors import ConfigError


def write(root: Path, text: str) -> Path:
    (root / "publisher.toml").write_text(text, encoding="utf-8")
    return root


def test_file_then_environment_then_cli(tmp_path: Path) -> None:
    write(tmp_path, '[book]\npath = "from-file.sqlite"\n[llm]\nbackend = "none"\ntemperature = 0.2\n')
    assert load_config(tmp_path, environ={}).book.path == "from-file.sqlite"
    env = {"PUBLISHER_BOOK": "from-env.sqlite", "PUBLISHER_LLM_TEMPERATURE": "0.7"}
    config = load_config(tmp_path, environ=env)
    assert (config.book.path, config.llm.temperature, config.llm.backend) == ("from-env.sqlite", 0.7, "none")
    config = load_config(tmp_path, overrides={"book.path": "from-cli.sqlite", "llm.backend": None}, environ=env)
    assert (config.book.path, config.llm.backend) == ("from-cli.sqlite", "none")
    assert config.path(config.book.path) == tmp_path.resolve() / "from-cli.sqlite"


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = load_config(tmp_path, environ={})
    assert config.source is None and config.llm.token_ceiling == 500 and config.site.timezone == "UTC"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[site\n", "not valid TOML"),
        ("[sight]\ntitle = 'x'\n", "unknown section [sight]"),
        ("[site]\ntitel = 'x'\n", "unknown key 'titel'"),
        ("[llm]\ntoken_ceiling = 'many'\n", "expected int"),
        ("[llm]\nmax_tokens = 500\n", "at or above token_ceiling"),
        ("[llm]\nbackend = 'gpt'\n", "choose mlx, openai or none"),
        ("[site]\ntimezone = 'Mars/Olympus'\n", "not an IANA timezone"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(tmp_path: Path, text: str, needle: str) -> None:
    write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, environ={})
    message = str(caught.value)
    assert needle in message and "\n" not in message


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PUBLISHER_LLM_SEED"):
        load_config(tmp_path, environ={"PUBLISHER_LLM_SEED": "abc"})


def test_environment_variables_reach_the_commands(tmp_path: Path) -> None:
    """Through the real CLI: PUBLISHER_BOOK picks the book and PUBLISHER_SITE_TIMEZONE the week's
    timezone; an option on the command line still beats the environment."""
    import json

    from bookmaker import make_native_book, trade
    from click.testing import CliRunner

    from publisher.cli import main

    rows = [trade(1, "BTC/USDT", entry=100, exit=110, opened="2026-04-14T08:00:00Z", closed="2026-04-14T09:00:00Z")]
    env_book = make_native_book(tmp_path / "env.sqlite", trades=rows)
    cli_book = make_native_book(tmp_path / "cli.sqlite", trades=rows + [
        trade(1, "ETH/USDT", entry=10, exit=9, opened="2026-04-15T08:00:00Z", closed="2026-04-15T09:00:00Z")])
    write(tmp_path, '[site]\ntimezone = "UTC"\n')
    env = {"PUBLISHER_BOOK": str(env_book), "PUBLISHER_SITE_TIMEZONE": "Asia/Tokyo"}
    runner = CliRunner()

    result = runner.invoke(main, ["-C", str(tmp_path), "facts", "--week", "2026-W16", "--json"], env=env)
    assert result.exit_code == 0, result.output
    sheet = json.loads(result.output)
    assert sheet["stamp"]["book_file"] == "env.sqlite"
    assert sheet["week"]["timezone"] == "Asia/Tokyo"
    assert sheet["week"]["start"] == "2026-04-13T00:00:00+09:00"
    assert sheet["all_books"]["week"]["round_trips"]["value"] == 1

    result = runner.invoke(main, ["-C", str(tmp_path), "facts", "--week", "2026-W16", "--json", "--book",
                                  str(cli_book)], env=env)
    sheet = json.loads(result.output)
    assert sheet["stamp"]["book_file"] == "cli.sqlite" and sheet["all_books"]["week"]["round_trips"]["value"] == 2

    result = runner.invoke(main, ["-C", str(tmp_path), "facts", "--week", "2026-W16"],
                           env={**env, "PUBLISHER_SITE_TIMEZONE": "Mars/Olympus"})
    assert result.exit_code == 1
    assert result.output == "error: [site] timezone = 'Mars/Olympus' is not an IANA timezone (e.g. UTC, Europe/Paris)\n"


def test_environment_variables_are_config_keys_only(tmp_path: Path) -> None:
    """Command flags are never environment variables: PUBLISHER_WEEKLY_FORCE is refused, not obeyed."""
    for name in ("PUBLISHER_WEEKLY_FORCE", "PUBLISHER_WEEKLY_PUSH", "PUBLISHER_DEPLOY_FORCEFULLY"):
        with pytest.raises(ConfigError, match=name):
            load_config(tmp_path, environ={name: "1"})
    config = load_config(tmp_path, environ={"PUBLISHER_DEPLOY_FORCE": "1", "PUBLISHER_MODELS_DIR": "/x",
                                            "PUBLISHER_BUILD_DRAFTS": "1"})
    assert config.deploy.force is True  # a real key of [deploy]; unrelated PUBLISHER_* names are not ours


@pytest.mark.parametrize(("env", "key"), [
    ({"PUBLISHER_FEED_LIMIT": "-1"}, "[feed] limit"),
    ({"PUBLISHER_FEED_LIMIT": "0"}, "[feed] limit"),
    ({"PUBLISHER_SITE_POSTS_PER_PAGE": "0"}, "[site] posts_per_page"),
    ({"PUBLISHER_LLM_TIMEOUT": "-5"}, "[llm] timeout"),
    ({"PUBLISHER_BOOK_QUERY_TIMEOUT": "nan"}, "[book] query_timeout"),
    ({"PUBLISHER_SITE_WEEKLY_TITLE": "{site.__class__.__mro__}"}, "weekly_title"),
    ({"PUBLISHER_SITE_WEEKLY_TITLE": "{0}"}, "weekly_title"),
    ({"PUBLISHER_SITE_WEEKLY_TITLE": "{week!r}"}, "weekly_title"),
    ({"PUBLISHER_SITE_WEEKLY_TITLE": "{iso:{site}}"}, "weekly_title"),
    ({"PUBLISHER_SITE_WEEKLY_TITLE": "{unclosed"}, "weekly_title"),
])
def test_config_values_are_validated(tmp_path: Path, env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(key)):
        load_config(tmp_path, environ=env)


def test_a_weekly_title_with_named_fields_and_formats_is_fine(tmp_path: Path) -> None:
    title = "{site} · {iso_year}-W{week:02d} ({iso})"
    assert load_config(tmp_path, environ={"PUBLISHER_SITE_WEEKLY_TITLE": title}).site.weekly_title == title


def test_book_primary_reaches_the_fact_sheet(tmp_path: Path) -> None:
    """`[book] primary` names the headline book: book 2 here, although book 1 is the standard one."""
    from bookmaker import make_native_book, trade

    from publisher.book.reader import open_book
    from publisher.facts.compute import compute_facts

    book = make_native_book(tmp_path / "book.sqlite", trades=[
        trade(2, "BTC/USDT", entry=100, exit=104, opened="2026-04-14T08:00:00Z", closed="2026-04-14T09:00:00Z")])
    (tmp_path / "publisher.toml").write_text('[book]\npath = "book.sqlite"\nprimary = "inverted"\n', encoding="utf-8")
    config = load_config(tmp_path)
    assert config.book.primary == "inverted"
    with open_book(book, config.book) as b:
        facts = compute_facts(b, "2026-W16", "UTC", config.book.primary)
    assert facts["headline"]["book_ids"] == [2] and facts["headline"]["basis"] == "[book] primary"
    assert facts["headline"]["week"]["realized_pnl"]["value"] == pytest.approx(4.0)
