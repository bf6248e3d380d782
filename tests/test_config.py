"""Config precedence (file < environment < CLI) and one-line errors for bad config."""

from __future__ import annotations

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
