"""The double-descent settings: one frozen Config drives the page, the cache key and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from core.contract import ConfigError, param

MODELS = ("linear", "relu", "fourier")
DATASETS = ("synthetic", "digits")
TRUTHS = ("per-p", "fixed")
RIDGES = ("0", "0.0001", "0.001", "0.01", "0.1", "1", "optimal")
#: Energy of the signal, E f(x)^2: |beta|^2 for the linear model, 1 by construction elsewhere.
SIGNAL_R2 = 1.0
#: Input dimensions of the synthetic data for the random-feature models.
D_SYNTH = 10
#: Test points (and as many validation points) of the synthetic random-feature data.
N_TEST = 1000

#: Words for the metrics and the curve's columns, as a reader sees them (comparison table, tooltips).
LABELS = {
    "peak_ratio": "p/n at the highest mean test error",
    "signal_r2": "signal energy r²",
    "noise_var": "noise variance σ²",
    "null_mse": "error of predicting 0",
    "p": "parameters p",
    "ratio": "parameters per training point p/n",
    "train_mse": "train error",
    "test_mse": "test error, mean of the draws",
    "test_mse_std": "standard deviation of the test error",
    "test_mse_median": "test error, median of the draws",
    "test_mse_q25": "test error, 25th percentile",
    "test_mse_q75": "test error, 75th percentile",
    "norm": "norm of the fitted weights |w|",
    "theory_test_mse": "test error, expected (theory)",
}


@dataclass(frozen=True)
class Config:
    model: str = param("linear", "linear: p isotropic Gaussian features of a linear truth with |β|² = 1 (see truth); "
                       "relu: random ReLU features; fourier: random Fourier features (scikit-learn's RBFSampler)",
                       choices=MODELS, label="model")
    truth: str = param("per-p", "the linear model's truth (random features always fit one fixed target). "
                       "per-p: a fresh truth of energy |β|² = 1 on the first p features for every p, so every "
                       "model is well specified and a larger p is a harder problem (Hastie et al.'s setting); "
                       "fixed: one truth over the largest model's features, of which a model of size p sees the "
                       "first p and the rest act as noise (Belkin, Hsu, Xu 2019)",
                       choices=TRUTHS, label="truth (linear model)")
    dataset: str = param("synthetic", "synthetic Gaussian inputs, or scikit-learn's handwritten digits (8x8 images, "
                         "one-hot targets; bundled, no download; relu and fourier models only)", choices=DATASETS,
                         label="data")
    n: int = param(100, "training samples", lo=20, hi=1000, label="training samples n")
    ratio_max: float = param(5.0, "largest p/n on the sweep", lo=1.5, hi=10.0, step=0.5, label="largest p/n")
    points: int = param(50, "model sizes p on the sweep, evenly spaced up to the largest p/n times n (p = n is always "
                        "one)", lo=10, hi=200, label="model sizes on the sweep")
    noise: float = param(0.5, "label noise standard deviation on the training labels (synthetic test labels carry it too, "
                         "so σ² is the floor of their test error; digits are scored on their true labels)", lo=0.0, hi=2.0, step=0.05,
                         label="label noise σ")
    ridge: str = param("0", "ridge penalty λ (Hastie et al.'s convention); 0 = ridgeless, the minimum-norm "
                       "interpolant beyond p = n; optimal = the risk-minimising λ at every p (linear: the closed form "
                       "σ² p / (n r²), with the unseen part of a fixed truth counted as noise; random features: least "
                       "error on held-out validation points, not the test points)", choices=RIDGES,
                       label="ridge penalty λ")
    repeats: int = param(20, "independent draws of data and features; the chart shows their median and quartiles",
                         lo=1, hi=50, label="independent draws")
    seed: int = param(0, "random seed for data, features and noise", lo=0, hi=2**31 - 1, label="random seed")

    def check(self) -> None:
        if self.model == "linear" and self.dataset == "digits":
            raise ConfigError("dataset: digits needs model relu or fourier; the linear model draws its own Gaussian data")
