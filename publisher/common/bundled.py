"""Folders shipped with the package (the default theme, the demo posts)."""

from __future__ import annotations

from pathlib import Path

import publisher


def bundled_path(name: str) -> Path:
    """A folder shipped with the package ("templates", "content"): in a wheel under
    `publisher/_bundled/`, in a source checkout (editable install) at the repository root."""
    package = Path(publisher.__file__).parent
    wheel = package / "_bundled" / name
    return wheel if wheel.is_dir() else package.parent / name
