"""`publish draft BRIEF.yaml`: long-form drafts through the same section engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from publisher.cli import main
from publisher.drafting.brief import load_brief
from publisher.errors import DraftError
from publisher.site.content import parse_front_matter

pytest_plugins = ["drafting_fixtures"]  # the tiny model and mlx_lm.server fixtures

BRIEF = {
    "title": "Why every section stays under 500 tokens",
    "description": "Sectional generation on a sparse MoE model.",
    "tags": ["mlx", "llm"],
    "sections": [
        {"heading": "The ceiling", "instruction": "Explain what happens after about 500 tokens.", "words": 120,
         "facts": ["Quality ceiling: 500 tokens of one output", "Model: Qwen 3.6 35B-A3B at 8-bit"]},
        {"heading": "The fix", "instruction": "Explain sectional generation.", "words": 200},
    ],
}


def _write(tmp_path: Path, brief: dict) -> Path:
    path = tmp_path / "brief.yaml"
    path.write_text(yaml.safe_dump(brief), encoding="utf-8")
    return path


def test_draft_writes_a_draft_post_and_refuses_to_overwrite(tmp_path):
    brief = _write(tmp_path, BRIEF)
    runner = CliRunner()
    result = runner.invoke(main, ["-C", str(tmp_path), "draft", str(brief), "--llm", "none"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "content" / "drafts" / "why-every-section-stays-under-500-tokens.md"
    meta, body = parse_front_matter(out.read_text(encoding="utf-8"), out)
    assert meta["status"] == "draft" and meta["title"] == BRIEF["title"] and meta["tags"] == ["mlx", "llm"]
    assert body.index("## The ceiling") < body.index("## The fix")
    assert "- Quality ceiling: 500 tokens of one output" in body
    record = json.loads(out.with_suffix(".draft.json").read_text(encoding="utf-8"))
    assert [s["key"] for s in record["sections"]] == ["the-ceiling", "the-fix"]
    assert [s["cap"] for s in record["sections"]] == [216, 344]

    out.write_text("hand edited", encoding="utf-8")
    again = runner.invoke(main, ["-C", str(tmp_path), "draft", str(brief), "--llm", "none"])
    assert again.exit_code == 1 and "already exists" in again.output and "--force" in again.output
    assert out.read_text(encoding="utf-8") == "hand edited"
    forced = runner.invoke(main, ["-C", str(tmp_path), "draft", str(brief), "--llm", "none", "--force"])
    assert forced.exit_code == 0 and out.read_text(encoding="utf-8").startswith("---\n")


def test_draft_with_the_mlx_backend_keeps_every_section_under_its_cap(tmp_path, tiny_model_dir):
    brief = _write(tmp_path, BRIEF)
    result = CliRunner().invoke(main, ["-C", str(tmp_path), "draft", str(brief), "--llm", "mlx",
                                       "--model", str(tiny_model_dir)])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "content" / "drafts" / "why-every-section-stays-under-500-tokens.draft.json")
                        .read_text(encoding="utf-8"))
    assert record["backend"] == "mlx" and record["model"] == "tiny-moe"
    assert all(0 < s["tokens"] <= s["cap"] < 500 for s in record["sections"])


@pytest.mark.parametrize(("change", "message"), [
    ({"title": ""}, "'title' is missing"),
    ({"sections": []}, "'sections' must be a non-empty list"),
    ({"sections": [{"heading": "A"}]}, "section 1: needs both 'heading' and 'instruction'"),
    ({"sections": [{"heading": "A", "instruction": "B", "words": 5000}]}, "section 1 (A): 'words' must be"),
    ({"tags": ["Build In Public"]}, "'tags' must be a list of at most 4"),
])
def test_brief_problems_name_the_field(tmp_path, change, message):
    with pytest.raises(DraftError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_brief(_write(tmp_path, {**BRIEF, **change}))


def test_brief_facts_file_feeds_the_guard(tmp_path):
    (tmp_path / "facts.json").write_text(json.dumps({"currency": "USDT", "x": {"value": 12.5, "unit": "USDT"}}))
    brief = load_brief(_write(tmp_path, {**BRIEF, "facts_file": "facts.json"}))
    assert brief.facts["x"]["value"] == 12.5
    with pytest.raises(DraftError, match="facts_file"):
        load_brief(_write(tmp_path, {**BRIEF, "facts_file": "missing.json"}))
