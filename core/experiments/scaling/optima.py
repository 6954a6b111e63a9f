"""What the laws imply: the compute-optimal model, the cheaper one once serving is counted, and the
tables the charts draw (loss along fixed budgets, the frontier, lifetime cost at equal loss)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from core.experiments.scaling.config import Config
from core.experiments.scaling.laws import LAWS, Law

#: Decades of compute spanned by the frontier table (the compute slider's range).
FRONTIER_LOG10 = np.arange(18.0, 26.001, 0.25)
#: Offsets, in decades, of the fixed-compute curves around the chosen budget.
ISOFLOP_OFFSETS = (-2, -1, 0, 1, 2)


def optimum(law: Law, compute: float) -> tuple[float, float, float]:
    """(N, D, loss) minimising the loss subject to 6ND = compute, found numerically (bounded Brent
    on log N; the closed form is only used to check it)."""

    def bracket(log_n: float) -> float:
        n = math.exp(log_n)
        return float(law.reducible(n, compute / (6 * n)))

    # Any model with at least 100 parameters and 100 tokens; the loss is unimodal in log N on this line.
    bounds = (math.log(100.0), math.log(compute / 600.0))
    log_n = minimize_scalar(bracket, bounds=bounds, method="bounded", options={"xatol": 1e-10}).x
    n = math.exp(log_n)
    d = compute / (6 * n)
    return n, d, float(law.loss(n, d))


def inference_optimum(law: Law, target: float, inference_tokens: float) -> tuple[float, float]:
    """(N, D) minimising lifetime compute 6ND + 2N*T subject to L(N, D) = target.

    The quality is held fixed and the cost of owning the model is minimised (Sardana & Frankle 2023):
    along the curve of equal loss, a smaller model needs more training tokens but is cheaper per
    token served, so the minimum moves below the training-only optimum as T grows.
    """
    floor = math.log(law.floor_params(target))

    def log_cost(log_n: float) -> float:
        log_d = law.log_tokens_for(log_n, target)
        if not math.isfinite(log_d):
            return math.inf
        # log(6ND + 2NT) = log N + log(6D + 2T), in logs so D near the floor cannot overflow
        return log_n + np.logaddexp(math.log(6.0) + log_d, math.log(2.0 * inference_tokens))

    # The training-only optimum sits a fixed factor above the floor (((a+b)/b)^(1/a): about 10x for
    # Chinchilla); searching up to 1e4x the floor brackets it and everything below it.
    result = minimize_scalar(log_cost, bounds=(floor + 1e-12, floor + math.log(1e4)), method="bounded",
                             options={"xatol": 1e-10})
    return math.exp(result.x), math.exp(law.log_tokens_for(result.x, target))


def log_slope(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """The least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


def isoflop_table(law: Law, compute: float) -> pd.DataFrame:
    """Loss against N along several budgets C = 6ND, each curve spanning 3 decades around its optimum."""
    frames = []
    for offset in ISOFLOP_OFFSETS:
        c = compute * 10.0**offset
        n = optimum(law, c)[0] * np.logspace(-1.5, 1.5, 61)
        d = c / (6 * n)
        frames.append(pd.DataFrame({"compute": c, "params": n, "tokens": d, "loss": law.loss(n, d)}))
    return pd.concat(frames, ignore_index=True)


def frontier_table(law: Law, compute: float) -> pd.DataFrame:
    """The numerical compute-optimal model across 8 decades of compute, plus the chosen budget."""
    budgets = np.unique(np.append(10.0**FRONTIER_LOG10, compute))
    rows = [(c, *optimum(law, c)) for c in budgets]
    return pd.DataFrame(rows, columns=["compute", "params_opt", "tokens_opt", "loss_opt"])


def lifetime_table(law: Law, target: float, inference_tokens: float, n_opt: float, n_inf: float) -> pd.DataFrame:
    """Training, inference and total FLOPs of every model on the curve L(N, D) = target."""
    # from a quarter of the inference-aware optimum to four times the training-only one (never below the
    # floor, where D -> inf)
    n = np.geomspace(max(law.floor_params(target) * 1.001, n_inf / 4), 4 * n_opt, 120)
    d = np.exp([law.log_tokens_for(math.log(v), target) for v in n])
    train, serve = 6 * n * d, 2 * n * inference_tokens
    return pd.DataFrame({"params": n, "tokens": d, "train_flops": train, "inference_flops": serve, "total_flops": train + serve})


def law_metrics(config: Config) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """Every scaling-law metric and table for one configuration."""
    law = LAWS[config.law]
    t_inf = config.inference_tokens
    n_opt, d_opt, loss_opt = optimum(law, config.compute)
    n_inf, d_inf = inference_optimum(law, loss_opt, t_inf)
    frontier = frontier_table(law, config.compute)
    lifetime_opt = config.compute + 2 * n_opt * t_inf
    lifetime_inf = 6 * n_inf * d_inf + 2 * n_inf * t_inf
    metrics = {
        "law": law.name,
        "compute": config.compute,
        "inference_tokens": t_inf,
        "point_params": config.n_params,
        "point_tokens": config.n_tokens,
        "point_flops": 6 * config.n_params * config.n_tokens,
        "loss": float(law.loss(config.n_params, config.n_tokens)),
        "params_opt": n_opt,
        "tokens_opt": d_opt,
        "loss_opt": loss_opt,
        "tokens_per_param_opt": d_opt / n_opt,
        "params_opt_inf": n_inf,
        "tokens_opt_inf": d_inf,
        "lifetime_flops": lifetime_opt,
        "lifetime_flops_inf": lifetime_inf,
        "lifetime_saving": 1 - lifetime_inf / lifetime_opt,
        "frontier_slope": log_slope(frontier["compute"], frontier["params_opt"]),
        "frontier_slope_theory": law.exponent,
    }
    tables = {
        "isoflop": isoflop_table(law, config.compute),
        "frontier": frontier,
        "lifetime": lifetime_table(law, loss_opt, t_inf, n_opt, n_inf),
    }
    return metrics, tables
