"""Costs and scaling: how the best model size grows with compute (Kaplan 2020, Hoffmann 2022), how
counting inference moves it, and what a training step costs on the machine running this page.

laws (the two fitted laws in one form), config (the settings), optima (what the laws imply, and the
tables), timing (this machine's cost per step), checklist (the textbook's decision table), run, figures.
"""

from __future__ import annotations

from core import contract
from core.experiments.scaling.checklist import FACTORS, UNSURE, Factor, Leaning, lean
from core.experiments.scaling.config import Config
from core.experiments.scaling.figures import LABELS, make_charts
from core.experiments.scaling.laws import CHINCHILLA, KAPLAN, KAPLAN_QUOTED_EXPONENT, LAWS, REFERENCE_MODELS, Law
from core.experiments.scaling.optima import inference_optimum, law_metrics, log_slope, optimum
from core.experiments.scaling.run import flops, run, size
from core.experiments.scaling.timing import D_IN, TIMED_STEPS, mlp_sizes

__all__ = [
    "CHINCHILLA", "D_IN", "EXPERIMENT", "FACTORS", "KAPLAN", "KAPLAN_QUOTED_EXPONENT", "LABELS", "LAWS",
    "REFERENCE_MODELS", "TIMED_STEPS", "UNSURE", "Config", "Factor", "Law", "Leaning", "flops", "inference_optimum", "law_metrics",
    "lean", "log_slope", "make_charts", "mlp_sizes", "optimum", "run", "size",
]

#: Named settings that make the point: the page offers them, the warm start computes them.
PRESETS = {
    "Chinchilla itself (70B on 1.4T tokens)": {},
    "GPT-3 under Kaplan's law (175B on 300B tokens)": {"law": "kaplan", "log10_compute": 23.5,
                                                        "n_params": 175e9, "n_tokens": 300e9},
    "A model served at scale (1e15 inference tokens)": {"log10_inference_tokens": 15.0},
    "A small budget (1e20 FLOPs, a 1B model)": {"log10_compute": 20.0, "n_params": 1e9, "n_tokens": 20e9,
                                                "log10_inference_tokens": 11.0},
}

EXPERIMENT = contract.Experiment(
    name="scaling",
    title="Costs and scaling",
    claim="The best model size grows with compute, but slower than compute; counting inference shrinks it.",
    icon=":material/query_stats:",
    order=90,
    config=Config,
    run=run,
    flops=flops,
    charts=make_charts,
    size=size,
    presets=PRESETS,
    labels=LABELS,
)
