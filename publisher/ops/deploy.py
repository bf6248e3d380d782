"""Push the built site to a git branch that holds only the site (GitHub Pages, Netlify, Cloudflare Pages).

A persistent clone under `<root>/.publisher/deploy/` keeps the branch's history, so each publish
is one commit on top of the last one and a publish with nothing new makes no commit at all. Every
git command names that clone's `--git-dir` and `--work-tree` explicitly: the operator's own
repository and working tree are never read or written.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from publisher.common.rules import BUILD_FAILED_MARKER
from publisher.config import Config
from publisher.errors import DeployError

Runner = Callable[..., subprocess.CompletedProcess]

NON_FAST_FORWARD = ("non-fast-forward", "fetch first", "stale info")
# Environment variables that would point git at another repository than the deploy clone.
_GIT_LOCATION_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                      "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX")


@dataclass(frozen=True)
class DeployResult:
    remote: str
    branch: str
    commit: str | None  # the branch tip after the deploy; None only when nothing was ever deployed
    committed: bool  # a new commit was made from the site
    pushed: bool
    files: int  # files in the deployed tree

    @property
    def summary(self) -> str:
        if not self.pushed:
            return f"nothing to deploy: {self.remote} {self.branch} already has this site ({(self.commit or '')[:10]})"
        verb = "deployed" if self.committed else "pushed pending commit"
        return f"{verb} {self.files} files to {self.remote} {self.branch} ({(self.commit or '')[:10]})"


def check_site(config: Config) -> Path:
    """Refuse a site that failed to build or has no pages; return the site folder."""
    site = config.site_dir
    marker = config.state_dir / BUILD_FAILED_MARKER
    if marker.exists():
        reason = marker.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        detail = f" ({reason[0][:200]})" if reason else ""
        raise DeployError(f"{marker}: the last build failed{detail}; fix it and rebuild before deploying")
    if not site.is_dir():
        raise DeployError(f"{site}: no built site; run 'publish weekly' (or build the site) before deploying")
    if not (site / "index.html").is_file():
        raise DeployError(f"{site}/index.html missing: the site has no pages (the build failed or never ran); rebuild before deploying")
    return site


# `<transport>::<address>` runs a remote helper (`ext::` runs any command); no hosting needs one.
_REMOTE_HELPER = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
# Transports git may use for a deploy remote; ext/fd (commands, descriptors) are never allowed.
GIT_PROTOCOLS = ("https", "http", "ssh", "git", "file")


def check_remote(remote: str) -> str:
    """Refuse a remote git would read as an option or a command (`--upload-pack=...`, `ext::...`)."""
    value = remote.strip()
    if value.startswith("-"):
        raise DeployError(f"[deploy] remote = {value[:80]!r} starts with '-', which git would read as an option; "
                          "set it to a git URL (https://..., git@host:repo.git) or a path")
    if _REMOTE_HELPER.match(value):
        raise DeployError(f"[deploy] remote = {value[:80]!r} uses a git remote helper ('::'), which can run "
                          "commands; set it to a git URL (https://..., git@host:repo.git) or a path")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise DeployError("[deploy] remote holds control characters; set it to a git URL or a path")
    return value


def remote_location(config: Config) -> str:
    """The remote as git should see it: local paths made absolute against the project root."""
    remote = check_remote(config.deploy.remote)
    if not remote:
        raise DeployError("[deploy] remote is not set in publisher.toml: set it to your Pages repository's git URL (or PUBLISHER_DEPLOY_REMOTE)")
    if "://" in remote or re.match(r"^[\w.-]+@[\w.-]+:", remote):
        return remote
    return str(config.path(remote).resolve())


def deploy_site(config: Config, message: str, *, force: bool = False, runner: Runner = subprocess.run) -> DeployResult:
    """Commit the built site as one commit on `[deploy] branch` and push it to `[deploy] remote`."""
    remote = remote_location(config)
    site = check_site(config)
    branch = config.deploy.branch.strip()
    if not branch or _bad_ref(branch):
        raise DeployError(f"[deploy] branch = {config.deploy.branch!r} is not a valid branch name (e.g. gh-pages)")
    force = force or config.deploy.force
    git = _Git(config.state_dir / "deploy", runner)
    git.ensure_repo()

    tracking = f"refs/remotes/deploy/{branch}"
    remote_tip = git.fetch(remote, branch, tracking)
    local_ref = f"refs/heads/{branch}"
    local_tip = git.rev(local_ref)
    base = _base(git, local_tip, remote_tip)

    git.run("symbolic-ref", "HEAD", local_ref)
    if base:
        git.run("update-ref", local_ref, base)
    _replace_content(git.work_tree, site, config.deploy.cname.strip())
    git.run("-c", "core.excludesFile=" + os.devnull, "add", "--all", "--force", ".")
    committed = base is None or git.changed_from_head()
    if committed:
        git.run(*_identity(git, config), "commit", "--quiet", "--no-verify", "--allow-empty-message", "-m", message)
    tip = git.rev(local_ref)
    assert tip is not None, "the branch has a commit: the one just made or the base"
    files = len(git.run("ls-files", "-z").stdout.split("\0")) - 1
    if tip == remote_tip:
        return DeployResult(remote, branch, tip, committed, False, files)
    git.push(remote, branch, force)
    git.run("update-ref", tracking, tip)
    return DeployResult(remote, branch, tip, committed, True, files)


def _bad_ref(branch: str) -> bool:
    return bool(re.search(r"[\s~^:?*\[\\]|\.\.|@\{|^[-/.]|[/.]$|\.lock$", branch))


def _base(git: _Git, local_tip: str | None, remote_tip: str | None) -> str | None:
    """The commit the new one goes on: the remote tip when the local history is behind or absent.

    A local history that is ahead keeps its unpushed commit; one that diverged from the remote is
    kept too, so that git refuses the push (non-fast-forward) unless the operator forces it.
    """
    if local_tip is None or remote_tip is None:
        return local_tip or remote_tip
    if git.run("merge-base", "--is-ancestor", local_tip, remote_tip, check=False).returncode == 0:
        return remote_tip
    return local_tip


def _replace_content(work_tree: Path, site: Path, cname: str) -> None:
    for entry in work_tree.iterdir():
        if entry.name == ".git":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    shutil.copytree(site, work_tree, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
    (work_tree / ".nojekyll").write_bytes(b"")
    if cname:
        (work_tree / "CNAME").write_text(cname + "\n", encoding="utf-8")


def _identity(git: _Git, config: Config) -> list[str]:
    """Fall back to the site author and a noreply address where git has no identity configured."""
    args = []
    if not git.run("config", "user.name", check=False).stdout.strip():
        args += ["-c", f"user.name={config.site.author or 'publisher'}"]
    if not git.run("config", "user.email", check=False).stdout.strip():
        host = urlparse(config.site.url).hostname or "localhost"
        args += ["-c", f"user.email=publisher-noreply@{host}"]
    return args


class _Git:
    """git, confined to the deploy clone."""

    def __init__(self, work_tree: Path, runner: Runner) -> None:
        self.work_tree = work_tree
        self.runner = runner
        self.env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}
        self.env["GIT_TERMINAL_PROMPT"] = "0"  # a cron job must fail, not wait for a password
        self.env["GIT_ALLOW_PROTOCOL"] = ":".join(GIT_PROTOCOLS)  # never ext:: or fd::, whatever the config

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = ["git", f"--git-dir={self.work_tree / '.git'}", f"--work-tree={self.work_tree}",
               "-c", "core.autocrlf=false", "-c", "core.safecrlf=false", *args]
        return self._exec(cmd, check)

    def _exec(self, cmd: Sequence[str], check: bool) -> subprocess.CompletedProcess:
        try:
            proc = self.runner(list(cmd), cwd=self.work_tree, env=self.env, capture_output=True, text=True)
        except FileNotFoundError:
            raise DeployError("git not found on PATH: install git (https://git-scm.com) to deploy") from None
        if check and proc.returncode != 0:
            words = [a for a in cmd[1:] if not a.startswith("-") and "=" not in a]
            raise DeployError(f"git {words[0] if words else ''} failed in {self.work_tree}: {_last_line(proc)}")
        return proc

    def changed_from_head(self) -> bool:
        proc = self.run("diff", "--cached", "--quiet", "HEAD", check=False)
        if proc.returncode not in (0, 1):
            raise DeployError(f"git diff failed in {self.work_tree}: {_last_line(proc)}")
        return proc.returncode == 1

    def ensure_repo(self) -> None:
        self.work_tree.mkdir(parents=True, exist_ok=True)
        if not (self.work_tree / ".git").is_dir():
            self._exec(["git", "init", "--quiet", "--template=", str(self.work_tree)], check=True)

    def rev(self, ref: str) -> str | None:
        proc = self.run("rev-parse", "--verify", "--quiet", ref + "^{commit}", check=False)
        return proc.stdout.strip() or None

    def fetch(self, remote: str, branch: str, tracking: str) -> str | None:
        """Fetch the remote branch into `tracking`; None when the remote has no such branch yet."""
        listing = self.run("ls-remote", "--heads", "--", remote, f"refs/heads/{branch}", check=False)
        if listing.returncode != 0:
            raise DeployError(f"cannot reach remote {remote}: {_last_line(listing)}")
        if not listing.stdout.strip():
            self.run("update-ref", "-d", tracking, check=False)
            return None
        fetched = self.run("fetch", "--quiet", "--no-tags", "--", remote, f"+refs/heads/{branch}:{tracking}",
                           check=False)
        if fetched.returncode != 0:
            raise DeployError(f"cannot fetch {branch} from {remote}: {_last_line(fetched)}")
        return self.rev(tracking)

    def push(self, remote: str, branch: str, force: bool) -> None:
        ref = f"refs/heads/{branch}"
        args = ["push", "--porcelain", "--no-verify", *(["--force"] if force else []), "--", remote, f"{ref}:{ref}"]
        proc = self.run(*args, check=False)
        if proc.returncode == 0:
            return
        reason = _push_reason(proc)
        hint = ""
        if any(word in reason for word in NON_FAST_FORWARD):
            hint = f"; the remote {branch} has commits the local deploy history lacks: re-run with --force to overwrite it"
        raise DeployError(f"remote {remote} rejected the push to {branch}: {reason}{hint}")


def _push_reason(proc: subprocess.CompletedProcess) -> str:
    """git's own reason for a rejected push: the porcelain status plus what the remote said."""
    status = ""
    for line in proc.stdout.splitlines():
        if line.startswith("!"):
            status = line.split("\t")[-1].strip()
    said = [line[len("remote:"):].strip() for line in proc.stderr.splitlines() if line.startswith("remote:")]
    said = [s for s in said if s]
    if status and said:
        return f"{status} ({said[-1]})"
    return status or (said[-1] if said else _last_line(proc))


def _last_line(proc: subprocess.CompletedProcess) -> str:
    """git's cause: its first `fatal:`/`error:` line (the rest is advice), else its last line."""
    lines = [line.strip() for line in (proc.stderr or proc.stdout or "").splitlines() if line.strip()]
    causes = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return (causes or lines or [f"exit status {proc.returncode}"])[0 if causes else -1][:300]
