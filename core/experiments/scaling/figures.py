"""The scaling page's figures: loss along fixed budgets, the compute-optimal frontier, lifetime cost
at equal loss, and the measured cost of a training step. Captions carry the run's own numbers."""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import numpy as np
import pandas as pd

from core.charts import ORDERED, PALETTE, log_axis, log_y
from core.contract import Figure, Result
from core.experiments.scaling.laws import LAWS, REFERENCE_MODELS
from core.experiments.scaling.timing import REPEATS, WARMUP

#: Words for the metrics and table columns, as a reader sees them (comparison table, tooltips).
LABELS = {
    "law": "scaling law",
    "compute": "training compute C (FLOPs)",
    "inference_tokens": "lifetime inference tokens T",
    "point_params": "your model size N",
    "point_tokens": "your training tokens D",
    "point_flops": "your training compute 6ND",
    "loss": "predicted loss at your (N, D)",
    "params_opt": "compute-optimal N",
    "tokens_opt": "compute-optimal D",
    "loss_opt": "compute-optimal loss",
    "tokens_per_param_opt": "compute-optimal tokens per parameter",
    "params_opt_inf": "counting inference: N",
    "tokens_opt_inf": "counting inference: D",
    "lifetime_flops": "lifetime compute, compute-optimal model",
    "lifetime_flops_inf": "lifetime compute, inference-aware model",
    "lifetime_saving": "lifetime compute saved",
    "frontier_slope": "fitted exponent of N_opt in C",
    "frontier_slope_theory": "closed-form exponent of N_opt in C",
    "time_slope": "timed MLPs: log-log slope of step time",
    "memory_slope": "timed MLPs: log-log slope of memory",
    "flop_slope": "timed MLPs: log-log slope of FLOPs",
    "params": "parameters N",
    "tokens": "tokens D",
    "width": "hidden units",
    "flops_per_step": "FLOPs per step",
    "seconds_per_step": "seconds per step (fastest of the timed steps)",
    "peak_mb": "memory held by a step (MB)",
    "train_flops": "training compute 6ND",
    "inference_flops": "inference compute 2NT",
    "total_flops": "lifetime compute",
}
N = alt.Tooltip("params:Q", title=LABELS["params"], format=".3g")
D = alt.Tooltip("tokens:Q", title=LABELS["tokens"], format=".3g")


def make_charts(result: Result) -> list[Figure]:
    """The law figures once the optima exist, and the measured one as soon as a width is timed: a
    partial result (progress) carries only the measured table."""
    tables, m = result.tables, result.metrics
    figures = []
    if "isoflop" in tables:
        figures += [
            Figure("Loss along fixed compute budgets", _isoflop_chart(tables["isoflop"], m), "isoflop",
                   f"Each curve spends one budget C = 6ND; moving right trades tokens for parameters. Diamonds: the "
                   f"closed-form minimum of each curve; the red cross: your model (N, D), which costs "
                   f"{m['point_flops']:.2g} FLOPs and reaches loss {m['loss']:.4f}. Too small and too large both "
                   f"waste the budget."),
            Figure("The compute-optimal model as the budget grows", _frontier_chart(tables["frontier"], m), "frontier",
                   f"Points: the optimum found numerically (scipy); dashed line: the closed form, N_opt ∝ "
                   f"C^{m['frontier_slope_theory']:.4f}; fitted slope {m['frontier_slope']:.4f}. At your budget (grey rule): "
                   f"N = {m['params_opt']:.3g}, D = {m['tokens_opt']:.3g}, {m['tokens_per_param_opt']:.0f} tokens per "
                   f"parameter. Triangles: published models, at their own training compute."),
            Figure("Same loss, cheaper to own: counting inference", _lifetime_chart(tables["lifetime"], m), "lifetime",
                   f"Every model on this curve reaches the compute-optimal loss {m['loss_opt']:.4f}. Training cost "
                   f"falls and serving cost (2N FLOPs per token) rises with N. Counting both, the cheapest is "
                   f"N = {m['params_opt_inf']:.3g} on D = {m['tokens_opt_inf']:.3g} tokens instead of "
                   f"N = {m['params_opt']:.3g} on {m['tokens_opt']:.3g}: {m['lifetime_saving']:.1%} less lifetime compute."),
        ]
    if "measured" in tables:
        figures.append(Figure("Measured on this machine: cost of one training step", _measured_chart(tables["measured"]),
                              "measured", _measured_caption(m)))
    return figures


def _budget_label(c: float) -> str:
    return f"C = {c:.1e}"


def _isoflop_chart(iso: pd.DataFrame, m: Mapping) -> alt.LayerChart:
    law = LAWS[m["law"]]
    data = iso.assign(budget=iso["compute"].map(_budget_label), yours=np.isclose(iso["compute"], m["compute"]))
    order = [_budget_label(c) for c in sorted(iso["compute"].unique())]
    color = alt.Color("budget:N", title="budget", sort=order, scale=alt.Scale(scheme=ORDERED))
    x = log_axis("params", "model size N (parameters)", values=iso["params"])
    lines = alt.Chart(data).mark_line().encode(
        x=x,
        y=alt.Y("loss:Q", title="predicted loss (nats per token)", scale=alt.Scale(zero=False)),
        color=color,
        strokeWidth=alt.condition("datum.yours", alt.value(3.5), alt.value(1.5)),
        tooltip=[alt.Tooltip("compute:Q", title=LABELS["compute"], format=".2e"), N, D,
                 alt.Tooltip("loss:Q", title="predicted loss", format=".4f")],
    )
    budgets = np.sort(iso["compute"].unique())
    n_star = law.closed_form_params(budgets)
    optima = pd.DataFrame({"compute": budgets, "budget": [_budget_label(c) for c in budgets], "params": n_star,
                           "loss": law.loss(n_star, budgets / (6 * n_star))})
    diamonds = alt.Chart(optima).mark_point(shape="diamond", size=110, filled=True, stroke=PALETTE.ink).encode(
        x=x, y="loss:Q", color=color,
        tooltip=[alt.Tooltip("compute:Q", format=".2e", title="closed-form optimum at"), N,
                 alt.Tooltip("loss:Q", title="predicted loss", format=".4f")])
    point = pd.DataFrame({"params": [m["point_params"]], "loss": [m["loss"]], "tokens": [m["point_tokens"]],
                          "compute": [m["point_flops"]], "label": ["your (N, D)"]})
    cross = alt.Chart(point).mark_point(shape="cross", size=220, filled=True, color=PALETTE.red).encode(
        x=x, y="loss:Q",
        tooltip=[alt.Tooltip("label:N", title="point"), N, D, alt.Tooltip("compute:Q", title=LABELS["compute"], format=".2e"),
                 alt.Tooltip("loss:Q", title="predicted loss", format=".4f")])
    return alt.layer(lines, diamonds, cross).properties(height=340)


def _frontier_chart(frontier: pd.DataFrame, m: Mapping) -> alt.LayerChart:
    law = LAWS[m["law"]]
    quantity = alt.Color("quantity:N", title=None, scale=alt.Scale(domain=["parameters N", "tokens D"],
                                                                   range=[PALETTE.blue, PALETTE.orange]))
    numeric = pd.concat([
        pd.DataFrame({"compute": frontier["compute"], "quantity": "parameters N", "value": frontier["params_opt"]}),
        pd.DataFrame({"compute": frontier["compute"], "quantity": "tokens D", "value": frontier["tokens_opt"]}),
    ])
    grid = np.geomspace(frontier["compute"].min(), frontier["compute"].max(), 50)
    n = law.closed_form_params(grid)
    theory = pd.concat([pd.DataFrame({"compute": grid, "quantity": "parameters N", "value": n}),
                        pd.DataFrame({"compute": grid, "quantity": "tokens D", "value": grid / (6 * n)})])
    models = pd.DataFrame([(name, 6 * n_ * d_, q, v) for name, n_, d_ in REFERENCE_MODELS
                           for q, v in (("parameters N", n_), ("tokens D", d_))],
                          columns=["model", "compute", "quantity", "value"])
    x = log_axis("compute", LABELS["compute"], values=frontier["compute"])
    y = log_y("value", "compute-optimal N and D", values=[*numeric["value"], *models["value"]])
    tip = [alt.Tooltip("compute:Q", title=LABELS["compute"], format=".2e"), alt.Tooltip("quantity:N", title="quantity"),
           alt.Tooltip("value:Q", title="value", format=".3g")]
    lines = alt.Chart(theory).mark_line(strokeDash=[6, 4]).encode(x=x, y=y, color=quantity)
    points = alt.Chart(numeric).mark_point(filled=True, size=30).encode(x=x, y=y, color=quantity, tooltip=tip)
    triangles = alt.Chart(models).mark_point(shape="triangle-up", size=90, filled=True, stroke=PALETTE.ink).encode(
        x=x, y=y, color=quantity, tooltip=[alt.Tooltip("model:N", title="model"), *tip])
    labels = alt.Chart(models[models["quantity"] == "parameters N"]).mark_text(
        align="left", dx=7, dy=-7, fontSize=11, color=PALETTE.dark_grey).encode(x=x, y=y, text="model")
    rule = alt.Chart(pd.DataFrame({"compute": [m["compute"]]})).mark_rule(color=PALETTE.grey).encode(x=x)
    return alt.layer(rule, lines, points, triangles, labels).properties(height=340)


def _lifetime_chart(lifetime: pd.DataFrame, m: Mapping) -> alt.LayerChart:
    names = {"train_flops": "training 6ND", "inference_flops": "inference 2NT", "total_flops": "total"}
    long = lifetime.melt(id_vars=["params", "tokens"], value_vars=list(names), var_name="part", value_name="flops")
    long["part"] = long["part"].map(names)
    x = log_axis("params", ["model size N (parameters),", "each trained to the same loss"], values=lifetime["params"],
                 nice=False)
    # linear, clipped at 2.5x the compute-optimal model's lifetime cost: a 10-30% saving is invisible on a log axis
    top = 2.5 * m["lifetime_flops"]
    lines = alt.Chart(long).mark_line(clip=True).encode(
        x=x, y=alt.Y("flops:Q", title="lifetime compute (FLOPs)", scale=alt.Scale(domain=[0, top]),
                     axis=alt.Axis(format=".1e")),
        color=alt.Color("part:N", title=None, sort=list(names.values()),
                        scale=alt.Scale(range=[PALETTE.blue, PALETTE.orange, PALETTE.ink])),
        strokeWidth=alt.condition("datum.part == 'total'", alt.value(3), alt.value(1.5)),
        tooltip=[N, D, alt.Tooltip("part:N", title="part"), alt.Tooltip("flops:Q", title="FLOPs", format=".3g")])
    # the two sizes are told apart by their dashes, named in the legend: a label on the chart was crossed by the lines
    marks = pd.DataFrame({"params": [m["params_opt"], m["params_opt_inf"]],
                          "label": ["compute-optimal (training only)", "cheapest counting inference"]})
    rules = alt.Chart(marks).mark_rule(strokeWidth=1.5, color=PALETTE.dark_grey).encode(
        x=x, strokeDash=alt.StrokeDash("label:N", title=None, sort=list(marks["label"]),
                                       scale=alt.Scale(domain=list(marks["label"]), range=[[6, 3], [2, 2]]),
                                       legend=alt.Legend(orient="bottom", labelLimit=0)),
        tooltip=[alt.Tooltip("label:N", title="model"), N])
    return alt.layer(lines, rules).resolve_scale(strokeDash="independent").properties(height=320)


def _measured_chart(measured: pd.DataFrame) -> alt.HConcatChart:
    largest = measured.loc[measured["params"].idxmax()]
    seconds_per_flop = largest["seconds_per_step"] / largest["flops_per_step"]
    data = measured.assign(flop_proportional=measured["flops_per_step"] * seconds_per_flop,
                           weights_and_grads=8 * measured["params"] / 1e6)
    x = log_axis("params", "parameters of the MLP", values=data["params"])
    tip = [alt.Tooltip("width:Q", title=LABELS["width"]), alt.Tooltip("params:Q", title="parameters", format=","),
           alt.Tooltip("seconds_per_step:Q", title=LABELS["seconds_per_step"], format=".3g"),
           alt.Tooltip("peak_mb:Q", title=LABELS["peak_mb"], format=".3g"),
           alt.Tooltip("flops_per_step:Q", title=LABELS["flops_per_step"], format=".3g")]
    time_y = log_y("seconds_per_step", "seconds per step (measured)",
                   values=[*data["seconds_per_step"], *data["flop_proportional"]])
    seconds = alt.layer(
        alt.Chart(data).mark_line(strokeDash=[6, 4], color=PALETTE.grey).encode(x=x, y=alt.Y("flop_proportional:Q")),
        alt.Chart(data).mark_line(point=alt.OverlayMarkDef(color=PALETTE.red), color=PALETTE.red).encode(
            x=x, y=time_y, tooltip=tip),
    ).properties(width=320, height=260)
    mem_y = log_y("peak_mb", "memory held by a step (MB, counted)", values=[*data["peak_mb"], *data["weights_and_grads"]])
    memory = alt.layer(
        alt.Chart(data).mark_line(strokeDash=[6, 4], color=PALETTE.grey).encode(x=x, y=alt.Y("weights_and_grads:Q")),
        alt.Chart(data).mark_line(point=alt.OverlayMarkDef(color=PALETTE.purple), color=PALETTE.purple).encode(
            x=x, y=mem_y, tooltip=tip),
    ).properties(width=320, height=260)
    return alt.hconcat(seconds, memory)


def _measured_caption(m: Mapping) -> str:
    if "time_slope" not in m:
        return "Timing one MLP per width on this machine…"
    return (f"Left: time per step; dashed, proportional to the FLOPs. Right: memory; dashed, the weights and gradients "
            f"alone. Each point: one 2-hidden-layer MLP of the app's engine, full-batch SGD on"
            f" this machine ({m['device']}). Time per step is measured: the fastest of {REPEATS} steps after {WARMUP} "
            f"warm-up steps, on one CPU thread, because other work on a shared machine only ever adds time (and two "
            f"threads waiting for each other can make a single width many times slower). Log-log slope "
            f"{m['time_slope']:.2f}, against {m['flop_slope']:.2f} for the FLOPs. Where small models sit above the "
            f"dashed FLOP line, a fixed per-step overhead, not arithmetic, sets their cost. Memory is counted from the "
            f"tensors a step holds (slope {m['memory_slope']:.2f}).")
