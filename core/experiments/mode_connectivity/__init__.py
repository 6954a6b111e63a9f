"""Mode connectivity: is there a hill between two trained networks, what removes it, and what does
averaging them give?

The seed's second script, live: two nets trained from different seeds, then the loss along the
straight line between their weights. Then the two explanations of the hill: the hidden units of
the second net are a permutation away from the first's (weight matching, Git Re-Basin), and a
curved path joins the two minima at low loss (a trained quadratic Bezier curve, Garipov et al.).
Then the seed's claim that averaging within a basin helps: the two nets' outputs and weights
averaged, plain and aligned; and nets that do share a basin, children spawned from one parent
partway through training (Frankle et al. 2020), with the barrier against the spawn step.

config (settings, data), paths (weight-space blends, barrier, weight matching, the plane),
training (pairs, spawning, minibatch orders, the curve), averaging, run, figures.
"""

from __future__ import annotations

from core import contract
from core.experiments.mode_connectivity.averaging import averages
from core.experiments.mode_connectivity.config import (
    CHUNK,
    FIT_LOSS,
    GRID,
    N_TEST,
    STOP_LOSS,
    Config,
    sizes,
    task,
    widths,
)
from core.experiments.mode_connectivity.figures import LABELS, averages_caption, make_charts, spawn_caption
from core.experiments.mode_connectivity.paths import (
    Params,
    align,
    barrier,
    bezier,
    blend,
    line,
    losses_along,
    plane,
    unstack,
)
from core.experiments.mode_connectivity.run import flops, run, size
from core.experiments.mode_connectivity.training import (
    Net,
    SpawnedOrders,
    child,
    net_a,
    nets,
    train,
    train_curve,
    train_pairs,
)

__all__ = [
    "CHUNK", "EXPERIMENT", "FIT_LOSS", "GRID", "LABELS", "N_TEST", "PRESETS", "STOP_LOSS", "Config", "Net", "Params",
    "SpawnedOrders", "align", "averages", "averages_caption", "barrier", "bezier", "blend", "child", "flops",
    "line", "losses_along", "make_charts", "net_a", "nets", "plane", "run", "size", "sizes", "spawn_caption",
    "task", "train", "train_curve", "train_pairs", "unstack", "widths",
]

#: Named settings that make the point: the page offers them, the warm start computes them.
PRESETS = {
    "The textbook's setting": {},
    "PyTorch's init: alignment shrinks with width": {"init": "pytorch", "sweep_widths": (16, 32, 64, 128, 256)},
    "The textbook's initialisation, wider nets (lazy, alignment fails)": {"sweep_widths": (25, 50, 100, 200, 400), "curve": False},
    "Enough data to learn the function (n = 500)": {"n": 500, "init": "pytorch", "width": 128,
                                                    "sweep_widths": (32, 128)},
    "Spawned children: one basin": {"batch_size": 10, "optimizer": "sgd", "lr": 0.2, "spawn_step": 5,
                                    "spawn_sweep": (0, 1, 2, 3, 5, 10, 20, 50)},
}

EXPERIMENT = contract.Experiment(
    name="mode-connectivity",
    title="Mode connectivity",
    claim="Two nets from different seeds: a hill on the straight line between them, mostly a permutation, "
          "and a low curved path; children spawned from one net share its basin.",
    icon=":material/conversion_path:",
    order=70,
    config=Config,
    run=run,
    flops=flops,
    charts=make_charts,
    size=size,
    presets=PRESETS,
    labels=LABELS,
)
