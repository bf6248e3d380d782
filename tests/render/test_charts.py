"""Weekly charts: data-derived alt text, deterministic bytes, graceful empty weeks."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from facts_sample import quiet_facts, sample_facts

from publisher.render.charts import chart_specs, render_weekly_charts


def test_specs_cover_the_four_charts_with_alt_text_from_the_data():
    specs = {s.name: s for s in chart_specs(sample_facts())}
    assert list(specs) == ["equity", "drawdown", "win-rate", "vault"]
    assert "book 1 (standard) from 1000.00 USDT to 998.45 USDT (-0.15%)" in specs["equity"].alt
    assert "book 2 (inverted) 0.19%" in specs["drawdown"].alt
    assert "APT/USDT 20.0% vs 80.0%" in specs["win-rate"].alt
    assert "Execution slippage -7.75 USDT over 6 trades" in specs["vault"].alt


def test_alt_text_follows_the_facts():
    facts = sample_facts()
    facts["vault"]["clusters"][0]["loss"]["value"] = -9.999
    vault = next(s for s in chart_specs(facts) if s.name == "vault")
    assert "Execution slippage -10.00 USDT" in vault.alt


def test_render_writes_svg_and_double_density_png_deterministically(tmp_path):
    first = render_weekly_charts(sample_facts(), tmp_path / "a")
    second = render_weekly_charts(sample_facts(), tmp_path / "b")
    assert [c.name for c in first] == [s.name for s in chart_specs(sample_facts())]
    for a, b in zip(first, second, strict=True):
        assert a.svg.read_bytes() == b.svg.read_bytes()
        assert a.png.read_bytes() == b.png.read_bytes()
        svg = a.svg.read_text(encoding="utf-8")
        ET.fromstring(svg.encode())  # well-formed
        assert "<dc:date>" not in svg and "Matplotlib" not in svg
        png = a.png.read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(png[16:20], "big")
        svg_width_pt = float(ET.fromstring(svg.encode()).get("width").removesuffix("pt"))
        assert width == round(svg_width_pt / 72 * 200)  # 2x the 100 dpi page size
        assert b"Software" not in png


def test_changed_facts_change_the_chart(tmp_path):
    facts = sample_facts()
    base = render_weekly_charts(facts, tmp_path / "a")
    facts["books"][0]["equity_curve"][-1]["equity"] -= 3
    changed = render_weekly_charts(facts, tmp_path / "b")
    assert base[0].svg.read_bytes() != changed[0].svg.read_bytes()


def test_quiet_week_has_no_charts_and_writes_nothing(tmp_path):
    assert chart_specs(quiet_facts()) == []
    assert render_weekly_charts(quiet_facts(), tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_partial_week_keeps_specs_and_files_in_step(tmp_path):
    facts = sample_facts()
    facts["vault"]["clusters"] = []
    charts = render_weekly_charts(facts, tmp_path)
    assert [c.name for c in charts] == [s.name for s in chart_specs(facts)] == ["equity", "drawdown", "win-rate"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{c.name}{variant}" for c in charts for variant in (".svg", ".png", "-narrow.svg"))
