"""One draw of data and features, and how to score a model of size p on it.

The linear model's test error is the exact population risk; the random-feature models are scored
on held-out test points, and carry as many validation points for tuning the ridge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_digits
from sklearn.kernel_approximation import RBFSampler

from core.experiments.double_descent.config import D_SYNTH, N_TEST, SIGNAL_R2, Config
from core.experiments.double_descent.sweep import Validation

Held = tuple[np.ndarray, np.ndarray]


@dataclass
class Draw:
    """One repeat's data: train features, the targets per p, how to score weights on test, and
    validation points for tuning the ridge (random features only)."""

    F: np.ndarray
    targets: list[np.ndarray]
    test_mse: Callable[[int, int, np.ndarray], float]  # (grid index, p, w) -> test MSE
    null_mse: float
    val: Validation | None = None


def draw(config: Config, ps: np.ndarray, repeat: int) -> Draw:
    """Repeat ``repeat``'s data, from its own generator seeded by (seed, repeat)."""
    rng = np.random.default_rng([config.seed, repeat])
    if config.model == "linear":
        return _linear_draw(config, ps, rng)
    x, y, (x_test, f_test), (x_val, f_val), floor = _inputs(config, rng)
    F, F_test, F_val = random_features(config.model, [x, x_test, x_val], int(ps[-1]), rng)

    def test_mse(i: int, p: int, w: np.ndarray) -> float:
        return float(np.mean(np.sum((F_test[:, :p] @ w - f_test) ** 2, axis=1))) + floor

    null = float(np.mean(np.sum(f_test**2, axis=1))) + floor
    return Draw(F, [y] * len(ps), test_mse, null, Validation(F_val, f_val))


def _linear_draw(config: Config, ps: np.ndarray, rng: np.random.Generator) -> Draw:
    """Isotropic Gaussian features and a truth of energy r2 along a random direction.

    per-p: beta_p on the first p features for every p, so each p is well specified.
    fixed: one beta over all D = max p features; a model of size p sees the first p.
    The test error is exact, |w - beta_seen|^2 + |beta_unseen|^2 + s2: the population risk for a
    fresh Gaussian x."""
    n, s2, D = config.n, config.noise**2, int(ps[-1])
    X = rng.standard_normal((n, D))
    direction = rng.standard_normal(D)
    eps = config.noise * rng.standard_normal((n, 1))
    if config.truth == "fixed":
        beta = np.sqrt(SIGNAL_R2) * direction[:, None] / np.linalg.norm(direction)
        y = X @ beta + eps

        def fixed_mse(i: int, p: int, w: np.ndarray) -> float:
            return float(np.sum((w - beta[:p]) ** 2) + np.sum(beta[p:] ** 2)) + s2

        return Draw(X, [y] * len(ps), fixed_mse, SIGNAL_R2 + s2)
    betas = [np.sqrt(SIGNAL_R2) * direction[:p, None] / np.linalg.norm(direction[:p]) for p in ps]
    targets = [X[:, :p] @ beta + eps for p, beta in zip(ps, betas)]

    def per_p_mse(i: int, p: int, w: np.ndarray) -> float:
        return float(np.sum((w - betas[i]) ** 2)) + s2

    return Draw(X, targets, per_p_mse, SIGNAL_R2 + s2)


def _inputs(config: Config, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, Held, Held, float]:
    """Train inputs and noisy targets; test and validation inputs with their noiseless targets;
    the noise floor to add to the test MSE (s2 for synthetic labels, 0 for the real digit labels)."""
    if config.dataset == "digits":
        return _digits(config, rng)
    xs = [rng.standard_normal((m, D_SYNTH)) for m in (config.n, N_TEST, N_TEST)]
    y = synthetic_target(xs[0]) + config.noise * rng.standard_normal((config.n, 1))
    return xs[0], y, (xs[1], synthetic_target(xs[1])), (xs[2], synthetic_target(xs[2])), config.noise**2


def _digits(config: Config, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, Held, Held, float]:
    """n random digits to train on; the rest split in halves, test and validation (>= 398 each)."""
    digits = load_digits()
    order = rng.permutation(len(digits.target))
    train, rest = order[: config.n], order[config.n :]
    half = min(len(rest) // 2, N_TEST)
    test, val = rest[:half], rest[half : 2 * half]
    onehot = np.eye(10)[digits.target]
    x = digits.data / 16.0
    mean = x[train].mean(0)
    scale = np.sqrt(np.mean(np.sum((x[train] - mean) ** 2, axis=1)) / x.shape[1])
    x = (x - mean) / scale  # centred, mean |x|^2 = d, as for the Gaussian inputs
    y = onehot[train] + config.noise * rng.standard_normal((config.n, 10))
    return x[train], y, (x[test], onehot[test]), (x[val], onehot[val]), 0.0


def synthetic_target(x: np.ndarray) -> np.ndarray:
    """A linear plus a quadratic part of equal energy, E f^2 = 1: (x1 + (x2^2 - 1)/sqrt 2)/sqrt 2.
    Neither random-feature family represents it exactly, so the features are misspecified."""
    return ((x[:, 0] + (x[:, 1] ** 2 - 1) / np.sqrt(2)) / np.sqrt(2))[:, None]


def random_features(model: str, xs: list[np.ndarray], p_max: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The same random features of every input set, with unit mean square; the first p columns
    are the model of size p."""
    d = xs[0].shape[1]
    if model == "relu":
        W = rng.standard_normal((d, p_max)) / np.sqrt(d)
        return [np.sqrt(2) * np.maximum(x @ W, 0) for x in xs]
    sampler = RBFSampler(gamma=1 / (2 * d), n_components=p_max, random_state=int(rng.integers(2**31))).fit(xs[0])
    scale = np.sqrt(p_max)  # RBFSampler's sqrt(2/p_max) cos(.) -> sqrt(2) cos(.)
    return [sampler.transform(x) * scale for x in xs]
