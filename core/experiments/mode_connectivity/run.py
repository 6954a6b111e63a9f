"""The run: train, walk the paths of the main width first (so the page draws them while the rest
computes), average, sweep the spawn step and the width, train the curve, map the plane."""

from __future__ import annotations

import itertools
import math

import pandas as pd
import torch

from core import contract, mlp
from core.contract import Result
from core.experiments.mode_connectivity import averaging
from core.experiments.mode_connectivity.config import (
    CHUNK,
    CURVE_SAMPLES,
    FIT_LOSS,
    GRID,
    MATCH_PASSES,
    N_TEST,
    Config,
    sizes,
    task,
    widths,
)
from core.experiments.mode_connectivity.paths import (
    align,
    barrier,
    bezier,
    concat,
    line,
    losses_along,
    path_frame,
    plane,
    spans_plane,
    unstack,
)
from core.experiments.mode_connectivity.training import nets, sweep_index, train, train_curve

SWEEP_COLUMNS = ["width", "barrier_linear", "barrier_aligned"]
SPAWN_COLUMNS = ["spawn_step", "spawn_fraction", "barrier_linear"]


def _forward_flops(shape: tuple[int, ...], n: int) -> float:
    return 2.0 * n * sum(i * o for i, o in itertools.pairwise(shape))


def _bias_flops(shape: tuple[int, ...], n: int) -> float:
    """A step's bias gradients, ones @ g per layer (``mlp.train_flops`` counts the weights only)."""
    return 2.0 * n * sum(shape[1:])


def _match_flops(shape: tuple[int, ...]) -> float:
    """One weight-matching pass: per hidden layer two similarity products and an h³ assignment."""
    return sum(2.0 * h * h * (i + o) + h**3 for i, h, o in zip(shape, shape[1:], shape[2:]))


def _cost(config: Config, steps_done: dict[int, int], curve_steps: int) -> float:
    """FLOPs of training every width's stack (with minibatches: b samples a step, plus the stopping
    rule's loss on all n every CHUNK steps), matching, the paths, the averages, the spawn sweep's
    paths, the curve and the plane."""
    total = 0.0
    batch = config.batch_size or config.n
    both = config.n + N_TEST
    for width in widths(config):
        shape, models, steps = sizes(config, width), len(nets(config, width)), steps_done[width]
        total += models * (mlp.train_flops(shape, batch, steps) + steps * _bias_flops(shape, batch))
        if config.minibatch:
            total += models * (math.ceil(steps / CHUNK) + 1) * _forward_flops(shape, config.n)
        total += (1 + config.align) * config.points * _forward_flops(shape, both)
        total += config.align * MATCH_PASSES * _match_flops(shape)
        if width == config.width:
            total += (models - 2) * config.points * _forward_flops(shape, config.n)
            total += (4 + config.align) * _forward_flops(shape, both)
    if config.curve:
        shape = sizes(config, config.width)
        total += CURVE_SAMPLES * (mlp.train_flops(shape, config.n, curve_steps) + curve_steps * _bias_flops(shape, config.n))
        total += config.points * _forward_flops(shape, both) + GRID**2 * _forward_flops(shape, config.n)
    return total


def flops(config: Config) -> float:
    """The most work a run may do: early stopping usually ends training far sooner."""
    return _cost(config, {w: config.steps for w in widths(config)}, config.curve_steps)


def size(config: Config) -> tuple[int, int]:
    return mlp.count_params(sizes(config, config.width)), config.n


def run(config: Config, progress: contract.Progress | None, dev: torch.device) -> Result:
    """Train the pairs, walk the paths (straight, aligned, curved), average, sweep the spawn step
    and the width, map the plane."""
    data = task(config, dev)
    x, y = data[:2]

    def report(fraction: float, message: str, tables: dict[str, pd.DataFrame] | None = None) -> None:
        if progress is not None:
            progress(fraction, message, tables)

    trainers, curves = train(config, x, y, report, stream=progress is not None)
    tables: dict[str, pd.DataFrame] = {"training": curves.frame()}
    t = torch.linspace(0, 1, config.points, device=dev)
    main = trainers[config.width]
    status = _diverged(config, trainers)
    ends: tuple[list[torch.Tensor], ...] = ()
    barriers: dict[str, float] = {}
    sweep_rows = []
    order = [config.width, *(w for w in trainers if w != config.width)]
    for i, width in enumerate(order):
        trainer = trainers[width]
        report(0.5 + 0.2 * i / len(order), f"walking the paths of width {width}")
        walked = None if trainer.diverged_step is not None else _walk(config, trainer, t, data)
        found = {method: barrier(train_loss, t) for method, (train_loss, _) in (walked or ({}, None))[0].items()}
        if width == config.width:
            barriers = found
            tables["path"] = concat([path_frame(t, m, *losses) for m, losses in walked[0].items()] if walked else [])
            tables["averages"] = averaging.averages(*walked[1], data) if walked else averaging.empty()
            tables["barrier_vs_spawn"] = _spawn_sweep(config, trainer, t, x, y, found) if walked else _no_rows(SPAWN_COLUMNS)
            ends = walked[1] if walked else ()
            report(0.5 + 0.2 / len(order), f"walked the paths of width {width}", tables)
        if width in config.sweep_widths:
            sweep_rows.append({"width": width, "barrier_linear": found.get("linear", math.nan),
                               "barrier_aligned": found.get("aligned", math.nan)})
    tables["barrier_vs_width"] = pd.DataFrame(sorted(sweep_rows, key=lambda r: r["width"]), columns=SWEEP_COLUMNS)
    end_losses = _end_losses(tables["path"])
    status = status if not status.ok else _fit_status(end_losses)
    curve_steps = 0
    if config.curve and ends:
        report(0.7, "training the Bezier curve", tables)
        a, b = ends[0], ends[1]
        mid, curve_loss = train_curve(config, a, b, x, y, lambda step: report(
            0.7 + 0.25 * step / config.curve_steps, f"training the Bezier curve: step {step}"))
        curve_steps = config.curve_steps
        if not bool(torch.isfinite(curve_loss).all()) and status.ok:
            status = contract.warning(f"the curve's training diverged: try a smaller learning rate, e.g. lr={config.lr / 10:g}")
        coeffs = bezier(t)
        train_loss, test_loss = losses_along([a, mid, b], coeffs, x, y), losses_along([a, mid, b], coeffs, *data[2:])
        barriers["curve"] = barrier(train_loss, t)
        tables["path"] = concat([tables["path"], path_frame(t, "curve", train_loss, test_loss)])
        report(0.95, "mapping the loss over the plane", tables)
        if spans_plane(a, b, mid):
            tables["plane"], tables["plane_points"] = plane(a, b, mid, x, y)
    metrics = {
        "barrier_linear": barriers.get("linear", math.nan),
        "barrier_aligned": barriers.get("aligned", math.nan),
        "barrier_curve": barriers.get("curve", math.nan),
        **end_losses,
        **averaging.metrics(tables["averages"]),
        "train_steps": main.done,
    }
    report(1.0, "done")
    return Result(metrics, tables, status, flops=_cost(config, {w: tr.done for w, tr in trainers.items()}, curve_steps))


def _walk(config: Config, trainer: mlp.Trainer, t: torch.Tensor, data: tuple[torch.Tensor, ...]) -> tuple[dict, tuple]:
    """Train and test loss along the straight path A→B and, with alignment, A→permuted B; and the
    three end points (A, B, aligned B or None)."""
    x, y, x_test, y_test = data
    a, b = unstack(trainer.stack, 0), unstack(trainer.stack, 1)
    aligned = align(a, b) if config.align else None
    ends = {"linear": b, **({"aligned": aligned} if aligned is not None else {})}
    paths = {method: (losses_along([a, end], line(t), x, y), losses_along([a, end], line(t), x_test, y_test))
             for method, end in ends.items()}
    return paths, (a, b, aligned)


def _spawn_sweep(config: Config, trainer: mlp.Trainer, t: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                 found: dict[str, float]) -> pd.DataFrame:
    """The training-loss barrier between A and each child of the spawn sweep (spawn step 0: an
    independent net), and the spawn step as a fraction of the steps the main stack trained."""
    a = unstack(trainer.stack, 0)
    rows = []
    for spawn in config.spawn_sweep:
        index = sweep_index(config, spawn)
        found_here = found["linear"] if index == 1 else barrier(
            losses_along([a, unstack(trainer.stack, index)], line(t), x, y), t)
        rows.append({"spawn_step": spawn, "spawn_fraction": spawn / max(trainer.done, 1), "barrier_linear": found_here})
    return pd.DataFrame(rows, columns=SPAWN_COLUMNS)


def _no_rows(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=columns)


def _end_losses(path: pd.DataFrame) -> dict[str, float]:
    """Training loss of the final nets A and B (the ends of the straight path)."""
    rows = path[path["method"] == "linear"] if len(path) else path
    if not len(rows):
        return {"end_loss_a": math.nan, "end_loss_b": math.nan}
    loss = rows.sort_values("t")["train_loss"]
    return {"end_loss_a": float(loss.iloc[0]), "end_loss_b": float(loss.iloc[-1])}


def _diverged(config: Config, trainers: dict[int, mlp.Trainer]) -> contract.Status:
    for width, t in trainers.items():
        if t.diverged_step is not None:
            spawn = nets(config, width)[t.diverged_model].spawn
            net = f"net {'AB'[t.diverged_model]}" if t.diverged_model < 2 else (
                f"the child spawned at step {spawn}" if spawn else "the independent net of the spawn sweep")
            return contract.warning(f"{net} of width {width} diverged at step {t.diverged_step}: the loss blew up, so its paths "
                    f"are not drawn; try a smaller learning rate, e.g. lr={config.lr / 10:g}")
    return contract.OK


def _fit_status(end_losses: dict[str, float]) -> contract.Status:
    worst = max(end_losses.values())
    if worst > FIT_LOSS:
        net = "A" if end_losses["end_loss_a"] >= end_losses["end_loss_b"] else "B"
        return contract.warning(f"net {net} ended at training loss {worst:.2g}, not at a minimum, so the barrier "
                f"compares poor fits; try more steps, Adam, or another learning rate")
    return contract.OK
