"""The deep-double-descent settings: one frozen Config drives the page, the cache key and the CLI;
the layer sizes, the evaluation schedule and the FLOP estimate follow from it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from core import mlp
from core.contract import param

DATASETS = ("digits", "synthetic")
LOSSES = tuple(mlp.LOSSES)
#: Classes and input dimensions of both data sets (the synthetic task has digits' shape).
N_CLASSES, N_FEATURES = 10, 64
#: Images in scikit-learn's digits; test points of the synthetic task.
N_DIGITS, N_TEST_SYNTHETIC = 1797, 1000
#: Every width from 2 to 256 in steps of sqrt(2), rounded: fifteen one-hidden-layer networks from
#: 160 to 19,210 parameters, through p = n K (width 26 at n = 200).
DEFAULT_WIDTHS = (2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 91, 128, 181, 256)
#: Weight decays offered: a list, not a slider, because a slider shows two decimals (0.001 reads
#: as 0.00) and the useful values span decades.
WEIGHT_DECAYS = ("0", "0.0001", "0.0003", "0.001", "0.003", "0.01")
#: The widest random-feature model solved beyond the networks' widths (see rf_widths).
RF_MAX_WIDTH = 2048

#: Words for the metrics and table columns, as a reader sees them (comparison table, tooltips).
LABELS = {
    "threshold_params": "interpolation threshold nK (parameters)",
    "labels_changed": "training labels made noisy",
    "interpolation_width": "narrowest width that fits every training label",
    "interpolation_params": "its parameters",
    "peak_width": "width of the highest test loss",
    "peak_params": "parameters at the highest test loss",
    "peak_test_loss": "highest test loss",
    "widest_test_loss": "test loss of the widest networks",
    "peak_over_widest": "highest test loss / widest networks' test loss",
    "largest_rise": "largest climb of the test loss above a narrower width's",
    "largest_rise_width": "width of that climb",
    "rf_threshold_width": "frozen first layer: width that can fit every target",
    "rf_peak_width": "frozen first layer: width of the highest test loss",
    "width": "hidden units",
    "params": "parameters p",
    "readout_params": "read-out parameters (w + 1) K",
    "p_over_nk": "p / (nK)",
    "train_error": "training error",
    "test_error": "test error",
    "train_loss": "training loss",
    "test_loss": "test loss",
    "norm": "norm of the read-out weights",
    "step": "training step",
}


@dataclass(frozen=True)
class Config:
    dataset: str = param("digits", "digits: scikit-learn's 8x8 handwritten digits (1,797 images, bundled): n to train "
                         "on, the rest to test on; synthetic: a generated 10-class task of the same shape (64 inputs, "
                         "every class two Gaussian clusters), 1,000 test points", choices=DATASETS, label="data")
    n: int = param(200, "training samples (p = n K, the interpolation threshold, moves with it)", lo=50, hi=1000,
                   label="training samples n")
    label_noise: float = param(0.2, "fraction of the training labels replaced by a uniformly random class (test labels "
                               "stay clean)", lo=0.0, hi=0.5, step=0.05,
                               label="share of noisy labels")
    widths: tuple[int, ...] = param(DEFAULT_WIDTHS, "hidden units of the one-hidden-layer networks, one network "
                                    "(per repeat) per width", lo=1, hi=2048, max_len=20,
                                    label="hidden units (widths)")
    steps: int = param(2000, "full-batch training steps", lo=100, hi=10000, step=100, label="training steps")
    optimizer: str = param("adam", "Adam or full-batch gradient descent", choices=("adam", "sgd"), label="optimizer")
    lr: float = param(0.01, "learning rate", lo=1e-4, hi=10.0, log=True, label="learning rate")
    loss: str = param("mse", "mse: squared error on one-hot targets; cross-entropy: softmax cross-entropy",
                      choices=LOSSES, label="loss")
    weight_decay: str = param("0", "L2 penalty (weight decay / 2) |θ|² on every weight and bias (torch.optim's "
                              "weight_decay for SGD and Adam); 0 = none", choices=WEIGHT_DECAYS,
                              label="weight decay")
    repeats: int = param(3, "networks per width, from different initial weights; tables and charts show their mean",
                         lo=1, hi=8, label="networks per width")
    seed: int = param(0, "random seed for the split, the label noise and the initial weights", lo=0, hi=2**31 - 1,
                      label="random seed")


def sizes(width: int) -> tuple[int, ...]:
    return mlp.layer_sizes(N_FEATURES, width, 1, N_CLASSES)


def params(width: int) -> int:
    return mlp.count_params(sizes(width))


def weight_decay(config: Config) -> float:
    return float(config.weight_decay)


def init_seed(config: Config, width: int, repeat: int) -> int:
    """The seed of network (width, repeat): the same draw however widths are grouped, and the
    random-feature model's first layer."""
    return mlp.derive_seed(config.seed, "init", width, repeat)


def threshold(config: Config) -> int:
    """p = n K: as many parameters as numbers to fit (every training point's K targets)."""
    return config.n * N_CLASSES


def n_test(config: Config) -> int:
    """Test points: every digit not trained on, or N_TEST_SYNTHETIC fresh synthetic points."""
    return N_DIGITS - config.n if config.dataset == "digits" else N_TEST_SYNTHETIC


def schedule(steps: int) -> list[int]:
    """The steps at which every network is evaluated (and the page redrawn): ten log-spaced steps
    from 10 to 100, so the epoch-wise curves have their start, then every 100 steps."""
    early = np.unique(np.geomspace(10, 100, 11).round().astype(int))
    return sorted({int(s) for s in early if s < steps} | set(range(100, steps + 1, 100)) | {steps})


def rf_widths(config: Config) -> list[int]:
    """The random-feature models solved: the networks' widths, w = n - 1 (read-out parameters
    exactly n K: the solve is singular there), and 2n, 4n, 8n (up to RF_MAX_WIDTH) beyond the
    widest network, because this model's threshold is at w = n, far wider than the networks' (p =
    75 w + 10 = n K at w = 26 for n = 200), and its second descent lies out there."""
    extra = {w for w in (2 * config.n, 4 * config.n, 8 * config.n) if max(config.widths) < w <= RF_MAX_WIDTH}
    if min(config.widths) <= config.n - 1:
        extra.add(config.n - 1)
    return sorted(set(config.widths) | extra)


def flops(config: Config) -> float:
    """Training of every network for every step, one forward pass over the training and test sets
    per evaluation, and the random-feature solves (features, SVD, predictions): 1% of the total at
    the defaults."""
    evals = len(schedule(config.steps))
    n_all = config.n + n_test(config)
    total = 0.0
    for width in config.widths:
        s = sizes(width)
        forward = 2 * n_all * sum(i * o for i, o in itertools.pairwise(s))
        total += mlp.train_flops(s, config.n, config.steps) + evals * forward
    for width in rf_widths(config):
        p = width + 1
        total += 2 * n_all * N_FEATURES * width + 4 * config.n * p * min(config.n, p) + 2 * n_all * p * N_CLASSES
    return config.repeats * total


def size(config: Config) -> tuple[int, int]:
    return params(max(config.widths)), config.n
