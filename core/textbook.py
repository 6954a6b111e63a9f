"""What the textbook page's own scripts compute, reproduced so the app can say where they mislead.

The benign-overfitting script standardises its features without an intercept and draws its test set
with another seed (so another true weight vector). Its numbers are artefacts of both; the page
quotes them from this reproduction, beside the same model done correctly on one draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from sklearn.preprocessing import StandardScaler

#: The script's setting: n = 100 samples, p = 500 features, 10 signal coordinates, noise 0.3,
#: seeds 42 (train) and 123 (test). Its ``np.random.seed`` + ``randn`` is ``RandomState(seed).randn``.
N, P, SIGNAL_DIM, NOISE, TRAIN_SEED, TEST_SEED, N_TEST = 100, 500, 10, 0.3, 42, 123, 500


@dataclass(frozen=True)
class BenignScript:
    n: int
    p: int
    train_mse: float  # what the script prints as its train MSE
    mean_label_squared: float  # ȳ² on the training set: what the centred features cannot fit
    centred_rank: int  # rank of the standardised training matrix
    test_mse: float  # what the script prints as its test MSE
    test_mean_square: float  # the test labels' mean square: predicting zero everywhere scores this
    correct_train_mse: float  # minimum-norm interpolant, raw features, same draw
    correct_excess_risk: float  # |θ̂ − θ*|²: its excess risk on fresh inputs of the same draw
    signal_variance: float  # |θ*|²
    predicted_excess_risk: float  # |θ*|² (1 − n/p): isotropic theory for the min-norm interpolant's bias


def _draw(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)  # the script's generator, kept local
    X = rng.randn(n, P)
    weights = np.zeros(P)
    weights[:SIGNAL_DIM] = rng.randn(SIGNAL_DIM)
    return X, X @ weights + NOISE * rng.randn(n), weights


@cache  # deterministic and argument-free: the page asks on every rerun
def benign_script() -> BenignScript:
    X, y, theta = _draw(N, TRAIN_SEED)
    X_test, y_test, _ = _draw(N_TEST, TEST_SEED)
    scaler = StandardScaler()
    A, B = scaler.fit_transform(X), scaler.transform(X_test)
    fitted = A.T @ np.linalg.solve(A @ A.T + 1e-10 * np.eye(N), y)  # the script's interpolant
    correct = np.linalg.pinv(X) @ y
    return BenignScript(
        n=N, p=P,
        train_mse=float(np.mean((A @ fitted - y) ** 2)),
        mean_label_squared=float(y.mean() ** 2),
        centred_rank=int(np.linalg.matrix_rank(A)),
        test_mse=float(np.mean((B @ fitted - y_test) ** 2)),
        test_mean_square=float(np.mean(y_test**2)),
        correct_train_mse=float(np.mean((X @ correct - y) ** 2)),
        correct_excess_risk=float(np.sum((correct - theta) ** 2)),
        signal_variance=float(theta @ theta),
        predicted_excess_risk=float(theta @ theta * (1 - N / P)),
    )
