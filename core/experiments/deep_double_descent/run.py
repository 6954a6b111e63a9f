"""The run: data, the random-feature analogue (in closed form, first, so the page has it at once),
then every width trained in the engine, streamed; the metrics read off the final tables."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
import torch

from core import contract
from core.contract import Result
from core.experiments.deep_double_descent import random_features
from core.experiments.deep_double_descent.config import Config, flops, threshold
from core.experiments.deep_double_descent.data import load
from core.experiments.deep_double_descent.figures import interpolation_row, largest_rise, peak_row
from core.experiments.deep_double_descent.networks import status, train


def run(config: Config, progress: contract.Progress | None, dev: torch.device) -> Result:
    data = load(config)
    rf = random_features.sweep(config, data)

    def report(fraction: float, message: str, sweep: pd.DataFrame, epochs: pd.DataFrame) -> None:
        if progress is not None:
            progress(fraction, message, {"sweep": sweep, "epochs": epochs, "random_features": rf})

    training = train(config, data, dev, report=report)
    tables = {"sweep": training.sweep, "epochs": training.epochs, "random_features": rf}
    # a run a divergence stopped spent the FLOPs of the steps it made
    spent = None if training.diverged is None else flops(dataclasses.replace(config, steps=training.computed))
    return Result(metrics(config, training.sweep, rf, data.changed), tables, status(config, training), spent)


def metrics(config: Config, sweep: pd.DataFrame, rf: pd.DataFrame, changed: int) -> dict[str, Any]:
    peak, row = peak_row(sweep), interpolation_row(sweep)
    widest, (rise, rise_row, _) = sweep.iloc[-1], largest_rise(sweep)
    rf_peak = rf.loc[rf["test_loss"].idxmax()]
    return {
        "threshold_params": threshold(config),
        "labels_changed": changed,
        "interpolation_width": None if row is None else int(row["width"]),
        "interpolation_params": None if row is None else int(row["params"]),
        "peak_width": None if peak is None else int(peak["width"]),
        "peak_params": None if peak is None else int(peak["params"]),
        "peak_test_loss": None if peak is None else float(peak["test_loss"]),
        "widest_test_loss": float(widest["test_loss"]),
        "peak_over_widest": None if peak is None else float(peak["test_loss"] / widest["test_loss"]),
        "largest_rise": rise,
        "largest_rise_width": None if rise_row is None else int(rise_row["width"]),
        "rf_threshold_width": config.n - 1,
        "rf_peak_width": int(rf_peak["width"]),
    }
