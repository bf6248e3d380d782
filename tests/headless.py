"""Headless Chromium for the browser tests: found on PATH (Debian's `chromium`), run with the flags
this machine's closed network needs and a fresh profile, its console sent to stderr."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def chromium(url: str, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={workdir / 'profile'}", "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
        *args, url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, cwd=workdir)
