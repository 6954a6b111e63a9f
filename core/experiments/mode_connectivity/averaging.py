"""Averaging two trained nets: their outputs (an ensemble) or their weights (the middle of the
straight path, t = 1/2), before and after weight matching, against the nets themselves and the
model that predicts 0 everywhere.

Averaging weights is what stochastic weight averaging (Izmailov et al. 2018) and model soups
(Wortsman et al. 2022) do; it can only work where the average is still a low-loss point, that is
when both nets sit in one basin (Frankle et al. 2020), or after aligning their hidden units
(Ainsworth et al. 2023).
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from core import mlp
from core.experiments.mode_connectivity.paths import Params, blend, line, losses_along

#: The rows of the averages table, in the order the chart draws them.
MODELS = {
    "net A": "net A",
    "net B": "net B",
    "ensemble": "outputs of A and B averaged (an ensemble of two)",
    "weights averaged": "weights of A and B averaged (t = 1/2 on the straight path)",
    "aligned weights averaged": "weights averaged after permuting B's hidden units to match A",
    "predicting 0": "the model that predicts 0 everywhere (the targets' mean square)",
}
COLUMNS = ["model", "train_loss", "test_loss"]
#: Metric name of each row's test loss.
METRICS = {"net A": "test_loss_a", "net B": "test_loss_b", "ensemble": "ensemble_test_loss",
           "weights averaged": "average_test_loss", "aligned weights averaged": "aligned_average_test_loss"}


def averages(a: Params, b: Params, aligned: Params | None, data: tuple[torch.Tensor, ...]) -> pd.DataFrame:
    """Training and test loss of A, B, their ensemble, their weight average (and, given ``aligned``,
    the average with B's units matched to A's), and of predicting 0."""
    rows = []
    half = line(torch.tensor([0.5]))
    for x, y in (data[:2], data[2:]):
        with torch.no_grad():
            out = mlp.predict(blend([a, b], torch.eye(2, dtype=x.dtype, device=x.device)), x)
            ends = mlp.mse_per_model(out, y)
            ensemble = mlp.mse_per_model(out.mean(0, keepdim=True), y)[0]
        values = {"net A": ends[0], "net B": ends[1], "ensemble": ensemble,
                  "weights averaged": losses_along([a, b], half, x, y)[0]}
        if aligned is not None:
            values["aligned weights averaged"] = losses_along([a, aligned], half, x, y)[0]
        values["predicting 0"] = y.pow(2).mean()
        rows.append({k: float(v) for k, v in values.items()})
    return pd.DataFrame({"model": list(rows[0]), "train_loss": list(rows[0].values()),
                         "test_loss": list(rows[1].values())}, columns=COLUMNS)


def metrics(table: pd.DataFrame | None) -> dict[str, float]:
    """The test losses of the table as metrics (NaN where a run has no table: a divergence)."""
    found = {} if table is None or table.empty else dict(zip(table["model"], table["test_loss"]))
    return {name: float(found.get(model, math.nan)) for model, name in METRICS.items()}


def empty() -> pd.DataFrame:
    return pd.DataFrame(columns=COLUMNS)
