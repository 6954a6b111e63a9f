"""Mode connectivity: is there a hill between two trained networks, and what removes it?

The seed's second script, live: two nets trained from different seeds, then the loss along the
straight line between their weights. Then the two explanations of the hill: the hidden units of
the second net are a permutation away from the first's (weight matching, Git Re-Basin), and a
curved path joins the two minima at low loss (a trained quadratic Bezier curve, Garipov et al.).
Every path is evaluated as ONE stack of interpolated models through ``core.mlp.predict``.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
import torch

from core import contract, mlp, rebasin
from core.contract import Figure, Result, param
from core.device import describe, pick_device

N_TEST = 500
CHUNK = 25
#: The seed's stopping rule: both nets' training loss below this ends training.
STOP_LOSS = 1e-6
#: Random t values per curve-training step (stratified: one in each of 4 equal slices of [0, 1]);
#: 8 gave no lower loss for twice the time.
CURVE_SAMPLES = 4
#: Grid points per side of the loss-plane heatmap.
GRID = 25
#: Weight-matching passes assumed by the cost estimate (measured: 5-40 until a fixed point).
MATCH_PASSES = 30
#: Floats (weights plus activations) per evaluation chunk, so 101 points of width 1000 fit in memory.
EVAL_FLOATS = 2**24


@dataclass(frozen=True)
class Config:
    width: int = param(200, "hidden units per layer of the two nets", lo=2, hi=1000)
    depth: int = param(2, "hidden layers", lo=1, hi=4)
    n: int = param(50, "training samples", lo=10, hi=1000)
    d: int = param(10, "input dimensions (the target sin(x1+x2+x3) uses the first 3)", lo=1, hi=100)
    steps: int = param(5000, "most full-batch training steps per net", lo=100, hi=10000, step=100)
    early_stop: bool = param(True, "stop once both nets' training loss is below 1e-6, as the seed does")
    optimizer: str = param("adam", "optimizer for the nets and the curve", choices=("adam", "sgd"))
    lr: float = param(0.01, "learning rate", lo=1e-4, hi=1.0, log=True)
    init: str = param("normal", "initial weights: normal = N(0, 0.1²) for every weight and bias (the seed); "
                      "pytorch = uniform ±1/sqrt(fan_in), PyTorch's default", choices=("normal", "pytorch"))
    seed_a: int = param(1, "initialisation seed of net A", lo=0, hi=2**31 - 1)
    seed_b: int = param(2, "initialisation seed of net B", lo=0, hi=2**31 - 1)
    points: int = param(21, "points on each path, t from 0 to 1", lo=3, hi=101)
    align: bool = param(True, "also walk to B with its hidden units permuted to match A (weight matching)")
    curve: bool = param(True, "also train a quadratic Bezier curve from A to B")
    curve_steps: int = param(200, "training steps of the curve's middle point", lo=50, hi=5000, step=50)
    sweep_widths: tuple[int, ...] = param((16, 64, 200), "widths for the barrier-vs-width sweep (same seeds)",
                                          lo=2, hi=1000, max_len=8)
    seed: int = param(42, "random seed for the data and the curve's random t", lo=0, hi=2**31 - 1)


def sizes(config: Config, width: int) -> tuple[int, ...]:
    return mlp.layer_sizes(config.d, width, config.depth)


def _widths(config: Config) -> list[int]:
    return sorted({config.width, *config.sweep_widths})


def _forward_flops(shape: tuple[int, ...], n: int) -> float:
    return 2.0 * n * sum(i * o for i, o in itertools.pairwise(shape))


def _match_flops(shape: tuple[int, ...]) -> float:
    """One weight-matching pass: per hidden layer two similarity products and an h³ assignment."""
    return sum(2.0 * h * h * (i + o) + h**3 for i, h, o in zip(shape, shape[1:], shape[2:]))


def _cost(config: Config, steps_done: dict[int, int], curve_steps: int) -> float:
    """FLOPs of training both nets per width, matching, the curve, and evaluating every path."""
    total = 0.0
    for width in _widths(config):
        shape = sizes(config, width)
        total += 2 * mlp.train_flops(shape, config.n, steps_done[width])
        total += (1 + config.align) * config.points * _forward_flops(shape, config.n + N_TEST)
        total += config.align * MATCH_PASSES * _match_flops(shape)
    if config.curve:
        shape = sizes(config, config.width)
        total += CURVE_SAMPLES * mlp.train_flops(shape, config.n, curve_steps)
        total += config.points * _forward_flops(shape, config.n + N_TEST) + GRID**2 * _forward_flops(shape, config.n)
    return total


def flops(config: Config) -> float:
    """The most work a run may do: early stopping usually ends training far sooner."""
    return _cost(config, {w: config.steps for w in _widths(config)}, config.curve_steps)


def task(config: Config, device: torch.device) -> tuple[torch.Tensor, ...]:
    """The seed's data: Gaussian inputs, target sin(x1+x2+x3), no noise; a held-out set from the
    same generator. With seed 42 the training inputs are exactly the seed script's."""
    gen = torch.Generator().manual_seed(config.seed)
    x = torch.randn(config.n, config.d, generator=gen)
    x_test = torch.randn(N_TEST, config.d, generator=gen)
    target = [torch.sin(v[:, :3].sum(1, keepdim=True)) for v in (x, x_test)]
    return tuple(t.to(device) for t in (x, target[0], x_test, target[1]))


# --- points in weight space -------------------------------------------------------------------

Params = list[torch.Tensor]  # one model: [w1, b1, w2, b2, ...], weights [fan_in, fan_out], biases [1, fan_out]


def unstack(stack: mlp.MLPStack, index: int) -> Params:
    return [p[index].clone() for p in stack.params()]


def blend(anchors: list[Params], coeffs: torch.Tensor) -> mlp.MLPStack:
    """One model per row of ``coeffs`` [P, k]: the weighted sum of the k anchor models."""
    mixed = [torch.einsum("pk,k...->p...", coeffs, torch.stack(group)) for group in zip(*anchors)]
    return mlp.MLPStack(mixed[0::2], mixed[1::2])


def losses_along(anchors: list[Params], coeffs: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """MSE of every blended model [P], evaluated in chunks of models as one batched forward each."""
    per_model = sum(p.numel() for p in anchors[0]) + x.shape[0] * sum(p.shape[-1] for p in anchors[0][1::2])
    chunk = max(1, EVAL_FLOATS // per_model)
    coeffs = coeffs.to(device=x.device, dtype=x.dtype)
    with torch.no_grad():
        return torch.cat([mlp.mse_per_model(mlp.predict(blend(anchors, part), x), y) for part in coeffs.split(chunk)])


def line(t: torch.Tensor) -> torch.Tensor:
    return torch.stack([1 - t, t], 1)


def bezier(t: torch.Tensor) -> torch.Tensor:
    """Quadratic Bezier weights of (start, middle, end): theta(t) = (1-t)² a + 2t(1-t) m + t² b."""
    return torch.stack([(1 - t) ** 2, 2 * t * (1 - t), t**2], 1)


def barrier(losses: torch.Tensor, t: torch.Tensor) -> float:
    """Max over the path of the loss minus the straight line between the two end losses."""
    chord = (1 - t) * losses[0] + t * losses[-1]
    return float((losses - chord).max())


def align(a: Params, b: Params) -> Params:
    """Net B with its hidden units permuted to face A's most similar units: the same function."""
    perms = rebasin.weight_matching(a[0::2], a[1::2], b[0::2], b[1::2])
    weights, biases = rebasin.permute(b[0::2], b[1::2], perms)
    return [t for pair in zip(weights, biases) for t in pair]


# --- training -----------------------------------------------------------------------------------

def _init(config: Config, width: int, device: torch.device) -> mlp.MLPStack:
    std = 0.1 if config.init == "normal" else None
    return mlp.init_stack(sizes(config, width), [config.seed_a, config.seed_b], device=device, init_std=std)


def _converged(trainer: mlp.Trainer) -> bool:
    return trainer.done > 0 and float(trainer.losses[trainer.done - 1].max()) < STOP_LOSS


def train_pairs(config: Config, x: torch.Tensor, y: torch.Tensor, report: contract.Progress) -> dict[int, mlp.Trainer]:
    """Nets A and B of every width, each pair one stack of two trained together, in interleaved
    chunks; a pair stops at the seed's rule (both below 1e-6) or on divergence."""
    trainers = {w: mlp.Trainer(_init(config, w, x.device), x, y, lr=config.lr, optimizer=config.optimizer,
                               steps=config.steps) for w in _widths(config)}
    active = list(trainers.values())
    while active:
        for t in active:
            t.advance(CHUNK)
        active = [t for t in active if not (t.finished or (config.early_stop and _converged(t)))]
        report(0.5 * sum(t.done for t in trainers.values()) / (config.steps * len(trainers)),
               f"training nets A and B: step {max((t.done for t in active), default=config.steps)}")
    return trainers


def train_curve(config: Config, a: Params, b: Params, x: torch.Tensor, y: torch.Tensor) -> tuple[Params, torch.Tensor]:
    """The middle point m of the Bezier curve from a to b, trained on the loss averaged over random t.

    d theta(t) / d m = 2t(1-t), so m's gradient is the batch of the models' own gradients (the
    engine's backward) weighted by 2t(1-t). Starts at the midpoint of the straight line.
    """
    mid = [((p + q) / 2).clone() for p, q in zip(a, b)]
    adam = mlp.Adam(mid, lr=config.lr) if config.optimizer == "adam" else None
    gen = torch.Generator().manual_seed(mlp.derive_seed(config.seed, "curve"))
    mean_loss = torch.empty(config.curve_steps, device=x.device)
    for step in range(config.curve_steps):
        t = (torch.arange(CURVE_SAMPLES) + torch.rand(CURVE_SAMPLES, generator=gen)) / CURVE_SAMPLES
        coeffs = bezier(t).to(x.device, x.dtype)
        stack = blend([a, mid, b], coeffs)
        out, inputs = mlp.forward(stack, x)
        mean_loss[step] = mlp.mse_per_model(out, y).mean()
        weight = (coeffs[:, 1] / CURVE_SAMPLES).view(-1, 1, 1)
        grads = [(weight * g).sum(0) for g in mlp.backward(stack, inputs, out, y)]
        if adam is None:
            torch._foreach_add_(mid, grads, alpha=-config.lr)
        else:
            adam.step(grads)
    return mid, mean_loss


# --- the run --------------------------------------------------------------------------------------

def run(config: Config, progress: contract.Progress | None = None, device: str | None = None) -> Result:
    """Train the pairs, walk the paths (straight, aligned, curved), sweep the width, map the plane."""
    start = time.perf_counter()
    dev = torch.device(device) if device else pick_device()
    x, y, x_test, y_test = task(config, dev)

    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(fraction, message)

    trainers = train_pairs(config, x, y, report)
    t = torch.linspace(0, 1, config.points, device=dev)
    path_rows, sweep_rows, barriers = [], [], {}
    for i, (width, trainer) in enumerate(trainers.items()):
        report(0.5 + 0.2 * i / len(trainers), f"walking the paths of width {width}")
        paths = {} if trainer.diverged_step is not None else _paths(config, trainer, t, (x, y, x_test, y_test))
        found = {method: barrier(train, t) for method, (train, _) in paths.items()}
        if width == config.width:
            barriers = found
            path_rows = [_path_frame(t, method, *losses) for method, losses in paths.items()]
        if width in config.sweep_widths:
            sweep_rows.append({"width": width, "barrier_linear": found.get("linear", math.nan),
                               "barrier_aligned": found.get("aligned", math.nan)})
    main = trainers[config.width]
    tables = {"path": _concat(path_rows), "barrier_vs_width": pd.DataFrame(sweep_rows, columns=[
        "width", "barrier_linear", "barrier_aligned"])}
    curve_steps, status = 0, _status(config, trainers)
    if config.curve and main.diverged_step is None:
        report(0.7, "training the Bezier curve")
        a, b = unstack(main.stack, 0), unstack(main.stack, 1)
        mid, curve_loss = train_curve(config, a, b, x, y)
        curve_steps = config.curve_steps
        if not bool(torch.isfinite(curve_loss).all()):
            status = f"the curve's training diverged: try a smaller learning rate, e.g. lr={config.lr / 10:g}"
        train, test = losses_along([a, mid, b], bezier(t), x, y), losses_along([a, mid, b], bezier(t), x_test, y_test)
        barriers["curve"] = barrier(train, t)
        tables["path"] = _concat([*path_rows, _path_frame(t, "curve", train, test)])
        report(0.95, "mapping the loss over the plane")
        if _spans_plane(a, b, mid):
            tables["plane"], tables["plane_points"] = plane(a, b, mid, x, y)
    done = {w: tr.done for w, tr in trainers.items()}
    metrics = {
        "status": status,
        "barrier_linear": barriers.get("linear", math.nan),
        "barrier_aligned": barriers.get("aligned", math.nan),
        "barrier_curve": barriers.get("curve", math.nan),
        **_end_losses(path_rows),
        "train_steps": main.done,
        **contract.cost_metrics(mlp.count_params(sizes(config, config.width)), config.n, _cost(config, done, curve_steps),
                                time.perf_counter() - start, describe(dev)),
    }
    report(1.0, "done")
    return Result(metrics, tables)


def _end_losses(path_rows: list[pd.DataFrame]) -> dict[str, float]:
    """Training loss of the final nets A and B (the ends of the straight path)."""
    if not path_rows:
        return {"end_loss_a": math.nan, "end_loss_b": math.nan}
    loss = path_rows[0]["train_loss"]
    return {"end_loss_a": float(loss.iloc[0]), "end_loss_b": float(loss.iloc[-1])}


def _paths(config: Config, trainer: mlp.Trainer, t: torch.Tensor, data: tuple[torch.Tensor, ...]) -> dict:
    """Train and test loss along the straight path A→B and, with alignment, A→permuted B."""
    x, y, x_test, y_test = data
    a, b = unstack(trainer.stack, 0), unstack(trainer.stack, 1)
    ends = {"linear": b, **({"aligned": align(a, b)} if config.align else {})}
    return {method: (losses_along([a, end], line(t), x, y), losses_along([a, end], line(t), x_test, y_test))
            for method, end in ends.items()}


def _path_frame(t: torch.Tensor, method: str, train: torch.Tensor, test: torch.Tensor) -> pd.DataFrame:
    return pd.DataFrame({"t": t.cpu().numpy().round(6), "method": method,
                         "train_loss": train.cpu().numpy(), "test_loss": test.cpu().numpy()})


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    columns = ["t", "method", "train_loss", "test_loss"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


#: A main net whose final training loss is above this has not found a minimum, and the page says so.
FIT_LOSS = 1e-3


def _status(config: Config, trainers: dict[int, mlp.Trainer]) -> str:
    for width, t in trainers.items():
        if t.diverged_step is not None:
            net = "AB"[t.diverged_model]
            return (f"net {net} of width {width} diverged at step {t.diverged_step}: the loss blew up, so its paths "
                    f"are not drawn; try a smaller learning rate, e.g. lr={config.lr / 10:g}")
    main = trainers[config.width]
    worst = main.losses[main.done - 1]
    if float(worst.max()) > FIT_LOSS:
        net = "AB"[int(worst.argmax())]
        return (f"net {net} ended at training loss {float(worst.max()):.2g}, not at a minimum, so the barrier "
                f"compares poor fits; try more steps, Adam, or another learning rate")
    return "ok"


def _flat(net: Params) -> torch.Tensor:
    return torch.cat([p.flatten() for p in net]).double()


def _spans_plane(a: Params, b: Params, mid: Params) -> bool:
    """False when the three points are (nearly) on one line, e.g. the same seed for A and B."""
    u, v = _flat(b) - _flat(a), _flat(mid) - _flat(a)
    return float(u.norm()) > 1e-9 and float((v - (v @ u) / (u @ u) * u).norm()) > 1e-6 * float(u.norm())


def plane(a: Params, b: Params, mid: Params, x: torch.Tensor, y: torch.Tensor) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training loss over the plane through A, B and the curve's middle point (which holds the
    whole curve), in orthonormal coordinates: x along B − A, y toward the middle point."""
    flat = [_flat(net) for net in (a, b, mid)]
    u, v = flat[1] - flat[0], flat[2] - flat[0]
    length = float(u.norm())
    along = float(v @ u) / length
    height = float((v - along * u / length).norm())
    xs = np.linspace(-0.2 * length, 1.2 * length, GRID)
    ys = np.linspace(-0.25 * height, 1.25 * height, GRID)
    gx, gy = (g.ravel() for g in np.meshgrid(xs, ys))
    beta = gy / height
    alpha = gx / length - beta * along / length
    coeffs = torch.as_tensor(np.stack([1 - alpha - beta, alpha, beta], 1))
    loss = losses_along([a, b, mid], coeffs, x, y).cpu().numpy()
    grid = pd.DataFrame({"x": gx, "y": gy, "train_loss": loss})
    points = pd.DataFrame({"point": ["net A", "net B", "curve middle point"], "x": [0.0, length, along],
                           "y": [0.0, 0.0, height]})
    return grid, points


# --- charts ---------------------------------------------------------------------------------------

COLORS = {"linear": "#d62728", "aligned": "#1f77b4", "curve": "#2ca02c"}


def _method_colors(present: pd.Series) -> alt.Scale:
    """Fixed colours per path, listing only the paths drawn (a toggle turns some off)."""
    shown = [m for m in COLORS if m in set(present)]
    return alt.Scale(domain=shown, range=[COLORS[m] for m in shown])


def make_charts(result: Result) -> list[Figure]:
    figures = []
    path = result.tables.get("path")
    if path is not None and len(path):
        figures.append(Figure("Loss along the path from net A (t = 0) to net B (t = 1)", _path_chart(path), "path",
                              "Straight line (red), straight line to B after permuting its hidden units to match A "
                              "(blue), trained Bezier curve (green). Dashed grey: the straight line between the end "
                              "losses, from which the barrier is measured." + _barrier_text(result.metrics)))
    sweep = result.tables.get("barrier_vs_width")
    if sweep is not None and len(sweep):
        figures.append(Figure("Barrier vs width", _sweep_chart(sweep), "barrier_vs_width",
                              "Barrier of the training loss on the straight path, before and after weight matching, "
                              "for two nets of each width trained from the same two seeds. With the seed's init "
                              "(every weight N(0, 0.1²)) wider nets start larger and keep more of their random start, "
                              "so alignment helps less as width grows; with init = pytorch it helps more (see Why?)."))
    if "plane" in result.tables:
        figures.append(Figure("Training loss over the plane through A, B and the curve's middle point",
                              _plane_chart(result.tables["plane"], result.tables["plane_points"]), "plane",
                              "The straight path runs along y = 0, through the high-loss ridge; "
                              "the Bezier curve (green) bends around it. Axes are distances in weight space."))
    return figures


def _barrier_text(metrics: dict) -> str:
    """The measured barriers, for the caption (the page's metric row holds only the cost)."""
    names = {"barrier_linear": "straight", "barrier_aligned": "after weight matching", "barrier_curve": "curve"}
    found = [f"{label} {metrics[key]:.3g}" for key, label in names.items() if not math.isnan(metrics.get(key, math.nan))]
    return f" Barriers of the training loss: {', '.join(found)}." if found else ""


def _path_chart(path: pd.DataFrame) -> alt.HConcatChart:
    long = path.melt(id_vars=["t", "method"], value_vars=["train_loss", "test_loss"], var_name="set", value_name="loss")
    panels = []
    for column, title in (("train_loss", "training loss (MSE)"), ("test_loss", "test loss (MSE)")):
        data = long[long["set"] == column]
        ends = data[data["method"] == data["method"].iloc[0]].sort_values("t").iloc[[0, -1]]
        chord = alt.Chart(ends).mark_line(strokeDash=[5, 4], color="grey").encode(x="t:Q", y="loss:Q")
        lines = alt.Chart(data).mark_line(point=True).encode(
            x=alt.X("t:Q", title="t (0 = net A, 1 = net B)"),
            y=alt.Y("loss:Q", title=title),
            color=alt.Color("method:N", title="path", scale=_method_colors(data["method"])),
            tooltip=["t", "method", alt.Tooltip("loss:Q", format=".3g")],
        )
        panels.append((chord + lines).properties(width=330, height=280))
    return alt.hconcat(*panels)


def _sweep_chart(sweep: pd.DataFrame) -> alt.Chart:
    long = sweep.melt(id_vars="width", var_name="path", value_name="barrier").dropna()
    long["path"] = long["path"].str.removeprefix("barrier_")
    return alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("width:Q", title="hidden units per layer", scale=alt.Scale(type="log", nice=False, padding=12)),
        y=alt.Y("barrier:Q", title="barrier (training MSE)"),
        color=alt.Color("path:N", title="path", scale=_method_colors(long["path"])),
        tooltip=["width", "path", alt.Tooltip("barrier:Q", format=".3g")],
    ).properties(height=280)


def _plane_chart(grid: pd.DataFrame, points: pd.DataFrame) -> alt.LayerChart:
    dx = float(np.diff(np.unique(grid["x"]))[0]) / 2
    dy = float(np.diff(np.unique(grid["y"]))[0]) / 2
    cells = grid.assign(x0=grid["x"] - dx, x1=grid["x"] + dx, y0=grid["y"] - dy, y1=grid["y"] + dy,
                        shown=grid["train_loss"].clip(lower=1e-4))
    heat = alt.Chart(cells).mark_rect().encode(
        x=alt.X("x0:Q", title="distance along B − A", scale=alt.Scale(nice=False)), x2="x1",
        y=alt.Y("y0:Q", title="distance toward the middle point", scale=alt.Scale(nice=False)),
        y2="y1", color=alt.Color("shown:Q", title="train loss", scale=alt.Scale(type="log", scheme="viridis")),
        tooltip=[alt.Tooltip("x:Q", format=".2f"), alt.Tooltip("y:Q", format=".2f"), alt.Tooltip("train_loss:Q", format=".3g")],
    )
    s = np.linspace(0, 1, 41)
    p = points.set_index("point")
    corners = [p.loc["net A"], p.loc["curve middle point"], p.loc["net B"]]
    weights = bezier(torch.as_tensor(s)).numpy()
    curve = pd.DataFrame({"x": weights @ [c["x"] for c in corners], "y": weights @ [c["y"] for c in corners], "s": s})
    path = alt.Chart(curve).mark_line(color="#2ca02c", strokeWidth=3).encode(x="x:Q", y="y:Q", order="s:Q")
    dots = alt.Chart(points).mark_point(filled=True, size=90, color="white", stroke="black").encode(
        x="x:Q", y="y:Q", tooltip=["point"])
    text = {"align": "left", "dx": 8, "dy": -10, "fontWeight": "bold"}
    halo = dots.mark_text(**text, stroke="white", strokeWidth=4, color="white").encode(text="point:N")
    labels = dots.mark_text(**text, color="black").encode(text="point:N")
    return (heat + path + dots + halo + labels).properties(height=340)


EXPERIMENT = contract.register(contract.Experiment(
    name="mode-connectivity",
    title="Mode connectivity",
    config=Config,
    run=run,
    flops=flops,
    charts=make_charts,
    summary="Two nets from different seeds: a hill on the straight line between them, mostly a permutation, "
            "and a curved path at low loss.",
))
