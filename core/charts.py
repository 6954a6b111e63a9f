"""Shared chart helpers: one palette, log axes, thinning long curves.

Every page draws with the same named colours, so "red" means the same mark (the threshold, the
reader's own point, a warning) on every page and a colour is changed in one place. Charts are drawn
with Streamlit's theme, light or dark, so every colour here is a mid tone that stands out against a
white and a near-black background alike; no spec names "black" or "white".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import altair as alt
import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Palette:
    """The app's named colours (Vega's category10 hues, plus a neutral ink and greys for references).

    Each reads at a contrast of at least about 3:1 on a white and on Streamlit's dark background
    (#0e1117), except ``light_grey``, which marks what should recede on both, and ``paper`` and
    ``shadow``, which are for marks over a heat map.
    """

    blue: str = "#3a8ad0"
    orange: str = "#e06c00"
    green: str = "#2ca02c"
    red: str = "#e0413f"
    purple: str = "#9b72c9"
    ink: str = "#8c6d5a"  # theory curves and labels drawn on the chart: a warm neutral, not black
    dark_grey: str = "#808080"  # reference labels and rules
    grey: str = "#8f8f8f"  # reference lines, train curves
    light_grey: str = "#a8a8a8"  # faded or background marks
    # for marks drawn over a heat map (never over the page): a light mark with a dark halo reads on
    # every colour of the map in either theme
    paper: str = "#f4f4f4"
    shadow: str = "#1a1a1a"


PALETTE = Palette()

#: An ordered colour ramp for series indexed by a size (widths, budgets): viridis without its
#: near-black and near-white-yellow ends, which vanish on a dark and a light background.
ORDERED = alt.SchemeParams(name="viridis", extent=[0.2, 0.85])


def thin_steps(df: pd.DataFrame, step: str = "step", points: int = 150) -> pd.DataFrame:
    """Keep a log-spaced subset of steps (plus the last), so a 5000-step curve draws fast
    on a log axis without visible change."""
    steps = np.sort(df[step].unique())
    if len(steps) <= points:
        return df
    keep = np.unique(np.geomspace(1, len(steps), points).astype(int) - 1)
    chosen = set(steps[keep]) | {steps[-1]}
    return df[df[step].isin(chosen)]


#: Plain tick labels with digit separators ("0.001", "20,000") while every tick fits them, powers
#: of ten in e-notation ("1e-7", "1e+6") otherwise: one style per axis, never a mix of the two.
PLAIN, POWERS = ",~g", "~e"


def log_format(values: Iterable[float] | None = None) -> str:
    """The tick format for a log axis over ``values``: plain numbers when the axis's decades lie
    within [0.001, 100,000] (d3's "~g" writes those without an exponent), else e-notation for all.

    Without values, e-notation: it is the one style that stays consistent whatever the range.
    """
    if values is None:
        return POWERS
    array = np.asarray(list(values) if not isinstance(values, (np.ndarray, pd.Series)) else values, dtype=float)
    positive = array[np.isfinite(array) & (array > 0)]
    if positive.size == 0:
        return PLAIN
    # A log axis's ticks reach the decades around the data, so the test uses those decades.
    low = 10.0 ** np.floor(np.log10(positive.min()))
    high = 10.0 ** np.ceil(np.log10(positive.max()))
    return PLAIN if low >= 1e-3 and high <= 1e5 else POWERS


def decades(low: float, high: float) -> list[float]:
    """The powers of ten from ``low`` to ``high``: ticks for a log axis whose domain is fixed at
    values that are not powers of ten (Vega then ticks at 2e-4, 2e-3, ...)."""
    return [10.0**k for k in range(math.ceil(math.log10(low)), math.floor(math.log10(high)) + 1)]


def _log_scale(values: Iterable[float] | None, fmt: str | None, ticks: list[float] | None,
               scale: dict[str, Any]) -> tuple[alt.Scale, alt.Axis]:
    axis = alt.Axis(format=fmt or log_format(values), values=ticks) if ticks else alt.Axis(format=fmt or log_format(values))
    return alt.Scale(type="log", **scale), axis


def log_axis(field: str, title: str | list[str], fmt: str | None = None, *, values: Iterable[float] | None = None,
             ticks: list[float] | None = None, **scale: Any) -> alt.X:
    """A log-scale x axis whose tick labels follow ``log_format(values)`` (or the d3 format
    ``fmt``), at ``ticks`` when given; ``scale`` passes options such as ``domain`` or ``nice``."""
    log_scale, axis = _log_scale(values, fmt, ticks, scale)
    return alt.X(f"{field}:Q", title=title, scale=log_scale, axis=axis)


def log_y(field: str, title: str, fmt: str | None = None, *, values: Iterable[float] | None = None,
          ticks: list[float] | None = None, **scale: Any) -> alt.Y:
    """A log-scale y axis (errors and losses that span decades), formatted like ``log_axis``."""
    log_scale, axis = _log_scale(values, fmt, ticks, scale)
    return alt.Y(f"{field}:Q", title=title, scale=log_scale, axis=axis)


def words(frame: pd.DataFrame, column: str, names: dict[str, str]) -> pd.DataFrame:
    """A copy of ``frame`` whose ``column`` holds the reader's words for its values (legend
    entries), so a legend shows "test error" and not the table's column name ``test_mse``."""
    return frame.assign(**{column: frame[column].map(lambda v: names.get(v, v))})
