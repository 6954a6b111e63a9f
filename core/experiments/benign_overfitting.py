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
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
import torch

from core import contract, linear
from core.charts import PALETTE, decades, log_axis, log_y, words
from core.contract import ConfigError, Figure, Result, param
from core.mlp import derive_seed

#: Signal variance theta*^T S theta*: the test MSE of always predicting 0 is SIGNAL_R2 + s2.
SIGNAL_R2 = 1.0
#: p values per sweep (log-spaced from just above n to p) and points on the theory curve.
POINTS = 12
THEORY_POINTS = 60
#: Above this condition number of X X^T the float64 "interpolant" no longer interpolates.
MAX_CONDITION = 1e12
#: "Small" for the verdict: variance below SMALL s2 and bias below SMALL * SIGNAL_R2; and, for
#: Bartlett et al.'s sufficient conditions, r0/n, k*/n and n/R_k* below it (their bounds hold up
#: to unstated constants, so any fixed cut is a reading, not a theorem).
SMALL = 0.1
#: Train MSE below this fraction of E y^2 counts as interpolating (float64 fits reach ~1e-30).
INTERPOLATES = 1e-10

#: Eigenvalues below this are left out of the spectrum chart (exponential tails reach 1e-300).
SPECTRUM_FLOOR = 1e-12

SPECTRA = ("isotropic", "spiked", "power-law", "bartlett", "exponential")


@dataclass(frozen=True)
class Config:
    spectrum: str = param("spiked", "eigenvalues of the feature covariance: all equal; k strong plus many weak; "
                          "1/t with t = 1 + i/k; Bartlett et al.'s benign example 1/(t log²(t + 1)); or exp(−i/k)",
                          choices=SPECTRA, label="feature spectrum")
    n: int = param(100, "training samples", lo=20, hi=200, label="training samples n")
    p: int = param(20000, "features at the end of the sweep (the sweep runs from just above n to p)", lo=30, hi=20000,
                   label="largest number of features p")
    k: int = param(5, "strong directions: the spike count, or the scale where the spectrum starts to fall; "
                   "the true coefficients live on these", lo=1, hi=50, label="strong directions k")
    weak: float = param(2e-4, "eigenvalue of each weak direction (spiked spectrum only)", lo=1e-6, hi=1.0, log=True,
                        label="weak eigenvalue (spiked)")
    noise: float = param(0.5, "label noise standard deviation", lo=0.0, hi=2.0, step=0.05, label="label noise σ")
    repeats: int = param(5, "independent training sets per p (the spread of the points)", lo=1, hi=10,
                         label="training sets per p")
    seed: int = param(0, "random seed for the true coefficients and the data", lo=0, hi=2**31 - 1, label="random seed")

    def check(self) -> None:
        if self.p <= self.n + 1:
            raise ConfigError(f"p: {self.p} must exceed n + 1 = {self.n + 1} so that the model can interpolate")
        if self.k >= self.n:
            raise ConfigError(f"k: {self.k} must be below n = {self.n}")


def spectrum(name: str, p: int, k: int, weak: float) -> np.ndarray:
    """The p covariance eigenvalues, decreasing, largest 1; they depend on the index only, so the
    spectrum at a smaller p is a prefix of the one at a larger p (what lets the sweep nest).

    "bartlett" is Bartlett et al.'s (2020, Thm 6) example of a benign spectrum, 1/(t log^2(t+1)):
    unlike 1/t its tail sum converges, so the implicit ridge stays bounded as p grows; with k = 1
    it is exactly theirs (scaled to start at 1)."""
    i = np.arange(p, dtype=float)
    t = 1.0 + i / k
    if name == "isotropic":
        return np.ones(p)
    if name == "spiked":
        return np.where(i < k, 1.0, weak)
    if name == "power-law":
        return 1.0 / t
    if name == "bartlett":
        return math.log(2.0) ** 2 / (t * np.log1p(t) ** 2)
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


def size(config: Config) -> tuple[int, int]:
    return config.p, config.n


def run(config: Config, progress: contract.Progress | None, dev: torch.device) -> Result:
    """Sweep p for every repeat (numpy float64 on the CPU whatever ``dev`` says: the n x n
    algebra is too small for a GPU to pay)."""
    with linear.single_threaded_blas():
        return _run(config, progress)


def _run(config: Config, progress: contract.Progress | None) -> Result:
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
    sweep["implicit_ridge"] = [linear.implicit_ridge(eigs[:p], config.n) for p in sweep["p"]]
    last = sweep.iloc[-1]
    best = sweep.iloc[int(sweep["excess_risk"].to_numpy().argmin())]
    ranks = linear.effective_ranks(eigs, config.n)
    s2 = config.noise**2
    train_mse = float(per_repeat.loc[per_repeat["p"] == last["p"], "train_mse"].max())
    metrics = {
        "train_mse": train_mse,
        "excess_risk": float(last["excess_risk"]),
        "bias": float(last["bias"]),
        "variance": float(last["variance"]),
        "noise_var": s2,
        "signal_r2": SIGNAL_R2,
        "n": config.n,
        "verdict": verdict(train_mse, float(last["bias"]), float(last["variance"]), s2),
        "best_p": int(best["p"]),
        "best_excess_risk": float(best["excess_risk"]),
        "implicit_ridge": float(last["implicit_ridge"]),
        "r0": round(ranks.r0, 3),
        "k_star": ranks.k_star if ranks.k_star is not None else "none",
        "R_k_star": round(ranks.R_k_star, 3) if ranks.k_star is not None else "none",
        "bartlett": bartlett_conditions(ranks, config.n),
    }
    tables = {
        "sweep": sweep,
        "risk": _risk(rows, theory),
        "spectrum": pd.DataFrame({"index": np.arange(1, config.p + 1), "eigenvalue": eigs}),
    }
    return Result(metrics, tables, _status(worst, config))


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


def verdict(train_mse: float, bias: float, variance: float, s2: float) -> str:
    """What this run measured, in words: overfitting is benign when the fit interpolates the noisy
    labels and still predicts almost as well as the truth, i.e. the variance (fitted noise reaching
    the predictions) is a small part of the noise variance and the bias (signal lost) a small part
    of the signal. Judged on the measurement, not on a bound: Bartlett et al.'s conditions are
    sufficient, and a spectrum can fail them and still be benign here."""
    if train_mse > INTERPOLATES * (SIGNAL_R2 + s2):
        return f"does not interpolate: train MSE {train_mse:.2g}"
    faults = []
    if variance > SMALL * s2:
        faults.append(f"the variance is {_share(variance, s2)} the noise variance (the fitted noise reaches the predictions)")
    if bias > SMALL * SIGNAL_R2:
        faults.append(f"the bias is {_share(bias, SIGNAL_R2)} the signal variance (the signal is shrunk away)")
    if faults:
        return "not benign: " + "; ".join(faults)
    noise = f"{_share(variance, s2)} the noise variance" if s2 > 0 else "0 (no label noise)"
    return f"benign: it interpolates, the variance is {noise} and the bias {_share(bias, SIGNAL_R2)} the signal variance"


def _share(part: float, whole: float) -> str:
    """'5.2% of' or '21 times': a part against a reference level, in the words a reader checks."""
    ratio = part / whole
    return f"{100 * ratio:.2g}% of" if ratio < 1 else f"{ratio:.2g} times"


def bartlett_conditions(ranks: linear.EffectiveRanks, n: int) -> str:
    """Bartlett et al.'s (2020) ratios r0/n, k*/n and n/R_k*, with which of them is not small.

    Their theorem bounds the excess risk by these ratios (up to constants), for every signal
    direction at once; small ratios are sufficient for benign overfitting, not necessary. A large
    r0 only says the implicit ridge (about the tail sum / n) is large next to the top eigenvalue,
    which costs bias when the signal lives there, and not otherwise."""
    if ranks.k_star is None:
        return f"r₀/n = {ranks.r0 / n:.2g}; no k has rₖ ≥ n (the tail is too light to absorb the noise)"
    ratios = (("r₀/n", ranks.r0 / n), ("k*/n", ranks.k_star / n), ("n/Rₖ*", n / ranks.R_k_star))
    values = ", ".join(f"{name} = {value:.2g}" for name, value in ratios)
    large = [name for name, value in ratios if value >= SMALL]
    return f"{values}: " + (f"{' and '.join(large)} not small (≥ {SMALL:g})" if large else f"all small (< {SMALL:g})")


def _status(condition: float, config: Config) -> contract.Status:
    if condition > MAX_CONDITION:
        size = "over 1e16" if math.isinf(condition) else f"{condition:.1e}"
        return contract.warning(
            f"X X^T is numerically singular (condition number {size}): the {config.spectrum} spectrum falls "
            f"below float64 precision within n directions, so the fit need not interpolate; raise k")
    return contract.OK


def make_charts(result: Result) -> list[Figure]:
    figures = [Figure("Excess risk, bias and variance as p grows (points: simulation, lines: theory)", _risk_chart(result),
                      "risk", "Points: the exact excess risk, bias and variance of each training set (given X, averaged "
                      "over the noise). Lines: the theory (deterministic equivalent; for isotropic features exactly Hastie "
                      "et al.'s r²(1 − 1/γ) + σ²/(γ − 1)), the excess risk dashed on top of its two parts, bias + variance, so "
                      "it shows where it lies on one of them; points: dots for the parts, rings for their sum. Dashed grey: "
                      "the noise variance σ²; solid grey: the excess risk of always predicting 0. "
                      + _best_text(result))]
    if "sweep" in result.tables:
        figures.append(Figure("It interpolates: train error vs test error", _fit_chart(result), "sweep",
                              "Train MSE of the min-norm interpolant against its test MSE = excess risk + σ², the mean "
                              "over training sets. " + _fit_text(result)))
    if "spectrum" in result.tables:
        figures.append(Figure("The feature spectrum", _spectrum_chart(result), "spectrum",
                              "Eigenvalues of the feature covariance at the largest p. The signal lives on the first k "
                              "directions; the others absorb the noise. " + _verdict_text(result.metrics)))
    return figures


def _best_text(result: Result) -> str:
    """Where along the sweep the mean excess risk is lowest, from the run."""
    m = result.metrics
    if "best_p" not in m:
        return ""
    last = result.tables["sweep"].iloc[-1]
    if m["best_p"] == last["p"]:
        return f"Here the mean excess risk is lowest at the largest p, {m['best_p']:,} ({m['best_excess_risk']:.3g})."
    return (f"Here the mean excess risk is lowest at p = {m['best_p']:,} ({m['best_excess_risk']:.3g}) and rises to "
            f"{last['excess_risk']:.3g} at p = {int(last['p']):,}, as the implicit ridge grows from "
            f"{_ridge_at(result, m['best_p']):.2g} to {last['implicit_ridge']:.2g}.")


def _ridge_at(result: Result, p: int) -> float:
    sweep = result.tables["sweep"]
    return float(sweep.loc[sweep["p"] == p, "implicit_ridge"].iloc[0])


def _fit_text(result: Result) -> str:
    """How close to zero the train MSE is, and whether the first test point is off the chart."""
    m = result.metrics
    if "train_mse" not in m:
        return ""
    sweep = result.tables["sweep"]
    worst = float(sweep["train_mse"].max())
    text = (f"Here the largest train MSE over the sweep is {worst:.2g}, against E y² = "
            f"{SIGNAL_R2 + m['noise_var']:.3g} for the labels.")
    first = sweep.iloc[0]
    if first["excess_risk"] + m["noise_var"] > _fit_top(sweep, m["noise_var"]):
        text += f" At p = {int(first['p']):,}, just above n, the test MSE is {first['excess_risk'] + m['noise_var']:.3g}, off the top."
    return text


def _verdict_text(m: dict) -> str:
    """The measured verdict, then Bartlett et al.'s sufficient conditions beside it."""
    if "verdict" not in m:
        return ""
    return (f"Here, at p = {m['params']:,}: excess risk {m['excess_risk']:.3g} (bias {m['bias']:.3g}, variance "
            f"{m['variance']:.3g}) against noise variance {m['noise_var']:.3g} and signal variance {m['signal_r2']:.3g}; "
            f"measured verdict: **{m['verdict']}**. The implicit ridge is {m['implicit_ridge']:.2g}. Bartlett et al.'s "
            f"sufficient conditions (from bounds, up to constants): {m['bartlett']}.")


TERMS = ["excess_risk", "bias", "variance"]
#: The legend's words for the risk table's terms and the fit chart's two sets.
WORDS = {"excess_risk": "excess risk = bias + variance", "bias": "bias (signal lost)",
         "variance": "variance (noise that reached the predictions)", "train_mse": "train MSE", "test_mse": "test MSE"}
TERM_COLORS = alt.Scale(domain=[WORDS[t] for t in TERMS], range=[PALETTE.blue, PALETTE.orange, PALETTE.green])
#: Words for the metrics and table columns, as a reader sees them (comparison table, tooltips).
LABELS = {
    "train_mse": "train MSE at the largest p (worst training set)",
    "excess_risk": "excess risk at the largest p",
    "bias": "bias at the largest p",
    "variance": "variance at the largest p",
    "noise_var": "noise variance σ²",
    "signal_r2": "signal variance r²",
    "n": "training samples n",
    "verdict": "measured verdict",
    "best_p": "p of the lowest excess risk",
    "best_excess_risk": "lowest excess risk",
    "implicit_ridge": "implicit ridge κ",
    "r0": "effective rank r₀",
    "k_star": "k*",
    "R_k_star": "effective rank Rₖ*",
    "bartlett": "Bartlett et al.'s conditions",
    "ratio": "p / n",
    "repeat": "training set",
    "term": "term",
    "value": "value",
    "source": "simulation or theory",
    "index": "direction i",
    "eigenvalue": "eigenvalue",
}


def _ratio_x(data: pd.DataFrame) -> alt.X:
    return log_axis("ratio", "p / n (log)", values=data["ratio"], nice=False,
                    domain=[data["ratio"].min(), data["ratio"].max()])


def _rules(levels: list[tuple[float, str, bool]], y: alt.Y) -> alt.Chart:
    """Horizontal reference lines (height, name, dashed), named in a legend: a label drawn on the
    chart was crossed by the curves that start high just above p = n."""
    frame = pd.DataFrame([{"y": height, "reference": name} for height, name, _ in levels])
    dashes = [[6, 4] if dashed else [1, 0] for _, _, dashed in levels]
    return alt.Chart(frame).mark_rule(color=PALETTE.grey).encode(
        y=y.to_dict() | {"field": "y"},
        strokeDash=alt.StrokeDash("reference:N", title=None, sort=list(frame["reference"]),
                                  scale=alt.Scale(domain=list(frame["reference"]), range=dashes),
                                  legend=alt.Legend(orient="bottom", labelLimit=0)),
        tooltip=[alt.Tooltip("reference:N", title="reference"), alt.Tooltip("y:Q", title="value", format=".3g")])


def _risk_chart(result: Result) -> alt.LayerChart:
    data = result.tables["risk"]
    s2 = result.metrics.get("noise_var")
    floor = 1e-4 * (SIGNAL_R2 + (s2 or 0.0))
    data = words(data[data["value"] > 0], "term", WORDS)
    top = max(float(data["value"].max()), SIGNAL_R2) * 1.5
    x = _ratio_x(data)
    y = log_y("value", "risk above the noise (log)", values=[floor, top], ticks=decades(floor, top), domain=[floor, top])
    color = alt.Color("term:N", title=None, sort=list(TERM_COLORS.domain), scale=TERM_COLORS,
                      legend=alt.Legend(orient="bottom", labelLimit=0))
    tooltip = [alt.Tooltip("p:Q", title="features p"), alt.Tooltip("term:N", title="term"),
               alt.Tooltip("value:Q", title="value", format=".3g")]
    theory = data[data["source"] == "theory"]
    total = theory["term"] == WORDS["excess_risk"]
    # the sum is drawn last and dashed: where it lies on one of its parts both stay visible
    parts = alt.Chart(theory[~total]).mark_line(strokeWidth=2, clip=True).encode(x=x, y=y, color=color, tooltip=tooltip)
    whole = alt.Chart(theory[total]).mark_line(strokeWidth=3, strokeDash=[8, 5], clip=True).encode(
        x=x, y=y, color=color, tooltip=tooltip)
    simulated = data[data["source"] == "simulation"]
    sim_total = simulated["term"] == WORDS["excess_risk"]
    sim_tooltip = [*tooltip, alt.Tooltip("repeat:Q", title=LABELS["repeat"])]
    sim = alt.Chart(simulated[~sim_total]).mark_point(filled=True, opacity=0.7, clip=True).encode(
        x=x, y=y, color=color, tooltip=sim_tooltip)
    # the sum's points as rings around its parts' dots, which they often coincide with
    rings = alt.Chart(simulated[sim_total]).mark_point(filled=False, size=90, strokeWidth=1.5, clip=True).encode(
        x=x, y=y, color=color, tooltip=sim_tooltip)
    levels = [(SIGNAL_R2, "predicting 0", False)] + ([(s2, "noise σ²", True)] if s2 else [])
    return alt.layer(parts, whole, sim, rings, _rules(levels, y)).resolve_scale(strokeDash="independent").properties(
        height=340)


def _fit_chart(result: Result) -> alt.LayerChart:
    """Linear axis on purpose: train MSE sits exactly on 0, test MSE near the noise line."""
    sweep = result.tables["sweep"].copy()
    s2 = result.metrics.get("noise_var", 0.0)
    sweep["test_mse"] = sweep["excess_risk"] + s2
    long = sweep.melt(id_vars=["p", "ratio"], value_vars=["train_mse", "test_mse"], var_name="set", value_name="mse")
    long = words(long, "set", WORDS)
    top = _fit_top(sweep, s2)
    sets = [WORDS["train_mse"], WORDS["test_mse"]]
    y = alt.Y("mse:Q", title="MSE", scale=alt.Scale(domain=[0, top]))
    lines = alt.Chart(long).mark_line(point=True, clip=True).encode(
        x=_ratio_x(long), y=y,
        color=alt.Color("set:N", title=None, scale=alt.Scale(domain=sets, range=[PALETTE.purple, PALETTE.blue])),
        tooltip=[alt.Tooltip("p:Q", title="features p"), alt.Tooltip("set:N", title="set"),
                 alt.Tooltip("mse:Q", title="MSE", format=".3g")])
    levels = [(SIGNAL_R2 + s2, "predicting 0", False)] + ([(s2, "noise σ² (the best possible)", True)] if s2 else [])
    return alt.layer(lines, _rules(levels, y)).resolve_scale(strokeDash="independent").properties(height=260)


def _fit_top(sweep: pd.DataFrame, s2: float) -> float:
    """Room for the whole test curve except the blow-up just above p = n."""
    beyond = sweep["excess_risk"].iloc[1:] + s2
    return max(1.3 * (SIGNAL_R2 + s2), 1.1 * float(beyond.max()) if len(beyond) else 0.0)


def _spectrum_chart(result: Result) -> alt.Chart:
    spec = result.tables["spectrum"]
    keep = np.unique(np.geomspace(1, len(spec), 300).astype(int)) - 1
    shown = spec.iloc[keep]
    shown = shown[shown["eigenvalue"] > SPECTRUM_FLOOR]  # an exponential tail underflows; below this it is invisible anyway
    return alt.Chart(shown).mark_line().encode(
        x=log_axis("index", "direction i (log)", values=[1, len(spec)], nice=False, domain=[1, len(spec)]),
        y=log_y("eigenvalue", "eigenvalue (log)", values=shown["eigenvalue"]),
        color=alt.value(PALETTE.blue),
        tooltip=[alt.Tooltip("index:Q", title="direction i"), alt.Tooltip("eigenvalue:Q", title="eigenvalue", format=".3g")],
    ).properties(height=220)


#: Named settings that make the point: the page offers them, the warm start computes them.
PRESETS = {
    "Spiked: benign": {},
    "Spiked, heavier tail: benign though r₀/n = 0.15": {"p": 10_000, "weak": 0.001},
    "Isotropic, p = 5n (the textbook's setting): not benign": {"spectrum": "isotropic", "p": 500, "k": 10, "noise": 0.3},
    "Power law 1/t: the risk turns up as p grows": {"spectrum": "power-law"},
    "Bartlett et al.'s benign example, at n = 100: not yet": {"spectrum": "bartlett", "k": 1},
    "Exponential: harmful": {"spectrum": "exponential"},
}

EXPERIMENT = contract.Experiment(
    name="benign-overfitting",
    title="Benign overfitting",
    claim="Fitting noisy labels exactly can be harmless: a few strong directions, many weak ones.",
    icon=":material/blur_on:",
    order=40,
    config=Config,
    run=run,
    flops=flops,
    charts=make_charts,
    size=size,
    backend="cpu (numpy float64)",
    presets=PRESETS,
    labels=LABELS,
)
