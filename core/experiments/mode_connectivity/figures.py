"""The charts, and their captions formatted from the run. ``make_charts`` also draws a partial
result (the tables a progress report carries): the training curves first, then the paths."""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd
import torch

from core.charts import PALETTE, log_axis, log_format, log_y, words
from core.contract import Figure, Result
from core.experiments.mode_connectivity.paths import bezier

COLORS = {"linear": PALETTE.red, "aligned": PALETTE.blue, "curve": PALETTE.green}
#: The legend's words for the three paths.
METHODS = {"linear": "straight line", "aligned": "straight line after weight matching", "curve": "Bezier curve"}
#: Words for the metrics and table columns, as a reader sees them (comparison table, tooltips).
LABELS = {
    "barrier_linear": "barrier on the straight line",
    "barrier_aligned": "barrier after weight matching",
    "barrier_curve": "barrier on the Bezier curve",
    "end_loss_a": "training loss of net A",
    "end_loss_b": "training loss of net B",
    "test_loss_a": "test loss of net A",
    "test_loss_b": "test loss of net B",
    "ensemble_test_loss": "test loss of the outputs averaged",
    "average_test_loss": "test loss of the weights averaged",
    "aligned_average_test_loss": "test loss of the weights averaged after matching",
    "train_steps": "training steps taken",
    "t": "t (0 = net A, 1 = net B)",
    "method": "path",
    "train_loss": "training loss",
    "test_loss": "test loss",
    "model": "model",
    "spawn_step": "spawn step",
    "spawn_fraction": "fraction of training",
    "width": "hidden units per layer",
    "net": "net",
    "step": "training step",
    "point": "point",
    "x": "distance along B − A",
    "y": "distance toward the middle point",
}
#: A spawn step whose children (and every later one's) have a barrier below this fraction of the
#: independent pair's is where the caption says the children share one basin.
ONE_BASIN = 0.01
#: Barriers and losses drawn on log axes are shown at least this (a barrier is often exactly 0).
FLOOR = 1e-6


def _method_colors(present: pd.Series) -> alt.Scale:
    """Fixed colours per path, listing only the paths drawn (a toggle turns some off)."""
    shown = [m for m in COLORS if METHODS[m] in set(present)]
    return alt.Scale(domain=[METHODS[m] for m in shown], range=[COLORS[m] for m in shown])


def make_charts(result: Result) -> list[Figure]:
    tables, metrics = result.tables, result.metrics
    figures = []
    path = tables.get("path")
    if path is not None and len(path):
        figures.append(Figure("Loss along the path from net A (t = 0) to net B (t = 1)", _path_chart(path), "path",
                              "Straight line (red), straight line to B after permuting its hidden units to match A "
                              "(blue), trained Bezier curve (green). Dashed grey: the straight line between the end "
                              "losses, from which the barrier is measured." + _barrier_text(metrics)))
    averages = tables.get("averages")
    if averages is not None and len(averages):
        figures.append(Figure("Averaging the two nets: outputs (ensemble) or weights", _averages_chart(averages),
                              "averages", averages_caption(averages)))
    spawn = tables.get("barrier_vs_spawn")
    if spawn is not None and (spawn["spawn_step"] > 0).any():
        figures.append(Figure("Barrier vs spawn step", _spawn_chart(spawn), "barrier_vs_spawn", spawn_caption(spawn)))
    sweep = tables.get("barrier_vs_width")
    if sweep is not None and len(sweep):
        figures.append(Figure("Barrier vs width", _sweep_chart(sweep), "barrier_vs_width",
                              "Barrier of the training loss on the straight path, before and after weight matching, "
                              "for two nets of each width trained from the same two random seeds. With the textbook's "
                              "initialisation (every weight N(0, 0.1²)) wider nets start larger and keep more of their "
                              "random start, so alignment helps less as width grows; with PyTorch's initialisation it "
                              "helps more (see Why?)."))
    if "plane" in tables:
        figures.append(Figure("Training loss over the plane through A, B and the curve's middle point",
                              _plane_chart(tables["plane"], tables["plane_points"]), "plane", _plane_caption(metrics)))
    training = tables.get("training")
    if training is not None and len(training):
        figures.append(Figure("Training loss of nets A and B", _training_chart(training), "training",
                              _training_caption(training, metrics)))
    return figures


def _barrier_text(metrics: dict) -> str:
    """The measured barriers, for the caption (the page's metric row holds only the cost)."""
    names = {"barrier_linear": "straight", "barrier_aligned": "after weight matching", "barrier_curve": "curve"}
    found = [f"{label} {metrics[key]:.3g}" for key, label in names.items() if not math.isnan(metrics.get(key, math.nan))]
    return f" Barriers of the training loss: {', '.join(found)}." if found else ""


def _plane_caption(metrics: dict) -> str:
    text = "The straight path runs along y = 0; the Bezier curve (green) bends away from it."
    linear, curve = metrics.get("barrier_linear", math.nan), metrics.get("barrier_curve", math.nan)
    if not (math.isnan(linear) or math.isnan(curve)):
        text += f" Their barriers: straight {linear:.2g}, curve {curve:.2g} (mind the colour scale)."
    return text + " Axes are distances in weight space."


def averages_caption(table: pd.DataFrame) -> str:
    """What the averages scored, and what that means here, from the numbers alone."""
    test = dict(zip(table["model"], table["test_loss"]))
    train = dict(zip(table["model"], table["train_loss"]))
    best_end = min(test["net A"], test["net B"])
    text = (f"Test loss: net A {test['net A']:.3g}, net B {test['net B']:.3g}; their outputs averaged "
            f"{test['ensemble']:.3g}; their weights averaged {test['weights averaged']:.3g} (training loss "
            f"{train['weights averaged']:.2g})")
    if "aligned weights averaged" in test:
        text += (f"; the weights averaged after weight matching {test['aligned weights averaged']:.3g} (training loss "
                 f"{train['aligned weights averaged']:.2g})")
    text += f"; predicting 0 everywhere {test['predicting 0']:.3g}."
    if test["ensemble"] < best_end:
        text += " Averaging the outputs beats either net."
    if best_end > test["predicting 0"]:
        text += (" Both nets do worse on new points than predicting 0: they fit the training points, not the "
                 "function, so an average that pulls the output toward 0 can beat them for that reason alone.")
    return text


def spawn_caption(table: pd.DataFrame) -> str:
    """Where the children start sharing A's basin: the first spawn step from which on every child's
    barrier is below ONE_BASIN of the independent pair's, with that fraction of training and ratio."""
    text = ("Barrier of the training loss between net A and a child that starts as a copy of A at the spawn step and "
            "then trains on its own batch order. Spawn step 0: an independent net (its own initialisation).")
    rows = table.sort_values("spawn_step")
    independent = rows[rows["spawn_step"] == 0]["barrier_linear"]
    children = rows[rows["spawn_step"] > 0]
    if independent.empty or children.empty or not independent.iloc[0] > 0:
        return text
    base = float(independent.iloc[0])
    low = (children["barrier_linear"] < ONE_BASIN * base).to_numpy()
    stable = [i for i in range(len(children)) if low[i:].all()]
    if not stable:
        return text + f" No spawn step of the sweep brings the barrier below {ONE_BASIN:.0%} of the independent pair's ({base:.3g})."
    first = children.iloc[stable[0]]
    worst = float(children.iloc[stable[0]:]["barrier_linear"].max())
    ratio = f"{base / worst:,.0f} times" if worst > 0 else "infinitely"
    return text + (f" Children spawned at step {int(first['spawn_step'])} ({first['spawn_fraction']:.1%} of the "
                   f"training steps) or later have a barrier at least {ratio} lower than the independent pair's "
                   f"(at most {worst:.2g}, against {base:.3g}): from there on A and its children share one basin.")


def _training_caption(training: pd.DataFrame, metrics: dict) -> str:
    steps = training["step"].drop_duplicates()
    every = "at every step" if len(steps) < 2 or int(steps.diff().dropna().min()) == 1 else (
        f"every {int(steps.diff().dropna().min())} steps")
    text = f"Loss on all training points, {every}; log scale."
    if "train_steps" in metrics:
        text += f" Training stopped after {metrics['train_steps']} steps."
    return text


def _path_chart(path: pd.DataFrame) -> alt.HConcatChart:
    long = path.melt(id_vars=["t", "method"], value_vars=["train_loss", "test_loss"], var_name="set", value_name="loss")
    long = words(long, "method", METHODS)
    panels = []
    for column, title in (("train_loss", "training loss (MSE)"), ("test_loss", "test loss (MSE)")):
        data = long[long["set"] == column]
        ends = data[data["method"] == data["method"].iloc[0]].sort_values("t").iloc[[0, -1]]
        chord = alt.Chart(ends).mark_line(strokeDash=[5, 4], color=PALETTE.grey).encode(x="t:Q", y="loss:Q")
        lines = alt.Chart(data).mark_line(point=True).encode(
            x=alt.X("t:Q", title=LABELS["t"]),
            y=alt.Y("loss:Q", title=title),
            color=alt.Color("method:N", title=None, scale=_method_colors(data["method"]),
                            legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0)),
            tooltip=[alt.Tooltip("t:Q", title="t", format=".2f"), alt.Tooltip("method:N", title="path"),
                     alt.Tooltip("loss:Q", title=title, format=".3g")],
        )
        panels.append((chord + lines).properties(width=330, height=280))
    return alt.hconcat(*panels)


AVERAGE_COLORS = {"net A": PALETTE.grey, "net B": PALETTE.grey, "ensemble": PALETTE.purple,
                  "weights averaged": PALETTE.red, "aligned weights averaged": PALETTE.blue,
                  "predicting 0": PALETTE.light_grey}


def _averages_chart(table: pd.DataFrame) -> alt.HConcatChart:
    order = list(table["model"])
    scale = alt.Scale(domain=order, range=[AVERAGE_COLORS[m] for m in order])
    panels = []
    for i, (column, title) in enumerate((("train_loss", "training loss (MSE)"), ("test_loss", "test loss (MSE)"))):
        bars = alt.Chart(table).mark_bar().encode(
            y=alt.Y("model:N", title=None, sort=order, axis=alt.Axis(labels=i == 0, ticks=i == 0, labelLimit=240)),
            x=alt.X(f"{column}:Q", title=title),
            color=alt.Color("model:N", scale=scale, legend=None),
            tooltip=[alt.Tooltip("model:N", title="model"), alt.Tooltip(f"{column}:Q", title=title, format=".3g")],
        )
        labels = bars.mark_text(align="left", dx=4, fontSize=11).encode(
            text=alt.Text(f"{column}:Q", format=".3g"), color=alt.value(PALETTE.dark_grey))
        panels.append((bars + labels).properties(width=300, height=200))
    return alt.hconcat(*panels)


def _spawn_chart(table: pd.DataFrame) -> alt.Chart:
    shown = table.assign(shown=table["barrier_linear"].clip(lower=FLOOR))
    return alt.Chart(shown).mark_line(point=alt.OverlayMarkDef(color=PALETTE.red), color=PALETTE.red).encode(
        x=alt.X("spawn_step:Q", title="spawn step (0 = independent nets)", scale=alt.Scale(type="symlog"),
                axis=alt.Axis(values=sorted(int(v) for v in table["spawn_step"].unique()))),
        y=log_y("shown", "barrier (training MSE, log)", values=shown["shown"]),
        tooltip=[alt.Tooltip("spawn_step:Q", title=LABELS["spawn_step"]),
                 alt.Tooltip("spawn_fraction:Q", format=".1%", title=LABELS["spawn_fraction"]),
                 alt.Tooltip("barrier_linear:Q", format=".3g", title="barrier")],
    ).properties(height=280)


def _sweep_chart(sweep: pd.DataFrame) -> alt.Chart:
    long = sweep.melt(id_vars="width", var_name="path", value_name="barrier").dropna()
    long["path"] = long["path"].str.removeprefix("barrier_").map(METHODS)
    return alt.Chart(long).mark_line(point=True).encode(
        x=log_axis("width", LABELS["width"], values=long["width"], nice=False, padding=12),
        y=alt.Y("barrier:Q", title="barrier (training MSE)"),
        color=alt.Color("path:N", title="path", scale=_method_colors(long["path"]), legend=alt.Legend(labelLimit=0)),
        tooltip=[alt.Tooltip("width:Q", title=LABELS["width"]), alt.Tooltip("path:N", title="path"),
                 alt.Tooltip("barrier:Q", title="barrier", format=".3g")],
    ).properties(height=280)


def _training_chart(training: pd.DataFrame) -> alt.Chart:
    steps = np.sort(training["step"].unique())
    if len(steps) > 400:  # a 10000-step run draws as fast as a short one
        keep = set(steps[np.linspace(0, len(steps) - 1, 400).astype(int)])
        training = training[training["step"].isin(keep)]
    shown = training.assign(shown=training["train_loss"].clip(lower=FLOOR**2))
    return alt.Chart(shown).mark_line().encode(
        x=alt.X("step:Q", title="training step"),
        y=log_y("shown", "training loss (MSE, log)", values=shown["shown"]),
        color=alt.Color("net:N", title="net", scale=alt.Scale(domain=["A", "B"], range=[PALETTE.blue, PALETTE.orange])),
        tooltip=[alt.Tooltip("step:Q", title=LABELS["step"]), alt.Tooltip("net:N", title="net"),
                 alt.Tooltip("train_loss:Q", title=LABELS["train_loss"], format=".3g")],
    ).properties(height=260)


def _plane_chart(grid: pd.DataFrame, points: pd.DataFrame) -> alt.LayerChart:
    dx = float(np.diff(np.unique(grid["x"]))[0]) / 2
    dy = float(np.diff(np.unique(grid["y"]))[0]) / 2
    cells = grid.assign(x0=grid["x"] - dx, x1=grid["x"] + dx, y0=grid["y"] - dy, y1=grid["y"] + dy,
                        shown=grid["train_loss"].clip(lower=1e-4))
    heat = alt.Chart(cells).mark_rect().encode(
        x=alt.X("x0:Q", title="distance along B − A", scale=alt.Scale(nice=False)), x2="x1",
        y=alt.Y("y0:Q", title="distance toward the middle point", scale=alt.Scale(nice=False)),
        y2="y1", color=alt.Color("shown:Q", title="training loss", scale=alt.Scale(type="log", scheme="viridis"),
                                 legend=alt.Legend(format=log_format(cells["shown"]))),
        tooltip=[alt.Tooltip("x:Q", title="distance along B − A", format=".2f"),
                 alt.Tooltip("y:Q", title="distance toward the middle point", format=".2f"),
                 alt.Tooltip("train_loss:Q", title=LABELS["train_loss"], format=".3g")],
    )
    s = np.linspace(0, 1, 41)
    p = points.set_index("point")
    corners = [p.loc["net A"], p.loc["curve middle point"], p.loc["net B"]]
    weights = bezier(torch.as_tensor(s)).numpy()
    curve = pd.DataFrame({"x": weights @ [c["x"] for c in corners], "y": weights @ [c["y"] for c in corners], "s": s})
    path = alt.Chart(curve).mark_line(color=PALETTE.green, strokeWidth=3).encode(x="x:Q", y="y:Q", order="s:Q")
    # drawn over the heat map, not over the page: light marks with a dark halo read on every viridis
    # colour, in either theme
    dots = alt.Chart(points).mark_point(filled=True, size=90, color=PALETTE.paper, stroke=PALETTE.shadow).encode(
        x="x:Q", y="y:Q", tooltip=[alt.Tooltip("point:N", title="point")])
    text = {"align": "left", "dx": 8, "dy": -10, "fontWeight": "bold"}
    # the halo's own fill is light too: only its outline is dark, so no text reads dark on a dark page
    halo = dots.mark_text(**text, stroke=PALETTE.shadow, strokeWidth=4, color=PALETTE.paper).encode(text="point:N")
    labels = dots.mark_text(**text, color=PALETTE.paper).encode(text="point:N")
    return (heat + path + dots + halo + labels).properties(height=340)
