"""The settings, the data, and the constants every part of the experiment shares."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core import mlp
from core.contract import ConfigError, param

N_TEST = 500
#: Steps between the stopping rule's checks (and the progress reports).
CHUNK = 25
#: The seed's stopping rule: both nets' training loss below this ends training.
STOP_LOSS = 1e-6
#: A main net whose final training loss is above this has not found a minimum, and the page says so.
FIT_LOSS = 1e-3
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
    width: int = param(200, "hidden units per layer of the two nets", lo=2, hi=1000, label="hidden units per layer")
    depth: int = param(2, "hidden layers", lo=1, hi=4, label="hidden layers")
    n: int = param(50, "training samples", lo=10, hi=1000, label="training samples n")
    d: int = param(10, "input dimensions (the target sin(x₁ + x₂ + x₃) uses the first 3)", lo=1, hi=100,
                   label="input dimensions d")
    steps: int = param(5000, "most training steps per net", lo=100, hi=10000, step=100, label="most training steps")
    early_stop: bool = param(True, "stop once both nets' training loss is below 1e-6, as the textbook's script does",
                             label="stop at training loss 1e-6")
    optimizer: str = param("adam", "optimizer for the nets and the curve", choices=("adam", "sgd"), label="optimizer")
    lr: float = param(0.01, "learning rate", lo=1e-4, hi=1.0, log=True, label="learning rate")
    batch_size: int = param(0, "samples per training step, each net in its own shuffled order; 0 = all n "
                            "(full batch, the textbook's). Spawning needs fewer than n", lo=0, hi=1000,
                            label="batch size (0 = full batch)")
    init: str = param("normal", "initial weights: normal = N(0, 0.1²) for every weight and bias (the textbook's); "
                      "pytorch = uniform ±1/√fan-in, PyTorch's default", choices=("normal", "pytorch"),
                      label="initialisation")
    seed_a: int = param(1, "random seed of net A's initialisation (and of its batch order)", lo=0, hi=2**31 - 1,
                        label="random seed of net A")
    seed_b: int = param(2, "random seed of net B's initialisation (and of its batch order)", lo=0, hi=2**31 - 1,
                        label="random seed of net B")
    spawn_step: int = param(0, "0 = A and B start from their own random seeds; above 0, B starts as a copy of A at "
                            "this step and the two continue with different batch orders (needs a batch size below n)",
                            lo=0, hi=1000, label="spawn B from A at step")
    spawn_sweep: tuple[int, ...] = param((0,), "spawn steps whose children are compared with A at the main width "
                                         "(0 = an independent net; steps above 0 need a batch size below n)",
                                         lo=0, hi=10000, max_len=8, label="spawn steps to compare")
    points: int = param(21, "points on each path, t from 0 to 1", lo=3, hi=101, label="points on each path")
    align: bool = param(True, "also walk to B with its hidden units permuted to match A (weight matching)",
                        label="weight matching")
    curve: bool = param(True, "also train a quadratic Bezier curve from A to B", label="Bezier curve")
    curve_steps: int = param(200, "training steps of the curve's middle point", lo=50, hi=5000, step=50,
                             label="curve training steps")
    sweep_widths: tuple[int, ...] = param((16, 64, 200), "widths for the barrier-vs-width sweep (same random seeds)",
                                          lo=2, hi=1000, max_len=8, label="widths of the sweep")
    seed: int = param(42, "random seed for the data and the curve's random t", lo=0, hi=2**31 - 1, label="random seed")

    @property
    def minibatch(self) -> bool:
        """Steps on batches drawn in each net's own order (batch_size = n reshuffles the full batch)."""
        return self.batch_size > 0

    def check(self) -> None:
        """Refuse a spawn that cannot happen. With full batch (or a batch of all n samples) every step
        is the same deterministic gradient, so a child would take exactly its parent's steps and the
        two would stay one net: an error naming the field beats a run that draws a barrier of 0."""
        if self.batch_size > self.n:
            raise ConfigError(f"batch_size: {self.batch_size} is more than the n = {self.n} training samples; "
                              "allowed: 0 (full batch) to n")
        spawns = 0 < self.batch_size < self.n
        now = "0, the full batch" if self.batch_size == 0 else f"{self.batch_size}, every sample"
        if self.spawn_step >= self.steps:
            raise ConfigError(f"spawn_step: {self.spawn_step} must be below steps ({self.steps}); "
                              "B is spawned from A during training")
        if self.spawn_step and not spawns:
            raise ConfigError(f"spawn_step: spawning needs minibatches, a batch_size from 1 to n - 1 = {self.n - 1} "
                              f"(now {now}); with every sample in every step the child takes exactly A's steps and "
                              "stays A")
        late = [k for k in self.spawn_sweep if k >= self.steps]
        if late:
            raise ConfigError(f"spawn_sweep: {late[0]} must be below steps ({self.steps}); children are spawned "
                              "during training")
        if any(self.spawn_sweep) and not spawns:
            raise ConfigError(f"spawn_sweep: spawn steps above 0 need minibatches, a batch_size from 1 to n - 1 = "
                              f"{self.n - 1} (now {now}); with full batch use 0 alone")


def sizes(config: Config, width: int) -> tuple[int, ...]:
    return mlp.layer_sizes(config.d, width, config.depth)


def widths(config: Config) -> list[int]:
    """Every width trained: the main one and the sweep's."""
    return sorted({config.width, *config.sweep_widths})


def task(config: Config, device: torch.device) -> tuple[torch.Tensor, ...]:
    """The textbook's data: Gaussian inputs, target sin(x1+x2+x3), no noise; a held-out set from the
    same generator. With seed 42 the training inputs are exactly the textbook script's."""
    gen = torch.Generator().manual_seed(config.seed)
    x = torch.randn(config.n, config.d, generator=gen)
    x_test = torch.randn(N_TEST, config.d, generator=gen)
    target = [torch.sin(v[:, :3].sum(1, keepdim=True)) for v in (x, x_test)]
    return tuple(t.to(device) for t in (x, target[0], x_test, target[1]))
