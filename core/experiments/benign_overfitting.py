"""Benign overfitting: the min-norm interpolant fits noisy labels exactly and still predicts well,
but only for the right feature spectrum (Bartlett, Long, Lugosi, Tsigler 2020).

Features x = z * sqrt(eigs) have covariance S = diag(eigs); the true coefficients live on the
first k coordinates with signal variance theta*^T S theta* = SIGNAL_R2. Everything is computed in
the n x n Gram matrix G = X X^T, never a p x p matrix, so p = 20000 stays cheap; the p values of
the sweep are nested (the first p columns of one draw), so G grows by the new columns instead of
being rebuilt. Bias and variance are exact given X (expectations over the noise), not sampled.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd

from core import contract, linear
from core.contract import ConfigError, Figure, Result, param
from core.mlp import derive_seed

#: Signal variance theta*^T S theta*: the test MSE of always predicting 0 is SIGNAL_R2 + s2.
SIGNAL_R2 = 1.0
#: p values per sweep (log-spaced from just above n to p) and points on the theory curve.
POINTS = 12
THEORY_POINTS = 60
#: Above this condition number of X X^T the float64 "interpolant" no longer interpolates.
MAX_CONDITION = 1e12
#: Bartlett et al.'s conditions count as met when r0/n, k*/n and n/R_k* are all below this.
SMALL = 0.1

#: Eigenvalues below this are left out of the spectrum chart (exponential tails reach 1e-300).
SPECTRUM_FLOOR = 1e-12

SPECTRA = ("isotropic", "spiked", "power-law", "exponential")


@dataclass(frozen=True)
class Config:
    spectrum: str = param("spiked", "eigenvalues of the feature covariance: all equal; k strong plus many weak; "
                          "(1 + i/k)^-1; or exp(-i/k)", choices=SPECTRA)
    n: int = param(100, "training samples", lo=20, hi=200)
    p: int = param(20000, "features at the end of the sweep (the sweep runs from just above n to p)", lo=30, hi=20000)
    k: int = param(5, "strong directions: the spike count, or the scale where the spectrum starts to fall; "
                   "the true coefficients live on these", lo=1, hi=50)
    weak: float = param(2e-4, "eigenvalue of each weak direction (spiked spectrum only)", lo=1e-6, hi=1.0, log=True)
    noise: float = param(0.5, "label noise standard deviation", lo=0.0, hi=2.0, step=0.05)
    repeats: int = param(5, "independent training sets per p (the spread of the points)", lo=1, hi=10)
    seed: int = param(0, "random seed for the true coefficients and the data", lo=0, hi=2**31 - 1)

    def check(self) -> None:
        if self.p <= self.n + 1:
            raise ConfigError(f"p: {self.p} must exceed n + 1 = {self.n + 1} so that the model can interpolate")
        if self.k >= self.n:
            raise ConfigError(f"k: {self.k} must be below n = {self.n}")


def spectrum(name: str, p: int, k: int, weak: float) -> np.ndarray:
    """The p covariance eigenvalues, decreasing, largest 1; they depend on the index only, so the
    spectrum at a smaller p is a prefix of the one at a larger p (what lets the sweep nest)."""
    i = np.arange(p, dtype=float)
    if name == "isotropic":
        return np.ones(p)
    if name == "spiked":
        return np.where(i < k, 1.0, weak)
    if name == "power-law":
        return 1.0 / (1.0 + i / k)
    return np.exp(-i / k)


def true_coefficients(config: Config, eigs: np.ndarray) -> np.ndarray:
    """theta* on the first k coordinates, a seeded Gaussian direction scaled to signal variance
    SIGNAL_R2; the same theta* for every p and every repeat (the seed script's test set used
    another one)."""
    g = np.random.default_rng(derive_seed(config.seed, "theta")).standard_normal(config.k)
    return g * math.sqrt(SIGNAL_R2 / float(np.sum(eigs[: config.k] * g**2)))


def sweep_ps(config: Config) -> np.ndarray:
    """Log-spaced p from just above the interpolation threshold up to config.p."""
    start = min(config.n + max(2, config.n // 10), config.p)
    return np.unique(np.geomspace(start, config.p, POINTS).round().astype(int))


def flops(config: Config) -> float:
    """Per repeat: accumulating G over the columns (2 n^2 p), then per p of the sweep a Cholesky
    (n^3 / 3), the solve G^-1 X for the variance (2 n^2 p) and O(n p) for the bias."""
    n = config.n
    per_point = sum(n**3 / 3 + 2 * n**2 * p + 8 * n * p for p in sweep_ps(config))
    return config.repeats * (2 * n**2 * config.p + per_point)


def run(config: Config, progress: contract.Progress | None = None, device: str | None = None) -> Result:
    """Sweep p for every repeat (numpy float64 on the CPU whatever ``device`` says: the n x n
    algebra is too small for a GPU to pay)."""
    with linear.single_threaded_blas():
        return _run(config, progress)


def _run(config: Config, progress: contract.Progress | None) -> Result:
    start = time.perf_counter()
    eigs = spectrum(config.spectrum, config.p, config.k, config.weak)
    theta = true_coefficients(config, eigs)
    ps = sweep_ps(config)
    theory = _theory(config, eigs, theta, ps)
    rows, worst = [], 1.0
    for r in range(config.repeats):
        rows_r, cond = _one_repeat(config, eigs, theta, ps, r)
        rows += rows_r
        worst = max(worst, cond)
        if progress is not None:
            progress((r + 1) / config.repeats, f"training set {r + 1} of {config.repeats}", {"risk": _risk(rows, theory)})
    per_repeat = pd.DataFrame(rows)
    sweep = per_repeat.groupby(["p", "ratio"], as_index=False)[["train_mse", "excess_risk", "bias", "variance"]].mean()
    last = sweep.iloc[-1]
    ranks = linear.effective_ranks(eigs, config.n)
    metrics = {
        "status": _status(worst, config),
        "train_mse": float(last["train_mse"]),
        "excess_risk": float(last["excess_risk"]),
        "bias": float(last["bias"]),
        "variance": float(last["variance"]),
        "noise_var": config.noise**2,
        "signal_r2": SIGNAL_R2,
        "n": config.n,
        "r0": round(ranks.r0, 3),
        "k_star": ranks.k_star if ranks.k_star is not None else "none",
        "R_k_star": round(ranks.R_k_star, 3) if ranks.k_star is not None else "none",
        "verdict": verdict(ranks, config.n),
        **contract.cost_metrics(config.p, config.n, flops(config), time.perf_counter() - start, "cpu (numpy float64)"),
    }
    tables = {
        "sweep": sweep,
        "risk": _risk(rows, theory),
        "spectrum": pd.DataFrame({"index": np.arange(1, config.p + 1), "eigenvalue": eigs}),
    }
    return Result(metrics, tables)


def draw(config: Config, eigs: np.ndarray, theta: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training set ``r``: standard normals z (n x p; the features are z * sqrt(eigs)), the
    noiseless signal X theta* and the noisy labels y."""
    rng = np.random.default_rng(derive_seed(config.seed, "data", r))
    z = rng.standard_normal((config.n, config.p))
    signal = z[:, : config.k] @ (np.sqrt(eigs[: config.k]) * theta)
    return z, signal, signal + config.noise * rng.standard_normal(config.n)


def _one_repeat(config: Config, eigs: np.ndarray, theta: np.ndarray, ps: np.ndarray, r: int) -> tuple[list[dict], float]:
    """One training set, every p of the sweep from the same draw (nested columns)."""
    n, k, s2 = config.n, config.k, config.noise**2
    z, signal, y = draw(config, eigs, theta, r)
    gram = np.zeros((n, n))
    rows, done, worst = [], 0, 1.0
    for p in ps:
        block = z[:, done:p]
        gram += (block * eigs[done:p]) @ block.T
        done = p
        solve = linear.GramSolve(gram)
        worst = max(worst, solve.condition)
        x = z[:, :p] * np.sqrt(eigs[:p])
        fit = gram @ solve.solve(y)
        # theta* - theta_hat(noiseless labels), in feature coordinates; its S-norm is the bias
        gap = -(x.T @ solve.solve(signal))
        gap[:k] += theta
        bias = float(np.sum(eigs[:p] * gap**2))
        variance = s2 * linear.variance_trace(solve, x, eigs[:p])
        rows.append({"p": int(p), "ratio": p / n, "repeat": r, "train_mse": float(np.mean((fit - y) ** 2)),
                     "excess_risk": bias + variance, "bias": bias, "variance": variance})
    return rows, worst


def _theory(config: Config, eigs: np.ndarray, theta: np.ndarray, ps: np.ndarray) -> pd.DataFrame:
    """The deterministic-equivalent curves on a fine grid of p (computed once per run)."""
    grid = np.unique(np.geomspace(ps[0], ps[-1], THEORY_POINTS).round().astype(int))
    rows = []
    for p in grid:
        terms = linear.ridgeless_equivalent(eigs[:p], theta, config.n, config.noise**2)
        for term, value in (("excess_risk", terms.excess_risk), ("bias", terms.bias), ("variance", terms.variance)):
            rows.append({"p": int(p), "ratio": p / config.n, "repeat": None, "source": "theory", "term": term, "value": value})
    return pd.DataFrame(rows)


def _risk(rows: list[dict], theory: pd.DataFrame) -> pd.DataFrame:
    """Tidy table behind the main chart: every repeat's exact terms and the theory curves."""
    sim = pd.DataFrame(rows).melt(id_vars=["p", "ratio", "repeat"], value_vars=["excess_risk", "bias", "variance"],
                                  var_name="term", value_name="value")
    sim.insert(3, "source", "simulation")
    out = pd.concat([sim, theory], ignore_index=True)
    out["repeat"] = out["repeat"].astype("Int64")
    return out[["p", "ratio", "repeat", "source", "term", "value"]]


def verdict(ranks: linear.EffectiveRanks, n: int) -> str:
    """"benign" when Bartlett et al.'s three ratios are all small, else the first that fails."""
    if ranks.k_star is None:
        return "not benign: no k has r_k >= n (the spectrum decays too fast to absorb the noise)"
    checks = (("r0/n", ranks.r0 / n, "the signal is spread over too many directions"),
              ("k*/n", ranks.k_star / n, "too many strong directions"),
              ("n/R_k*", n / ranks.R_k_star, "too few weak directions to absorb the noise"))
    for name, value, why in checks:
        if value >= SMALL:
            return f"not benign: {name} = {value:.2g} is not small ({why})"
    return "benign"


def _status(condition: float, config: Config) -> str:
    if condition > MAX_CONDITION:
        size = "over 1e16" if math.isinf(condition) else f"{condition:.1e}"
        return (f"X X^T is numerically singular (condition number {size}): the {config.spectrum} spectrum falls "
                f"below float64 precision within n directions, so the fit need not interpolate; raise k")
    return "ok"


def make_charts(result: Result) -> list[Figure]:
    figures = [Figure("Excess risk, bias and variance as p grows (points: simulation, lines: theory)", _risk_chart(result),
                      "risk", "Points: the exact bias and variance of each training set (given X, averaged over the noise); "
                      "the thick pale line is their sum, the excess risk. Lines: the theory (deterministic equivalent; for "
                      "isotropic features exactly Hastie et al.'s r2(1 - 1/gamma) + s2/(gamma - 1)). Dashed: the noise "
                      "variance s2; grey: the excess risk of always predicting 0.")]
    if "sweep" in result.tables:
        figures.append(Figure("It interpolates: train error vs test error", _fit_chart(result), "sweep",
                              "Train MSE of the min-norm interpolant (zero to machine precision at every p) against its "
                              "test MSE = excess risk + s2, the mean over training sets; near p = n it is off the top."))
    if "spectrum" in result.tables:
        figures.append(Figure("The feature spectrum", _spectrum_chart(result), "spectrum",
                              "Eigenvalues of the feature covariance at the largest p. Benign needs a few strong "
                              "directions (carrying the signal) and a long, flat tail of weak ones (absorbing the noise). "
                              + _verdict_text(result.metrics)))
    return figures


def _verdict_text(m: dict) -> str:
    """The effective ranks and the verdict in words, for the caption under the spectrum."""
    if "verdict" not in m:
        return ""
    n = m["n"]
    ranks = f"r0/n = {m['r0'] / n:.2g}"
    if m["k_star"] != "none":
        ranks += f", k*/n = {m['k_star'] / n:.2g}, n/R_k* = {n / m['R_k_star']:.2g}"
    return (f"Here (at p = {m['params']:,}): {ranks}; verdict: **{m['verdict']}**. Excess risk {m['excess_risk']:.3g} "
            f"(bias {m['bias']:.3g}, variance {m['variance']:.3g}) against noise variance {m['noise_var']:.3g}.")


TERMS = ["excess_risk", "bias", "variance"]
TERM_COLORS = alt.Scale(domain=TERMS, range=["#1f77b4", "#ff7f0e", "#2ca02c"])


def _ratio_x(data: pd.DataFrame) -> alt.X:
    return alt.X("ratio:Q", title="p / n (log)", scale=alt.Scale(type="log", nice=False,
                                                               domain=[data["ratio"].min(), data["ratio"].max()]))


def _rules(levels: list[tuple[float, str, bool]]) -> list[alt.Chart]:
    """Labelled horizontal reference lines: (height, label, dashed)."""
    charts = []
    for height, label, dashed in levels:
        frame = pd.DataFrame({"y": [height], "label": [label]})
        base = alt.Chart(frame)
        charts.append(base.mark_rule(color="grey", strokeDash=[6, 4] if dashed else [1, 0]).encode(y="y:Q"))
        charts.append(base.mark_text(align="left", baseline="bottom", dx=4, dy=-2, color="grey").encode(
            x=alt.value(0), y="y:Q", text="label:N"))
    return charts


def _risk_chart(result: Result) -> alt.LayerChart:
    data = result.tables["risk"]
    s2 = result.metrics.get("noise_var")
    floor = 1e-4 * (SIGNAL_R2 + (s2 or 0.0))
    data = data[data["value"] > 0]
    x = _ratio_x(data)
    y = alt.Y("value:Q", title="risk above the noise (log)",
              scale=alt.Scale(type="log", domain=[floor, max(float(data["value"].max()), SIGNAL_R2) * 1.5]))
    color = alt.Color("term:N", title=None, sort=TERMS, scale=TERM_COLORS)
    theory = data[data["source"] == "theory"]
    total = alt.Chart(theory[theory["term"] == "excess_risk"]).mark_line(strokeWidth=7, opacity=0.35, clip=True).encode(
        x=x, y=y, color=color)
    parts = alt.Chart(theory[theory["term"] != "excess_risk"]).mark_line(clip=True).encode(
        x=x, y=y, color=color, tooltip=["p", "term", alt.Tooltip("value:Q", format=".3g")])
    sim = alt.Chart(data[data["source"] == "simulation"]).mark_point(filled=True, opacity=0.7, clip=True).encode(
        x=x, y=y, color=color, tooltip=["p", "repeat", "term", alt.Tooltip("value:Q", format=".3g")])
    levels = [(SIGNAL_R2, "predicting 0", False)] + ([(s2, "noise s2", True)] if s2 else [])
    return alt.layer(total, parts, sim, *_rules(levels)).properties(height=340)


def _fit_chart(result: Result) -> alt.LayerChart:
    """Linear axis on purpose: train MSE sits exactly on 0, test MSE near the noise line."""
    sweep = result.tables["sweep"].copy()
    s2 = result.metrics.get("noise_var", 0.0)
    sweep["test_mse"] = sweep["excess_risk"] + s2
    long = sweep.melt(id_vars=["p", "ratio"], value_vars=["train_mse", "test_mse"], var_name="set", value_name="mse")
    # room for the whole test curve except the blow-up just above p = n
    beyond = sweep["test_mse"].iloc[1:]
    top = max(1.3 * (SIGNAL_R2 + s2), 1.1 * float(beyond.max()) if len(beyond) else 0.0)
    lines = alt.Chart(long).mark_line(point=True, clip=True).encode(
        x=_ratio_x(long), y=alt.Y("mse:Q", title="MSE", scale=alt.Scale(domain=[0, top])),
        color=alt.Color("set:N", title=None, scale=alt.Scale(domain=["train_mse", "test_mse"], range=["#9467bd", "#1f77b4"])),
        tooltip=["p", "set", alt.Tooltip("mse:Q", format=".3g")])
    levels = [(SIGNAL_R2 + s2, "predicting 0", False)] + ([(s2, "noise s2 (the best possible)", True)] if s2 else [])
    return alt.layer(lines, *_rules(levels)).properties(height=260)


def _spectrum_chart(result: Result) -> alt.Chart:
    spec = result.tables["spectrum"]
    keep = np.unique(np.geomspace(1, len(spec), 300).astype(int)) - 1
    shown = spec.iloc[keep]
    shown = shown[shown["eigenvalue"] > SPECTRUM_FLOOR]  # an exponential tail underflows; below this it is invisible anyway
    return alt.Chart(shown).mark_line().encode(
        x=alt.X("index:Q", title="direction i (log)", scale=alt.Scale(type="log", nice=False, domain=[1, len(spec)])),
        y=alt.Y("eigenvalue:Q", title="eigenvalue (log)", scale=alt.Scale(type="log")),
        tooltip=["index", alt.Tooltip("eigenvalue:Q", format=".3g")]).properties(height=220)


EXPERIMENT = contract.register(contract.Experiment(
    name="benign-overfitting",
    title="Benign overfitting",
    config=Config,
    run=run,
    flops=flops,
    charts=make_charts,
    summary="The min-norm interpolant fits noisy labels exactly, yet predicts well when a few strong directions "
            "carry the signal and many weak ones absorb the noise.",
))
