"""The scaling page's settings: the law, the budgets, the point (N, D), and the timed MLPs."""

from __future__ import annotations

from dataclasses import dataclass

from core.contract import ConfigError, param
from core.experiments.scaling.laws import CHINCHILLA_D, CHINCHILLA_N, LAWS


@dataclass(frozen=True)
class Config:
    """Compute and inference tokens are log10 sliders (they are swept over decades); N and D are number
    boxes, so a published model can be typed exactly (70e9 gives Chinchilla's 1.9366)."""

    law: str = param("chinchilla", "the fitted scaling law: Hoffmann 2022 (Chinchilla) or Kaplan 2020",
                     choices=tuple(LAWS), label="scaling law")
    log10_compute: float = param(23.8, "training compute budget C as log10 of FLOPs (23.8: Chinchilla's 5.9e23)",
                                 lo=18.0, hi=26.0, step=0.1, label="compute budget C (log10 FLOPs)")
    n_params: float = param(CHINCHILLA_N, "model size N for the point evaluation, in parameters (type e.g. 7e9)",
                            lo=1e6, hi=1e13, log=True, label="model size N (parameters)")
    n_tokens: float = param(CHINCHILLA_D, "training tokens D for the point evaluation (type e.g. 2e12)",
                            lo=1e8, hi=1e15, log=True, label="training tokens D")
    log10_inference_tokens: float = param(13.0, "tokens the model will process over its life after training, "
                                          "as log10 (each costs 2N FLOPs)", lo=6.0, hi=16.0, step=0.1,
                                          label="lifetime inference tokens (log10)")
    widths: tuple[int, ...] = param((16, 64, 128, 256, 512), "hidden widths of the 2-layer MLPs timed on "
                                    "this machine (the run behind the cost row)", lo=4, hi=2048, max_len=8,
                                    label="timed MLPs: hidden widths")
    batch: int = param(256, "samples per timed training step", lo=16, hi=2048, label="timed MLPs: batch size")

    def check(self) -> None:
        if len(self.widths) < 2:
            raise ConfigError("widths: give at least two widths, so the cost can be fitted against size")

    @property
    def compute(self) -> float:
        return 10.0 ** self.log10_compute

    @property
    def inference_tokens(self) -> float:
        return 10.0 ** self.log10_inference_tokens
