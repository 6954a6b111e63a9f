"""Bigger models train easier: the textbook's width sweep, live, with a held-out test set.

In the standard parameterization a fixed learning rate is a larger step in function space for a
wider net (its tangent kernel grows with the width), so part of "wider converges faster" is a
larger effective step. ``lr_mode="tuned"`` separates the two: every width trains at every rate of
a small grid around ``lr`` (one stack per width group, one rate per model) and keeps the rate that
reaches the threshold first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
import torch

from core import charts, contract, mlp
from core.charts import PALETTE
from core.contract import Figure, Result, param
from core.data import regression_task

N_TEST = 1000
CHUNK = 50
P_OVER_N = alt.Tooltip("p_over_n:Q", title="p/n", format=".3g")
WIDTH = alt.Tooltip("width:O", title="hidden units")
PARAMS = alt.Tooltip("params:Q", title="parameters", format=",")
LR = alt.Tooltip("lr:Q", title="learning rate", format="g")
#: The tuned grid, as multiples of ``lr``: one step below and three above, because in the standard
#: parameterization the fastest stable rate at these widths is 10-30 times the seed's 0.01 (measured:
#: best 0.3 for widths 10-200, 0.1 for 500; at 1 every width blows up). Five rates keep the seed's
#: setting under the FLOP budget (1.8e12 of 2e12).
LR_FACTORS = (0.3, 1.0, 3.0, 10.0, 30.0)
LR_MODES = ("fixed", "tuned")
CURVE_COLUMNS = ["width", "params", "repeat", "step", "loss"]
SUMMARY_COLUMNS = ["width", "params", "p_over_n", "lr", "repeat", "final_loss", "test_loss", "converged_step"]
#: Words for the metrics and table columns, as a reader sees them (comparison table, tooltips).
LABELS = {
    "noise_floor": "label-noise floor σ²",
    "baseline_test_mse": "test loss of predicting the mean",
    "steps_ratio": "steps to the threshold, narrowest / widest",
    "steps_ratio_at_lr": "the same, every width at the base learning rate",
    "width": "hidden units",
    "params": "parameters",
    "p_over_n": "p/n",
    "lr": "learning rate",
    "repeat": "network",
    "step": "training step",
    "loss": "training loss",
    "final_loss": "final training loss",
    "test_loss": "test loss",
    "converged_step": "first step below the threshold",
    "mean_converged_step": "mean first step below the threshold",
    "diverged_by_step": "diverged by step",
    "chosen": "rate kept",
}
#: The legend's words for the summary chart's two sets.
SETS = {"train": "final training loss", "test": "held-out test loss"}


@dataclass(frozen=True)
class Config:
    widths: tuple[int, ...] = param((10, 50, 200, 500), "hidden units per layer, one network per width", lo=1, hi=2000,
                                    max_len=8, label="widths (hidden units per layer)")
    depth: int = param(2, "hidden layers", lo=1, hi=6, label="hidden layers")
    n: int = param(100, "training samples", lo=20, hi=2000, label="training samples n")
    d: int = param(20, "input dimensions (the target uses the first 10)", lo=1, hi=100, label="input dimensions d")
    noise: float = param(0.1, "label noise standard deviation", lo=0.0, hi=1.0, step=0.01, label="label noise σ")
    steps: int = param(2000, "full-batch training steps", lo=100, hi=5000, step=100, label="training steps")
    lr: float = param(0.01, "learning rate (tuned mode: the grid is this rate × 0.3, 1, 3, 10, 30)", lo=1e-4, hi=1.0,
                      log=True, label="learning rate")
    lr_mode: str = param("fixed", "fixed: every width at the learning rate; tuned: each width at the rate of the grid "
                         "around it that reaches the threshold first without diverging (costs five runs)",
                         choices=LR_MODES, label="learning-rate mode")
    optimizer: str = param("sgd", "full-batch gradient descent or Adam", choices=("sgd", "adam"), label="optimizer")
    threshold: float = param(0.05, "training loss that counts as converged", lo=1e-4, hi=1.0, log=True,
                             label="loss threshold")
    repeats: int = param(1, "networks per width, each from its own random initial weights", lo=1, hi=8,
                         label="networks per width")
    seed: int = param(42, "random seed for data and initialisation", lo=0, hi=2**31 - 1, label="random seed")


def sizes(config: Config, width: int) -> tuple[int, ...]:
    return mlp.layer_sizes(config.d, width, config.depth)


def rates(config: Config) -> tuple[float, ...]:
    """The learning rates every width trains at: ``lr`` alone, or the tuned grid around it."""
    if config.lr_mode == "fixed":
        return (config.lr,)
    return tuple(float(f"{config.lr * f:.6g}") for f in LR_FACTORS)


def flops(config: Config) -> float:
    """Every width at every rate of the grid for all steps (a rate that diverges stops early and
    its width's stack trains again without it; Result.flops then counts what was spent)."""
    runs = config.repeats * len(rates(config))
    return runs * sum(mlp.train_flops(sizes(config, w), config.n, config.steps) for w in config.widths)


def size(config: Config) -> tuple[int, int]:
    return mlp.count_params(sizes(config, max(config.widths))), config.n


@dataclass(frozen=True)
class Member:
    """``repeats`` networks of one width at one rate: models ``models`` of a trainer's (possibly
    zero-padded) stack."""

    width: int
    lr: float
    trainer: mlp.Trainer
    models: slice

    def losses(self) -> torch.Tensor:
        return self.trainer.losses[: self.trainer.done, self.models]

    def diverged(self) -> bool:
        t = self.trainer
        return t.diverged_step is not None and self.models.start <= t.diverged_model < self.models.stop

    def first_below(self, threshold: float) -> list[int | None]:
        """Each repeat's first step with training loss below ``threshold`` (None: never)."""
        losses = self.losses().cpu()
        out = []
        for r in range(losses.shape[1]):
            below = (losses[:, r] < threshold).nonzero()
            out.append(int(below[0, 0]) if len(below) else None)
        return out

    def mean_first_below(self, threshold: float) -> float | None:
        """The mean over repeats, or None when a repeat never got there."""
        steps = self.first_below(threshold)
        return None if None in steps else float(np.mean(steps))


@dataclass(frozen=True)
class Training:
    """What ``train`` leaves: the members that finished, and for the tuned grid the (width, rate)
    pairs struck because a repeat diverged, with the step."""

    members: list[Member]
    struck: dict[tuple[int, float], int]
    flops: float


def run(config: Config, progress: contract.Progress | None, dev: torch.device) -> Result:
    """Train every width (``repeats`` networks each, at every rate of the grid) in interleaved
    chunks; in tuned mode keep each width's fastest rate."""
    x, y, x_test, y_test = (t.to(dev, torch.float32) for t in regression_task(
        config.n, config.d, config.noise, mlp.derive_seed(config.seed, "data"), N_TEST))
    training = train(config, x, y, dev, progress)
    chosen = choose(config, training.members)
    tables = {"curves": _curves(config, chosen), "summary": _summary(config, chosen, x_test, y_test)}
    metrics = {"noise_floor": config.noise**2, "baseline_test_mse": float(y_test.var(correction=0)),
               "steps_ratio": steps_ratio(tables["summary"])}
    tuned = config.lr_mode == "tuned"
    if tuned:
        tables["grid"] = _grid(config, training, chosen)
        base = rates(config)[LR_FACTORS.index(1.0)]
        at_lr = tables["grid"][tables["grid"]["lr"] == base].rename(columns={"mean_converged_step": "converged_step"})
        metrics["steps_ratio_at_lr"] = steps_ratio(at_lr)
    return Result(metrics, tables, _status(config, training, chosen), training.flops if tuned else None)


def train(config: Config, x: torch.Tensor, y: torch.Tensor, dev: torch.device,
          progress: contract.Progress | None = None) -> Training:
    """One trainer per group of similar widths (mlp.group_widths) holding every (width, rate,
    repeat), one rate per model.

    The engine stops a whole stack when one model diverges; the other stacks train on. In fixed
    mode that stack's curves end there (the status names every width that blew up, and a narrower
    width sharing its stack is cut short with it). In tuned mode the (width, rate) pairs that blew up are struck from the grid
    and their group trains again from the start without them: every model starts from its own
    seed, so the others' curves are exactly what they would have been, for SGD and Adam alike
    (a restart costs the chunks run before it; Result.flops counts them)."""
    grid = rates(config)
    groups = mlp.group_widths(config.widths, lambda w: len(grid) * config.repeats * mlp.train_flops(sizes(config, w), config.n, 1),
                              mlp.PAD_SLACK_FLOPS.get(dev.type, 0.0))
    struck: dict[tuple[int, float], int] = {}
    active = {i: _trainer(config, group, grid, struck, x, y, dev) for i, group in enumerate(groups)}
    spent, shown = 0.0, [0.0]

    def report() -> None:
        if progress is not None:
            members = [m for ms, _ in active.values() for m in ms]
            done = sum(t.done for _, t in active.values()) / (len(active) * config.steps)
            shown[0] = max(shown[0], done)
            steps = min(t.done for _, t in active.values())
            progress(shown[0], f"step {steps} of {config.steps}", {"curves": _curves(config, _leaders(config, members))})

    while True:
        mlp.train_groups([t for _, t in active.values() if not t.finished], CHUNK, report)
        restart = [i for i, (_, t) in active.items() if t.diverged_step is not None and config.lr_mode == "tuned"]
        if not restart:
            break
        for i in restart:
            members, t = active.pop(i)
            # the divergence is seen at the end of the chunk: the whole chunk was computed
            chunk_end = min(config.steps, (t.diverged_step // CHUNK + 1) * CHUNK)
            spent += _spent(config, members, chunk_end)
            for m in _blown_up(members, t, x, y):
                struck[(m.width, m.lr)] = t.diverged_step if m.diverged() else chunk_end
            if any((w, lr) not in struck for w in groups[i] for lr in grid):
                active[i] = _trainer(config, groups[i], grid, struck, x, y, dev)
        if not active:
            break
    members = [m for ms, _ in active.values() for m in ms]
    return Training(members, struck, spent + sum(_spent(config, ms, t.done) for ms, t in active.values()))


def _trainer(config: Config, group: Sequence[int], grid: Sequence[float], struck: dict[tuple[int, float], int],
             x: torch.Tensor, y: torch.Tensor, dev: torch.device) -> tuple[list[Member], mlp.Trainer]:
    """The group's stack: for each width, for each rate not struck, ``repeats`` models."""
    pairs = [(w, lr) for w in group for lr in grid if (w, lr) not in struck]
    padded = sizes(config, max(group))
    stack = mlp.join([mlp.pad_stack(_init(config, w, dev), padded) for w, _ in pairs])
    per_model = [lr for _, lr in pairs for _ in range(config.repeats)]
    trainer = mlp.Trainer(stack, x, y, lr=per_model, optimizer=config.optimizer, steps=config.steps)
    members = [Member(w, lr, trainer, slice(i * config.repeats, (i + 1) * config.repeats)) for i, (w, lr) in enumerate(pairs)]
    return members, trainer


def _blown_up(members: Sequence[Member], trainer: mlp.Trainer, x: torch.Tensor, y: torch.Tensor) -> list[Member]:
    """The members the engine stopped for, and every other whose loss at the end of that chunk is
    past the engine's own limit (not finite, or DIVERGENCE_FACTOR times its start): struck together,
    so rates that blow up in the same chunk cost one restart, not one each."""
    with torch.no_grad():
        now = mlp.mse_per_model(mlp.predict(trainer.stack, x), y)
    limit = mlp.DIVERGENCE_FACTOR * torch.clamp(trainer.losses[0], min=1.0)
    bad = ~torch.isfinite(now) | (now > limit)
    return [m for m in members if m.diverged() or bool(bad[m.models].any())]


def _spent(config: Config, members: Sequence[Member], steps: int) -> float:
    """Training FLOPs of ``steps`` steps of the members (unpadded, as the estimate counts them)."""
    return sum(config.repeats * mlp.train_flops(sizes(config, m.width), config.n, steps) for m in members)


def _init(config: Config, width: int, dev: torch.device) -> mlp.MLPStack:
    """``repeats`` networks of one width, each seeded by (seed, width, repeat): the same weights
    however widths are grouped, and at every rate of the grid."""
    seeds = [mlp.derive_seed(config.seed, "init", width, r) for r in range(config.repeats)]
    return mlp.init_stack(sizes(config, width), seeds, device=dev)


def choose(config: Config, members: Sequence[Member]) -> list[Member]:
    """Per width, the rate that reaches the threshold first (mean first step over the repeats, all
    of which must get there); if none does, the rate with the lowest final loss. Ties go to the
    smaller rate. In fixed mode there is one rate, so this is every member."""
    chosen = []
    for width in sorted({m.width for m in members}):
        candidates = sorted((m for m in members if m.width == width), key=lambda m: m.lr)
        crossed = [(step, m.lr, m) for m in candidates if (step := m.mean_first_below(config.threshold)) is not None]
        if crossed:
            chosen.append(min(crossed, key=lambda c: c[:2])[2])
        else:
            chosen.append(min(candidates, key=lambda m: (_final_mean(m), m.lr)))
    return chosen


def _final_mean(m: Member) -> float:
    losses = m.losses()
    return float(losses[-1].mean()) if len(losses) else float("inf")


def _leaders(config: Config, members: Sequence[Member]) -> list[Member]:
    """While the grid trains: per width, the rate with the lowest current loss (what the live chart
    draws until the choice is made)."""
    if config.lr_mode == "fixed":
        return list(members)
    return [min((m for m in members if m.width == w), key=lambda m: (_final_mean(m), m.lr))
            for w in sorted({m.width for m in members})]


def steps_ratio(summary: pd.DataFrame) -> float | None:
    """Mean steps to the threshold of the narrowest width over the widest's (None when either
    never got there, or there is one width)."""
    steps = summary.groupby("width")["converged_step"].agg(lambda s: s.mean() if s.notna().all() else np.nan)
    widths = sorted(steps.index)
    if len(widths) < 2 or steps.isna()[[widths[0], widths[-1]]].any() or steps[widths[-1]] == 0:
        return None
    return float(steps[widths[0]] / steps[widths[-1]])


def _status(config: Config, training: Training, chosen: Sequence[Member]) -> contract.Status:
    if config.lr_mode == "fixed":
        blown = sorted((m.trainer.diverged_step, m.width) for m in training.members if m.diverged())
        if not blown:
            return contract.OK
        (step, width), others = blown[0], "".join(f"; width {w} at step {s}" for s, w in blown[1:])
        return contract.warning(f"diverged at step {step} (width {width}{others}): the loss blew up; "
                                f"try a smaller learning rate, e.g. lr={config.lr / 10:g}")
    lost = sorted(set(config.widths) - {m.width for m in chosen})
    if lost:
        return contract.warning(f"width {', '.join(map(str, lost))} diverged at every rate of the grid "
                                f"({', '.join(f'{r:g}' for r in rates(config))}); try a smaller lr, e.g. lr={config.lr / 10:g}")
    return contract.OK


def _curves(config: Config, members: Sequence[Member]) -> pd.DataFrame:
    frames = [pd.DataFrame({c: pd.Series(dtype=float) for c in CURVE_COLUMNS})]  # what a run with no member shows
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
    return pd.concat(frames[1:], ignore_index=True) if len(frames) > 1 else frames[0]


def _summary(config: Config, members: Sequence[Member], x_test: torch.Tensor, y_test: torch.Tensor) -> pd.DataFrame:
    rows = []
    for m in members:
        with torch.no_grad():
            test = mlp.mse_per_model(mlp.predict(m.trainer.stack, x_test), y_test)[m.models].cpu()
        losses = m.losses().cpu()
        params = mlp.count_params(sizes(config, m.width))
        for r, step in enumerate(m.first_below(config.threshold)):
            rows.append({
                "width": m.width,
                "params": params,
                "p_over_n": params / config.n,
                "lr": m.lr,
                "repeat": r,
                "final_loss": float(losses[-1, r]) if len(losses) else None,
                "test_loss": float(test[r]),
                "converged_step": step,
            })
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS).astype({"converged_step": "Int64"})


def _grid(config: Config, training: Training, chosen: Sequence[Member]) -> pd.DataFrame:
    """Every (width, rate) of the tuned grid: mean steps to the threshold, mean final loss, the
    step by which it diverged (struck: exact for the model the engine stopped at, else the end of
    that chunk), and which rate the width kept."""
    rows = []
    for m in training.members:
        rows.append({"width": m.width, "lr": m.lr, "mean_converged_step": m.mean_first_below(config.threshold),
                     "final_loss": _final_mean(m), "diverged_by_step": None, "chosen": m in chosen})
    for (width, lr), step in training.struck.items():
        rows.append({"width": width, "lr": lr, "mean_converged_step": None, "final_loss": None,
                     "diverged_by_step": step, "chosen": False})
    grid = pd.DataFrame(rows).sort_values(["width", "lr"], ignore_index=True)
    return grid.astype({"mean_converged_step": "Float64", "final_loss": "Float64", "diverged_by_step": "Int64"})


def make_charts(result: Result) -> list[Figure]:
    tables = result.tables
    tuned = "grid" in tables
    figures = [Figure("Training loss while it trains", _curve_chart(tables["curves"]), "curves",
                      "Full-batch training loss per width (log scale)"
                      + (", each width at the rate it kept (the summary table's lr column). " if tuned else ". ")
                      + _final_text(result))]
    if "summary" in tables and len(tables["summary"]):
        figures.append(Figure("After training: loss and speed vs parameter count", _summary_chart(result),
                              "summary", "Left: final train and held-out test loss; dotted grey: the label-noise floor "
                              "(the best any model can do on test), dashed grey: always predicting the mean. "
                              "Right: the first step below the threshold (a width that never crossed is missing). "
                              + _test_text(result) + " " + _speed_text(result)))
    if "grid" in tables:
        figures.append(Figure("The learning-rate grid: steps to the threshold at every rate", _grid_chart(tables["grid"]),
                              "grid", "Mean first step below the threshold for every width and rate of the grid; the "
                              "large points are the rates kept. A rate missing for a width never got there in the steps "
                              "run, or diverged (the grid table's diverged_by_step column)."))
    return figures


def _by_width(summary: pd.DataFrame, column: str) -> pd.Series:
    return summary.groupby("width")[column].mean().sort_index()


def _listed(values: pd.Series, fmt: str) -> str:
    return "/".join(format(v, fmt) if pd.notna(v) else "never" for v in values)


def _final_text(result: Result) -> str:
    """The final training losses, and whether wider ended lower, from the run."""
    if "summary" not in result.tables or result.tables["summary"].empty:
        return ""
    final = _by_width(result.tables["summary"], "final_loss")
    widths = "/".join(map(str, final.index))
    order = "wider nets end lower" if final.is_monotonic_decreasing and len(final) > 1 else "the final losses are"
    return f"Here {order}: final training loss for widths {widths}: {_listed(final, '.2g')}."


def _test_text(result: Result) -> str:
    """The test losses against predicting the mean and the noise floor, in the words that are true
    for this run (a width whose weights blew up has no finite test loss and is named apart)."""
    every = _by_width(result.tables["summary"], "test_loss")
    test = every[np.isfinite(every)]
    lost = [str(w) for w in every.index if w not in test.index]
    note = f" (width {', '.join(lost)}: no finite test loss, the weights blew up)" if lost else ""
    if test.empty:
        return "No width has a finite test loss: the weights blew up."
    base, floor = result.metrics["baseline_test_mse"], result.metrics["noise_floor"]
    span = f"{test.min():.2g}-{test.max():.2g}" if len(test) > 1 else f"{test.iloc[0]:.2g}"
    beat = [str(w) for w in test.index if test[w] < base]
    if not beat:
        text = (f"Here every width's test loss ({span}) is worse than predicting the mean ({base:.2g}): at these "
                f"settings no width learned the target{note}.")
    elif len(beat) == len(test):
        text = f"Here every width beats predicting the mean: test loss {span} against {base:.2g} (noise floor {floor:.2g}){note}."
    else:
        text = f"Here only width {', '.join(beat)} beats predicting the mean ({base:.2g}); test losses {span}{note}."
    if len(test) > 1 and not lost and test.is_monotonic_decreasing:
        text += " The test loss falls as the width grows."
    return text


def _speed_text(result: Result) -> str:
    """Steps to the threshold per width and the narrowest/widest ratio; in tuned mode beside the
    same at the base rate, which is what remains of the effect once the step size is fair."""
    summary, m = result.tables["summary"], result.metrics
    steps = _by_width(summary, "converged_step")
    widths = "/".join(map(str, steps.index))
    ratio = m.get("steps_ratio")
    ratio_text = f" (narrowest/widest {ratio:.2g}x)" if ratio is not None else ""
    if "grid" not in result.tables:
        lr = summary["lr"].iloc[0]
        return (f"Steps to the threshold for widths {widths}, all at learning rate {lr:g}: {_listed(steps, '.0f')}"
                f"{ratio_text}. One rate for all is not an equal step for all; the learning-rate mode tuned gives each "
                "width its best rate.")
    grid = result.tables["grid"]
    base = grid[grid["lr"] == _base_lr(result)].set_index("width")["mean_converged_step"]
    base_ratio = m.get("steps_ratio_at_lr")
    kept = _by_width(summary, "lr")
    text = (f"Steps to the threshold for widths {widths}, each at its best rate (learning rate {_listed(kept, 'g')}): "
            f"{_listed(steps, '.0f')}{ratio_text}; all at learning rate {_base_lr(result):g}: "
            f"{_listed(base.reindex(steps.index), '.0f')}"
            + (f" ({base_ratio:.2g}x)." if base_ratio is not None else "."))
    top = grid["lr"].max()
    at_top = [str(w) for w in kept.index if kept[w] == top]
    if at_top:
        text += (f" Width{'s' if len(at_top) > 1 else ''} {', '.join(at_top)} kept the grid's largest rate ({top:g}); "
                 f"a larger one might be faster still.")
    return text


def _base_lr(result: Result) -> float:
    """The grid's rate at factor 1, the ``lr`` the run was given (the grid table holds every
    (width, rate), kept or struck)."""
    return float(sorted(result.tables["grid"]["lr"].unique())[LR_FACTORS.index(1.0)])


def _curve_chart(curves: pd.DataFrame) -> alt.Chart:
    data = charts.thin_steps(curves[curves["loss"] > 0])
    mean = data.groupby(["width", "params", "step"], as_index=False)["loss"].mean()
    return alt.Chart(mean).mark_line().encode(
        x=alt.X("step:Q", title="training step"),
        y=charts.log_y("loss", "training loss (MSE)", values=mean["loss"]),
        color=alt.Color("width:O", title="hidden units", scale=alt.Scale(scheme=charts.ORDERED)),
        tooltip=[WIDTH, PARAMS, alt.Tooltip("step:Q", title="training step"),
                 alt.Tooltip("loss:Q", title="training loss", format=".3g")],
    ).properties(height=320)


def _summary_chart(result: Result) -> alt.HConcatChart:
    summary = result.tables["summary"]
    agg = summary.groupby(["width", "params", "p_over_n", "lr"], as_index=False).agg(
        train=("final_loss", "mean"), test=("test_loss", "mean"), converged_step=("converged_step", "mean"))
    long = agg.melt(id_vars=["width", "params", "p_over_n", "lr"], value_vars=["train", "test"], var_name="set", value_name="loss")
    long = charts.words(long, "set", SETS)
    refs = pd.DataFrame({"loss": [result.metrics["noise_floor"], result.metrics["baseline_test_mse"]],
                         "reference": ["label-noise floor", "predict the mean"]})
    shown = long["loss"][long["loss"] > 0]
    y = charts.log_y("loss", "final loss (MSE)", values=[*shown, *refs["loss"][refs["loss"] > 0]])
    losses = alt.Chart(long).mark_line(point=True).encode(
        x=charts.log_axis("params", "parameters", values=long["params"]),
        y=y,
        color=alt.Color("set:N", title=None, scale=alt.Scale(domain=list(SETS.values()), range=[PALETTE.purple, PALETTE.blue]),
                        legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0)),
        tooltip=[WIDTH, PARAMS, P_OVER_N, LR, alt.Tooltip("set:N", title="set"),
                 alt.Tooltip("loss:Q", title="loss", format=".3g")],
    )
    rules = alt.Chart(refs[refs["loss"] > 0]).mark_rule(color=PALETTE.grey).encode(
        y=y, strokeDash=alt.StrokeDash("reference:N", scale=alt.Scale(range=[[2, 2], [6, 3]]), title=None,
                                              legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0)),
        tooltip=[alt.Tooltip("reference:N", title="reference"), alt.Tooltip("loss:Q", title="loss", format=".3g")])
    losses = alt.layer(losses, rules).resolve_scale(strokeDash="independent").properties(width=300, height=260)
    return alt.hconcat(losses, _speed_chart(agg))


def _speed_chart(agg: pd.DataFrame) -> alt.Chart:
    """Steps to the threshold per width, or a note saying none got there (an empty panel reads
    as a broken chart)."""
    crossed = agg.dropna(subset=["converged_step"])
    if crossed.empty:
        note = pd.DataFrame({"text": ["No width reached the threshold\nin the steps run: raise steps or lr,\nor the threshold"]})
        return alt.Chart(note).mark_text(fontSize=13, color=PALETTE.red, lineBreak="\n", lineHeight=20).encode(
            text="text:N", x=alt.value(150), y=alt.value(110)).properties(width=300, height=260, title="steps to threshold")
    return alt.Chart(crossed).mark_line(point=alt.OverlayMarkDef(color=PALETTE.red), color=PALETTE.red).encode(
        x=charts.log_axis("params", "parameters", values=crossed["params"]),
        y=alt.Y("converged_step:Q", title="steps to threshold"),
        tooltip=[WIDTH, PARAMS, P_OVER_N, LR, alt.Tooltip("converged_step:Q", title=LABELS["converged_step"], format=".0f")],
    ).properties(width=300, height=260)


def _grid_chart(grid: pd.DataFrame) -> alt.LayerChart:
    data = grid.dropna(subset=["mean_converged_step"]).astype({"mean_converged_step": float, "final_loss": float})
    base = alt.Chart(data).encode(
        x=charts.log_axis("lr", "learning rate (log)", values=data["lr"]),
        y=charts.log_y("mean_converged_step", "steps to threshold (log)", values=data["mean_converged_step"]),
        color=alt.Color("width:O", title="hidden units", scale=alt.Scale(scheme=charts.ORDERED)),
        tooltip=[WIDTH, LR, alt.Tooltip("mean_converged_step:Q", title=LABELS["mean_converged_step"], format=".0f"),
                 alt.Tooltip("final_loss:Q", title=LABELS["final_loss"], format=".3g"),
                 alt.Tooltip("chosen:N", title=LABELS["chosen"])])
    return alt.layer(base.mark_line(point=True), base.transform_filter(alt.datum.chosen).mark_point(size=160, filled=True)
                     ).properties(height=300)


#: Named settings that make the point: the page offers them, the warm start computes them.
PRESETS = {
    "The textbook's setting": {},
    "Fair step sizes: each width at its best rate": {"lr_mode": "tuned"},
    "Two input dimensions: every width beats the mean": {"d": 2},
    "Adam instead of SGD": {"optimizer": "adam", "lr": 0.001},
    "Too large a learning rate (diverges)": {"lr": 1.0},
    "Three networks per width": {"repeats": 3, "steps": 1000},
}

EXPERIMENT = contract.Experiment(
    name="optimization",
    title="Bigger models train easier",
    claim="Wider networks reach lower training loss in fewer steps.",
    icon=":material/trending_down:",
    order=10,
    config=Config,
    run=run,
    flops=flops,
    charts=make_charts,
    size=size,
    presets=PRESETS,
    labels=LABELS,
)
