"""The exactly solvable analogue: the same networks with the first layer frozen at its initial
weights, so only the read-out is fitted, in closed form.

A network of width w has features relu(x W1 + b1) and a constant; its read-out has (w + 1) K
parameters, and least squares can fit the n K one-hot targets exactly once w + 1 >= n (then
(w + 1) K >= n K: the same line p = n K as for the trained networks, counted in read-out
parameters). The read-out is the minimiser of the networks' own squared-error objective with the
same L2 penalty, (1/(nK)) |F A - Y|^2 + (weight_decay/2) |A|^2, i.e. ridge with lambda = n K
weight_decay / 2; without a penalty, the minimum-norm least-squares solution, which is where
gradient descent from zero converges (for either loss the read-out is fitted by least squares).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from core import mlp
from core.experiments.deep_double_descent.config import (
    N_CLASSES,
    Config,
    init_seed,
    rf_widths,
    sizes,
    threshold,
    weight_decay,
)
from core.experiments.deep_double_descent.data import Data

COLUMNS = ["width", "readout_params", "p_over_nk", "train_error", "test_error", "train_loss", "test_loss", "norm"]


def first_layer(config: Config, width: int, repeat: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Network (width, repeat)'s initial first layer: the trained network's own draw."""
    stack = mlp.init_stack(sizes(width), [init_seed(config, width, repeat)], dtype=torch.float64)
    return stack.weights[0][0], stack.biases[0][0]


def features(x: torch.Tensor, w1: torch.Tensor, b1: torch.Tensor) -> torch.Tensor:
    """relu(x W1 + b1) and a constant column (the read-out's bias)."""
    return torch.cat([torch.addmm(b1, x, w1).relu_(), x.new_ones(len(x), 1)], dim=1)


def readout(F: torch.Tensor, Y: torch.Tensor, ridge: float) -> torch.Tensor:
    """argmin |F A - Y|^2 + ridge |A|^2 through the SVD; ridge 0 is the minimum-norm solution,
    with singular values below lstsq's default cutoff (max(shape) eps s_max) treated as zero.

    torch's LAPACK, not numpy's: it runs on the server's per-thread policy (core.device), where
    numpy's OpenBLAS keeps one process-wide team that oversubscribes a busy machine (measured here:
    48 small SVDs took 14 s under load instead of 0.1 s)."""
    U, s, Vt = torch.linalg.svd(F, full_matrices=False)
    if ridge > 0:
        gain = s / (s**2 + ridge)
    else:
        keep = s > s[0] * max(F.shape) * torch.finfo(F.dtype).eps
        gain = torch.where(keep, 1.0 / torch.where(keep, s, 1.0), 0.0)
    return Vt.T @ (gain[:, None] * (U.T @ Y))


def scores(out: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """Classification error against ``labels`` and the loss per sample: the squared error summed
    over the K outputs (what the networks' MSE is reported in)."""
    onehot = torch.nn.functional.one_hot(labels, N_CLASSES).to(out.dtype)
    return float((out.argmax(1) != labels).double().mean()), float((out - onehot).square().sum(1).mean())


def sweep(config: Config, data: Data) -> pd.DataFrame:
    """Every width of ``rf_widths``, each the mean over the repeats' first layers."""
    x, Y, x_test, _ = data.tensors(torch.float64, "cpu")
    labels, test_labels = torch.as_tensor(data.labels), torch.as_tensor(data.test_labels)
    ridge = threshold(config) * weight_decay(config) / 2
    rows = []
    for width in rf_widths(config):
        per_repeat = []
        for repeat in range(config.repeats):
            w1, b1 = first_layer(config, width, repeat)
            F = features(x, w1, b1)
            A = readout(F, Y, ridge)
            train = scores(F @ A, labels)
            test = scores(features(x_test, w1, b1) @ A, test_labels)
            per_repeat.append((train[0], test[0], train[1], test[1], float(torch.linalg.norm(A))))
        mean = np.mean(per_repeat, axis=0)
        p = (width + 1) * N_CLASSES
        rows.append([width, p, p / threshold(config), *mean])
    return pd.DataFrame(rows, columns=COLUMNS).astype({"width": int, "readout_params": int})
