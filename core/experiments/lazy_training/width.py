"""The width sweep: the wider the network, the less each weight and the tangent kernel move, and the
trained network becomes kernel regression with the (analytic) neural tangent kernel."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import altair as alt
import numpy as np
import pandas as pd
import torch

from core import mlp, ntk
from core.charts import PALETTE
from core.contract import Figure
from core.data import regression_task
from core.experiments.lazy_training.config import Config, sizes

#: The 1-D task of the function view: FUNCTION_N random angles on the circle of radius sqrt(2)
#: in the plane (so x.x/d = 1), predictions drawn on GRID angles.
FUNCTION_N = 16
GRID = 181
#: How many of the sweep's widths the function view trains (smallest, middle, widest).
FUNCTION_WIDTHS = 3
#: The widths' lines in the function view, narrowest first: named palette colours that read in both themes.
WIDTH_COLOURS = (PALETTE.purple, PALETTE.blue, PALETTE.green, PALETTE.orange, PALETTE.red)
WEIGHTS = "weights |W_T − W_0| / |W_0|"
KERNEL = "tangent kernel |K_T − K_0| / |K_0|"
GUIDE = "slope −1/2 guide"
KERNEL_MODEL = "kernel regression, analytic NTK"


def function_widths(config: Config) -> tuple[int, ...]:
    """The smallest, a middle and the widest width of the sweep: enough to see the trend."""
    w = config.widths
    picks = {w[0], w[len(w) // 2], w[-1]} if len(w) >= FUNCTION_WIDTHS else set(w)
    return tuple(sorted(picks))


def kernel_flops(shape: tuple[int, ...], n1: int, n2: int | None = None) -> float:
    """One empirical NTK between n1 and n2 inputs (n2 = n1: the Gram of one set): a forward and a
    backward pass over the inputs plus two n1 x n2 Grams per layer."""
    n2 = n1 if n2 is None else n2
    inputs = n1 if n2 == n1 else n1 + n2
    pairs = list(itertools.pairwise(shape))
    macs = sum(i * o for i, o in pairs)
    grams = sum(n1 * n2 * (i + o) for i, o in pairs)
    return 2.0 * (2 * inputs * macs + grams)


def flops(config: Config) -> float:
    """The width sweep (train, kernel before and after), the function view and the NTK check."""
    sweep = sum(mlp.train_flops(sizes(config, w), config.n, config.steps) + 2 * kernel_flops(sizes(config, w), config.n)
                for w in config.widths)
    view = sum(mlp.train_flops(sizes(config, w, 2), FUNCTION_N, config.steps) for w in function_widths(config))
    return sweep + view + kernel_flops(sizes(config, config.widths[-1]), config.n)


Failure = tuple[str, int]


def sweep(config: Config, dev: torch.device,
          report: Callable[[pd.DataFrame], None]) -> tuple[pd.DataFrame, dict[str, float], list[Failure]]:
    """Train one network per width (``report`` gets the table after each), measure how far weights
    and kernel moved; the slopes against width and the widest net's distance to the analytic NTK."""
    x, y, _, _ = (t.to(dev, torch.float32) for t in regression_task(
        config.n, config.d, 0.0, mlp.derive_seed(config.seed, "data"), 1))
    rows, failures = [], []
    for width in config.widths:
        row, diverged = _movement(config, width, x, y)
        rows.append(row)
        if diverged is not None:
            failures.append((f"width {width}", diverged))
        report(pd.DataFrame(rows))
    movement = pd.DataFrame(rows)
    metrics = {
        "weight_change_slope": _slope(movement, "rel_weight_change"),
        "kernel_change_slope": _slope(movement, "rel_kernel_change"),
        "ntk_rel_error": ntk_rel_error(config, x),
    }
    return movement, metrics, failures


def _movement(config: Config, width: int, x: torch.Tensor, y: torch.Tensor) -> tuple[dict, int | None]:
    """Train one net; relative change of all its parameters and of its tangent kernel on the data."""
    stack = mlp.init_parameterized(sizes(config, width), [mlp.derive_seed(config.seed, "init", width)],
                                   config.parameterization, device=x.device)
    start = [p.clone() for p in stack.params()]
    k0 = ntk.empirical_ntk(stack, x)
    log = _train(config, stack, x, y, width)
    if log.diverged_step is not None:
        nan = float("nan")
        return {"width": width, "rel_weight_change": nan, "rel_kernel_change": nan, "train_loss": nan}, log.diverged_step
    return {"width": width, "rel_weight_change": weight_change(stack, start),
            "rel_kernel_change": kernel_change(ntk.empirical_ntk(stack, x), k0), "train_loss": float(log.final[0])}, None


def weight_change(stack: mlp.MLPStack, start: list[torch.Tensor]) -> float:
    """|W_T − W_0| / |W_0| over all parameters of a trained stack of one, from its initial ones."""
    moved = torch.cat([(p - p0).flatten() for p, p0 in zip(stack.params(), start)]).norm()
    return float(moved / torch.cat([p0.flatten() for p0 in start]).norm())


def kernel_change(kernel: torch.Tensor, k0: torch.Tensor) -> float:
    """|K_T − K_0| / |K_0| (Frobenius) on the same inputs."""
    return float((kernel - k0).norm() / k0.norm())


def _train(config: Config, stack: mlp.MLPStack, x: torch.Tensor, y: torch.Tensor, width: int) -> mlp.TrainLog:
    """Full-batch gradient descent on the engine. In standard parameterization the tangent kernel
    grows like the width, so the stable rate shrinks like 1/width: lr / width keeps the step
    comparable across widths."""
    lr = config.lr / width if config.parameterization == "standard" else config.lr
    trainer = mlp.Trainer(stack, x, y, lr=lr, optimizer="sgd", steps=config.steps)
    trainer.advance(config.steps)
    return trainer.log()


def ntk_rel_error(config: Config, x: torch.Tensor) -> float:
    """|Theta_emp - Theta_inf|_F / |Theta_inf|_F for the widest net at init, in NTK
    parameterization whatever the run uses (it is the parameterization with this finite limit;
    mup's learning-rate-weighted kernel equals it at init)."""
    widest = config.widths[-1]
    stack = mlp.init_parameterized(sizes(config, widest), [mlp.derive_seed(config.seed, "init", widest)], "ntk",
                                   dtype=torch.float64, device=x.device)
    x64 = x.double()
    empirical = ntk.empirical_ntk(stack, x64)[0].cpu().numpy()
    exact = ntk.analytic_ntk(x64.cpu().numpy(), x64.cpu().numpy(), config.depth)
    return float(np.linalg.norm(empirical - exact) / np.linalg.norm(exact))


def _slope(movement: pd.DataFrame, column: str) -> float:
    """Least-squares slope of log(change) against log(width), over the widths that trained."""
    ok = movement[np.isfinite(movement[column]) & (movement[column] > 0)]
    if len(ok) < 2:
        return float("nan")
    return float(np.polyfit(np.log(ok["width"]), np.log(ok[column]), 1)[0])


def circle_task(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training angles (increasing), their targets, and the grid of angles to draw."""
    rng = np.random.default_rng(seed)
    # one random angle in each of FUNCTION_N equal arcs: random, but no large gaps
    angles = -np.pi + (np.arange(FUNCTION_N) + rng.uniform(0.0, 1.0, FUNCTION_N)) * (2 * np.pi / FUNCTION_N)
    return angles, target(angles), np.linspace(-np.pi, np.pi, GRID)


def target(angles: np.ndarray) -> np.ndarray:
    return np.sin(angles) + 0.5 * np.sin(3 * angles)


def on_circle(angles: np.ndarray) -> np.ndarray:
    """Points sqrt(2) (cos a, sin a): |x|^2/d = 1, the NTK's natural input scale."""
    return math.sqrt(2.0) * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def function_view(config: Config, dev: torch.device) -> tuple[pd.DataFrame, list[Failure]]:
    """Centered nets f - f_0 of a few widths beside the linearised prediction with the analytic NTK.

    Subtracting each net's initial output removes its random initial function (a Gaussian-process
    draw whose size does not shrink with width), leaving the part training added: exactly what
    kernel regression from a zero start describes. Same steps and learning rate for both.
    """
    angles, y, grid = circle_task(mlp.derive_seed(config.seed, "circle"))
    x, x_grid = on_circle(angles), on_circle(grid)
    kernel = ntk.kernel_regression(ntk.analytic_ntk(x, x, config.depth), ntk.analytic_ntk(x_grid, x, config.depth),
                                   y, config.lr, config.steps)
    frames = [_frame(grid, "target", target(grid)), _frame(angles, "training data", y), _frame(grid, KERNEL_MODEL, kernel)]
    failures = []
    xt, xg = (torch.as_tensor(a, dtype=torch.float32, device=dev) for a in (x, x_grid))
    yt = torch.as_tensor(y, dtype=torch.float32, device=dev).unsqueeze(1)
    for width in function_widths(config):
        stack = mlp.init_parameterized(sizes(config, width, 2), [mlp.derive_seed(config.seed, "circle-init", width)],
                                       config.parameterization, device=dev)
        with torch.no_grad():
            f0_train, f0_grid = mlp.predict(stack, xt), mlp.predict(stack, xg)
        log = _train(config, stack, xt, yt + f0_train, width)
        if log.diverged_step is not None:
            failures.append((f"width {width} on the circle task", log.diverged_step))
            continue
        with torch.no_grad():
            pred = (mlp.predict(stack, xg) - f0_grid)[0, :, 0].cpu().numpy()
        frames.append(_frame(grid, f"width {width}", pred))
    return pd.concat(frames, ignore_index=True), failures


def _frame(angles: np.ndarray, model: str, values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"angle": angles, "model": model, "prediction": values})


def movement_figure(movement: pd.DataFrame) -> Figure:
    return Figure("How far training moves the network, against width", _movement_chart(movement),
                  "movement", "Relative change of all parameters and of the tangent kernel on the training inputs, "
                  "log-log. The dashed line has slope −1/2: in NTK parameterization the weights follow it; the "
                  "kernel falls at least as fast. In μP the kernel change stays O(1) at every width: that is the "
                  "feature-learning signal. The weights' change stays O(1) only with one hidden layer; from two on "
                  "it falls with width (the n × n hidden matrices dominate |W₀|) while the kernel still moves."
                  + _movement_numbers(movement))


def function_figure(function: pd.DataFrame) -> Figure:
    return Figure("What the trained networks compute (a 1-D task on a circle)", _function_chart(function), "function",
                  f"{FUNCTION_N} points on a circle, angle on the x axis. Each net shows f − f₀ (its initial "
                  "random function removed). Dashes: what gradient descent on the linearised model "
                  "with the analytic NTK predicts after the same steps. Wider nets land on it.")


def _movement_numbers(movement: pd.DataFrame) -> str:
    """This run's narrowest and widest trained nets, in numbers."""
    done = movement.dropna(subset=["rel_weight_change", "rel_kernel_change"]) if len(movement) else movement
    if len(done) < 2:
        return ""
    a, b = done.iloc[0], done.iloc[-1]
    return (f" Here, from width {int(a['width'])} to {int(b['width'])}, the weight change goes "
            f"{a['rel_weight_change']:.2g} → {b['rel_weight_change']:.2g} and the kernel change "
            f"{a['rel_kernel_change']:.2g} → {b['rel_kernel_change']:.2g}.")


def _movement_chart(movement: pd.DataFrame) -> alt.LayerChart:
    long = movement.melt(id_vars=["width", "train_loss"], value_vars=["rel_weight_change", "rel_kernel_change"],
                         var_name="quantity", value_name="change").dropna()
    long = long[long["change"] > 0]
    long["quantity"] = long["quantity"].map({"rel_weight_change": WEIGHTS, "rel_kernel_change": KERNEL})
    colors = alt.Scale(domain=[WEIGHTS, KERNEL, GUIDE], range=[PALETTE.blue, PALETTE.red, PALETTE.grey])
    legend = alt.Legend(orient="bottom", labelLimit=0, labelFontSize=12)
    x = alt.X("width:Q", title="width (hidden units per layer)", scale=alt.Scale(type="log", base=2))
    y = alt.Y("change:Q", title="relative change (log scale)", scale=alt.Scale(type="log"))
    lines = alt.Chart(long).mark_line(point=True).encode(
        x=x, y=y, color=alt.Color("quantity:N", title=None, scale=colors, legend=legend),
        tooltip=["width", "quantity", alt.Tooltip("change:Q", format=".3g"), alt.Tooltip("train_loss:Q", format=".3g")],
    )
    guide = alt.Chart(_guide(movement)).mark_line(strokeDash=[6, 4], strokeWidth=2).encode(
        x=x, y=y, color=alt.Color("quantity:N", scale=colors, legend=legend))
    return alt.layer(guide, lines).properties(height=400)


def _guide(movement: pd.DataFrame) -> pd.DataFrame:
    """A width^-1/2 line, drawn at twice the geometric mean of the weight changes so it sits just
    above them: parallel to the data exactly when the theory's slope holds."""
    ok = movement[np.isfinite(movement["rel_weight_change"]) & (movement["rel_weight_change"] > 0)]
    if ok.empty:
        return pd.DataFrame(columns=["width", "change", "quantity"])
    w0, c0 = np.exp(np.log(ok["width"]).mean()), 2 * np.exp(np.log(ok["rel_weight_change"]).mean())
    widths = np.array([movement["width"].min(), movement["width"].max()], dtype=float)
    return pd.DataFrame({"width": widths, "change": c0 * (widths / w0) ** -0.5, "quantity": GUIDE})


def _function_chart(function: pd.DataFrame) -> alt.LayerChart:
    nets = sorted((m for m in function["model"].unique() if m.startswith("width")), key=lambda m: int(m.split()[1]))
    palette = list(WIDTH_COLOURS[: len(nets)])
    colors = alt.Scale(domain=[*nets, KERNEL_MODEL, "target", "training data"],
                       range=[*palette, PALETTE.ink, PALETTE.light_grey, PALETTE.ink])
    color = alt.Color("model:N", title=None, scale=colors, legend=alt.Legend(orient="bottom", labelLimit=0))
    x = alt.X("angle:Q", title="angle on the circle (radians)",
              scale=alt.Scale(domain=[-math.pi, math.pi], nice=False), axis=alt.Axis(tickCount=8))
    y = alt.Y("prediction:Q", title="output")
    tooltip = ["model", alt.Tooltip("angle:Q", format=".2f"), alt.Tooltip("prediction:Q", format=".3f")]
    target = alt.Chart(function[function["model"] == "target"]).mark_line(strokeWidth=6, opacity=0.5).encode(
        x=x, y=y, color=color, tooltip=tooltip)
    net_lines = alt.Chart(function[function["model"].isin(nets)]).mark_line(strokeWidth=2).encode(
        x=x, y=y, color=color, tooltip=tooltip)
    kernel = alt.Chart(function[function["model"] == KERNEL_MODEL]).mark_line(strokeDash=[5, 3], strokeWidth=2).encode(
        x=x, y=y, color=color, tooltip=tooltip)
    points = alt.Chart(function[function["model"] == "training data"]).mark_point(filled=True, size=60).encode(
        x=x, y=y, color=color, tooltip=tooltip)
    return alt.layer(target, net_lines, kernel, points).properties(height=380)
