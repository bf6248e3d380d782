"""`publish deploy`: the built site pushed to a local bare repository, one commit per publish."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from publisher.cli import main
from publisher.config import Config, load_config
from publisher.errors import BuildError, DeployError
from publisher.ops.deploy import deploy_site


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def write_site(root: Path, pages: dict[str, str]) -> None:
    site = root / "site"
    if site.exists():
        subprocess.run(["rm", "-rf", str(site)], check=True)
    for name, body in pages.items():
        path = site / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")


@pytest.fixture()
def bare(tmp_path: Path) -> Path:
    path = tmp_path / "pages.git"
    git("init", "--bare", "--quiet", str(path))
    return path


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "publisher.toml").write_text(
        '[site]\nauthor = "Ada Operator"\nurl = "https://quant.example.org"\n'
        '[deploy]\nremote = "../pages.git"\nbranch = "gh-pages"\ncname = "quant.example.org"\n',
        encoding="utf-8")
    write_site(root, {"index.html": "<h1>home</h1>", "weekly/2026-W15.html": "<p>W15</p>"})
    return root


def config_for(root: Path) -> Config:
    return load_config(root, environ={})


def tree(bare: Path, ref: str = "gh-pages") -> dict[str, str]:
    names = git("--git-dir", str(bare), "ls-tree", "-r", "--name-only", ref).split()
    return {name: git("--git-dir", str(bare), "show", f"{ref}:{name}") for name in names}


def log(bare: Path, ref: str = "gh-pages") -> list[str]:
    return git("--git-dir", str(bare), "log", "--format=%s", ref).splitlines()


def test_first_publish_creates_branch_with_site_nojekyll_and_cname(project: Path, bare: Path) -> None:
    result = deploy_site(config_for(project), "Publish 2026-W15")

    assert result.pushed and result.committed
    assert tree(bare) == {".nojekyll": "", "CNAME": "quant.example.org\n", "index.html": "<h1>home</h1>",
                          "weekly/2026-W15.html": "<p>W15</p>"}
    assert log(bare) == ["Publish 2026-W15"]
    assert git("--git-dir", str(bare), "rev-parse", "gh-pages").strip() == result.commit


def test_same_site_twice_makes_no_new_commit(project: Path, bare: Path) -> None:
    first = deploy_site(config_for(project), "Publish 2026-W15")
    second = deploy_site(config_for(project), "Publish 2026-W15 again")

    assert not second.pushed and not second.committed
    assert second.commit == first.commit
    assert second.summary.startswith("nothing to deploy")
    assert log(bare) == ["Publish 2026-W15"]


def test_changed_site_adds_exactly_one_commit_and_drops_removed_files(project: Path, bare: Path) -> None:
    deploy_site(config_for(project), "Publish 2026-W15")
    # A .gitignore inside the built site must not hide the site's own files from the deploy.
    write_site(project, {"index.html": "<h1>home 2</h1>", "weekly/2026-W16.html": "<p>W16</p>", ".gitignore": "*.html\n"})

    result = deploy_site(config_for(project), "Publish 2026-W16")

    assert result.pushed and result.committed
    assert log(bare) == ["Publish 2026-W16", "Publish 2026-W15"]
    assert set(tree(bare)) == {".nojekyll", "CNAME", ".gitignore", "index.html", "weekly/2026-W16.html"}
    assert tree(bare)["index.html"] == "<h1>home 2</h1>"


def test_history_continues_from_remote_when_local_clone_is_lost(project: Path, bare: Path) -> None:
    deploy_site(config_for(project), "Publish 2026-W15")
    subprocess.run(["rm", "-rf", str(project / ".publisher" / "deploy")], check=True)
    write_site(project, {"index.html": "<h1>new machine</h1>"})

    deploy_site(config_for(project), "Publish 2026-W16")

    assert log(bare) == ["Publish 2026-W16", "Publish 2026-W15"]


@pytest.mark.parametrize("breakage, expected", [
    ("no-index", "index.html missing"),
    ("no-site", "no built site"),
    ("no-remote", "[deploy] remote is not set"),
])
def test_refuses_sites_that_must_not_go_out(project: Path, bare: Path, breakage: str, expected: str) -> None:
    if breakage == "no-index":
        (project / "site" / "index.html").unlink()
    elif breakage == "no-site":
        subprocess.run(["rm", "-rf", str(project / "site")], check=True)
    config = config_for(project)
    if breakage == "no-remote":
        config.deploy.remote = ""

    with pytest.raises(DeployError, match=re.escape(expected)):
        deploy_site(config, "Publish")
    assert git("--git-dir", str(bare), "branch", "--list") == ""


def test_refuses_to_deploy_after_a_failed_build_until_a_build_succeeds(project: Path, bare: Path) -> None:
    """The build leaves the previous site in place when it fails; deploy must not push that stale
    site as if the failed build had worked. A later successful build clears the refusal."""
    from publisher.site.build import build_site

    post = project / "content" / "posts" / "p.md"
    post.parent.mkdir(parents=True)
    post.write_text("---\ntitle: P\ndate: 2026-04-20T09:00:00+00:00\n---\n\nText.\n", encoding="utf-8")
    templates = project / "templates"
    templates.mkdir()
    (templates / "post.html").write_text("{% extends 'base.html' %}{% block content %}{{ post.missing() }}{% endblock %}",
                                         encoding="utf-8")
    config = config_for(project)
    with pytest.raises(BuildError):
        build_site(config)
    assert (project / "site" / "index.html").read_text(encoding="utf-8") == "<h1>home</h1>"  # previous site intact
    with pytest.raises(DeployError, match=r"the last build failed \(.*post\.html.*\); fix it and rebuild"):
        deploy_site(config, "Publish")
    assert git("--git-dir", str(bare), "branch", "--list") == ""

    (templates / "post.html").unlink()
    build_site(config)
    deploy_site(config, "Publish")
    assert log(bare) == ["Publish"]


def reject_pushes(bare: Path, why: str) -> Path:
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\necho '{why}' >&2\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    return hook


def test_rejected_push_is_one_line_exit_1_and_is_retried_next_time(project: Path, bare: Path) -> None:
    hook = reject_pushes(bare, "pushes are frozen for the audit")

    out = CliRunner().invoke(main, ["-C", str(project), "deploy", "-m", "Publish 2026-W15"])

    assert out.exit_code == 1
    assert out.stderr.count("\n") == 1
    assert "rejected the push to gh-pages" in out.stderr
    assert "pre-receive hook declined" in out.stderr and "pushes are frozen for the audit" in out.stderr
    assert git("--git-dir", str(bare), "branch", "--list") == ""

    hook.unlink()
    retry = deploy_site(config_for(project), "Publish 2026-W15 (retry)")
    assert retry.pushed and not retry.committed
    assert log(bare) == ["Publish 2026-W15"]


def test_diverged_remote_is_not_overwritten_without_force(project: Path, bare: Path, tmp_path: Path) -> None:
    deploy_site(config_for(project), "Publish 2026-W15")
    other = tmp_path / "other"
    git("clone", "--quiet", "--branch", "gh-pages", str(bare), str(other))
    git("commit", "--quiet", "--amend", "-m", "someone else's rewrite", cwd=other)
    git("push", "--quiet", "--force", "origin", "gh-pages", cwd=other)
    write_site(project, {"index.html": "<h1>W16</h1>"})

    out = CliRunner().invoke(main, ["-C", str(project), "deploy", "-m", "Publish 2026-W16"])

    assert out.exit_code == 1
    assert "non-fast-forward" in out.stderr and "re-run with --force" in out.stderr
    assert log(bare) == ["someone else's rewrite"]

    forced = CliRunner().invoke(main, ["-C", str(project), "deploy", "--force", "-m", "Publish 2026-W16"])
    assert forced.exit_code == 0, forced.output
    assert log(bare) == ["Publish 2026-W16", "Publish 2026-W15"]
    assert tree(bare)["index.html"] == "<h1>W16</h1>"


def test_users_own_repository_is_untouched(project: Path, bare: Path) -> None:
    git("init", "--quiet", str(project))
    (project / ".gitignore").write_text(".publisher/\nsite/\n", encoding="utf-8")
    git("add", "publisher.toml", ".gitignore", cwd=project)
    git("commit", "--quiet", "-m", "my project", cwd=project)
    before = (git("rev-parse", "HEAD", cwd=project), git("branch", "--list", cwd=project),
              git("status", "--porcelain", cwd=project))

    deploy_site(config_for(project), "Publish 2026-W15")

    after = (git("rev-parse", "HEAD", cwd=project), git("branch", "--list", cwd=project),
             git("status", "--porcelain", cwd=project))
    assert after == before
    assert "gh-pages" not in git("branch", "--list", cwd=project)


def test_commit_identity_falls_back_to_site_author(project: Path, bare: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "empty.gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(var, raising=False)

    deploy_site(config_for(project), "Publish 2026-W15")

    assert git("--git-dir", str(bare), "log", "-1", "--format=%an <%ae>", "gh-pages").strip() == \
        "Ada Operator <publisher-noreply@quant.example.org>"


def test_missing_git_is_one_line(project: Path, bare: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(DeployError, match="git not found on PATH"):
        deploy_site(config_for(project), "Publish")


def test_unreachable_remote_is_one_line(project: Path) -> None:
    with pytest.raises(DeployError, match="cannot reach remote .*pages.git"):
        deploy_site(config_for(project), "Publish")


@pytest.mark.parametrize("remote", [
    "--upload-pack=touch pwned; false",
    "-uupload",
    "ext::sh -c touch% pwned",
    "fd::3",
    "  --receive-pack=touch pwned",
])
def test_a_remote_git_would_read_as_an_option_or_a_command_is_refused(project: Path, remote: str,
                                                                     tmp_path: Path) -> None:
    """`[deploy] remote` is a config value passed to git: it must never become an option or a command."""
    result = CliRunner().invoke(main, ["-C", str(project), "deploy"], env={"PUBLISHER_DEPLOY_REMOTE": remote})
    assert result.exit_code == 1 and "[deploy] remote" in result.output, result.output
    assert not list(tmp_path.rglob("pwned")) and not (project / ".publisher" / "deploy").exists()


def test_git_gets_the_remote_after_a_double_dash(project: Path, bare: Path) -> None:
    """Belt and braces: every git call that takes the remote has `--` before it (ls-remote, fetch, push)."""
    calls: list[list[str]] = []

    def runner(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        calls.append(cmd)
        return subprocess.run(cmd, **kwargs)  # type: ignore[call-overload]

    deploy_site(config_for(project), "Publish", runner=runner)
    with_remote = [c for c in calls if str(bare.resolve()) in c]
    assert {verb for c in with_remote for verb in ("ls-remote", "push") if verb in c} == {"ls-remote", "push"}
    for cmd in with_remote:
        assert "--" in cmd and cmd.index("--") < cmd.index(str(bare.resolve())), cmd
