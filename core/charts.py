"""Shared chart helpers: thinning long curves and a few Altair building blocks."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd


def thin_steps(df: pd.DataFrame, step: str = "step", points: int = 150) -> pd.DataFrame:
    """Keep a log-spaced subset of steps (plus the last), so a 5000-step curve draws fast
    on a log axis without visible change."""
    steps = np.sort(df[step].unique())
    if len(steps) <= points:
        return df
    keep = np.unique(np.geomspace(1, len(steps), points).astype(int) - 1)
    chosen = set(steps[keep]) | {steps[-1]}
    return df[df[step].isin(chosen)]


def log_axis(field: str, title: str) -> alt.X:
    return alt.X(f"{field}:Q", title=title, scale=alt.Scale(type="log"))


def log_y(field: str, title: str) -> alt.Y:
    return alt.Y(f"{field}:Q", title=title, scale=alt.Scale(type="log"))
