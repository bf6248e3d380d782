"""`publish doctor` says what is wrong and how to fix it, and exits non-zero when something is."""

from __future__ import annotations

import subprocess
from pathlib import Path

from click.testing import CliRunner

from publisher.cli import main


def doctor(root: Path, env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["-C", str(root), "doctor"], env=env)
    return result.exit_code, result.output


def test_healthy_demo_project(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["init", str(tmp_path), "--demo"]).exit_code == 0
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--bare", "-q", str(remote)], check=True)
    code, out = doctor(tmp_path, {"PUBLISHER_LLM": "none", "PUBLISHER_DEPLOY_REMOTE": str(remote)})
    assert code == 0, out
    assert "✓ book:" in out and "native layout" in out and "✓ deploy:" in out and "✗" not in out


def test_problems_are_listed_with_fixes(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["init", str(tmp_path)]).exit_code == 0
    env = {"PUBLISHER_LLM": "openai", "PUBLISHER_LLM_BASE_URL": "http://127.0.0.1:9/v1",
           "PUBLISHER_DEPLOY_REMOTE": str(tmp_path / "missing.git")}
    code, out = doctor(tmp_path, env)
    assert code == 1
    assert "✗ book:" in out and "fix: set [book] path" in out
    assert "✗ llm:" in out and "no OpenAI-compatible server answers" in out
    assert "✗ deploy:" in out and "unreachable" in out


def test_broken_config_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "publisher.toml").write_text("[book]\npath = 3\n")
    code, out = doctor(tmp_path, {})
    assert code == 1 and "✗ config:" in out and "[book] path" in out and "Traceback" not in out


def test_a_remote_relative_to_the_project_is_found_as_deploy_finds_it(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "project"
    assert CliRunner().invoke(main, ["init", str(root), "--demo"]).exit_code == 0
    subprocess.run(["git", "init", "--bare", "-q", str(root / "pages.git")], check=True)
    monkeypatch.chdir(tmp_path)  # not the project folder
    code, out = doctor(root, {"PUBLISHER_LLM": "none", "PUBLISHER_DEPLOY_REMOTE": "pages.git"})
    assert code == 0, out
    assert "✓ deploy:" in out


def test_doctor_never_runs_an_option_like_remote(tmp_path: Path) -> None:
    """doctor probes the remote with git ls-remote: an `--upload-pack=...` value is refused, not run."""
    assert CliRunner().invoke(main, ["init", str(tmp_path)]).exit_code == 0
    code, out = doctor(tmp_path, {"PUBLISHER_LLM": "none", "PUBLISHER_DEPLOY_REMOTE": "--upload-pack=touch pwned"})
    assert code != 0 and "✗ git: [deploy] remote" in out and "option" in out
    assert not list(tmp_path.rglob("pwned")) and not Path("pwned").exists()
