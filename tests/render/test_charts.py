"""Weekly charts: data-derived alt text, deterministic bytes, graceful empty weeks."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
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
        f"{c.name}{variant}" for c in charts for variant in (".svg", ".png", "-narrow.svg", "-narrow.png"))


def many_books(count: int) -> dict:
    """The sample week with `count` books (copies of the two sample books under new ids and names)."""
    import copy

    facts = sample_facts()
    books = []
    for n in range(count):
        book = copy.deepcopy(facts["books"][n % 2])
        book["id"], book["name"] = n + 1, f"bot-{n + 1}"
        for point in book["equity_curve"][1:]:
            point["equity"] += n  # distinct curves
        books.append(book)
    facts["books"] = books
    facts["comparison"]["book_ids"] = [b["id"] for b in books]
    for row in facts["comparison"]["rows"]:
        cells = list(row["books"].values())
        row["books"] = {str(b["id"]): copy.deepcopy(cells[n % 2]) for n, b in enumerate(books)}
    return facts


OKABE_ITO = {"#0072b2", "#e69f00", "#009e73", "#cc79a7", "#d55e00", "#56b4e9", "#000000", "#f0e442"}


def test_every_book_is_drawn_and_told_apart_however_many(tmp_path):
    from matplotlib.colors import to_hex

    from publisher.render.charts import chart_figure

    facts = many_books(11)
    for name in ("equity", "drawdown", "win-rate"):
        fig = chart_figure(name, facts)
        legend = fig.axes[0].get_legend() or fig.legends[0]  # many books: below the plot, on the figure
        labels = [t.get_text() for t in legend.get_texts()]
        assert labels == [f"book {n} (bot-{n})" for n in range(1, 12)], name
        handles = legend.legend_handles
        looks = {(to_hex(h.get_facecolor() if name == "win-rate" else h.get_color()),
                  h.get_hatch() if name == "win-rate" else h.get_linestyle()) for h in handles}
        assert len(looks) == 11, name  # no two books look alike
        assert {colour for colour, _ in looks} <= OKABE_ITO, name
    assert len(render_weekly_charts(facts, tmp_path)) == 4


@pytest.mark.parametrize("name", ["equity", "drawdown", "win-rate"])
def test_a_phone_charts_legend_sits_clear_of_its_tick_labels(name):
    """On the narrow chart the legend goes below the plot: it must not cover the rotated symbol
    labels (it did on the win-rate chart, anchored at a fixed offset under the axes)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from publisher.render.charts import STYLE, chart_figure

    with matplotlib.rc_context(STYLE):
        fig = chart_figure(name, sample_facts(), narrow=True)
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw_without_rendering()
        legend = fig.legends[0].get_window_extent(renderer)
        ticks = [t.get_window_extent(renderer) for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert ticks and not any(legend.overlaps(box) for box in ticks)
    assert legend.y1 <= min(box.y0 for box in ticks)  # below them


def test_losses_are_drawn_and_labelled_as_losses():
    import matplotlib

    from publisher.render.charts import STYLE, chart_figure

    with matplotlib.rc_context(STYLE):  # drawn and laid out as render_weekly_charts saves it
        fig = chart_figure("vault", sample_facts())
        fig.draw_without_rendering()
        ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]  # formatted when read
    ax = fig.axes[0]
    widths = [bar.get_width() for bar in ax.patches]
    assert widths == [-4.75, -7.75]  # bars left of zero, as negative PnL
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["-4.75 USDT", "-7.75 USDT"]
    assert ax.get_xlabel() == "Realized PnL (USDT)" and ticks[-1] == "0" and all(t.startswith("-") for t in ticks[:-1])
    assert ax.get_xlim()[1] == 0


def test_narrow_variant_keeps_text_legible_on_a_375_px_phone(tmp_path):
    """At 375 px the theme's column is ~339 px wide (16 px root font, 1.1rem side padding): the
    narrow chart's smallest text, scaled to that width, stays at least 11 CSS px."""
    import matplotlib.text

    from publisher.render.charts import chart_figure

    column = 375 - 2 * 1.1 * 16
    for name in ("equity", "drawdown", "win-rate", "vault"):
        fig = chart_figure(name, sample_facts(), narrow=True)
        width_px = fig.get_figwidth() * fig.dpi
        sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip() and t.get_visible()]
        smallest_css_px = min(sizes) * fig.dpi / 72 * min(1.0, column / width_px)
        assert smallest_css_px >= 11, (name, smallest_css_px)
        wide = chart_figure(name, sample_facts())
        assert min(t.get_fontsize() for t in wide.findobj(matplotlib.text.Text) if t.get_text().strip()) * wide.dpi / 72 * column / (wide.get_figwidth() * wide.dpi) < 11
    assert sorted(p.name for p in render_weekly_charts(sample_facts(), tmp_path) if p) and (tmp_path / "vault-narrow.svg").is_file()


def test_drawdown_axis_uses_the_posts_positive_figures_drawn_under_water():
    from publisher.render.charts import chart_figure

    ax = chart_figure("drawdown", sample_facts()).axes[0]
    low, high = ax.get_ylim()
    assert low > high == 0  # inverted: 0 at the top, deeper drawdowns lower
    depths = [max(line.get_ydata()) for line in ax.get_lines() if line.get_label().startswith("book")]
    assert [round(d, 2) for d in depths] == [0.26, 0.19]  # positive, as the post states drawdowns (peak 1000.90 -> 998.30)
