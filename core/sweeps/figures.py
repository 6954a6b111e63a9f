"""What a sweep's table shows: a metric against one swept setting (the mean over seeds, with the
band from the lowest to the highest seed) or against two (a heatmap of the mean).

A band from min to max, not a standard deviation: a sweep has a handful of seeds, and with three
of them the extremes are what a reader should see. The summary table behind every chart is the
CSV the page offers, so the download holds exactly what is drawn.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from core import contract
from core.charts import ORDERED, PALETTE
from core.contract import Experiment
from core.sweeps.grid import SEED
from core.sweeps.table import ERROR, EXPERIMENT, STATUS, settings

MEAN, STD, LOW, HIGH, SEEDS = "mean", "std", "lowest", "highest", "seeds"


def swept(table: pd.DataFrame) -> list[str]:
    """The settings that take more than one value (the seed is the replicate, not a setting)."""
    return [c for c in settings(table) if c != SEED and table[c].nunique(dropna=False) > 1]


def metrics(table: pd.DataFrame) -> list[str]:
    """The numeric measurements of the table (any column that is neither a setting nor bookkeeping)."""
    fixed = {*settings(table), EXPERIMENT, STATUS, ERROR}
    return [c for c in table.columns if c not in fixed and pd.api.types.is_numeric_dtype(table[c])
            and not pd.api.types.is_bool_dtype(table[c])]


def comparable(table: pd.DataFrame) -> pd.DataFrame:
    """Settings whose every value reads as a number become numbers: a list field swept one item at
    a time (``widths=10;50;200``) is written as text, and would otherwise be ordered 10, 200, 50."""
    out = table.copy()
    for key in settings(table):
        if not pd.api.types.is_numeric_dtype(out[key]):
            try:
                out[key] = pd.to_numeric(out[key])
            except (ValueError, TypeError):
                continue
    return out


def summary(table: pd.DataFrame, metric: str, by: list[str]) -> pd.DataFrame:
    """The metric over seeds per combination of ``by``: mean, standard deviation, extremes, count
    (failed points and missing values are left out of every figure)."""
    ok = table.dropna(subset=[metric])
    grouped = ok.groupby(by, sort=True, dropna=False)[metric]
    return grouped.agg(**{MEAN: "mean", STD: "std", LOW: "min", HIGH: "max", SEEDS: "count"}).reset_index()


def _axis(data: pd.DataFrame, experiment: Experiment, key: str) -> alt.X:
    """Numbers on a number line (log where the field is declared log), anything else in order."""
    if not pd.api.types.is_numeric_dtype(data[key]):
        return alt.X(f"{key}:O", title=experiment.label(key))
    log = {p.name: p.log for p in contract.params(experiment.config)}[key] and bool((data[key] > 0).all())
    return alt.X(f"{key}:Q", title=experiment.label(key), scale=alt.Scale(type="log") if log else alt.Scale(zero=False))


def line(data: pd.DataFrame, experiment: Experiment, x: str, metric: str, series: str | None = None) -> alt.LayerChart:
    """The mean against ``x`` with its min-max band over seeds; one colour per ``series`` value."""
    words = experiment.label
    tooltip = [x, *([series] if series else []), alt.Tooltip(f"{MEAN}:Q", format=".4g"),
               alt.Tooltip(f"{LOW}:Q", format=".4g"), alt.Tooltip(f"{HIGH}:Q", format=".4g"), SEEDS]
    colour = (alt.Color(f"{series}:O", title=words(series), scale=alt.Scale(scheme=ORDERED))
              if series else alt.value(PALETTE.blue))
    title = words(metric)
    base = alt.Chart(data).encode(x=_axis(data, experiment, x), color=colour)
    band = base.mark_area(opacity=0.2).encode(y=alt.Y(f"{LOW}:Q", title=title, scale=alt.Scale(zero=False)), y2=f"{HIGH}:Q")
    mean = base.mark_line(point=True).encode(y=alt.Y(f"{MEAN}:Q", title=title), tooltip=tooltip)
    return alt.layer(band, mean).properties(height=360)


def heatmap(data: pd.DataFrame, experiment: Experiment, x: str, y: str, metric: str) -> alt.Chart:
    """The mean over seeds for every pair of values of ``x`` and ``y``."""
    words = experiment.label
    tooltip = [x, y, alt.Tooltip(f"{MEAN}:Q", format=".4g"), alt.Tooltip(f"{LOW}:Q", format=".4g"),
               alt.Tooltip(f"{HIGH}:Q", format=".4g"), SEEDS]
    return alt.Chart(data).mark_rect().encode(
        x=alt.X(f"{x}:O", title=words(x)),
        y=alt.Y(f"{y}:O", title=words(y), sort="descending"),
        color=alt.Color(f"{MEAN}:Q", title=f"{words(metric)} (mean)", scale=alt.Scale(scheme=ORDERED)),
        tooltip=tooltip,
    ).properties(height=360)
