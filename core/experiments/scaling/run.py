"""One scaling run: the laws' optima (milliseconds), then the timed MLPs (the part that takes time)."""

from __future__ import annotations

import pandas as pd
import torch

from core import contract, mlp
from core.contract import Result
from core.experiments.scaling.config import Config
from core.experiments.scaling.optima import law_metrics, log_slope
from core.experiments.scaling.timing import TIMED_STEPS, measure, mlp_sizes


def flops(config: Config) -> float:
    """Only the timed MLPs do real work (the timed steps, plus one pass that counts memory); the
    scaling-law arithmetic is negligible."""
    return sum(mlp.train_flops(mlp_sizes(w), config.batch, TIMED_STEPS + 1) for w in config.widths)


def size(config: Config) -> tuple[int, int]:
    """The cost row describes the timed run: the largest MLP's parameters and the batch it steps on."""
    return mlp.count_params(mlp_sizes(max(config.widths))), config.batch


def run(config: Config, progress: contract.Progress | None, dev: torch.device) -> Result:
    """The scaling-law optima, then one timed MLP per width, streamed as each width finishes."""
    metrics, tables = law_metrics(config)

    def report(fraction: float, partial: pd.DataFrame) -> None:
        if progress is not None:
            progress(fraction, f"timed {len(partial)} of {len(config.widths)} widths", {"measured": partial})

    measured = measure(config, dev, report)
    tables["measured"] = measured
    metrics |= {
        "time_slope": log_slope(measured["params"], measured["seconds_per_step"]),
        "memory_slope": log_slope(measured["params"], measured["peak_mb"]),
        "flop_slope": log_slope(measured["params"], measured["flops_per_step"]),
    }
    return Result(metrics, tables)
