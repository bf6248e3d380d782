"""The weekly charts, drawn from the fact sheet only, with matplotlib's headless renderers.

Output is byte-for-byte deterministic for the same facts (fixed font, fixed SVG id salt, no date
or software stamp in the metadata), so a rebuild does not churn the site's git history. A chart
without data (a week with no closed trades) is left out: `chart_specs` and `render_weekly_charts`
decide that with the same code, so the post never points at an image that was not written.

Any number of books: each gets a colour of the Okabe-Ito palette (safe for the common colour-vision
deficiencies), and past its eight colours a line style / hatch too, so no two books look alike and
none is dropped. Each chart is also drawn narrow (`<name>-narrow.svg`, NARROW_WIDTH_PX wide) for
phones: shown at 375 px its text stays at least MIN_PHONE_TEXT_PX CSS px (the wide one would be ~5).
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import matplotlib
from matplotlib.dates import AutoDateLocator, DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from publisher.common import figures as F
from publisher.common.rules import (
    CHART_DPI,
    CHART_HEIGHT_IN,
    CHART_WIDTH_IN,
    NARROW_CHART_HEIGHT_IN,
    NARROW_CHART_WIDTH_IN,
    narrow_chart_name,
)
from publisher.common.sanitize import chart_label

if TYPE_CHECKING:
    from publisher.facts.contract import Book, ComparisonRow, Facts

WIDTH_IN, HEIGHT_IN, DPI = CHART_WIDTH_IN, CHART_HEIGHT_IN, CHART_DPI
NARROW_WIDTH_IN, NARROW_HEIGHT_IN = NARROW_CHART_WIDTH_IN, NARROW_CHART_HEIGHT_IN  # shown at ~340 px on a phone
MIN_PHONE_TEXT_PX = 11  # what the narrow variant guarantees at a 375 px viewport (font.size 10 pt = 13.9 px)
MAX_BARS = 15  # more symbols than this and the labels collide; the alt text says what was left out
# Okabe & Ito (2008), "Color Universal Design": distinguishable with any common colour-vision
# deficiency; ordered so the first books get the strongest contrast on white (yellow last).
COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#F0E442")
LINESTYLES = ("-", "--", ":", "-.")
HATCHES = ("", "//", "..", "xx")
LOSS_COLOR = "#D55E00"  # vermillion: a loss, in the same palette
STYLE: dict[Any, Any] = {  # matplotlib rcParams
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "svg.hashsalt": "publisher",
    "svg.fonttype": "path",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e5e7eb",
    "axes.axisbelow": True,
    "path.simplify": False,
    "text.parse_math": False,  # a `$...$` pair in a symbol or a name is text, not mathtext
    "text.usetex": False,
    "axes.unicode_minus": False,  # "-7.75", as the post and its tables write a loss
}
SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
PNG_METADATA = {"Software": None}


@dataclass(frozen=True)
class ChartSpec:
    """What the post template needs: the file stem, a caption and the data-derived alt text."""

    name: str
    title: str
    alt: str


@dataclass(frozen=True)
class Chart:
    name: str
    alt: str
    svg: Path
    png: Path
    narrow_svg: Path | None = None
    narrow_png: Path | None = None  # the phone variant at 2x: the email's chart (no <picture> in mail)


@dataclass(frozen=True)
class BookStyle:
    color: str
    linestyle: str
    hatch: str


def book_style(index: int) -> BookStyle:
    """The look of the index-th book: a palette colour, then (past 8 books) a line style and hatch."""
    cycle = index // len(COLORS)
    return BookStyle(COLORS[index % len(COLORS)], LINESTYLES[cycle % len(LINESTYLES)], HATCHES[cycle % len(HATCHES)])


def _legend(ax: Any, count: int, narrow: bool, **kwargs: Any) -> None:
    """Inside the plot for a few books on a wide chart, below it otherwise (never over the data).
    Below is the figure's bottom edge, laid out by the constrained layout under the tick labels: an
    offset from the axes collided with long rotated symbol labels on a phone-width chart."""
    if narrow or count > 3:
        handles, labels = ax.get_legend_handles_labels()
        ax.figure.legend(handles, labels, loc="outside lower center", frameon=False,
                         ncol=1 if narrow else min(count, 3))
    else:
        ax.legend(frameon=False, **kwargs)


def _book_label(book: Book) -> str:
    return f"book {book['id']} ({chart_label(book['name'])})"


def _curve(book: Book, facts: Facts) -> list[tuple[dt.datetime, float]]:
    """The realized-equity steps, held flat to the end of the week so the last close has a width."""
    curve = [(dt.datetime.fromisoformat(p["t"]), float(p["equity"])) for p in book.get("equity_curve", [])]
    end = dt.datetime.fromisoformat(facts["week"]["end"])
    if curve and curve[-1][0] < end:
        curve.append((end, curve[-1][1]))
    return curve


def _drawdowns(curve: list[tuple[dt.datetime, float]]) -> list[float]:
    """Percent below the running peak of realized equity (0 at a new high, negative under water)."""
    out, peak = [], float("-inf")
    for _, equity in curve:
        peak = max(peak, equity)
        out.append(100.0 * (equity - peak) / peak if peak > 0 else 0.0)
    return out


def _books_with_closes(facts: Facts) -> list[Book]:
    return [b for b in facts["books"] if len(b.get("equity_curve", [])) > 1]


# --- alt texts: every number in them is a fact-sheet figure, formatted like the post ---------------


def _equity_alt(facts: Facts) -> str:
    parts = [
        f"{_book_label(b)} from {F.money(b['week']['equity_start'], sign=False)} to "
        f"{F.money(b['week']['equity_end'], sign=False)} "
        f"({F.pct(b['week']['return'], 2, sign=True)}) over {F.count(b['week']['round_trips'])} round-trips"
        for b in _books_with_closes(facts)
    ]
    return f"Realized equity through week {facts['week']['iso']}: " + "; ".join(parts) + "."


def _drawdown_alt(facts: Facts) -> str:
    parts = [f"{_book_label(b)} {F.pct(b['week']['max_drawdown'], 2)}" for b in _books_with_closes(facts)]
    return f"Drawdown from the running equity peak in week {facts['week']['iso']}; maximum: " + ", ".join(parts) + "."


def _comparison(facts: Facts) -> tuple[list[ComparisonRow], list[str], list[Book]]:
    """Rows of the most-traded symbols first (ties by name), the compared book ids and their books."""
    ids = [str(i) for i in facts["comparison"]["book_ids"]]
    books = {str(b["id"]): b for b in facts["books"]}
    rows = sorted(facts["comparison"]["rows"],
                  key=lambda r: (-sum(F.num(c["round_trips"]) for c in r["books"].values()), r["symbol"]))
    return rows, ids, [books[i] for i in ids if i in books]


def _win_rate_alt(facts: Facts) -> str:
    rows, ids, books = _comparison(facts)
    names = " vs ".join(_book_label(b) for b in books)
    parts = [
        f"{chart_label(row['symbol'])} " + " vs ".join(F.pct(row["books"][i]["win_rate"]) for i in ids if i in row["books"])
        for row in rows[:MAX_BARS]
    ]
    scope = f"of the {MAX_BARS} most traded of {len(rows)} symbols" if len(rows) > MAX_BARS else "by symbol"
    return f"Win rate {scope}, {names}: " + "; ".join(parts) + "."


def _vault_alt(facts: Facts) -> str:
    parts = [f"{chart_label(c['label'])} {F.money(c['loss'])} over {F.count(c['count'])} trades" for c in facts["vault"]["clusters"]]
    return (f"Failure-vault losses by root cause in week {facts['week']['iso']}, "
            f"total {F.money(facts['vault']['total_loss'])}: " + "; ".join(parts) + ".")


# --- drawings --------------------------------------------------------------------------------------


def _tz(facts: Facts) -> ZoneInfo:
    return ZoneInfo(facts["week"].get("timezone") or "UTC")


def _time_axis(ax: Any, facts: Facts, narrow: bool) -> None:
    tz = _tz(facts)
    ax.xaxis.set_major_locator(AutoDateLocator(tz=tz, maxticks=5 if narrow else 8))
    ax.xaxis.set_major_formatter(DateFormatter("%a" if narrow else "%a %d %b", tz=tz))


def _draw_equity(ax: Any, facts: Facts, narrow: bool) -> None:
    books = _books_with_closes(facts)
    for k, book in enumerate(books):
        style = book_style(k)
        times, values = zip(*_curve(book, facts), strict=True)
        ax.step(times, values, where="post", color=style.color, linestyle=style.linestyle, linewidth=1.8,
                label=_book_label(book))
    ax.set_ylabel(f"Realized equity ({chart_label(facts['currency'], 12)})")
    _time_axis(ax, facts, narrow)
    _legend(ax, len(books), narrow, loc="best")


def _draw_drawdown(ax: Any, facts: Facts, narrow: bool) -> None:
    books = _books_with_closes(facts)
    for k, book in enumerate(books):
        style = book_style(k)
        curve = _curve(book, facts)
        times = [t for t, _ in curve]
        depth = [-d for d in _drawdowns(curve)]  # positive, as the post and the fact sheet state drawdowns
        ax.fill_between(times, depth, 0, step="post", color=style.color, alpha=0.2, linewidth=0)
        ax.step(times, depth, where="post", color=style.color, linestyle=style.linestyle, linewidth=1.4,
                label=_book_label(book))
    ax.set_ylabel("Drawdown below peak (%)")
    ax.set_ylim(bottom=0)
    ax.invert_yaxis()  # under water: deeper is lower, with the same positive figures as the text
    ax.axhline(0, color="#6b7280", linewidth=0.8)
    _time_axis(ax, facts, narrow)
    _legend(ax, len(books), narrow, loc="lower left")


def _draw_win_rate(ax: Any, facts: Facts, narrow: bool) -> None:
    rows, ids, books = _comparison(facts)
    rows = rows[:MAX_BARS]
    width = 0.8 / max(len(ids), 1)
    for k, book_id in enumerate(ids):
        style = book_style(k)
        xs = [i + (k - (len(ids) - 1) / 2) * width for i in range(len(rows))]
        heights = [F.num(row["books"][book_id]["win_rate"]) if book_id in row["books"] else 0.0 for row in rows]
        label = next((_book_label(b) for b in books if str(b["id"]) == book_id), f"book {book_id}")
        ax.bar(xs, heights, width=width, color=style.color, hatch=style.hatch, edgecolor="white", linewidth=0.3,
               label=label)
    ax.set_xticks(range(len(rows)))
    rotation = 90 if narrow and len(rows) > 3 else 30 if len(rows) > 6 else 0
    ax.set_xticklabels([chart_label(row["symbol"], 24) for row in rows], rotation=rotation,
                       ha="right" if rotation == 30 else "center")
    ax.set_ylim(0, 118)  # headroom so the legend never covers a 100% bar
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("Win rate (%)")
    ax.axhline(50, color="#6b7280", linewidth=0.8, linestyle="--")
    _legend(ax, len(ids), narrow, loc="upper right", ncol=len(ids))


def _narrow_label(label: str, width: int = 14, lines: int = 2) -> str:
    """At most two short lines: a long root-cause label would squeeze a phone-width plot to nothing."""
    text = label if len(label) <= width * lines else label[: width * lines - 1] + "…"
    return textwrap.fill(text, width, max_lines=lines, placeholder="…")


def _draw_vault(ax: Any, facts: Facts, narrow: bool) -> None:
    """Losses drawn as what they are: negative PnL, bars to the left of zero, labelled with the sign."""
    clusters = facts["vault"]["clusters"]
    labels = [_narrow_label(chart_label(c["label"], 40)) if narrow else chart_label(c["label"], 40) for c in clusters][::-1]
    values = [-abs(F.num(c["loss"])) for c in clusters][::-1]
    bars = ax.barh(range(len(labels)), values, color=LOSS_COLOR)  # positions: equal labels stay two bars
    ax.set_yticks(range(len(labels)), labels)
    ax.bar_label(bars, labels=[F.money({**c["loss"], "value": -abs(F.num(c["loss"]))}) for c in clusters][::-1], padding=4)
    ax.set_xlabel(f"Realized PnL ({chart_label(facts['currency'], 12)})")
    low = min(values) if values else 0.0
    ax.set_xlim(low * (1.9 if narrow else 1.3) if low < 0 else -1, 0)
    ax.axvline(0, color="#6b7280", linewidth=0.8)
    if narrow:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))  # room for each tick label at phone width
    ax.grid(axis="y", visible=False)


def _weekly_books(facts: Facts) -> list[Book]:
    """Books with a weekly series (fact sheets from before the series existed have none)."""
    return [b for b in facts["books"] if len(b.get("weekly") or []) > 1]


def _weekly_alt(facts: Facts) -> str:
    parts = [f"{_book_label(b)}: " + ", ".join(f"{w['week'][-3:]} {F.money(w['realized_pnl'])}" for w in b.get("weekly") or [])
             for b in _weekly_books(facts)]
    weeks = len(_weekly_books(facts)[0].get("weekly") or [])
    return f"Weekly realized PnL, the last {weeks} weeks to {facts['week']['iso']}: " + "; ".join(parts) + "."


def _draw_weekly(ax: Any, facts: Facts, narrow: bool) -> None:
    """Bars grouped by week, one per book: a loss is a bar below zero."""
    books = _weekly_books(facts)
    labels = [w["week"][-3:] for w in books[0].get("weekly") or []]
    width = 0.8 / len(books)
    for k, book in enumerate(books):
        style = book_style(k)
        xs = [i + (k - (len(books) - 1) / 2) * width for i in range(len(labels))]
        ax.bar(xs, [F.num(w["realized_pnl"]) for w in book.get("weekly") or []], width=width, color=style.color,
               hatch=style.hatch, label=_book_label(book))
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=90 if narrow else 0)
    ax.axhline(0, color="#6b7280", linewidth=0.8)
    ax.set_ylabel(f"Realized PnL ({chart_label(facts['currency'], 12)})")
    _legend(ax, len(books), narrow, loc="best")


@dataclass(frozen=True)
class _Kind:
    name: str
    title: str
    has_data: Callable[[Facts], bool]
    alt: Callable[[Facts], str]
    draw: Callable[[Any, Facts, bool], None]


KINDS = (
    _Kind("equity", "Realized equity per book", lambda f: bool(_books_with_closes(f)), _equity_alt, _draw_equity),
    _Kind("drawdown", "Drawdown (underwater)", lambda f: bool(_books_with_closes(f)), _drawdown_alt, _draw_drawdown),
    _Kind("win-rate", "Win rate by symbol, book vs book", lambda f: bool(f["comparison"]["rows"]), _win_rate_alt,
          _draw_win_rate),
    _Kind("vault", "Failure-vault losses by root cause", lambda f: bool(f["vault"]["clusters"]), _vault_alt,
          _draw_vault),
    _Kind("weekly", "Realized PnL per week, per book", lambda f: bool(_weekly_books(f)), _weekly_alt, _draw_weekly),
)


def chart_specs(facts: Facts) -> list[ChartSpec]:
    """The charts this week has data for, without drawing them (the post template links these)."""
    return [ChartSpec(k.name, k.title, k.alt(facts)) for k in KINDS if k.has_data(facts)]


def _figure(kind: _Kind, spec: ChartSpec, facts: Facts, narrow: bool) -> Figure:
    size = (NARROW_WIDTH_IN, NARROW_HEIGHT_IN) if narrow else (WIDTH_IN, HEIGHT_IN)
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    if narrow:  # over the whole figure: a long title must not be cut where the axes start late
        fig.suptitle(spec.title, x=0.02, ha="left", fontsize=11, fontweight="bold")
    else:
        ax.set_title(spec.title, loc="left", fontsize=11, fontweight="bold")
    kind.draw(ax, facts, narrow)
    return fig


def chart_figure(name: str, facts: Facts, *, narrow: bool = False) -> Figure:
    """One chart as a matplotlib Figure (what `render_weekly_charts` saves), for inspection."""
    spec = next(s for s in chart_specs(facts) if s.name == name)
    with matplotlib.rc_context(STYLE):
        return _figure(next(k for k in KINDS if k.name == name), spec, facts, narrow)


narrow_name = narrow_chart_name  # the name render and its tests use


def render_weekly_charts(facts: Facts, out_dir: Path) -> list[Chart]:
    """Write `<name>.svg` (site), `<name>-narrow.svg` (site, phones), `<name>.png` at twice the
    density (feed, dev.to) and `<name>-narrow.png` at twice the density (email: a mail client has
    no <picture>, and a wide chart shrunk to a phone has 5 px text) for each spec."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kinds = {k.name: k for k in KINDS}
    charts = []
    with matplotlib.rc_context(STYLE):
        for spec in chart_specs(facts):
            kind = kinds[spec.name]
            fig = _figure(kind, spec, facts, narrow=False)
            svg, png = out_dir / f"{spec.name}.svg", out_dir / f"{spec.name}.png"
            fig.savefig(svg, format="svg", metadata=SVG_METADATA)
            fig.set_layout_engine("none")  # the layout is in inches: the PNG keeps the SVG's, no second pass
            fig.savefig(png, format="png", dpi=2 * DPI, metadata=PNG_METADATA)
            narrow, narrow_png = out_dir / f"{narrow_name(spec.name)}.svg", out_dir / f"{narrow_name(spec.name)}.png"
            small = _figure(kind, spec, facts, narrow=True)
            small.savefig(narrow, format="svg", metadata=SVG_METADATA)
            small.set_layout_engine("none")
            small.savefig(narrow_png, format="png", dpi=2 * DPI, metadata=PNG_METADATA)
            charts.append(Chart(spec.name, spec.alt, svg, png, narrow, narrow_png))
    return charts
