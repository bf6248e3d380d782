"""The type checker is part of the test suite: `pytest` runs mypy on the package with the settings
in pyproject.toml ([tool.mypy]) and fails on any error, so a key misspelt against the typed fact
contract (publisher.facts.contract) or a wrong argument type fails the tests, in CI as locally."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_mypy_is_clean_on_the_package() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"mypy found errors (fix them, or run `python -m mypy` to see them):\n{result.stdout}{result.stderr}"
    assert "Success: no issues found" in result.stdout
