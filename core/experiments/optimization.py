"""Bigger models train easier: the seed's width sweep, live, with a held-out test set."""

from __future__ import annotations

import time
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
import torch

from core import charts, contract, mlp
from core.contract import Figure, Result, param
from core.data import regression_task
from core.device import describe, pick_device

N_TEST = 1000
CHUNK = 50
P_OVER_N = alt.Tooltip("p_over_n:Q", title="p/n", format=".3g")


@dataclass(frozen=True)
class Config:
    widths: tuple[int, ...] = param((10, 50, 200, 500), "hidden units per layer, one network per width", lo=1, hi=2000, max_len=8)
    depth: int = param(2, "hidden layers", lo=1, hi=6)
    n: int = param(100, "training samples", lo=20, hi=2000)
    d: int = param(20, "input dimensions (the target uses the first 10)", lo=1, hi=100)
    noise: float = param(0.1, "label noise standard deviation", lo=0.0, hi=1.0, step=0.01)
    steps: int = param(2000, "full-batch training steps", lo=100, hi=5000, step=100)
    lr: float = param(0.01, "learning rate", lo=1e-4, hi=1.0, log=True)
    optimizer: str = param("sgd", "full-batch gradient descent or Adam", choices=("sgd", "adam"))
    threshold: float = param(0.05, "training loss that counts as converged", lo=1e-4, hi=1.0, log=True)
    repeats: int = param(1, "networks per width, from different initial seeds", lo=1, hi=8)
    seed: int = param(42, "random seed for data and initialisation", lo=0, hi=2**31 - 1)


def sizes(config: Config, width: int) -> tuple[int, ...]:
    return mlp.layer_sizes(config.d, width, config.depth)


def flops(config: Config) -> float:
    return config.repeats * sum(mlp.train_flops(sizes(config, w), config.n, config.steps) for w in config.widths)


def run(config: Config, progress: contract.Progress | None = None, device: str | None = None) -> Result:
    """Train every width (``repeats`` networks each, as one stack) in interleaved chunks."""
    start = time.perf_counter()
    dev = torch.device(device) if device else pick_device()
    x, y, x_test, y_test = (t.to(dev, torch.float32) for t in regression_task(
        config.n, config.d, config.noise, mlp.derive_seed(config.seed, "data"), N_TEST))
    members, trainers = _trainers(config, x, y, dev)

    def report() -> None:
        if progress is not None:
            done = sum(t.done for t in trainers) / (len(trainers) * config.steps)
            progress(done, f"step {min(t.done for t in trainers)} of {config.steps}", {"curves": _curves(config, members)})

    mlp.train_groups(trainers, CHUNK, report)
    tables = {"curves": _curves(config, members), "summary": _summary(config, members, x_test, y_test)}
    widest = max(config.widths)
    params = mlp.count_params(sizes(config, widest))
    metrics = {
        "status": _status(config, members),
        "noise_floor": config.noise**2,
        "baseline_test_mse": float(y_test.var(correction=0)),
        **contract.cost_metrics(params, config.n, flops(config), time.perf_counter() - start, describe(dev)),
    }
    return Result(metrics, tables)


@dataclass(frozen=True)
class Member:
    """One width's networks: models ``models`` of a trainer's (possibly zero-padded) stack."""

    width: int
    trainer: mlp.Trainer
    models: slice

    def losses(self) -> torch.Tensor:
        return self.trainer.losses[: self.trainer.done, self.models]


def _trainers(config: Config, x: torch.Tensor, y: torch.Tensor, dev: torch.device) -> tuple[list[Member], list[mlp.Trainer]]:
    """One trainer per group of similar widths (mlp.group_widths), ``repeats`` networks a width."""
    members, trainers = [], []

    def step_flops(width: int) -> float:
        return config.repeats * mlp.train_flops(sizes(config, width), config.n, 1)

    for group in mlp.group_widths(config.widths, step_flops, mlp.PAD_SLACK_FLOPS.get(dev.type, 0.0)):
        padded = sizes(config, max(group))
        stack = mlp.join([mlp.pad_stack(_init(config, w, dev), padded) for w in group])
        trainer = mlp.Trainer(stack, x, y, lr=config.lr, optimizer=config.optimizer, steps=config.steps)
        trainers.append(trainer)
        members += [Member(w, trainer, slice(i * config.repeats, (i + 1) * config.repeats)) for i, w in enumerate(group)]
    return members, trainers


def _init(config: Config, width: int, dev: torch.device) -> mlp.MLPStack:
    """``repeats`` networks of one width, each seeded by (seed, width, repeat): the same weights
    however widths are grouped."""
    seeds = [mlp.derive_seed(config.seed, "init", width, r) for r in range(config.repeats)]
    return mlp.init_stack(sizes(config, width), seeds, device=dev)


def _status(config: Config, members: list[Member]) -> str:
    for m in members:
        t = m.trainer
        if t.diverged_step is not None and m.models.start <= t.diverged_model < m.models.stop:
            return (f"diverged at step {t.diverged_step} (width {m.width}): the loss blew up; "
                    f"try a smaller learning rate, e.g. lr={config.lr / 10:g}")
    return "ok"


def _curves(config: Config, members: list[Member]) -> pd.DataFrame:
    frames = []
    for m in members:
        losses = m.losses().cpu().numpy()
        steps, models = losses.shape
        frames.append(pd.DataFrame({
            "width": m.width,
            "params": mlp.count_params(sizes(config, m.width)),
            "repeat": np.repeat(np.arange(models), steps),
            "step": np.tile(np.arange(steps), models),
            "loss": losses.T.ravel(),
        }))
    return pd.concat(frames, ignore_index=True)


def _summary(config: Config, members: list[Member], x_test: torch.Tensor, y_test: torch.Tensor) -> pd.DataFrame:
    rows = []
    for m in members:
        with torch.no_grad():
            test = mlp.mse_per_model(mlp.predict(m.trainer.stack, x_test), y_test)[m.models].cpu()
        losses = m.losses().cpu()
        params = mlp.count_params(sizes(config, m.width))
        for r in range(config.repeats):
            below = (losses[:, r] < config.threshold).nonzero()
            rows.append({
                "width": m.width,
                "params": params,
                "p_over_n": params / config.n,
                "repeat": r,
                "final_loss": float(losses[-1, r]) if len(losses) else None,
                "test_loss": float(test[r]),
                "converged_step": int(below[0, 0]) if len(below) else None,
            })
    return pd.DataFrame(rows).astype({"converged_step": "Int64"})


def make_charts(result: Result) -> list[Figure]:
    figures = [Figure("Training loss while it trains", _curve_chart(result.tables["curves"]), "curves",
                      "Full-batch training loss per width (log scale). Wider networks drop faster and lower.")]
    if "summary" in result.tables:
        figures.append(Figure("After training: loss and speed vs parameter count", _summary_chart(result),
                              "summary", "Left: final train and held-out test loss; dotted grey: the label-noise floor "
                              "(the best any model can do on test), dashed grey: always predicting the mean. "
                              "Right: the first step below the threshold (a width that never crossed is missing)."))
    return figures


def _curve_chart(curves: pd.DataFrame) -> alt.Chart:
    data = charts.thin_steps(curves[curves["loss"] > 0])
    mean = data.groupby(["width", "params", "step"], as_index=False)["loss"].mean()
    return alt.Chart(mean).mark_line().encode(
        x=alt.X("step:Q", title="step"),
        y=charts.log_y("loss", "training loss (MSE)"),
        color=alt.Color("width:O", title="width", scale=alt.Scale(scheme="viridis")),
        tooltip=["width", "params", "step", alt.Tooltip("loss:Q", format=".3g")],
    ).properties(height=320)


def _summary_chart(result: Result) -> alt.HConcatChart:
    summary = result.tables["summary"]
    agg = summary.groupby(["width", "params", "p_over_n"], as_index=False).agg(
        train=("final_loss", "mean"), test=("test_loss", "mean"), converged_step=("converged_step", "mean"))
    long = agg.melt(id_vars=["width", "params", "p_over_n"], value_vars=["train", "test"], var_name="set", value_name="loss")
    losses = alt.Chart(long).mark_line(point=True).encode(
        x=charts.log_axis("params", "parameters"),
        y=charts.log_y("loss", "final loss (MSE)"),
        color=alt.Color("set:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["width", "params", P_OVER_N, "set", alt.Tooltip("loss:Q", format=".3g")],
    )
    refs = pd.DataFrame({"loss": [result.metrics["noise_floor"], result.metrics["baseline_test_mse"]],
                         "reference": ["label-noise floor", "predict the mean"]})
    rules = alt.Chart(refs[refs["loss"] > 0]).mark_rule(color="grey").encode(
        y="loss:Q", strokeDash=alt.StrokeDash("reference:N", scale=alt.Scale(range=[[2, 2], [6, 3]]), title=None,
                                              legend=alt.Legend(orient="bottom")),
        tooltip=["reference", alt.Tooltip("loss:Q", format=".3g")])
    losses = alt.layer(losses, rules).resolve_scale(strokeDash="independent").properties(width=300, height=260)
    return alt.hconcat(losses, _speed_chart(agg))


def _speed_chart(agg: pd.DataFrame) -> alt.Chart:
    """Steps to the threshold per width, or a note saying none got there (an empty panel reads
    as a broken chart)."""
    crossed = agg.dropna(subset=["converged_step"])
    if crossed.empty:
        note = pd.DataFrame({"text": ["No width reached the threshold\nin the steps run: raise steps or lr,\nor the threshold"]})
        return alt.Chart(note).mark_text(fontSize=13, color="#d62728", lineBreak="\n", lineHeight=20).encode(
            text="text:N", x=alt.value(150), y=alt.value(110)).properties(width=300, height=260, title="steps to threshold")
    return alt.Chart(crossed).mark_line(point=True, color="#d62728").encode(
        x=charts.log_axis("params", "parameters"),
        y=alt.Y("converged_step:Q", title="steps to threshold"),
        tooltip=["width", "params", P_OVER_N, "converged_step"],
    ).properties(width=300, height=260)


EXPERIMENT = contract.register(contract.Experiment(
    name="optimization",
    title="Bigger models train easier",
    config=Config,
    run=run,
    flops=flops,
    charts=make_charts,
    summary="Wider networks reach lower training loss in fewer steps, and still do well on held-out data.",
))
