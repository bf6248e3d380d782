"""`publish doctor`: what is wrong with this project and how to fix it, before Tuesday's run finds out."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from publisher.config import Config, load_config
from publisher.errors import PublisherError


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def run_checks(root: Path, config_file: Path | None = None) -> list[Check]:
    try:
        config = load_config(root, config_file)
    except PublisherError as exc:
        return [Check("config", False, str(exc), "fix the file, or run 'publish init' for a commented one")]
    where = str(config.source) if config.source else "defaults (no publisher.toml)"
    checks = [Check("config", True, where)]
    for check in (_check_book, _check_llm, _check_output, _check_git, _check_newsletter):
        checks.append(_guarded(check, config))
    return checks


def _guarded(check: Callable[[Config], Check], config: Config) -> Check:
    try:
        return check(config)
    except PublisherError as exc:
        return Check(check.__name__.removeprefix("_check_"), False, str(exc))


def _check_book(config: Config) -> Check:
    from publisher.book.reader import open_book

    path = config.path(config.book.path)
    if not path.exists():
        return Check("book", False, f"{path} does not exist",
                     "set [book] path in publisher.toml or PUBLISHER_BOOK (or 'publish demo-book PATH' to try)")
    with open_book(path, config.book) as book:
        return Check("book", True, f"{path} ({book.format} layout, read-only)")


def _check_llm(config: Config) -> Check:
    llm = config.llm
    if llm.backend == "none":
        return Check("llm", True, "backend none: facts-only prose, no model needed")
    if llm.backend == "openai":
        from publisher.drafting import probe_server

        probe_server(llm)
        return Check("llm", True, f"OpenAI-compatible server at {llm.base_url} answers")
    if importlib.util.find_spec("mlx") is None or importlib.util.find_spec("mlx_lm") is None:
        return Check("llm", False, "mlx / mlx-lm are not importable",
                     "reinstall publisher (pip install -e .), or set [llm] backend = 'none'")
    from publisher.drafting import resolve_model

    located = resolve_model(llm.model, install=False)
    if located is None:
        return Check("llm", False, f"model '{llm.model}' is not installed",
                     f"run 'publish model install {llm.model}'")
    return Check("llm", True, f"mlx-lm with model {located}")


def _check_output(config: Config) -> Check:
    target = config.site_dir.parent
    if os.access(target, os.W_OK):
        return Check("output", True, f"{config.site_dir} can be written")
    return Check("output", False, f"{target} is not writable", "fix the folder's permissions or choose another project folder")


def _check_git(config: Config) -> Check:
    if not config.deploy.remote:
        return Check("deploy", True, "no [deploy] remote set: 'publish weekly --push' is disabled")
    if shutil.which("git") is None:
        return Check("deploy", False, "git is not installed", "install git (xcode-select --install on macOS)")
    from publisher.ops.deploy import GIT_PROTOCOLS, remote_location

    remote = remote_location(config)  # the remote exactly as deploy will push to it (refuses option-like ones)
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ALLOW_PROTOCOL": ":".join(GIT_PROTOCOLS)}
    probe = subprocess.run(["git", "ls-remote", "--heads", "--", remote], capture_output=True, text=True,
                           timeout=30, env=env)
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or ["no answer"])[-1]
        return Check("deploy", False, f"remote {remote} unreachable: {reason}",
                     "check [deploy] remote and your git credentials")
    return Check("deploy", True, f"remote {remote} reachable (branch {config.deploy.branch})")


def _check_newsletter(config: Config) -> Check:
    """Placeholders (example.com & co) in what a send puts in front of readers, and the SMTP set-up."""
    from publisher.ops.send import load_subscribers, placeholders

    news, smtp = config.newsletter, config.smtp
    subscribers_path = config.path(news.subscribers)
    if not smtp.host and not subscribers_path.exists():
        return Check("newsletter", True, "no [smtp] host and no subscribers file: 'publish send' is disabled")
    problems = placeholders(config, load_subscribers(subscribers_path) if subscribers_path.exists() else [])
    if not smtp.host:
        problems.append("[smtp] host is not set")
    elif smtp.user and not os.environ.get(smtp.password_env):
        problems.append(f"${smtp.password_env} (the SMTP password of {smtp.user!r}) is not set")
    if not subscribers_path.exists():
        problems.append(f"{subscribers_path} does not exist")
    if not news.unsubscribe_url.startswith("https://"):
        problems.append("no https [newsletter] unsubscribe_url: no one-click unsubscribe (RFC 8058), which Gmail "
                        "and Yahoo require of bulk senders")
    elif "{token}" in news.unsubscribe_url and not os.environ.get(news.unsubscribe_secret_env):
        problems.append(f"[newsletter] unsubscribe_url uses {{token}} but ${news.unsubscribe_secret_env} is not set")
    if problems:
        return Check("newsletter", False, "; ".join(problems),
                     "set your own addresses and URLs in publisher.toml ([site], [newsletter], [smtp]) before 'publish send'")
    return Check("newsletter", True, f"{smtp.host} ready, subscribers in {subscribers_path}, one-click unsubscribe")
