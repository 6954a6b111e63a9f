"""The data: a split of scikit-learn's digits or a generated task of the same shape, with a
fraction of the training labels replaced at random (the test labels stay clean)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.datasets import load_digits

from core import mlp
from core.experiments.deep_double_descent.config import N_CLASSES, N_FEATURES, N_TEST_SYNTHETIC, Config

#: Cluster centres of the synthetic task per class, and the centres' distance from the origin in
#: units of the clusters' own spread (each cluster is a unit Gaussian around its centre).
CLUSTERS_PER_CLASS, CENTRE_NORM = 2, 6.0


@dataclass(frozen=True)
class Data:
    """Inputs as float64 numpy arrays (the random-feature solve) and the labels. ``labels`` are the
    training labels after the noise (what the networks fit), ``clean`` before it."""

    x: np.ndarray
    labels: np.ndarray
    clean: np.ndarray
    x_test: np.ndarray
    test_labels: np.ndarray

    @property
    def changed(self) -> int:
        """Training labels the noise actually changed (a replacement may draw the same class)."""
        return int((self.labels != self.clean).sum())

    def onehot(self) -> np.ndarray:
        return np.eye(N_CLASSES)[self.labels]

    def tensors(self, dtype: torch.dtype, device: torch.device | str) -> tuple[torch.Tensor, ...]:
        """x, one-hot y, x_test, one-hot y_test on the device."""
        parts = (self.x, self.onehot(), self.x_test, np.eye(N_CLASSES)[self.test_labels])
        return tuple(torch.as_tensor(a, dtype=dtype, device=device) for a in parts)


def load(config: Config) -> Data:
    """The split (or draw) and the label noise, from one generator seeded by (seed, "data")."""
    rng = np.random.default_rng(mlp.derive_seed(config.seed, "data"))
    if config.dataset == "digits":
        x_all, y_all = load_digits(return_X_y=True)
        order = rng.permutation(len(y_all))
        train, test = order[: config.n], order[config.n :]
        x, labels, x_test, test_labels = x_all[train] / 16.0, y_all[train], x_all[test] / 16.0, y_all[test]
    else:
        x, labels, x_test, test_labels = _synthetic(config.n, N_TEST_SYNTHETIC, rng)
    x, x_test = _standardize(x, x_test)
    noisy = labels.copy()
    flipped = rng.choice(config.n, size=round(config.label_noise * config.n), replace=False)
    noisy[flipped] = rng.integers(0, N_CLASSES, size=len(flipped))
    return Data(x, noisy, labels, x_test, test_labels)


def _synthetic(n: int, n_test: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Every class is two unit Gaussian clusters in 64 dimensions around random centres at distance
    CENTRE_NORM from the origin: no linear rule separates the classes, a small network does."""
    centres = rng.standard_normal((N_CLASSES * CLUSTERS_PER_CLASS, N_FEATURES))
    centres *= CENTRE_NORM / np.linalg.norm(centres, axis=1, keepdims=True)
    out = []
    for m in (n, n_test):
        cluster = rng.integers(0, len(centres), size=m)
        out += [centres[cluster] + rng.standard_normal((m, N_FEATURES)), cluster % N_CLASSES]
    return tuple(out)


def _standardize(x: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centred on the training mean and scaled to a mean squared norm of 64 over the training set,
    one scale for every input (a per-pixel scale would blow up the pixels that are almost always
    blank: a test digit that inks one is then far out of anything trained on)."""
    mean = x.mean(0)
    scale = np.sqrt(np.mean(np.sum((x - mean) ** 2, axis=1)) / x.shape[1])
    return (x - mean) / scale, (x_test - mean) / scale
