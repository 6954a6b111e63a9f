"""Training: nets A and B of every width (independent, or B spawned from A), the spawn sweep's other
children, and the Bezier curve's middle point.

Spawning (Frankle, Dziugaite, Roy, Carbin 2020) without copying anything: a child spawned at step k
is drawn from A's seed and steps on A's batches until step k, so it IS A until then (same numbers,
same optimizer state), and on its own batch order from step k on. A and all its children therefore
train as one stack from the start, and the barrier for several spawn steps costs one run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import torch

from core import contract, mlp
from core.experiments.mode_connectivity.config import (
    CHUNK,
    CURVE_SAMPLES,
    STOP_LOSS,
    Config,
    sizes,
    widths,
)
from core.experiments.mode_connectivity.paths import Params, bezier, blend


@dataclass(frozen=True)
class Net:
    """One model of a width's stack: drawn from ``init_seed``; steps on its own batch order (from
    ``order_seed``) from step ``spawn`` on and on net A's before, so with spawn k > 0 it is a copy
    of A until step k: a child spawned there."""

    init_seed: int
    order_seed: int
    spawn: int


def net_a(config: Config) -> Net:
    return Net(config.seed_a, mlp.derive_seed(config.seed_a, "order"), 0)


def child(config: Config, spawn: int) -> Net:
    """Spawn step 0: an independent net B (its own seed and order); k > 0: a child of A spawned at k."""
    if spawn == 0:
        return Net(config.seed_b, mlp.derive_seed(config.seed_b, "order"), 0)
    return Net(config.seed_a, mlp.derive_seed(config.seed_b, "order", spawn), spawn)


def nets(config: Config, width: int) -> list[Net]:
    """The models of a width's stack: A, B (as the config says), then at the main width the spawn
    sweep's other children."""
    out = [net_a(config), child(config, config.spawn_step)]
    if width == config.width:
        out += [child(config, k) for k in config.spawn_sweep if k != config.spawn_step]
    return out


def sweep_index(config: Config, spawn: int) -> int:
    """Where the spawn sweep's child ``spawn`` sits in the main width's stack."""
    others = [k for k in config.spawn_sweep if k != config.spawn_step]
    return 1 if spawn == config.spawn_step else 2 + others.index(spawn)


class SpawnedOrders(mlp.Minibatches):
    """Each net's own shuffled batch order, except that a child takes net A's (model 0's) batches
    until its spawn step. The child's own order is drawn all along and discarded until then, so it
    is the same whatever the stack holds."""

    def __init__(self, n: int, size: int, members: list[Net]):
        super().__init__(n, size, [m.order_seed for m in members])
        self.spawns = [m.spawn for m in members]
        self.step = 0

    def next(self, steps: int) -> torch.Tensor:
        order = super().next(steps)
        for model, spawn in enumerate(self.spawns):
            follow = min(max(spawn - self.step, 0), steps)
            if follow:
                order[:follow, model] = order[:follow, 0]
        self.step += steps
        return order


def make_trainer(config: Config, width: int, x: torch.Tensor, y: torch.Tensor) -> mlp.Trainer:
    members = nets(config, width)
    std = 0.1 if config.init == "normal" else None
    stack = mlp.init_stack(sizes(config, width), [m.init_seed for m in members], device=x.device, init_std=std)
    batches = SpawnedOrders(config.n, config.batch_size, members) if config.minibatch else None
    return mlp.Trainer(stack, x, y, lr=config.lr, optimizer=config.optimizer, steps=config.steps, batches=batches)


def full_losses(trainer: mlp.Trainer, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Every model's loss on the whole training set, now (one forward)."""
    with torch.no_grad():
        return mlp.mse_per_model(mlp.predict(trainer.stack, x), y)


class Curves:
    """The main width's nets A and B: training loss on the whole training set as they train. Full
    batch: the trainer's own loss before every step. Minibatches: one forward every CHUNK steps
    (the stopping rule's own numbers)."""

    def __init__(self, config: Config, trainer: mlp.Trainer):
        self.config, self.trainer = config, trainer
        self.steps: list[int] = []
        self.losses: list[torch.Tensor] = []

    def record(self, losses: torch.Tensor) -> None:
        self.steps.append(self.trainer.done)
        self.losses.append(losses[:2].cpu())

    def frame(self) -> pd.DataFrame:
        t = self.trainer
        if self.config.minibatch:
            steps, losses = self.steps, torch.stack(self.losses) if self.losses else torch.empty(0, 2)
        else:
            steps, losses = list(range(t.done)), t.losses[: t.done, :2].cpu()
        values = losses.double().numpy()
        return pd.DataFrame({"step": steps * 2, "net": ["A"] * len(steps) + ["B"] * len(steps),
                             "train_loss": [*values[:, 0], *values[:, 1]]}, columns=TRAINING_COLUMNS)


TRAINING_COLUMNS = ["step", "net", "train_loss"]


def _converged(trainer: mlp.Trainer, losses: torch.Tensor | None, last_spawn: int) -> bool:
    """The textbook's rule, every net of the stack below 1e-6 (with minibatches: ``losses``, on the
    whole training set), once every child has been spawned."""
    if trainer.done == 0 or trainer.done < last_spawn:
        return False
    latest = trainer.losses[trainer.done - 1] if losses is None else losses
    return float(latest.max()) < STOP_LOSS


def train(config: Config, x: torch.Tensor, y: torch.Tensor, report: contract.Progress,
          stream: bool = True) -> tuple[dict[int, mlp.Trainer], Curves]:
    """Nets A and B of every width (and the spawn sweep's children at the main width), each width
    one stack trained together, in interleaved chunks; a stack stops at the seed's rule or on
    divergence. Reports progress every chunk, with (if ``stream``) the main pair's training curves
    after chunks 1 to 8, 10, 12, 15, 18, ... (a 5000-step run builds its table 23 times, not 200),
    and returns the curves."""
    trainers = {w: make_trainer(config, w, x, y) for w in widths(config)}
    last_spawn = {w: max(m.spawn for m in nets(config, w)) for w in trainers}
    curves = Curves(config, trainers[config.width])
    if config.minibatch:
        curves.record(full_losses(curves.trainer, x, y))
    active = dict(trainers)
    chunks, next_stream = 0, 1
    while active:
        chunks += 1
        for width, t in list(active.items()):
            t.advance(CHUNK)
            losses = full_losses(t, x, y) if config.minibatch else None
            if width == config.width and losses is not None:
                curves.record(losses)
            if t.finished or (config.early_stop and _converged(t, losses, last_spawn[width])):
                del active[width]
        tables = None
        if stream and chunks >= next_stream:
            tables, next_stream = {"training": curves.frame()}, max(chunks + 1, int(chunks * 1.25))
        report(0.5 * sum(t.done for t in trainers.values()) / (config.steps * len(trainers)),
               f"training nets A and B: step {max((t.done for t in active.values()), default=config.steps)}", tables)
    return trainers, curves


def train_pairs(config: Config, x: torch.Tensor, y: torch.Tensor, report: contract.Progress) -> dict[int, mlp.Trainer]:
    """``train`` without the curves: every width's trainer (models 0 and 1 of each stack are A and B)."""
    return train(config, x, y, lambda fraction, message="", tables=None: report(fraction, message), stream=False)[0]


def train_curve(config: Config, a: Params, b: Params, x: torch.Tensor, y: torch.Tensor,
                tick: Callable[[int], None] | None = None) -> tuple[Params, torch.Tensor]:
    """The middle point m of the Bezier curve from a to b, trained on the loss averaged over random t.

    d theta(t) / d m = 2t(1-t), so m's gradient is the batch of the models' own gradients (the
    engine's backward) weighted by 2t(1-t). Starts at the midpoint of the straight line. ``tick``
    hears the steps done every CHUNK steps (progress, and a chance to interrupt).
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
        if tick is not None and (step + 1) % CHUNK == 0:
            tick(step + 1)
    return mid, mean_loss
