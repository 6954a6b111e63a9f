"""Pin and compare: keep one result as A, change the controls, and draw B over A.

The pinned setting travels in the link as ``pin`` (A's non-default settings, themselves written
as a query string), so a shared link opens the same comparison, not only B.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import altair as alt
import pandas as pd
import streamlit as st

from core import contract
from core.contract import ConfigError, Experiment, Figure, Param, Result

PINNED = "A (pinned)"
CURRENT = "B (current)"
#: The query parameter that carries A's settings.
PIN_PARAM = "pin"
#: How A and B differ on the chart; the legend shows the same two marks.
FADED_OPACITY = 0.35
DASH = [5, 3]


def pin_key(name: str) -> str:
    return f"_pin_{name}"


def encode_setting(fields: list[Param], config: Any) -> str:
    """A setting as a query string of its non-default values ("" at the defaults)."""
    return urlencode({p.name: contract.to_text(getattr(config, p.name))
                      for p in fields if getattr(config, p.name) != p.default})


def decode_setting(experiment: Experiment, text: str) -> Any:
    """The Config a ``pin`` value names; ConfigError names the bad parameter."""
    return contract.make_config(experiment.config, dict(parse_qsl(text, keep_blank_values=True)))


def pin_from_link(experiment: Experiment, run: Callable[[Any], Result]) -> str | None:
    """Pin A from the link's ``pin`` parameter, once per page; a notice when it cannot be used."""
    flag = f"_pin_checked_{experiment.name}"
    if st.session_state.get(flag) or PIN_PARAM not in st.query_params:
        st.session_state[flag] = True
        return None
    st.session_state[flag] = True
    try:
        config = decode_setting(experiment, st.query_params[PIN_PARAM])
        experiment.check(config)
    except ConfigError as err:
        del st.query_params[PIN_PARAM]
        return f"the pinned run A could not be opened ({err}); showing this setting alone"
    st.session_state[pin_key(experiment.name)] = (config, run(config))
    return None


def pinned_config(name: str) -> Any | None:
    """The Config pinned as A on this page, if any (the Share link carries it)."""
    pinned = st.session_state.get(pin_key(name))
    return None if pinned is None else pinned[0]


def pin_controls(experiment: Experiment, fields: list[Param], config: Any, result: Result) -> tuple[Any, Result] | None:
    """Buttons to pin the current result or clear the pin; returns the pin when one differs from now."""
    key = pin_key(experiment.name)
    with st.container(horizontal=True):
        if st.button("Pin as A", key=f"_pin_btn_{experiment.name}",
                     help="Keep this result; change the controls to draw B over it."):
            st.session_state[key] = (config, result)
            st.query_params[PIN_PARAM] = encode_setting(fields, config)
        if key in st.session_state and st.button("Clear pin", key=f"_unpin_btn_{experiment.name}"):
            del st.session_state[key]
            if PIN_PARAM in st.query_params:
                del st.query_params[PIN_PARAM]
    pinned = st.session_state.get(key)
    if pinned is None:
        return None
    if pinned[0] == config:
        st.caption("Pinned as A. Change a control to draw the new result (B) over it.")
        return None
    return pinned


def overlay(a: Any, b: Any) -> alt.TopLevelMixin:
    """B over A on the same axes, panel by panel, with a legend that names A and B; side by side
    where the shapes differ."""
    if isinstance(a, alt.Chart | alt.LayerChart) and isinstance(b, alt.Chart | alt.LayerChart):
        return alt.layer(_faded(a), b, _key()).resolve_scale(strokeDash="independent", opacity="independent")
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
    return chart.encode(opacity=alt.value(FADED_OPACITY), strokeDash=alt.value(DASH))


def _key() -> alt.Chart:
    """A legend for the two runs: a line per run that draws nothing on the plot (one point each)
    but shows A faded and dashed, B solid, in the legend; below the plot, where it costs no width
    on a phone."""
    scale = {"domain": [PINNED, CURRENT]}
    legend = alt.Legend(title="run", orient="bottom", symbolStrokeWidth=2.5, labelLimit=0)
    return alt.Chart(pd.DataFrame({"run": [PINNED, CURRENT]})).mark_line(strokeWidth=2.5, color="gray").encode(
        strokeDash=alt.StrokeDash("run:N", scale=alt.Scale(**scale, range=[DASH, [1, 0]]), legend=legend),
        opacity=alt.Opacity("run:N", scale=alt.Scale(**scale, range=[FADED_OPACITY, 1.0]), legend=legend),
    )


def metrics_table(experiment: Experiment, a: Result, b: Result) -> pd.DataFrame:
    """The scalar metrics of A and B side by side, named in words and written as numbers read."""
    keys = [k for k in a.metrics if k in b.metrics]
    return pd.DataFrame({"quantity": [experiment.label(k) for k in keys],
                         PINNED: [number(a.metrics[k]) for k in keys],
                         CURRENT: [number(b.metrics[k]) for k in keys]})


def number(value: Any) -> str:
    """A metric as a reader writes it: 701000000.0 as 7.01e8, 0.123456 as 0.1235, 1234 as 1,234."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return "" if value is None else str(value)
    if not math.isfinite(value):
        return "—" if math.isnan(value) else str(value)
    if isinstance(value, numbers.Integral) or (float(value).is_integer() and abs(value) < 1e6):
        return f"{int(value):,}"
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        mantissa, exponent = f"{value:.3e}".split("e")
        return f"{float(mantissa):.3g}e{int(exponent)}"
    return f"{value:.4g}"


def compared_figures(experiment: Experiment, pinned: Result, current: Result) -> list[tuple[Figure, Any]]:
    """Each figure of the current result with its chart replaced by the A/B overlay."""
    pairs = zip(experiment.charts(pinned), experiment.charts(current))
    return [(b, overlay(a.chart, b.chart)) for a, b in pairs]
