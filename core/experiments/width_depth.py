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
                        lo=1_000, hi=100_000, step=1_000)
    depths: tuple[int, ...] = param((1, 2, 4, 8, 12), "hidden layers, one network per depth", lo=1, hi=12, max_len=12)
    init: str = param("pytorch", "initialisation: PyTorch's default (uniform, variance 1/(3 fan-in), the signal shrinks "
                      "about six-fold per ReLU layer) or He (normal, variance 2/fan-in, zero biases, keeps its size)",
                      choices=mlp.INITS)
    residual: bool = param(False, "skip connections h <- h + a relu(W h + b) around every hidden layer after the first, "
                           "a = 1/sqrt(number of such layers)")
    n: int = param(200, "training samples (3 Gaussian inputs, target sin(x1 + x2 + x3) + noise)", lo=20, hi=2000)
    noise: float = param(0.1, "label noise standard deviation", lo=0.0, hi=1.0, step=0.01)
    steps: int = param(500, "full-batch training steps", lo=100, hi=5000, step=100)
    lr: float = param(0.01, "learning rate", lo=1e-4, hi=1.0, log=True)
    optimizer: str = param("sgd", "full-batch gradient descent or Adam", choices=("sgd", "adam"))
    seed: int = param(0, "random seed for data and initialisation", lo=0, hi=2**31 - 1)


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
    return f"{init}, {'Adam' if config.optimizer == 'adam' else 'plain SGD'}, {skips}, lr={config.lr:g}"


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
               "the first layer over the last at initialisation, log scale, labelled with each net's width. A fall by "
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
    x = alt.X("depth:Q", title="hidden layers (width shrinks to keep the budget)", axis=alt.Axis(values=depths),
              scale=alt.Scale(domain=[depths[0] - 0.7, depths[-1] + 0.7], nice=False))
    tooltip = ["depth", "width", "params", alt.Tooltip("loss:Q", format=".3g")]
    long = grid.melt(id_vars=["depth", "width", "params"], value_vars=["train_loss", "test_loss"],
                     var_name="set", value_name="loss").dropna()
    long = long[long["loss"] > 0]
    long["set"] = long["set"].map({"train_loss": "train", "test_loss": "test"})
    losses = alt.Chart(long).mark_line(point=True).encode(
        x=x, y=alt.Y("loss:Q", title="final loss (MSE, log scale)", scale=alt.Scale(type="log")),
        color=alt.Color("set:N", title=None, scale=alt.Scale(domain=["train", "test"], range=["#1f77b4", "#ff7f0e"]),
                        legend=alt.Legend(orient="top")),
        tooltip=[*tooltip, "set"])
    refs = _references(metrics)
    layers = [losses]
    if not refs.empty:
        layers.append(alt.Chart(refs).mark_rule(color="grey").encode(
            y="loss:Q", strokeDash=alt.StrokeDash("reference:N", title=None, legend=alt.Legend(orient="top"),
                                                  scale=alt.Scale(domain=list(refs["reference"]), range=[[6, 3], [2, 2]][: len(refs)])),
            tooltip=["reference", alt.Tooltip("loss:Q", format=".3g")]))
    left = alt.layer(*layers).resolve_scale(strokeDash="independent").properties(width=380, height=300)
    ratio = grid.dropna(subset=["grad_ratio"])
    ratio = ratio[ratio["grad_ratio"] > 0].assign(label=lambda df: "width " + df["width"].astype(str))
    base = alt.Chart(ratio).encode(
        x=x, y=alt.Y("grad_ratio:Q", title="|∇ first layer| / |∇ last layer| at init (log)", scale=alt.Scale(type="log")))
    right = alt.layer(
        base.mark_line(point=alt.OverlayMarkDef(color="#2ca02c"), color="#2ca02c").encode(
            tooltip=["depth", "width", alt.Tooltip("grad_ratio:Q", format=".3g")]),
        base.mark_text(dy=-12, fontSize=11, color="#555").encode(text="label:N"),
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
)
