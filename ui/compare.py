"""Pin and compare: keep one result as A, change the controls, and draw B over A."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from core.contract import Experiment, Figure, Result

PINNED = "A (pinned)"
CURRENT = "B (current)"


def pin_key(name: str) -> str:
    return f"_pin_{name}"


def pin_controls(experiment: Experiment, config: Any, result: Result) -> tuple[Any, Result] | None:
    """Buttons to pin the current result or clear the pin; returns the pin when one differs from now."""
    key = pin_key(experiment.name)
    left, right, _ = st.columns([1, 1, 4])
    if left.button("Pin as A", key=f"_pin_btn_{experiment.name}", help="Keep this result; change the controls to draw B over it."):
        st.session_state[key] = (config, result)
    if key in st.session_state and right.button("Clear pin", key=f"_unpin_btn_{experiment.name}"):
        del st.session_state[key]
    pinned = st.session_state.get(key)
    if pinned is None:
        return None
    if pinned[0] == config:
        st.caption("Pinned as A. Change a control to draw the new result (B) over it.")
        return None
    return pinned


def overlay(a: Any, b: Any) -> alt.TopLevelMixin:
    """B over A on the same axes, panel by panel; side by side where the shapes differ."""
    if isinstance(a, alt.Chart | alt.LayerChart) and isinstance(b, alt.Chart | alt.LayerChart):
        return alt.layer(_faded(a), b)
    for kind, join, parts in ((alt.HConcatChart, alt.hconcat, "hconcat"), (alt.VConcatChart, alt.vconcat, "vconcat")):
        if isinstance(a, kind) and isinstance(b, kind) and len(getattr(a, parts)) == len(getattr(b, parts)):
            return join(*(overlay(x, y) for x, y in zip(getattr(a, parts), getattr(b, parts))))
    return alt.hconcat(a.properties(title=PINNED), b.properties(title=CURRENT))


def _faded(chart: Any) -> Any:
    """A's marks drawn faint and dashed, so B reads as the current result."""
    if isinstance(chart, alt.LayerChart):
        faded = chart.copy()
        faded.layer = [_faded(layer) for layer in chart.layer]
        return faded
    return chart.encode(opacity=alt.value(0.35), strokeDash=alt.value([5, 3]))


def metrics_table(a: Result, b: Result) -> pd.DataFrame:
    """The scalar metrics of A and B side by side."""
    keys = [k for k in a.metrics if k in b.metrics]
    return pd.DataFrame({"metric": keys, PINNED: [str(a.metrics[k]) for k in keys], CURRENT: [str(b.metrics[k]) for k in keys]})


def compared_figures(experiment: Experiment, pinned: Result, current: Result) -> list[tuple[Figure, Any]]:
    """Each figure of the current result with its chart replaced by the A/B overlay."""
    pairs = zip(experiment.charts(pinned), experiment.charts(current))
    return [(b, overlay(a.chart, b.chart)) for a, b in pairs]
