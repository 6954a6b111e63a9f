"""The sweep through p = n for every repeat, summarised per p: mean, spread and quartiles."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from core import contract
from core.contract import Result
from core.experiments.double_descent import data
from core.experiments.double_descent.config import D_SYNTH, N_TEST, SIGNAL_R2, Config
from core.experiments.double_descent.sweep import RIDGE_GRID, fit_path, grid
from core.experiments.double_descent.theory import ridge_values, theory

CURVE_COLUMNS = ["p", "ratio", "train_mse", "test_mse", "test_mse_std", "test_mse_median", "test_mse_q25",
                 "test_mse_q75", "norm", "theory_test_mse"]


def flops(config: Config) -> float:
    """Features, the QR, the running Gram matrix, one Cholesky (or eigh and tuning) per point, scoring."""
    ps = grid(config.n, config.ratio_max, config.points)
    n, p_max, k = config.n, float(ps[-1]), 10 if config.dataset == "digits" else 1
    held = 0 if config.model == "linear" else N_TEST  # test points (and as many validation points)
    d = 64 if config.dataset == "digits" else D_SYNTH
    work = 2 * (n + 2 * held) * d * p_max + 2 * n * min(n, p_max) ** 2 + 2 * n**2 * p_max
    if config.ridge == "optimal" and config.model != "linear":
        work += 2 * held * n * p_max + len(ps) * (9 * n**3 + 2 * held * n**2 + len(RIDGE_GRID) * 2 * held * n * k)
    else:
        work += len(ps) * n**3 / 3
    work += sum(2 * (2 * n + held) * p * k for p in ps)
    return float(config.repeats * work)


def size(config: Config) -> tuple[int, int]:
    """The largest model's parameters and the training samples, for the cost row."""
    return int(grid(config.n, config.ratio_max, config.points)[-1]), config.n


def run(config: Config, progress: contract.Progress | None, dev: torch.device) -> Result:
    """Sweep p through n for every repeat; the linear algebra is float64 LAPACK on the CPU, so
    ``dev`` is not used (the experiment declares its backend)."""
    ps = grid(config.n, config.ratio_max, config.points)
    lams = ridge_values(config, ps)
    train, test, norm = (np.full((config.repeats, len(ps)), np.nan) for _ in range(3))
    null = []
    # one BLAS thread: these matrices are too small for threads to pay, and on a busy 2-core
    # server OpenBLAS's spinning threads made this sweep 30-60x slower (measured)
    with threadpool_limits(limits=1, user_api="blas"):
        for r in range(config.repeats):
            draw = data.draw(config, ps, r)
            null.append(draw.null_mse)
            for i, w in enumerate(fit_path(draw.F, draw.targets, ps, lams, draw.val)):
                if w is not None:
                    p = ps[i]
                    train[r, i] = float(np.mean(np.sum((draw.F[:, :p] @ w - draw.targets[i]) ** 2, axis=1)))
                    test[r, i] = draw.test_mse(i, p, w)
                    norm[r, i] = float(np.linalg.norm(w))
            if progress is not None:
                progress((r + 1) / config.repeats, f"repeat {r + 1} of {config.repeats}")
    curve = _curve(config, ps, train, test, norm)
    metrics = {
        "peak_ratio": _peak(curve),
        "signal_r2": SIGNAL_R2,
        "noise_var": config.noise**2,
        "null_mse": round(float(np.mean(null)), 4),
    }
    return Result(metrics, {"curve": curve}, _status(config, ps, test))


def _curve(config: Config, ps: np.ndarray, train: np.ndarray, test: np.ndarray, norm: np.ndarray) -> pd.DataFrame:
    """Per p: the mean over draws (what the theory predicts) and the median with its quartiles
    (what a typical draw does: near p = n a few draws dominate the mean)."""
    with warnings.catch_warnings():
        # a point singular in every repeat stays NaN; numpy would warn about its empty mean
        warnings.simplefilter("ignore", RuntimeWarning)
        std = np.nanstd(test, axis=0, ddof=1) if config.repeats > 1 else np.zeros(len(ps))
        q25, median, q75 = np.nanpercentile(test, [25, 50, 75], axis=0)
        frame = pd.DataFrame({
            "p": ps,
            "ratio": ps / config.n,
            "train_mse": np.nanmean(train, axis=0),
            "test_mse": np.nanmean(test, axis=0),
            "test_mse_std": std,
            "test_mse_median": median,
            "test_mse_q25": q25,
            "test_mse_q75": q75,
            "norm": np.nanmean(norm, axis=0),
            "theory_test_mse": theory(config, ps),
        })
    return frame[CURVE_COLUMNS]


def _status(config: Config, ps: np.ndarray, test: np.ndarray) -> contract.Status:
    missing = np.isnan(test).sum(axis=0)
    if not missing.any():
        return contract.OK
    where = ", ".join(f"p = {p} (p/n = {p / config.n:.2f}) in {m} of {config.repeats} draws"
                      for p, m in zip(ps, missing) if m)
    return contract.warning(f"the least-squares system is singular to working precision at {where}; those fits are "
                            "left out and every other point is kept. A small ridge (e.g. ridge=0.0001) makes it solvable.")


def _peak(curve: pd.DataFrame) -> float:
    """p/n where the mean test error is highest."""
    valid = curve.dropna(subset=["test_mse"])
    return round(float(valid.loc[valid["test_mse"].idxmax(), "ratio"]), 4) if len(valid) else float("nan")
