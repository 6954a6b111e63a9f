"""Deep double descent: the test loss of trained networks against their size peaks where they
can just fit their noisy training labels (near p = n K) and falls again beyond (Belkin et al.
2019; Nakkiran et al. 2019).

config (the settings, sizes, FLOPs), data (digits or a generated task, label noise), networks (every
width in the engine, streamed), random_features (the closed-form analogue), run (the run and its
metrics), figures (charts and captions).
"""

from __future__ import annotations

from core import contract
from core.experiments.deep_double_descent.config import (
    DEFAULT_WIDTHS,
    LABELS,
    N_CLASSES,
    N_FEATURES,
    Config,
    flops,
    params,
    schedule,
    size,
    sizes,
    threshold,
)
from core.experiments.deep_double_descent.data import Data, load
from core.experiments.deep_double_descent.figures import epoch_widths, make_charts
from core.experiments.deep_double_descent.networks import EPOCH_COLUMNS, SWEEP_COLUMNS, groups_for, train
from core.experiments.deep_double_descent.random_features import readout
from core.experiments.deep_double_descent.run import metrics, run

__all__ = [
    "DEFAULT_WIDTHS", "EPOCH_COLUMNS", "EXPERIMENT", "LABELS", "N_CLASSES", "N_FEATURES", "PRESETS", "SWEEP_COLUMNS", "Config",
    "Data", "epoch_widths", "flops", "groups_for", "load", "make_charts", "metrics", "params", "readout", "run",
    "schedule", "size", "sizes", "threshold", "train",
]

#: Named settings that make the point: the page offers them, the warm start computes them.
PRESETS = {
    "20% noisy labels (the lecture plot)": {},
    "Clean labels": {"label_noise": 0.0},
    "Heavy noise: 40% of the labels": {"label_noise": 0.4},
    "Weight decay 0.001": {"weight_decay": "0.001"},
    "Early stopping: 100 steps": {"steps": 100},
    "Cross-entropy": {"loss": "cross-entropy"},
    "A generated task": {"dataset": "synthetic"},
}

EXPERIMENT = contract.Experiment(
    name="deep-double-descent",
    title="Deep double descent",
    claim="Trained networks' test loss peaks where they can just fit noisy labels, then falls again as they grow.",
    icon=":material/stacked_line_chart:",
    order=35,
    config=Config,
    run=run,
    flops=flops,
    charts=make_charts,
    size=size,
    presets=PRESETS,
    labels=LABELS,
)
