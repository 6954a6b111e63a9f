"""Shared chart helpers: one palette, log axes, thinning long curves.

Every page draws with the same named colours, so "red" means the same mark (the threshold, the
reader's own point, a warning) on every page and a colour is changed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Palette:
    """The app's named colours (Vega's category10 hues, plus inks and greys for references)."""

    blue: str = "#1f77b4"
    orange: str = "#ff7f0e"
    green: str = "#2ca02c"
    red: str = "#d62728"
    purple: str = "#9467bd"
    ink: str = "#111111"  # theory curves, text that must read as black
    dark_grey: str = "#555555"  # reference labels and rules
    grey: str = "#7f7f7f"  # reference lines, train curves
    light_grey: str = "#bbbbbb"  # faded or background marks


PALETTE = Palette()


def thin_steps(df: pd.DataFrame, step: str = "step", points: int = 150) -> pd.DataFrame:
    """Keep a log-spaced subset of steps (plus the last), so a 5000-step curve draws fast
    on a log axis without visible change."""
    steps = np.sort(df[step].unique())
    if len(steps) <= points:
        return df
    keep = np.unique(np.geomspace(1, len(steps), points).astype(int) - 1)
    chosen = set(steps[keep]) | {steps[-1]}
    return df[df[step].isin(chosen)]


def log_axis(field: str, title: str, fmt: str | None = None) -> alt.X:
    """A log-scale x axis; ``fmt`` (a d3 format such as ".0e") for quantities spanning decades."""
    axis = alt.Axis(format=fmt) if fmt else alt.Undefined
    return alt.X(f"{field}:Q", title=title, scale=alt.Scale(type="log"), axis=axis)


def log_y(field: str, title: str) -> alt.Y:
    """A log-scale y axis: errors and losses that span decades."""
    return alt.Y(f"{field}:Q", title=title, scale=alt.Scale(type="log"))
