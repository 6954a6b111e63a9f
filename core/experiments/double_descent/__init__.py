"""Double descent: test error against p/n through the interpolation threshold p = n.

config (the settings), sweep (every p from one factorization), theory (the closed forms), data
(one draw and its scoring), run (the sweep over draws, summarised per p), figures (the chart).
"""

from __future__ import annotations

from core import contract
from core.experiments.double_descent.config import D_SYNTH, LABELS, N_TEST, SIGNAL_R2, Config
from core.experiments.double_descent.data import draw, random_features, synthetic_target
from core.experiments.double_descent.figures import make_charts
from core.experiments.double_descent.run import CURVE_COLUMNS, flops, run, size
from core.experiments.double_descent.sweep import RIDGE_GRID, fit_path, grid, validation_errors
from core.experiments.double_descent.theory import (
    belkin_test_mse,
    energies,
    mp_stieltjes,
    optimal_ridge,
    ridge_test_mse,
    theory,
)

__all__ = [
    "CURVE_COLUMNS", "D_SYNTH", "EXPERIMENT", "LABELS", "N_TEST", "RIDGE_GRID", "SIGNAL_R2", "Config", "belkin_test_mse",
    "draw", "energies", "fit_path", "flops", "grid", "make_charts", "mp_stieltjes", "optimal_ridge",
    "random_features", "ridge_test_mse", "run", "size", "synthetic_target", "theory", "validation_errors",
]

#: Named settings that make the point: the page offers them, the warm start computes them.
PRESETS = {
    "Ridgeless linear model (Hastie et al.)": {},
    "Optimal ridge removes the peak": {"ridge": "optimal"},
    "One fixed truth: optimal ridge falls with p": {"truth": "fixed", "ridge": "optimal"},
    "One fixed truth, ridgeless: weak features": {"truth": "fixed"},
    "Real digits, random ReLU features": {"model": "relu", "dataset": "digits", "noise": 0.0, "repeats": 5},
    "A little ridge (λ = 0.01) already tames it": {"ridge": "0.01"},
}

EXPERIMENT = contract.Experiment(
    name="double-descent",
    title="Double descent",
    claim="Test error peaks where the model can just interpolate, p = n, and falls again beyond it.",
    icon=":material/ssid_chart:",
    order=30,
    config=Config,
    run=run,
    flops=flops,
    charts=make_charts,
    size=size,
    backend="cpu (float64 LAPACK)",
    presets=PRESETS,
    labels=LABELS,
)
