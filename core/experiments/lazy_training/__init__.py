"""Lazy training: the wider the network, the less each weight and the tangent kernel move, and the
trained network becomes kernel regression with the (analytic) neural tangent kernel; and, at one
width, whether moving helps: the output scale α from rich (features learn) to lazy (kernel regression).

config (the settings), width (the width sweep and the 1-D function view), scale (the output-scale
sweep on a single-index ridge task against kernel regression with the initial kernel).
"""

from __future__ import annotations

import pandas as pd
import torch

from core import contract, mlp
from core.contract import Figure, Result
from core.experiments.lazy_training import scale, width
from core.experiments.lazy_training.config import TEACHER_D, Config, sizes
from core.experiments.lazy_training.scale import kernel_alignment, teacher_task
from core.experiments.lazy_training.width import KERNEL_MODEL

__all__ = ["EXPERIMENT", "KERNEL_MODEL", "LABELS", "PRESETS", "TEACHER_D", "Config", "flops", "kernel_alignment",
           "make_charts", "run", "size", "sizes", "teacher_task"]


def flops(config: Config) -> float:
    """The width sweep's and the output-scale sweep's training and kernel FLOPs."""
    return width.flops(config) + scale.flops(config)


def size(config: Config) -> tuple[int, int]:
    """The widest net of the width sweep and its training samples (the cost row's model)."""
    return mlp.count_params(sizes(config, config.widths[-1])), config.n


def run(config: Config, progress: contract.Progress | None, dev: torch.device) -> Result:
    """The width sweep, the function view, then the output-scale sweep; the tables so far go out
    after every trained width and scale."""
    total = len(config.widths) + 1 + len(config.alphas)
    tables: dict[str, pd.DataFrame] = {}
    done = 0

    def report(name: str, table: pd.DataFrame, message: str) -> None:
        nonlocal done
        tables[name], done = table, done + 1
        if progress is not None:
            progress(done / total, message, dict(tables))

    movement, metrics, failures = width.sweep(
        config, dev, lambda t: report("movement", t, f"width {t['width'].iloc[-1]} trained"))
    function, view_failures = width.function_view(config, dev)
    report("function", function, "the 1-D function view trained")
    scale_sweep, scale_metrics, scale_failures = scale.sweep(
        config, dev, lambda t: report("scale_sweep", t, f"output scale α = {t['alpha'].iloc[-1]} trained"))
    return Result({**metrics, **scale_metrics}, {"movement": movement, "function": function, "scale_sweep": scale_sweep},
                  _status(config, failures + view_failures + scale_failures))


def _status(config: Config, failures: list[width.Failure]) -> contract.Status:
    if not failures:
        return contract.OK
    which, step = failures[0]
    return contract.warning(f"diverged at step {step} ({which}): the loss blew up; try a smaller learning rate, "
                            f"e.g. lr={config.lr / 4:g}; the nets that trained are still shown")


def make_charts(result: Result) -> list[Figure]:
    """Every figure whose table the (possibly partial) result holds."""
    tables = result.tables
    figures = [width.movement_figure(tables["movement"])] if "movement" in tables else []
    if "function" in tables:
        figures.append(width.function_figure(tables["function"]))
    if "scale_sweep" in tables:
        figures.append(scale.figure(tables["scale_sweep"], result.metrics))
    return figures


#: Named settings that make the point: the page offers them, the warm start computes them.
PRESETS = {
    "NTK parameterization (lazy)": {},
    "μP: the features keep learning": {"parameterization": "mup"},
    "Standard parameterization, lr ÷ width": {"parameterization": "standard"},
    "Two hidden layers": {"depth": 2, "widths": (16, 32, 64, 128, 256, 512)},
    "Lazy limit: only large output scales": {"alphas": (64, 256, 1024, 4096)},
    "Rich regime: small output scales": {"alphas": (1, 2, 4, 8)},
}

#: Readers' words for the metrics and table columns (the keys stay as they are in URL, CLI and JSON).
LABELS = {
    "weight_change_slope": "slope of the weight change against width (log-log)",
    "kernel_change_slope": "slope of the kernel change against width (log-log)",
    "ntk_rel_error": "widest net's kernel vs the analytic NTK (relative error)",
    "kernel_test_mse": "test MSE of kernel regression with K₀ (lazy limit)",
    "initial_alignment": "kernel–target alignment at initialisation",
    "alpha": "output scale α",
    "test_mse": "test MSE",
    "train_mse": "training MSE",
    "rel_kernel_change": "relative kernel change |K_T − K₀| / |K₀|",
    "rel_weight_change": "relative weight change |W_T − W₀| / |W₀|",
    "kernel_alignment": "kernel–target alignment of K_T",
    "train_loss": "final training loss",
}

EXPERIMENT = contract.Experiment(
    name="lazy-training",
    title="Lazy training",
    claim="The wider the network, the less training moves it: it becomes kernel regression with the NTK.",
    icon=":material/hourglass_empty:",
    order=50,
    config=Config,
    run=run,
    flops=flops,
    charts=make_charts,
    size=size,
    presets=PRESETS,
    labels=LABELS,
)
