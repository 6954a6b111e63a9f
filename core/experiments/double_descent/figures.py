"""The double-descent figure: test error through p = n (median and quartiles of the draws, the
closed form, the train error, a classical bound) beside the norm of the fitted weights."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.charts import PALETTE, log_y
from core.contract import Figure, Result
from core.experiments.double_descent.config import LABELS

#: Errors below this fraction of the zero predictor's are drawn as zero, i.e. not on the log axis.
FLOOR = 1e-6
#: A mean this many times the median is said to be pulled up by a few draws.
SKEWED = 1.5
SERIES = ["test error, median of the draws", "test error, expected (theory)", "train error",
          "classical bound: train + C √(p/n)", "error of predicting 0"]
COLORS = [PALETTE.blue, PALETTE.ink, PALETTE.grey, PALETTE.orange, PALETTE.dark_grey]
DASHES = [[1, 0], [6, 3], [1, 0], [3, 3], [1, 3]]


def make_charts(result: Result) -> list[Figure]:
    """One figure: the error panel beside the norm panel, sharing the p = n rule."""
    curve = result.tables["curve"]
    null = result.metrics.get("null_mse", float(curve["test_mse"].max()))
    chart = alt.hconcat(_error_chart(curve, null), _norm_chart(curve)).resolve_scale(color="independent")
    return [Figure("Test error through the interpolation threshold", chart, "curve", caption(curve, null))]


def caption(curve: pd.DataFrame, null: float) -> str:
    """What the figure shows, with this run's numbers: the spread of the draws at p = n and where
    the typical (median) error goes; ``null`` is the error of predicting 0."""
    theory = curve["theory_test_mse"].notna().any()
    text = ("Left: test error against p/n on a log scale, the median over draws with a band from the 25th to the "
            "75th percentile (the mean, which is what the theory predicts, is in the tooltip and the table). ")
    if theory:
        text += ("Dashed: the expected error in closed form (ridgeless: Belkin, Hsu, Xu 2019, exact at this n; "
                 "with a ridge: Hastie et al. 2019, the large-n limit). ")
    valid = curve.dropna(subset=["test_mse_median"])
    at_n = valid[np.isclose(valid["ratio"], 1.0)]
    if len(at_n) and len(valid):
        row, first, last = at_n.iloc[0], valid.iloc[0], valid.iloc[-1]
        skew = ", pulled up by its worst draws" if row["test_mse"] > SKEWED * row["test_mse_median"] else ""
        text += (f"The median goes from {first['test_mse_median']:.3g} at p = {first['p']:.0f} to "
                 f"{row['test_mse_median']:.3g} at p = n and {last['test_mse_median']:.3g} at p = {last['p']:.0f}; "
                 f"at p = n the mean is {row['test_mse']:.3g}{skew}. ")
    if (curve["train_mse"] <= FLOOR * null).any():  # a ridge never fits exactly: then there is nothing left off
        text += ("Zero errors (train error right of the red line p = n, where the fit interpolates) are left off the "
                 "log axis. ")
    text += ("The orange curve has the shape of a classical uniform bound, train + C √(p/n), with C the error "
             "of predicting 0 (grey dotted line); above that line it promises nothing.")
    norms = curve.dropna(subset=["norm"])
    if len(norms):
        peak = norms.loc[norms["norm"].idxmax(), "ratio"]
        text += f" Right: the norm of the fitted weights, largest at p/n = {peak:.3g}."
    return text


def _error_chart(curve: pd.DataFrame, null: float) -> alt.LayerChart:
    long = _long(curve, null)
    shown = [i for i, name in enumerate(SERIES) if (long["series"] == name).any()]  # no theory: no legend entry
    domain, colors, dashes = ([seq[i] for i in shown] for seq in (SERIES, COLORS, DASHES))
    x = alt.X("ratio:Q", title="parameters per training point, p/n")
    y = log_y("value", "mean squared error", values=long["value"])
    lines = alt.Chart(long).mark_line(clip=True).encode(
        x=x, y=y,
        color=alt.Color("series:N", title=None, scale=alt.Scale(domain=domain, range=colors),
                        legend=alt.Legend(orient="bottom", columns=1, labelLimit=0, symbolType="stroke",
                                          symbolStrokeWidth=2.5)),
        strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(domain=domain, range=dashes),
                                  legend=alt.Legend(orient="bottom", columns=1, labelLimit=0, symbolStrokeWidth=2.5)),
        detail="branch:N",
        tooltip=[alt.Tooltip("series:N", title="curve"), alt.Tooltip("p:Q", title=LABELS["p"]),
                 alt.Tooltip("ratio:Q", title="p/n", format=".2f"), alt.Tooltip("value:Q", title="error", format=".3g"),
                 *(alt.Tooltip(f"{c}:Q", title=LABELS[c], format=".3g") for c in ("test_mse", "test_mse_q25", "test_mse_q75"))],
    )
    dots = lines.transform_filter(alt.datum.series == SERIES[0]).mark_point(filled=True, size=25)
    # the theory again, over the median's line and dots, which it follows closely beyond p = n
    theory = lines.transform_filter(alt.datum.series == SERIES[1]).mark_line(clip=True, strokeWidth=2.5)
    band = curve[np.isfinite(curve["test_mse_q25"]) & (curve["test_mse_q25"] > FLOOR * null)]
    quartiles = alt.Chart(band).mark_area(clip=True, opacity=0.3, color=PALETTE.blue).encode(
        x=x, y=alt.Y("test_mse_q25:Q"), y2="test_mse_q75:Q")
    return alt.layer(quartiles, lines, dots, theory, *_threshold(curve)).properties(width=500, height=340)


def _long(curve: pd.DataFrame, null: float) -> pd.DataFrame:
    """One row per (p, series); theory is split at p = n so its two branches are not joined
    across the threshold, where its expectation is infinite."""
    bound = curve["train_mse"] + null * np.sqrt(curve["ratio"])
    # the error of predicting 0 as a series of its own, so the legend names it (a bound above it says nothing)
    values = [curve["test_mse_median"], curve["theory_test_mse"], curve["train_mse"], bound,
              pd.Series(null, index=curve.index)]
    keep = ["p", "ratio", "test_mse", "test_mse_q25", "test_mse_q75"]
    frames = [curve[keep].assign(series=name, value=v.to_numpy()) for name, v in zip(SERIES, values)]
    long = pd.concat(frames, ignore_index=True)
    theory = long["series"] == SERIES[1]
    long["branch"] = np.where(theory & (long["ratio"] < 1), "under", np.where(theory, "over", "all"))
    # zero errors (interpolation; exact recovery without noise) have no place on a log axis
    return long[np.isfinite(long["value"]) & (long["value"] > FLOOR * null)]


def _threshold(curve: pd.DataFrame) -> tuple[alt.Chart, alt.Chart]:
    """The red rule at p = n, labelled at the top."""
    anchor = alt.Chart(curve.head(1))
    rule = anchor.mark_rule(color=PALETTE.red, strokeWidth=1.5).encode(x=alt.datum(1.0))
    label = anchor.mark_text(color=PALETTE.red, align="left", dx=4, fontSize=12).encode(
        x=alt.datum(1.0), y=alt.value(10), text=alt.datum("p = n"))
    return rule, label


def _norm_chart(curve: pd.DataFrame) -> alt.LayerChart:
    data = curve[np.isfinite(curve["norm"]) & (curve["norm"] > 0)]
    line = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(color=PALETTE.green, size=20), color=PALETTE.green).encode(
        x=alt.X("ratio:Q", title="p/n"),
        y=log_y("norm", LABELS["norm"], values=data["norm"]),
        tooltip=[alt.Tooltip("p:Q", title=LABELS["p"]), alt.Tooltip("ratio:Q", title="p/n", format=".2f"),
                 alt.Tooltip("norm:Q", title=LABELS["norm"], format=".3g")],
    )
    return alt.layer(line, *_threshold(curve)).properties(width=260, height=340)
