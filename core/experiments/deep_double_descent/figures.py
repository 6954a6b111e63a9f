"""The figures: the trained networks' loss and error against their size, the random-feature
analogue, and the test loss while training; captions with this run's numbers.

Every chart draws from the tables alone, so a partial result (the tables a progress report
carries: a sweep at the current step) draws the same way as the final one.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core import charts
from core.charts import PALETTE
from core.contract import Figure, Result
from core.experiments.deep_double_descent.config import LABELS

SETS = {"test": PALETTE.blue, "train": PALETTE.grey}
#: The legend's words for the two sets.
SET_WORDS = {"test": "test set (true labels)", "train": "training set (labels trained on)"}
#: Losses below this are exact fits (float64 rounding: 1e-25 and less) and are left off the log axes.
EXACT = 1e-9
#: Widths drawn in the epoch-wise chart: the ones nearest to these multiples of p = n K.
EPOCH_MULTIPLES = (0.5, 1.0, 3.0)


def make_charts(result: Result) -> list[Figure]:
    tables = result.tables
    sweep = tables["sweep"]
    figures = [Figure("Trained networks: test and train loss against their size", _sweep_chart(sweep), "sweep",
                      sweep_caption(result))]
    if "random_features" in tables:
        figures.append(Figure("The exactly solvable analogue: first layer frozen, read-out by least squares",
                              _rf_chart(tables["random_features"]), "random_features", rf_caption(result)))
    if "epochs" in tables and len(tables["epochs"]):
        figures.append(Figure("Test loss while training", _epoch_chart(tables["epochs"], sweep), "epochs",
                              epoch_caption(result)))
    return figures


def threshold_of(sweep: pd.DataFrame) -> float:
    """n K, read back from the table (params / p_over_nk), so a partial result needs no metrics."""
    return float(np.round((sweep["params"] / sweep["p_over_nk"]).iloc[0])) if len(sweep) else float("nan")


def interpolation_row(sweep: pd.DataFrame) -> pd.Series | None:
    """The narrowest width whose every network fits every training label (train error 0)."""
    fitted = sweep[sweep["train_error"] == 0]
    return fitted.iloc[0] if len(fitted) else None


def peak_row(sweep: pd.DataFrame) -> pd.Series | None:
    finite = sweep[np.isfinite(sweep["test_loss"])]
    return finite.loc[finite["test_loss"].idxmax()] if len(finite) else None


def _long(table: pd.DataFrame, x: str, metric: str) -> pd.DataFrame:
    """Rows per (width, set) of ``metric`` (loss or error), finite only."""
    frames = [table[["width", x, "p_over_nk"]].assign(set=SET_WORDS[s], value=table[f"{s}_{metric}"].to_numpy())
              for s in SETS]
    long = pd.concat(frames, ignore_index=True)
    return long[np.isfinite(long["value"])]


#: The vertical reference lines: their legend words, colours and dashes.
THRESHOLD = ("p = nK: as many parameters as numbers to fit", PALETTE.red, [1, 0])
FITS_ALL = ("narrowest width with train error 0", PALETTE.dark_grey, [4, 3])


def _rules(references: list[tuple[float, tuple[str, str, list[int]]]]) -> list[alt.Chart]:
    """Vertical rules at the given x, named in a legend of their own: a label drawn at the top of
    the panel sat on the curves there."""
    present = [(x, ref) for x, ref in references if np.isfinite(x)]
    if not present:
        return []
    frame = pd.DataFrame({"x": [x for x, _ in present], "reference": [ref[0] for _, ref in present]})
    names = list(frame["reference"])
    legend = alt.Legend(orient="bottom", direction="vertical", labelLimit=0)
    return [alt.Chart(frame).mark_rule(strokeWidth=1.5).encode(
        x="x:Q",
        color=alt.Color("reference:N", title=None, sort=names, legend=legend,
                        scale=alt.Scale(domain=names, range=[ref[1] for _, ref in present])),
        strokeDash=alt.StrokeDash("reference:N", title=None, sort=names, legend=legend,
                                  scale=alt.Scale(domain=names, range=[ref[2] for _, ref in present])),
        tooltip=[alt.Tooltip("reference:N", title="reference"), alt.Tooltip("x:Q", title="parameters", format=",.0f")])]


def _panel(long: pd.DataFrame, x: str, x_title: str, y: alt.Y, references: list[alt.Chart]) -> alt.LayerChart:
    lines = alt.Chart(long).mark_line(point=True).encode(
        x=charts.log_axis(x, x_title, values=long[x]),
        y=y,
        color=alt.Color("set:N", title=None, scale=alt.Scale(domain=list(SET_WORDS.values()), range=list(SETS.values())),
                        legend=alt.Legend(orient="bottom", labelLimit=0)),
        tooltip=[alt.Tooltip("width:Q", title=LABELS["width"]), alt.Tooltip(f"{x}:Q", title=LABELS[x]),
                 alt.Tooltip("p_over_nk:Q", title=LABELS["p_over_nk"], format=".3g"), alt.Tooltip("set:N", title="set"),
                 alt.Tooltip("value:Q", title=y.to_dict().get("title", "value"), format=".3g")],
    )
    return alt.layer(lines, *references).resolve_scale(color="independent", strokeDash="independent").properties(
        width=330, height=280)


def _sweep_chart(sweep: pd.DataFrame) -> alt.HConcatChart:
    nk = threshold_of(sweep)
    row = interpolation_row(sweep)
    refs = _rules([(nk, THRESHOLD)] + ([(float(row["params"]), FITS_ALL)] if row is not None else []))
    loss = _long(sweep, "params", "loss")
    loss = loss[loss["value"] > EXACT]
    left = _panel(loss, "params", "parameters p", charts.log_y("value", "loss per sample", values=loss["value"]), refs)
    right = _panel(_long(sweep, "params", "error"), "params", "parameters p",
                   alt.Y("value:Q", title="classification error", scale=alt.Scale(domain=[0, 1])), refs)
    return alt.hconcat(left, right)


def _rf_chart(rf: pd.DataFrame) -> alt.HConcatChart:
    nk = threshold_of(rf.rename(columns={"readout_params": "params"}))
    refs = _rules([(nk, THRESHOLD)])
    loss = _long(rf, "readout_params", "loss")
    loss = loss[loss["value"] > EXACT]
    left = _panel(loss, "readout_params", LABELS["readout_params"],
                  charts.log_y("value", "loss per sample", values=loss["value"]), refs)
    right = _panel(_long(rf, "readout_params", "error"), "readout_params", LABELS["readout_params"],
                   alt.Y("value:Q", title="classification error", scale=alt.Scale(domain=[0, 1])), refs)
    return alt.hconcat(left, right)


def epoch_widths(sweep: pd.DataFrame) -> list[int]:
    """The widths whose parameter counts are nearest to EPOCH_MULTIPLES of n K, and the widest."""
    if sweep.empty:
        return []
    nk = threshold_of(sweep)
    chosen = {int(sweep.loc[(np.log(sweep["params"] / (m * nk))).abs().idxmin(), "width"]) for m in EPOCH_MULTIPLES}
    return sorted(chosen | {int(sweep["width"].max())})


def _epoch_chart(epochs: pd.DataFrame, sweep: pd.DataFrame) -> alt.Chart:
    shown = epochs[epochs["width"].isin(epoch_widths(sweep)) & np.isfinite(epochs["test_loss"])]
    return alt.Chart(shown).mark_line(point=alt.OverlayMarkDef(size=15)).encode(
        x=charts.log_axis("step", "training step", values=shown["step"]),
        y=charts.log_y("test_loss", "test loss per sample", values=shown["test_loss"]),
        color=alt.Color("width:O", title=LABELS["width"], scale=alt.Scale(scheme=charts.ORDERED)),
        tooltip=[alt.Tooltip("width:O", title=LABELS["width"]), alt.Tooltip("step:Q", title=LABELS["step"]),
                 alt.Tooltip("test_loss:Q", title=LABELS["test_loss"], format=".3g"),
                 alt.Tooltip("test_error:Q", title=LABELS["test_error"], format=".3f")],
    ).properties(height=300)


# --- captions: this run's numbers ------------------------------------------------------------------


def sweep_caption(result: Result) -> str:
    sweep = result.tables["sweep"]
    text = ("Each point is the mean of the networks of one width. Loss per sample: the squared error summed over the "
            "K = 10 outputs (or the cross-entropy, when that is the loss), against the labels trained on (noisy) and "
            "the test points' true labels. Red: p = nK, as many parameters as numbers to fit; grey dashed: the "
            "narrowest width whose networks fit every training label. ")
    peak, row = peak_row(sweep), interpolation_row(sweep)
    if peak is None:
        return text
    widest, nk = sweep.iloc[-1], threshold_of(sweep)
    narrower = sweep[(sweep["width"] < peak["width"]) & np.isfinite(sweep["test_loss"])]
    if narrower.empty:
        rise, at, _ = largest_rise(sweep)
        text += (f"Here the test loss is highest at the narrowest width ({peak['test_loss']:.3g}) and ends at "
                 f"{widest['test_loss']:.3g} for width {widest['width']:.0f}; "
                 + ("it falls at every width" if at is None else
                    f"its largest climb above a narrower width's is {rise:.2g}x (at width {at['width']:.0f})"))
    else:
        below = narrower.loc[narrower["test_loss"].idxmin()]
        text += (f"Here the test loss peaks at width {peak['width']:.0f} (p = {peak['params']:,.0f}, "
                 f"{peak['p_over_nk']:.2g} nK) at {peak['test_loss']:.3g}, {peak['test_loss'] / below['test_loss']:.2g}x "
                 f"the best narrower width's ({below['test_loss']:.3g} at width {below['width']:.0f}), and ends at "
                 f"{widest['test_loss']:.3g} for width {widest['width']:.0f}, "
                 f"{peak['test_loss'] / widest['test_loss']:.2g}x below the peak. At the peak the networks misfit "
                 f"{peak['train_error']:.1%} of the training labels")
    if row is not None:
        text += (f"; every training label is fitted from width {row['width']:.0f} (p = {row['params']:,.0f}, "
                 f"{row['params'] / nk:.2g} nK) on.")
    else:
        text += "; no width fits every training label."
    return text


def largest_rise(sweep: pd.DataFrame) -> tuple[float, pd.Series | None, pd.Series | None]:
    """How far the test loss climbs above the lowest it was at a narrower width: the largest ratio
    test_loss(w) / min over w' < w of test_loss(w'), with both rows; (1, None, None) when it never
    climbs (a classical curve falls; a U or a peak climbs)."""
    finite = sweep[np.isfinite(sweep["test_loss"])].reset_index(drop=True)
    out: tuple[float, pd.Series | None, pd.Series | None] = (1.0, None, None)
    for i in range(1, len(finite)):
        low = finite.loc[: i - 1, "test_loss"].idxmin()
        ratio = finite.loc[i, "test_loss"] / finite.loc[low, "test_loss"]
        if ratio > out[0]:
            out = (float(ratio), finite.loc[i], finite.loc[low])
    return out


def rf_caption(result: Result) -> str:
    rf = result.tables["random_features"]
    text = ("The same networks with the first layer frozen at its initial weights: only the read-out is fitted, in "
            "closed form (minimum-norm least squares; ridge with the networks' weight decay), so there is no "
            "training loop and no optimizer. Its parameters are the read-out's, (w + 1) K; it can fit the n K "
            "targets exactly once w + 1 >= n, on the red line (exact fits, training loss below 1e-9, are left off the "
            "log axis). ")
    finite = rf[np.isfinite(rf["test_loss"])]
    if len(finite):
        peak, last = finite.loc[finite["test_loss"].idxmax()], finite.iloc[-1]
        if peak["width"] == finite["width"].iloc[0]:
            text += (f"Here its test loss is highest at the narrowest width, {peak['test_loss']:.3g}, and "
                     f"{last['test_loss']:.3g} at width {last['width']:.0f}.")
        else:
            best = finite[finite["width"] < peak["width"]]["test_loss"].min()
            text += (f"Here its test loss peaks at width {peak['width']:.0f} ({peak['p_over_nk']:.2g} nK) at "
                     f"{peak['test_loss']:.3g}, against {best:.3g} at best below it and {last['test_loss']:.3g} at "
                     f"width {last['width']:.0f}.")
    return text


def epoch_caption(result: Result) -> str:
    sweep = result.tables["sweep"]
    return (f"Test loss of widths {', '.join(map(str, epoch_widths(sweep)))} (nearest to 0.5, 1 and 3 times nK, and "
            "the widest) at the evaluated steps, log scale. Every width's curve is in the table.")
