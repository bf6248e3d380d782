"""Display formatting of fact-sheet figures (`{"value": ..., "unit": ...}`).

Rounding happens only here, at display time, so the post, the chart alt texts, the email and the
feed all show a figure the same way: money with a sign and 2 decimals, percentages with 1 or 2,
ratios with 2, `n/a` for an undefined value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from publisher.facts.contract import Facts, Headline

NA = "n/a"


def _value(figure: Any) -> float | None:
    if isinstance(figure, dict):
        return figure.get("value")
    return figure


def _signed(value: float, digits: int) -> str:
    text = f"{value:+.{digits}f}"
    # -0.001 rounds to "-0.00": a sign on zero reads as a loss that did not happen.
    return text[1:] if float(text) == 0 else text


def money(figure: Any, sign: bool = True, unit: bool = True, digits: int = 2) -> str:
    """`-34.58 USDT` for a result; `sign=False` for a balance. Per-trade units keep their suffix."""
    value = _value(figure)
    if value is None:
        return NA
    suffix = (figure.get("unit") if unit and isinstance(figure, dict) else "") or ""
    return f"{_signed(value, digits) if sign else f'{value:.{digits}f}'} {suffix}".rstrip()


def pct(figure: Any, digits: int = 1, sign: bool = False) -> str:
    value = _value(figure)
    if value is None:
        return NA
    return (_signed(value, digits) if sign else f"{value:.{digits}f}") + "%"


def ratio(figure: Any) -> str:
    value = _value(figure)
    return NA if value is None else f"{value:.2f}"


def count(figure: Any) -> str:
    value = _value(figure)
    return NA if value is None else f"{int(value):,}"


def delta(figure: Any) -> str:
    """A change against an earlier week: `+58.28 USDT`, `+12.0 pts` (percentage points), `+49`
    (round-trips) or `+0.24 USDT/trade`; always signed, a zero change unsigned."""
    value = _value(figure)
    if value is None:
        return NA
    unit = figure.get("unit", "") if isinstance(figure, dict) else ""
    if unit == "pp":
        return f"{_signed(value, 1)} pts"
    if unit in ("trades", "count"):
        return _signed(value, 0) if value == round(value) else _signed(value, 1)
    return money(figure)


def num(figure: Any) -> float:
    """The value as a float for arithmetic (charts); an undefined value counts as 0."""
    value = _value(figure)
    return 0.0 if value is None else float(value)


def figures_hash(facts: Mapping[str, object]) -> str:
    """Hash of what a post shows, the facts without the reproducibility stamp: a post records it so
    that a post and its fact sheet that disagree (an interrupted run) are caught before publishing."""
    shown = {key: value for key, value in facts.items() if key != "stamp"}
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode("utf-8")).hexdigest()


def headline_block(facts: Facts) -> Headline:
    """The book block the headline reports (`facts.headline`: the standard book when the other is
    its inverted mirror); a fact sheet from before the headline existed reports all books (a block
    without `book_ids` and `basis`: read those with `.get`)."""
    return facts.get("headline") or cast("Headline", facts["all_books"])
