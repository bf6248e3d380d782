"""Project configuration: `publisher.toml`, then `PUBLISHER_*` environment variables, then CLI options.

Each section is a small dataclass so that every stage reads typed values and a typo in the file
is reported with the key's name instead of being silently ignored.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from publisher.errors import ConfigError

CONFIG_NAME = "publisher.toml"
ENV_PREFIX = "PUBLISHER_"


@dataclass
class SiteConfig:
    title: str = "My Quant Log"
    url: str = "https://example.com"
    author: str = "Operator"
    description: str = "Weekly post-mortems of a paper-trading bot, built in public."
    language: str = "en"
    timezone: str = "UTC"
    image: str = ""
    weekly_title: str = "{site} Weekly · {iso_year}W{week:02d}"
    weekly_tags: list[str] = field(default_factory=lambda: ["trading", "python", "buildinpublic", "mlx"])
    stack: list[str] = field(default_factory=list)
    closing: str = "Every number in this issue came from one computation over the trading book."
    posts_per_page: int = 10
    subscribe_box: bool = True  # the "follow along" box under posts and on the home page
    subscribe_text: str = "Get each weekly post-mortem in your feed reader or your inbox."
    subscribe_url: str = ""  # the newsletter sign-up page (or a mailto:); empty: the box offers the feed only


@dataclass
class BookConfig:
    path: str = "book.sqlite"
    format: str = "auto"  # auto | native | freqtrade | mapped
    mapping: dict[str, Any] = field(default_factory=dict)


@dataclass
class LLMConfig:
    backend: str = "mlx"  # mlx | openai | none
    model: str = "smollm2-135m"  # a bundled model name, an mlx-lm model directory or a hub id
    token_ceiling: int = 500
    max_tokens: int = 0  # 0: derived per section from its target length
    temperature: float = 0.0
    top_p: float = 1.0
    repetition_penalty: float = 1.1
    seed: int = 0
    batch: bool = True
    base_url: str = "http://127.0.0.1:8080/v1"
    api_model: str = "default_model"
    api_key: str = ""
    timeout: float = 120.0
    retries: int = 2
    voice: str = "First person, plain and specific, no hype, no emoji. Short sentences."
    wired_limit_mb: int = 0
    memory_limit_mb: int = 0
    cache_limit_mb: int = 0


@dataclass
class FeedConfig:
    title: str = ""  # default: the site title
    description: str = ""  # default: the site description
    image: str = ""  # default: the site image
    limit: int = 20
    max_bytes: int = 1_000_000


@dataclass
class NewsletterConfig:
    sender: str = "Operator <operator@example.com>"
    recipient: str = "subscribers@example.com"
    images: str = "url"  # url | cid
    list_unsubscribe: str = "<mailto:unsubscribe@example.com?subject=unsubscribe>"


@dataclass
class DeployConfig:
    remote: str = ""
    branch: str = "gh-pages"
    cname: str = ""
    force: bool = False


@dataclass
class WeeklyConfig:
    quiet_week: str = "publish"  # publish | skip


@dataclass
class Config:
    site: SiteConfig = field(default_factory=SiteConfig)
    book: BookConfig = field(default_factory=BookConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    feed: FeedConfig = field(default_factory=FeedConfig)
    newsletter: NewsletterConfig = field(default_factory=NewsletterConfig)
    deploy: DeployConfig = field(default_factory=DeployConfig)
    weekly: WeeklyConfig = field(default_factory=WeeklyConfig)
    root: Path = field(default_factory=Path.cwd)
    source: Path | None = None

    def path(self, value: str | Path) -> Path:
        """Resolve a path from the config relative to the project root."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.root / p

    @property
    def content_dir(self) -> Path:
        return self.root / "content"

    @property
    def site_dir(self) -> Path:
        return self.root / "site"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def state_dir(self) -> Path:
        return self.root / ".publisher"


SECTIONS: dict[str, type] = {
    f.name: type(f.default_factory()) for f in dataclasses.fields(Config) if f.name not in ("root", "source")
}


def _coerce(value: Any, default: Any, where: str) -> Any:
    """Convert env/CLI strings to the type of the default; reject type mismatches from TOML."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
    elif isinstance(default, float):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif isinstance(default, str) and isinstance(value, str):
        return value
    elif isinstance(default, list):
        if isinstance(value, list):
            return value
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
    elif isinstance(default, dict) and isinstance(value, dict):
        return value
    raise ConfigError(f"{where}: expected {type(default).__name__}, got {value!r}")


def _apply(section_obj: Any, key: str, value: Any, where: str) -> None:
    names = {f.name for f in dataclasses.fields(section_obj)}
    if key not in names:
        raise ConfigError(f"{where}: unknown key '{key}' (known: {', '.join(sorted(names))})")
    setattr(section_obj, key, _coerce(value, getattr(section_obj, key), where))


ENV_ALIASES = {"PUBLISHER_BOOK": ("book", "path"), "PUBLISHER_LLM": ("llm", "backend")}


def load_config(
    root: Path | str = ".",
    config_file: Path | str | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Config:
    """Load the project config.

    Precedence, lowest first: defaults, the TOML file, environment variables
    (`PUBLISHER_<SECTION>_<KEY>`, plus the aliases `PUBLISHER_BOOK` and `PUBLISHER_LLM`), then
    `overrides` ("section.key" -> value, from CLI options; None values are ignored).
    """
    root = Path(root).resolve()
    cfg = Config(root=root)
    path = Path(config_file) if config_file else root / CONFIG_NAME
    if config_file and not path.is_absolute():
        path = Path.cwd() / path
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file or run 'publish init' for a fresh one") from None
        for section, values in data.items():
            if section not in SECTIONS:
                raise ConfigError(f"{path}: unknown section [{section}] (known: {', '.join(SECTIONS)})")
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: [{section}] must be a table")
            for key, value in values.items():
                _apply(getattr(cfg, section), key, value, f"{path} [{section}] {key}")
        cfg.source = path
    elif config_file:
        raise ConfigError(f"{path}: config file not found")

    env = os.environ if environ is None else environ
    for name, (section, key) in ENV_ALIASES.items():
        if env.get(name):
            _apply(getattr(cfg, section), key, env[name], f"environment {name}")
    for section in SECTIONS:
        for f in dataclasses.fields(SECTIONS[section]):
            name = f"{ENV_PREFIX}{section.upper()}_{f.name.upper()}"
            if name in env and f.name != "mapping":
                _apply(getattr(cfg, section), f.name, env[name], f"environment {name}")

    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, key = dotted.partition(".")
        if section not in SECTIONS:
            raise ConfigError(f"unknown config section '{section}' in override {dotted}")
        _apply(getattr(cfg, section), key, value, f"option {dotted}")
    _validate(cfg)
    return cfg


def _validate(cfg: Config) -> None:
    if cfg.llm.backend not in ("mlx", "openai", "none"):
        raise ConfigError(f"[llm] backend = {cfg.llm.backend!r}: choose mlx, openai or none")
    if cfg.llm.max_tokens and cfg.llm.max_tokens >= cfg.llm.token_ceiling:
        raise ConfigError(
            f"[llm] max_tokens = {cfg.llm.max_tokens} is at or above token_ceiling = {cfg.llm.token_ceiling}: "
            "sparse MoE models degrade past the ceiling; set max_tokens below it (or 0 to derive it per section)"
        )
    if cfg.book.format not in ("auto", "native", "freqtrade", "mapped"):
        raise ConfigError(f"[book] format = {cfg.book.format!r}: choose auto, native, freqtrade or mapped")
    if cfg.weekly.quiet_week not in ("publish", "skip"):
        raise ConfigError(f"[weekly] quiet_week = {cfg.weekly.quiet_week!r}: choose publish or skip")
    if cfg.newsletter.images not in ("url", "cid"):
        raise ConfigError(f"[newsletter] images = {cfg.newsletter.images!r}: choose url or cid")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(cfg.site.timezone)
    except Exception:
        raise ConfigError(f"[site] timezone = {cfg.site.timezone!r} is not an IANA timezone (e.g. UTC, Europe/Paris)") from None
