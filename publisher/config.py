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
    query_timeout: float = 60.0  # seconds any one query of the book may run (0: no limit)
    primary: str = ""  # the book (id or name) the headline reports; "": by role (docs/metrics.md)


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
    recipient: str = ""  # To: of the preview message in .publisher/newsletter/ (default: the sender)
    images: str = "cid"  # cid (attached) | url (linked from the site)
    list_unsubscribe: str = ""  # extra List-Unsubscribe entries, e.g. "<mailto:leave@you.dev?subject=unsubscribe>"
    # Per-recipient one-click unsubscribe (RFC 8058), an https URL: {email} and {token} are filled in.
    unsubscribe_url: str = ""
    unsubscribe_secret_env: str = "PUBLISHER_UNSUBSCRIBE_SECRET"  # HMAC key of {token}
    subscribers: str = "subscribers.csv"  # CSV with an `email` column, or one address per line


@dataclass
class SMTPConfig:
    host: str = ""
    port: int = 0  # 0: 587 for starttls, 465 for ssl, 25 for none
    security: str = "starttls"  # starttls | ssl | none
    user: str = ""
    password_env: str = "PUBLISHER_SMTP_PASSWORD"  # the password is read from this variable, never the file
    ca_file: str = ""  # extra CA certificates (PEM) to trust, for a relay with a private CA
    timeout: float = 30.0
    rate_per_minute: float = 60.0  # at most this many messages a minute (0: no limit)
    retries: int = 3  # reconnections after a dropped connection, per run


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
    smtp: SMTPConfig = field(default_factory=SMTPConfig)
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
    f.name: type(f.default_factory()) for f in dataclasses.fields(Config)
    if f.name not in ("root", "source") and callable(f.default_factory)
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
# Variables read outside the config (documented in README.md): the model store, OpenBLAS on/off.
OTHER_ENV = ("PUBLISHER_MODELS_DIR", "PUBLISHER_OPENBLAS")
# The placeholders [site] weekly_title may use; named fields only, no attribute or index lookups.
WEEKLY_TITLE_FIELDS = ("site", "iso_year", "week", "iso")


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
    known = set(ENV_ALIASES) | set(OTHER_ENV)
    for section in SECTIONS:
        for f in dataclasses.fields(SECTIONS[section]):
            name = f"{ENV_PREFIX}{section.upper()}_{f.name.upper()}"
            known.add(name)
            if name in env and f.name != "mapping":
                _apply(getattr(cfg, section), f.name, env[name], f"environment {name}")
    for name in sorted(env):  # e.g. PUBLISHER_WEEKLY_FORCE: flags are options, never environment variables
        section = name.removeprefix(ENV_PREFIX).split("_", 1)[0].lower()
        if name.startswith(ENV_PREFIX) and name not in known and section in SECTIONS:
            raise ConfigError(f"environment {name}: not a config key ({ENV_PREFIX}<SECTION>_<KEY> of publisher.toml); "
                              "command flags such as --force or --push are options only: unset it")

    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, key = dotted.partition(".")
        if section not in SECTIONS:
            raise ConfigError(f"unknown config section '{section}' in override {dotted}")
        _apply(getattr(cfg, section), key, value, f"option {dotted}")
    _validate(cfg)
    return cfg


def _check_format(template: str, fields: tuple[str, ...], where: str) -> None:
    """A str.format template with named fields only: `{site.__class__}` or `{0}` would print internals."""
    import string

    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(f"{where} = {template!r}: {exc}; use {{{'}, {'.join(fields)}}}") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in fields or conversion or (spec and "{" in spec):
            raise ConfigError(f"{where} = {template!r}: placeholder {{{name}}} is not allowed; use only "
                              + ", ".join(f"{{{f}}}" for f in fields) + " (with a format such as {week:02d})")


def _at_least(value: float, low: float, where: str) -> None:
    if not (value >= low and value != float("inf")):
        raise ConfigError(f"{where} = {value!r}: must be a number of at least {low:g}")


def _validate(cfg: Config) -> None:
    _check_format(cfg.site.weekly_title, WEEKLY_TITLE_FIELDS, "[site] weekly_title")
    _at_least(cfg.feed.limit, 1, "[feed] limit")
    _at_least(cfg.feed.max_bytes, 1, "[feed] max_bytes")
    _at_least(cfg.site.posts_per_page, 1, "[site] posts_per_page")
    _at_least(cfg.llm.token_ceiling, 1, "[llm] token_ceiling")
    _at_least(cfg.llm.max_tokens, 0, "[llm] max_tokens")
    _at_least(cfg.llm.timeout, 0.001, "[llm] timeout")
    _at_least(cfg.llm.retries, 0, "[llm] retries")
    _at_least(cfg.book.query_timeout, 0, "[book] query_timeout")
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
    if cfg.smtp.security not in ("starttls", "ssl", "none"):
        raise ConfigError(f"[smtp] security = {cfg.smtp.security!r}: choose starttls, ssl or none")
    if not 0 <= cfg.smtp.port <= 65535:
        raise ConfigError(f"[smtp] port = {cfg.smtp.port}: choose a TCP port (or 0 for the security's default)")
    if cfg.smtp.rate_per_minute < 0 or cfg.smtp.retries < 0:
        raise ConfigError("[smtp] rate_per_minute and retries must be 0 or more")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(cfg.site.timezone)
    except Exception:
        raise ConfigError(f"[site] timezone = {cfg.site.timezone!r} is not an IANA timezone (e.g. UTC, Europe/Paris)") from None
