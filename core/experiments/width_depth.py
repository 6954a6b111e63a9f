"""Width vs depth at a fixed parameter budget: with PyTorch's default init and plain SGD, deep narrow
ReLU nets stop training (their gradients vanish on the way down); He init, Adam or residual
connections each make the same depth trainable."""

from __future__ import annotations

import math
from dataclasses import dataclass

import altair as alt
import pandas as pd
import torch

from core import contract, mlp
from core.charts import PALETTE, log_y, words
from core.contract import Figure, Result, param
from core.data import regression_task

#: Input dimensions. The seed's target then reads sin(x1 + x2 + x3) + 0.5 (the cosine's sum over
#: x6..x10 is empty): a function a few hundred points can teach, so the test loss says something.
D = 3
N_TEST = 1000
CHUNK = 50


@dataclass(frozen=True)
class Config:
    budget: int = param(5_000, "parameters per network (weights and biases); each depth gets the width that meets it",
                        lo=1_000, hi=100_000, step=1_000, label="parameter budget per network")
    depths: tuple[int, ...] = param((1, 2, 4, 8, 12), "hidden layers, one network per depth", lo=1, hi=12, max_len=12,
                                    label="depths (hidden layers)")
    init: str = param("pytorch", "initialisation: PyTorch's default (uniform, variance 1/(3 fan-in), the signal shrinks "
                      "about six-fold per ReLU layer) or He (normal, variance 2/fan-in, zero biases, keeps its size)",
                      choices=mlp.INITS, label="initialisation")
    residual: bool = param(False, "skip connections h ← h + a relu(W h + b) around every hidden layer after the first, "
                           "a = 1/√(number of such layers)", label="skip connections")
    n: int = param(200, "training samples (3 Gaussian inputs, target sin(x₁ + x₂ + x₃) + noise)", lo=20, hi=2000,
                   label="training samples n")
    noise: float = param(0.1, "label noise standard deviation", lo=0.0, hi=1.0, step=0.01, label="label noise σ")
    steps: int = param(500, "full-batch training steps", lo=100, hi=5000, step=100, label="training steps")
    lr: float = param(0.01, "learning rate", lo=1e-4, hi=1.0, log=True, label="learning rate")
    optimizer: str = param("sgd", "full-batch gradient descent or Adam", choices=("sgd", "adam"), label="optimizer")
    seed: int = param(0, "random seed for data and initialisation", lo=0, hi=2**31 - 1, label="random seed")


#: Words for the metrics and table columns, as a reader sees them (comparison table, tooltips).
LABELS = {
    "best_depth": "depth of the lowest test loss",
    "noise_floor": "label-noise floor σ²",
    "baseline_test_mse": "test loss of predicting the mean",
    "setup": "initialisation, optimizer and skips",
    "depth": "hidden layers",
    "width": "width (hidden units per layer)",
    "params": "parameters",
    "train_loss": "final training loss",
    "test_loss": "held-out test loss",
    "grad_ratio": "|∇ first layer| / |∇ last layer| at init",
}


def width_for(budget: int, depth: int, d: int = D) -> int:
    """The integer width whose parameter count is closest to the budget.

    An MLP with L hidden layers of width w has P(w) = (L-1) w^2 + (d + L + 1) w + 1 parameters
    (weights and biases); solve P(w) = budget with the quadratic formula, then take whichever of
    the two neighbouring integers lands closer.
    """
    a, b, c = depth - 1, d + depth + 1, 1 - budget
    root = -c / b if a == 0 else (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    candidates = {max(1, math.floor(root)), max(1, math.ceil(root))}
    return min(candidates, key=lambda w: (abs(mlp.count_params(mlp.layer_sizes(d, w, depth)) - budget), w))


def shapes(config: Config) -> list[tuple[int, int, tuple[int, ...]]]:
    """(depth, width, layer sizes) for every depth of the grid."""
    out = []
    for depth in config.depths:
        width = width_for(config.budget, depth)
        out.append((depth, width, mlp.layer_sizes(D, width, depth)))
    return out


def flops(config: Config) -> float:
    """Training plus the one gradient at init per model (the skip additions are negligible)."""
    return sum(mlp.train_flops(s, config.n, config.steps + 1) for _, _, s in shapes(config))


def grad_ratio(stack: mlp.MLPStack, x: torch.Tensor, y: torch.Tensor) -> float:
    """|dL/dW_first| / |dL/dW_last| at the current weights: far below 1 means the first layer
    hardly learns (vanishing gradients), far above 1 means it is kicked hardest (exploding)."""
    with torch.no_grad():
        out, saved = mlp.forward(stack, x)
        grads = mlp.backward(stack, saved, out, y)
    return float(grads[0].norm() / grads[-2].norm())


# --- the experiment ----------------------------------------------------------------------------

def size(config: Config) -> tuple[int, int]:
    return config.budget, config.n


def run(config: Config, progress: contract.Progress | None, dev: torch.device) -> Result:
    """Every (depth, width) network of the grid trains in one interleaved call of the engine."""
    x, y, x_test, y_test = (t.to(dev, torch.float32) for t in regression_task(
        config.n, D, config.noise, mlp.derive_seed(config.seed, "data"), N_TEST))
    grid, trainers, ratios = shapes(config), [], []
    for depth, width, sizes in grid:
        stack = mlp.init_stack(sizes, [mlp.derive_seed(config.seed, "init", depth, width)], init=config.init,
                               residual=config.residual, device=dev)
        ratios.append(grad_ratio(stack, x, y))
        trainers.append(mlp.Trainer(stack, x, y, lr=config.lr, optimizer=config.optimizer, steps=config.steps))

    def report() -> None:
        if progress is not None:
            done = sum(t.done for t in trainers) / (len(trainers) * config.steps)
            progress(done, f"step {min(t.done for t in trainers)} of {config.steps}",
                     {"grid": _grid(config, grid, trainers, ratios)})

    mlp.train_groups(trainers, CHUNK, report)
    table = _grid(config, grid, trainers, ratios, (x_test, y_test))
    metrics = {
        "best_depth": int(table.loc[table["test_loss"].idxmin(), "depth"]) if table["test_loss"].notna().any() else None,
        "noise_floor": config.noise**2,
        "baseline_test_mse": float(y_test.var(correction=0)),
        "setup": setup(config),
    }
    return Result(metrics, {"grid": table}, _status(config, grid, trainers))


def setup(config: Config) -> str:
    """The run's remedies in words, for the caption: which initialisation, optimizer and skips."""
    init = "He init" if config.init == "he" else "PyTorch's default init"
    skips = "skip connections" if config.residual else "no skip connections"
    return f"{init}, {'Adam' if config.optimizer == 'adam' else 'plain SGD'}, {skips}, learning rate {config.lr:g}"


def _grid(config: Config, grid: list, trainers: list[mlp.Trainer], ratios: list[float],
          test: tuple[torch.Tensor, torch.Tensor] | None = None) -> pd.DataFrame:
    """One row per depth; while training runs, train_loss is the latest loss and test_loss empty."""
    rows = []
    for (depth, width, sizes), t, ratio in zip(grid, trainers, ratios):
        train_loss = test_loss = float("nan")
        if t.done:
            train_loss = float(t.losses[t.done - 1, 0])
        if test is not None and t.diverged_step is None:
            with torch.no_grad():
                train_loss = float(mlp.mse_per_model(mlp.predict(t.stack, t.x), t.y)[0])
                test_loss = float(mlp.mse_per_model(mlp.predict(t.stack, test[0]), test[1])[0])
        rows.append({"depth": depth, "width": width, "params": mlp.count_params(sizes),
                     "train_loss": train_loss, "test_loss": test_loss, "grad_ratio": ratio})
    return pd.DataFrame(rows, columns=["depth", "width", "params", "train_loss", "test_loss", "grad_ratio"])


def _status(config: Config, grid: list, trainers: list[mlp.Trainer]) -> contract.Status:
    for (depth, width, _), t in zip(grid, trainers):
        if t.diverged_step is not None:
            return contract.warning(f"diverged at step {t.diverged_step} (depth {depth}, width {width}): the loss blew up; "
                    f"try a smaller learning rate, e.g. lr={config.lr / 10:g}")
    return contract.OK


def make_charts(result: Result) -> list[Figure]:
    grid = result.tables["grid"]
    caption = ("Left: final training and held-out test loss of each depth at the same parameter budget (log scale; "
               "the dashed line is predicting the mean, the dotted one the label-noise floor). Right: gradient norm of "
               "the first layer over the last at initialisation, log scale. Under each depth: its width. A fall by "
               "orders of magnitude with depth is the vanishing gradient: the first layers barely learn."
               + _verdict(grid, result.metrics))
    return [Figure("Loss and gradient flow against depth, at a fixed parameter budget", _chart(grid, result.metrics),
                   "grid", caption)]


def _verdict(grid: pd.DataFrame, metrics: dict) -> str:
    """The deepest net's train loss against predicting the mean, in this run's numbers."""
    base, done = metrics.get("baseline_test_mse"), grid.dropna(subset=["train_loss"])
    if not base or done.empty:
        return ""
    deepest = done.loc[done["depth"].idxmax()]
    loss = float(deepest["train_loss"])
    verdict = "stalled near the mean" if loss > 0.8 * base else f"trained, to {loss / base:.0%} of the mean's loss"
    return (f" In this run ({metrics.get('setup', 'these settings')}) the {int(deepest['depth'])}-layer net "
            f"ends at train loss {loss:.3g} against {base:.3g} for predicting the mean: {verdict}. Three remedies "
            "each rescue the plain deep nets; compare the presets \"He init rescues the plain nets\", "
            "\"Adam rescues the plain nets\" and \"Residual connections: the deep ones train\".")


def _chart(grid: pd.DataFrame, metrics: dict) -> alt.HConcatChart:
    depths = sorted(int(d) for d in grid["depth"].unique())
    # each tick reads "depth" over "width w": the widths sit under the axis, where no line crosses them
    widths = dict(zip(grid["depth"].astype(int), grid["width"].astype(int)))
    width_of = " : ".join(f"datum.value == {d} ? 'width {w}'" for d, w in widths.items()) + " : ''"
    # evenly spaced depths, so every tick has room for its two lines
    x = alt.X("depth:O", title="hidden layers (width shrinks to keep the budget)", sort=depths,
              axis=alt.Axis(labelAngle=0, labelExpr=f"[datum.label, {width_of}]"))
    tooltip = [alt.Tooltip("depth:Q", title=LABELS["depth"]), alt.Tooltip("width:Q", title=LABELS["width"]),
               alt.Tooltip("params:Q", title=LABELS["params"], format=",")]
    long = grid.melt(id_vars=["depth", "width", "params"], value_vars=["train_loss", "test_loss"],
                     var_name="set", value_name="loss").dropna()
    long = words(long[long["loss"] > 0], "set", LABELS)
    refs = _references(metrics)
    y = log_y("loss", "final loss (MSE, log scale)", values=[*long["loss"], *refs["loss"]])
    sets = [LABELS["train_loss"], LABELS["test_loss"]]
    losses = alt.Chart(long).mark_line(point=True).encode(
        x=x, y=y,
        color=alt.Color("set:N", title=None, scale=alt.Scale(domain=sets, range=[PALETTE.blue, PALETTE.orange]),
                        legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0)),
        tooltip=[*tooltip, alt.Tooltip("set:N", title="set"), alt.Tooltip("loss:Q", title="loss", format=".3g")])
    layers = [losses]
    if not refs.empty:
        layers.append(alt.Chart(refs).mark_rule(color=PALETTE.grey).encode(
            y=y, strokeDash=alt.StrokeDash(
                "reference:N", title=None, legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0),
                scale=alt.Scale(domain=list(refs["reference"]), range=[[6, 3], [2, 2]][: len(refs)])),
            tooltip=[alt.Tooltip("reference:N", title="reference"), alt.Tooltip("loss:Q", title="loss", format=".3g")]))
    left = alt.layer(*layers).resolve_scale(strokeDash="independent").properties(width=380, height=300)
    ratio = grid.dropna(subset=["grad_ratio"])
    ratio = ratio[ratio["grad_ratio"] > 0]
    right = alt.Chart(ratio).mark_line(point=alt.OverlayMarkDef(color=PALETTE.green), color=PALETTE.green).encode(
        x=x, y=log_y("grad_ratio", f"{LABELS['grad_ratio']} (log)", values=ratio["grad_ratio"]),
        tooltip=[*tooltip[:2], alt.Tooltip("grad_ratio:Q", title=LABELS["grad_ratio"], format=".3g")],
    ).properties(width=380, height=300)
    return alt.hconcat(left, right)


def _references(metrics: dict) -> pd.DataFrame:
    refs = {"predict the mean": metrics.get("baseline_test_mse"), "label-noise floor": metrics.get("noise_floor")}
    rows = [(k, v) for k, v in refs.items() if v is not None and v > 0]
    return pd.DataFrame(rows, columns=["reference", "loss"])


#: Named settings that make the point: the page offers them, the warm start computes them.
PRESETS = {
    "Plain nets: the deep ones stall": {},
    "Residual connections: the deep ones train": {"residual": True},
    "He init rescues the plain nets": {"init": "he", "lr": 0.003},
    "Adam rescues the plain nets": {"optimizer": "adam", "lr": 0.001},
}

EXPERIMENT = contract.Experiment(
    name="width-depth",
    title="Width vs depth",
    claim="At the same parameter count, deep narrow plain nets stop training under PyTorch's default init and "
          "plain SGD; He init, Adam or skip connections each fix it.",
    icon=":material/stacks:",
    order=60,
    config=Config,
    run=run,
    flops=flops,
    charts=make_charts,
    size=size,
    presets=PRESETS,
    labels=LABELS,
)
