"""Benchmark: the double-descent sweep (n = 500, 50 values of p up to 5n, random ReLU features,
ridgeless), one factorization reused across p (core) against one least-squares call per p.

All solve the same feature matrix in the same process, interleaved, with one BLAS thread (as
the experiment runs). The straightforward side is one lstsq per p, twice: numpy.linalg.lstsq
(LAPACK gelsd, the SVD route) and scipy.linalg.lstsq with gelsy (QR with column pivoting, the
faster driver); both return the minimum-norm solution for p > n, as the nested sweep does.
Printed: the median of several rounds, the ratios, and the largest relative difference of the
weights from gelsd's.
Run: python bench/double_descent.py [rounds]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.experiments import double_descent as dd

N, RATIO, POINTS = 500, 5.0, 50


def problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, dd.D_SYNTH))
    y = dd.synthetic_target(x) + 0.5 * rng.standard_normal((N, 1))
    ps = np.unique(np.round(np.linspace(1, RATIO * N, POINTS)).astype(int))  # 50 values of p
    (F,) = dd.random_features("relu", [x], int(ps[-1]), rng)
    return F, y, ps


def nested(F: np.ndarray, y: np.ndarray, ps: np.ndarray) -> tuple[float, list]:
    start = time.perf_counter()
    weights = dd.fit_path(F, [y] * len(ps), ps, np.zeros(len(ps)))
    return time.perf_counter() - start, weights


def gelsd_loop(F: np.ndarray, y: np.ndarray, ps: np.ndarray) -> tuple[float, list]:
    start = time.perf_counter()
    weights = [np.linalg.lstsq(F[:, :p], y, rcond=None)[0] for p in ps]
    return time.perf_counter() - start, weights


def gelsy_loop(F: np.ndarray, y: np.ndarray, ps: np.ndarray) -> tuple[float, list]:
    start = time.perf_counter()
    weights = [scipy.linalg.lstsq(F[:, :p], y, lapack_driver="gelsy", check_finite=False)[0] for p in ps]
    return time.perf_counter() - start, weights


def main(rounds: int = 3) -> None:
    F, y, ps = problem()
    times: dict[str, list[float]] = {"gelsd": [], "gelsy": [], "nested": []}
    with threadpool_limits(limits=1, user_api="blas"):
        nested(F, y, ps)  # warm-up
        for _ in range(rounds):
            for name, solve in (("gelsd", gelsd_loop), ("gelsy", gelsy_loop), ("nested", nested)):
                seconds, weights = solve(F, y, ps)
                times[name].append(seconds)
                if name == "gelsd":
                    ref = weights
    err = max(np.linalg.norm(a - b) / np.linalg.norm(b) for a, b in zip(weights, ref))
    med = {name: statistics.median(v) for name, v in times.items()}
    print(f"n = {N}, {len(ps)} values of p from {ps[0]} to {ps[-1]}, random ReLU features, 1 BLAS thread, median of {rounds}")
    labels = {"gelsd": "one lstsq per p (gelsd)", "gelsy": "one lstsq per p (gelsy)", "nested": "one factorization"}
    for name, label in labels.items():
        print(f"{label:26s} {med[name]:6.3f} s   (runs: {', '.join(f'{v:.3f}' for v in times[name])})")
    print(f"speed-up vs gelsd          {med['gelsd'] / med['nested']:6.1f} x")
    print(f"speed-up vs gelsy          {med['gelsy'] / med['nested']:6.1f} x")
    print(f"largest relative difference of the weights from gelsd's: {err:.1e}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
