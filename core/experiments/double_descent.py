"""Double descent: test error against p/n through the interpolation threshold p = n.

Every model here is linear in its features, so each size p is a least-squares problem and the
whole sweep shares one factorization: for ridgeless fits with p <= n one QR of the widest feature
matrix (the leading p x p block of R solves the fit on the first p features), and for p > n or any
ridge a running Gram matrix K_p = K_prev + F_new F_new^T with one Cholesky (or one eigh, to tune
the ridge) per grid point. That is exact, not an approximation: a test checks it
against one lstsq per p, and bench/double_descent.py times both.

Conventions. Features are scaled to unit mean square, ridge is Hastie et al.'s lambda: minimise
(1/n)|y - F w|^2 + lambda |w|^2, i.e. solve (F^T F + n lambda I) w = F^T y.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
from scipy.linalg import eigh, qr, solve_triangular
from scipy.linalg.lapack import dpotrf, dpotrs
from sklearn.datasets import load_digits
from sklearn.kernel_approximation import RBFSampler
from threadpoolctl import threadpool_limits

from core import contract
from core.contract import ConfigError, Figure, Result, param

MODELS = ("linear", "relu", "fourier")
DATASETS = ("synthetic", "digits")
RIDGES = ("0", "0.0001", "0.001", "0.01", "0.1", "1", "optimal")
#: Energy of the signal, E f(x)^2: |beta|^2 for the linear model, 1 by construction elsewhere.
SIGNAL_R2 = 1.0
#: Input dimensions of the synthetic data for the random-feature models.
D_SYNTH = 10
N_TEST = 1000
#: Candidate ridges when tuning for random features (they have no closed-form optimum).
RIDGE_GRID = np.logspace(-6, 3, 46)
#: A Cholesky pivot this small relative to the largest means the system is singular in float64.
SINGULAR_RCOND = 1e-13
#: Errors below this fraction of the zero predictor's are drawn as zero, i.e. not on the log axis.
FLOOR = 1e-6
CURVE_COLUMNS = ["p", "ratio", "train_mse", "test_mse", "test_mse_std", "norm", "theory_test_mse"]


@dataclass(frozen=True)
class Config:
    model: str = param("linear", "linear: p isotropic Gaussian features of a well-specified linear truth with |beta|^2 = 1 "
                       "for every p (Hastie et al.'s setting); relu: random ReLU features; fourier: random Fourier "
                       "features (scikit-learn's RBFSampler)", choices=MODELS)
    dataset: str = param("synthetic", "synthetic Gaussian inputs, or scikit-learn's handwritten digits (8x8 images, "
                         "one-hot targets; bundled, no download; relu and fourier models only)", choices=DATASETS)
    n: int = param(100, "training samples", lo=20, hi=1000)
    ratio_max: float = param(5.0, "largest p/n on the sweep", lo=1.5, hi=10.0, step=0.5)
    points: int = param(50, "model sizes p on the sweep, evenly spaced up to ratio_max n (p = n is always one)", lo=10, hi=200)
    noise: float = param(0.5, "label noise standard deviation on the training labels (synthetic test labels carry it too, "
                         "so s2 is the floor of their test error; digits are scored on their true labels)", lo=0.0, hi=2.0, step=0.05)
    ridge: str = param("0", "ridge penalty lambda (Hastie et al.'s convention); 0 = ridgeless, the minimum-norm "
                       "interpolant beyond p = n; optimal = the risk-minimising lambda at every p (linear: the closed form "
                       "s2 p / (n r2); random features: least error on held-out validation points, not the test points)",
                       choices=RIDGES)
    repeats: int = param(20, "independent draws of data and features, averaged", lo=1, hi=50)
    seed: int = param(0, "random seed for data, features and noise", lo=0, hi=2**31 - 1)

    def check(self) -> None:
        if self.model == "linear" and self.dataset == "digits":
            raise ConfigError("dataset: digits needs model relu or fourier; the linear model draws its own Gaussian data")


# ---------------------------------------------------------------- the sweep from one factorization

def grid(n: int, ratio_max: float, points: int) -> np.ndarray:
    """Model sizes p: evenly spaced from 1 to ratio_max n, always including the threshold p = n."""
    top = round(ratio_max * n)
    return np.unique(np.r_[np.round(np.linspace(1, top, points)).astype(int), n])


@dataclass
class Validation:
    """Held-out points that stand in for the risk when the ridge is tuned (never the test points)."""

    F: np.ndarray  # their features
    f: np.ndarray  # their noiseless targets


def fit_path(F: np.ndarray, targets: list[np.ndarray], ps: np.ndarray, lams: np.ndarray | None,
             val: Validation | None = None) -> list[np.ndarray | None]:
    """Ridge (or ridgeless, lambda = 0) weights on the first p columns of F for every p in ps.

    targets[i] is the (n, k) target for ps[i] (the linear model's truth changes with p);
    lams[i] is lambda for ps[i], or lams is None to tune lambda on ``val`` at every p.
    An entry is None where the system is singular to working precision.
    """
    n = F.shape[0]
    out: list[np.ndarray | None] = [None] * len(ps)
    if lams is None:
        for i, p, K, Z in _running_gram(F, ps, range(len(ps)), val.F):
            out[i] = _tuned_ridge(F[:, :p], K, Z, targets[i], val.f)
        return out
    qr_idx = [i for i, p in enumerate(ps) if p <= n and lams[i] == 0]
    _qr_path(F, targets, ps, qr_idx, out)
    gram_idx = [i for i in range(len(ps)) if i not in set(qr_idx)]
    for i, p, K, _ in _running_gram(F, ps, gram_idx):
        out[i] = _cholesky_solve(F[:, :p], K, n * lams[i], targets[i])
    return out


def _qr_path(F: np.ndarray, targets: list[np.ndarray], ps: np.ndarray, idx: list[int], out: list) -> None:
    """Least squares for every p <= n from ONE QR of the widest matrix: F_p = Q_p R[:p, :p]."""
    if not idx:
        return
    Q, R = qr(F[:, : max(ps[i] for i in idx)], mode="economic", check_finite=False)
    pivots = np.abs(np.diag(R))
    for i in idx:
        p = ps[i]
        if pivots[:p].min() <= SINGULAR_RCOND * pivots[:p].max():
            continue
        out[i] = solve_triangular(R[:p, :p], Q[:, :p].T @ targets[i], check_finite=False)


def _running_gram(F: np.ndarray, ps: np.ndarray, idx: Iterable[int], V: np.ndarray | None = None
                  ) -> Iterator[tuple[int, int, np.ndarray, np.ndarray | None]]:
    """Yield (i, p, K_p = F_p F_p^T, Z_p = V_p F_p^T) in increasing p, each built from the last."""
    K = np.zeros((F.shape[0], F.shape[0]))
    Z = None if V is None else np.zeros((V.shape[0], F.shape[0]))
    done = 0
    for i in sorted(idx, key=lambda j: ps[j]):
        block = F[:, done : ps[i]]
        K += block @ block.T
        if Z is not None:
            Z += V[:, done : ps[i]] @ block.T
        done = ps[i]
        yield i, ps[i], K, Z


def _cholesky_solve(Fp: np.ndarray, K: np.ndarray, shift: float, y: np.ndarray) -> np.ndarray | None:
    """w = F_p^T (K_p + shift I)^-1 y: the kernel form of ridge, the min-norm interpolant at shift 0.

    LAPACK's potrf/potrs directly: scipy's wrappers cost more than a 100 x 100 factorization."""
    A = K + shift * np.eye(len(K))
    L, info = dpotrf(A, lower=1, clean=0)
    pivots = np.diag(L) ** 2  # their spread is a lower bound on cond(K + shift I)
    if info != 0 or pivots.min() <= SINGULAR_RCOND * pivots.max():
        return None
    alpha, _ = dpotrs(L, y, lower=1)
    return Fp.T @ alpha


def _tuned_ridge(Fp: np.ndarray, K: np.ndarray, Z: np.ndarray, y: np.ndarray, f_val: np.ndarray) -> np.ndarray:
    """Ridge at the lambda (of RIDGE_GRID) with the least validation error, from one eigh of K_p."""
    e, U = eigh(K, check_finite=False, driver="evd")
    e = np.clip(e, 0.0, None)
    lam = RIDGE_GRID[int(np.argmin(validation_errors(e, U, Z, y, f_val)))]
    return Fp.T @ (U @ ((U.T @ y) / (e + len(K) * lam)[:, None]))


def validation_errors(e: np.ndarray, U: np.ndarray, Z: np.ndarray, y: np.ndarray, f_val: np.ndarray,
                      lams: np.ndarray = RIDGE_GRID) -> np.ndarray:
    """Validation MSE of ridge for every lambda, given K_p = U diag(e) U^T and Z_p = V_p F_p^T.

    The fit is w = F_p^T U diag(1/(e + n lambda)) U^T y, so the validation predictions are
    (Z_p U) diag(1/(e + n lambda)) U^T y: after one eigh every lambda costs one matrix-vector
    product. Cross-validation is not used: at p ~ n it sometimes picks lambda ~ 0 (measured:
    leave-one-out and GCV both did, in 1 of 10 draws at p = 1.03 n), which is the peak again."""
    n, k = len(e), y.shape[1]
    coef = (U.T @ y)[:, None, :] / (e[:, None, None] + n * lams[None, :, None])  # n x lambdas x outputs
    pred = ((Z @ U) @ coef.reshape(n, -1)).reshape(len(Z), len(lams), k)
    return np.mean(np.sum((pred - f_val[:, None, :]) ** 2, axis=2), axis=0)


# ---------------------------------------------------------------- theory

def belkin_test_mse(p: np.ndarray, n: int, r2: float, s2: float) -> np.ndarray:
    """Exact expected test MSE (noise included) of min-norm least squares, Gaussian isotropic
    features, well-specified with |beta|^2 = r2 (Belkin, Hsu, Xu 2019 with nothing omitted):
    p <= n-2: s2 (1 + p/(n-p-1));  p >= n+2: r2 (1 - n/p) + s2 (1 + n/(p-n-1));
    infinite in expectation for |p - n| <= 1, reported as NaN."""
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        under = s2 * (1 + p / (n - p - 1))
        over = r2 * (1 - n / p) + s2 * (1 + n / (p - n - 1))
    return np.where(p <= n - 2, under, np.where(p >= n + 2, over, np.nan))


def mp_stieltjes(gamma: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """m(-lambda) = E 1/(x + lambda) and m'(-lambda) = E 1/(x + lambda)^2 under the
    Marchenko-Pastur law of X^T X / n with p/n = gamma (the atom at 0 included when gamma > 1)."""
    a = 1 - gamma + lam
    m = (-a + np.sqrt(a**2 + 4 * gamma * lam)) / (2 * gamma * lam)
    dm = (gamma * m**2 + m) / (a + 2 * gamma * lam * m)
    return m, dm


def ridge_test_mse(p: np.ndarray, n: int, lam: np.ndarray, r2: float, s2: float) -> np.ndarray:
    """Asymptotic test MSE of ridge with isotropic features (Hastie et al. 2019, Thm 5; Dobriban
    and Wager 2018): s2 + r2 lambda^2 m'(-lambda) + s2 gamma (m(-lambda) - lambda m'(-lambda)).
    At lambda* = s2 gamma / r2 it reduces to s2 + s2 gamma m(-lambda*), the smallest possible."""
    gamma = np.asarray(p, dtype=float) / n
    m, dm = mp_stieltjes(gamma, lam)
    return s2 + r2 * lam**2 * dm + s2 * gamma * (m - lam * dm)


def optimal_ridge(p: np.ndarray, n: int, r2: float, s2: float) -> np.ndarray:
    """lambda* = s2 (p/n) / r2: with (F^T F + n lambda* I) this is the posterior mean under the
    prior beta ~ N(0, r2/p I), so it minimises the expected risk at every finite n, not only
    asymptotically (Dobriban and Wager 2018; Hastie et al. 2019)."""
    return s2 * np.asarray(p, dtype=float) / (n * r2)


def theory(config: Config, ps: np.ndarray) -> np.ndarray:
    """The closed form beside the simulation: linear model only (NaN elsewhere)."""
    if config.model != "linear":
        return np.full(len(ps), np.nan)
    s2, n = config.noise**2, config.n
    lams = ridge_values(config, ps)
    if lams is None or not np.any(lams):
        return belkin_test_mse(ps, n, SIGNAL_R2, s2)
    return ridge_test_mse(ps, n, lams, SIGNAL_R2, s2)


def ridge_values(config: Config, ps: np.ndarray) -> np.ndarray | None:
    """lambda at every p; None means "tune it on validation points" (no formula for random features)."""
    if config.ridge != "optimal":
        return np.full(len(ps), float(config.ridge))
    if config.model == "linear":
        return optimal_ridge(ps, config.n, SIGNAL_R2, config.noise**2)
    return None


# ---------------------------------------------------------------- data and one repeat

@dataclass
class Draw:
    """One repeat's data: train features, the targets per p, how to score weights on test, and
    validation points for tuning the ridge (random features only)."""

    F: np.ndarray
    targets: list[np.ndarray]
    test_mse: Callable[[int, int, np.ndarray], float]  # (grid index, p, w) -> test MSE
    null_mse: float
    val: Validation | None = None


def draw(config: Config, ps: np.ndarray, repeat: int) -> Draw:
    rng = np.random.default_rng([config.seed, repeat])
    if config.model == "linear":
        return _linear_draw(config, ps, rng)
    x, y, (x_test, f_test), (x_val, f_val), floor = _inputs(config, rng)
    F, F_test, F_val = random_features(config.model, [x, x_test, x_val], int(ps[-1]), rng)

    def test_mse(i: int, p: int, w: np.ndarray) -> float:
        return float(np.mean(np.sum((F_test[:, :p] @ w - f_test) ** 2, axis=1))) + floor

    null = float(np.mean(np.sum(f_test**2, axis=1))) + floor
    return Draw(F, [y] * len(ps), test_mse, null, Validation(F_val, f_val))


def _linear_draw(config: Config, ps: np.ndarray, rng: np.random.Generator) -> Draw:
    """p isotropic features and beta_p of energy r2 for every p, so each p is well specified.
    The test error is exact, |w - beta_p|^2 + s2, the population risk for a fresh Gaussian x."""
    n, s2 = config.n, config.noise**2
    X = rng.standard_normal((n, int(ps[-1])))
    direction = rng.standard_normal(int(ps[-1]))
    eps = config.noise * rng.standard_normal((n, 1))
    betas = [np.sqrt(SIGNAL_R2) * direction[:p, None] / np.linalg.norm(direction[:p]) for p in ps]
    targets = [X[:, :p] @ beta + eps for p, beta in zip(ps, betas)]

    def test_mse(i: int, p: int, w: np.ndarray) -> float:
        return float(np.sum((w - betas[i]) ** 2)) + s2

    return Draw(X, targets, test_mse, SIGNAL_R2 + s2)


Held = tuple[np.ndarray, np.ndarray]


def _inputs(config: Config, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, Held, Held, float]:
    """Train inputs and noisy targets; test and validation inputs with their noiseless targets;
    the noise floor to add to the test MSE (s2 for synthetic labels, 0 for the real digit labels)."""
    if config.dataset == "digits":
        return _digits(config, rng)
    xs = [rng.standard_normal((m, D_SYNTH)) for m in (config.n, N_TEST, N_TEST)]
    y = synthetic_target(xs[0]) + config.noise * rng.standard_normal((config.n, 1))
    return xs[0], y, (xs[1], synthetic_target(xs[1])), (xs[2], synthetic_target(xs[2])), config.noise**2


def _digits(config: Config, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, Held, Held, float]:
    """n random digits to train on; the rest split in halves, test and validation (>= 398 each)."""
    digits = load_digits()
    order = rng.permutation(len(digits.target))
    train, rest = order[: config.n], order[config.n :]
    half = min(len(rest) // 2, N_TEST)
    test, val = rest[:half], rest[half : 2 * half]
    onehot = np.eye(10)[digits.target]
    x = digits.data / 16.0
    mean = x[train].mean(0)
    scale = np.sqrt(np.mean(np.sum((x[train] - mean) ** 2, axis=1)) / x.shape[1])
    x = (x - mean) / scale  # centred, mean |x|^2 = d, as for the Gaussian inputs
    y = onehot[train] + config.noise * rng.standard_normal((config.n, 10))
    return x[train], y, (x[test], onehot[test]), (x[val], onehot[val]), 0.0


def synthetic_target(x: np.ndarray) -> np.ndarray:
    """A linear plus a quadratic part of equal energy, E f^2 = 1: (x1 + (x2^2 - 1)/sqrt 2)/sqrt 2.
    Neither random-feature family represents it exactly, so the features are misspecified."""
    return ((x[:, 0] + (x[:, 1] ** 2 - 1) / np.sqrt(2)) / np.sqrt(2))[:, None]


def random_features(model: str, xs: list[np.ndarray], p_max: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The same random features of every input set, with unit mean square; the first p columns
    are the model of size p."""
    d = xs[0].shape[1]
    if model == "relu":
        W = rng.standard_normal((d, p_max)) / np.sqrt(d)
        return [np.sqrt(2) * np.maximum(x @ W, 0) for x in xs]
    sampler = RBFSampler(gamma=1 / (2 * d), n_components=p_max, random_state=int(rng.integers(2**31))).fit(xs[0])
    scale = np.sqrt(p_max)  # RBFSampler's sqrt(2/p_max) cos(.) -> sqrt(2) cos(.)
    return [sampler.transform(x) * scale for x in xs]


# ---------------------------------------------------------------- run

def flops(config: Config) -> float:
    """Features, the QR, the running Gram matrix, one Cholesky (or eigh and tuning) per point, scoring."""
    ps = grid(config.n, config.ratio_max, config.points)
    n, p_max, k = config.n, float(ps[-1]), 10 if config.dataset == "digits" else 1
    held = 0 if config.model == "linear" else N_TEST  # test points (and as many validation points)
    d = 64 if config.dataset == "digits" else D_SYNTH
    work = 2 * (n + 2 * held) * d * p_max + 2 * n * min(n, p_max) ** 2 + 2 * n**2 * p_max
    if config.ridge == "optimal" and config.model != "linear":
        work += 2 * held * n * p_max + len(ps) * (9 * n**3 + 2 * held * n**2 + len(RIDGE_GRID) * 2 * held * n * k)
    else:
        work += len(ps) * n**3 / 3
    work += sum(2 * (2 * n + held) * p * k for p in ps)
    return float(config.repeats * work)


def run(config: Config, progress: contract.Progress | None = None, device: str | None = None) -> Result:
    """Sweep p through n for every repeat; the linear algebra is float64 LAPACK on the CPU."""
    start = time.perf_counter()
    ps = grid(config.n, config.ratio_max, config.points)
    lams = ridge_values(config, ps)
    train, test, norm = (np.full((config.repeats, len(ps)), np.nan) for _ in range(3))
    null = []
    # one BLAS thread: these matrices are too small for threads to pay, and on a busy 2-core
    # server OpenBLAS's spinning threads made this sweep 30-60x slower (measured)
    with threadpool_limits(limits=1, user_api="blas"):
        for r in range(config.repeats):
            data = draw(config, ps, r)
            null.append(data.null_mse)
            for i, w in enumerate(fit_path(data.F, data.targets, ps, lams, data.val)):
                if w is not None:
                    p = ps[i]
                    train[r, i] = float(np.mean(np.sum((data.F[:, :p] @ w - data.targets[i]) ** 2, axis=1)))
                    test[r, i] = data.test_mse(i, p, w)
                    norm[r, i] = float(np.linalg.norm(w))
            if progress is not None:
                progress((r + 1) / config.repeats, f"repeat {r + 1} of {config.repeats}")
    curve = _curve(config, ps, train, test, norm)
    metrics = {
        "status": _status(config, ps, test),
        "peak_ratio": _peak(curve),
        "signal_r2": SIGNAL_R2,
        "noise_var": config.noise**2,
        "null_mse": round(float(np.mean(null)), 4),
        **contract.cost_metrics(int(ps[-1]), config.n, flops(config), time.perf_counter() - start, "cpu (float64 LAPACK)"),
    }
    return Result(metrics, {"curve": curve})


def _curve(config: Config, ps: np.ndarray, train: np.ndarray, test: np.ndarray, norm: np.ndarray) -> pd.DataFrame:
    with warnings.catch_warnings():
        # a point singular in every repeat stays NaN; numpy would warn about its empty mean
        warnings.simplefilter("ignore", RuntimeWarning)
        std = np.nanstd(test, axis=0, ddof=1) if config.repeats > 1 else np.zeros(len(ps))
        frame = pd.DataFrame({
            "p": ps,
            "ratio": ps / config.n,
            "train_mse": np.nanmean(train, axis=0),
            "test_mse": np.nanmean(test, axis=0),
            "test_mse_std": std,
            "norm": np.nanmean(norm, axis=0),
            "theory_test_mse": theory(config, ps),
        })
    return frame[CURVE_COLUMNS]


def _status(config: Config, ps: np.ndarray, test: np.ndarray) -> str:
    missing = np.isnan(test).sum(axis=0)
    if not missing.any():
        return "ok"
    where = ", ".join(f"p = {p} (p/n = {p / config.n:.2f}) in {m} of {config.repeats} draws"
                      for p, m in zip(ps, missing) if m)
    return (f"the least-squares system is singular to working precision at {where}; those fits are left out "
            "and every other point is kept. A small ridge (e.g. ridge=0.0001) makes it solvable.")


def _peak(curve: pd.DataFrame) -> float:
    """p/n where the mean test error is highest."""
    valid = curve.dropna(subset=["test_mse"])
    return round(float(valid.loc[valid["test_mse"].idxmax(), "ratio"]), 4) if len(valid) else float("nan")


# ---------------------------------------------------------------- charts

SERIES = ["test error (simulation)", "test error (theory)", "train error", "classical bound: train + C sqrt(p/n)"]
COLORS = ["#1f77b4", "#111111", "#7f7f7f", "#ff7f0e"]
DASHES = [[1, 0], [6, 3], [1, 0], [3, 3]]


def make_charts(result: Result) -> list[Figure]:
    curve = result.tables["curve"]
    null = result.metrics.get("null_mse", float(curve["test_mse"].max()))
    chart = alt.hconcat(_error_chart(curve, null), _norm_chart(curve)).resolve_scale(color="independent")
    caption = ("Left: test error against p/n on a log scale, the mean over draws (hover for the spread), with the "
               "closed form where one exists (linear model: Belkin, Hsu, Xu 2019 exactly when ridgeless, Hastie et "
               "al. 2019 asymptotically with a ridge). Zero errors (train error right of the red line p = n, where "
               "the fit interpolates) are left off the log axis. The orange curve has the shape of a classical "
               "uniform bound, train + C sqrt(p/n), with C the error of predicting 0 (grey dotted line); above "
               "that line it promises nothing. Right: the norm of the fitted weights, which peaks at p = n too.")
    return [Figure("Test error through the interpolation threshold", chart, "curve", caption)]


def _error_chart(curve: pd.DataFrame, null: float) -> alt.LayerChart:
    long = _long(curve, null)
    shown = [i for i, name in enumerate(SERIES) if (long["series"] == name).any()]  # no theory: no legend entry
    domain, colors, dashes = ([seq[i] for i in shown] for seq in (SERIES, COLORS, DASHES))
    lines = alt.Chart(long).mark_line(clip=True).encode(
        x=alt.X("ratio:Q", title="parameters per training point, p/n"),
        y=alt.Y("value:Q", title="mean squared error", scale=alt.Scale(type="log")),
        color=alt.Color("series:N", title=None, scale=alt.Scale(domain=domain, range=colors),
                        legend=alt.Legend(orient="bottom", columns=2, labelLimit=400)),
        strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(domain=domain, range=dashes), legend=None),
        detail="branch:N",
        tooltip=["series", "p", alt.Tooltip("ratio:Q", format=".2f"), alt.Tooltip("value:Q", format=".3g"),
                 alt.Tooltip("test_mse_std:Q", title="std over draws", format=".3g")],
    )
    dots = lines.transform_filter(alt.datum.series == SERIES[0]).mark_point(filled=True, size=25)
    return alt.layer(lines, dots, *_threshold(curve), *_null_rule(curve, null)).properties(width=500, height=340)


def _long(curve: pd.DataFrame, null: float) -> pd.DataFrame:
    """One row per (p, series); theory is split at p = n so its two branches are not joined
    across the threshold, where its expectation is infinite."""
    bound = curve["train_mse"] + null * np.sqrt(curve["ratio"])
    values = [curve["test_mse"], curve["theory_test_mse"], curve["train_mse"], bound]
    frames = [curve[["p", "ratio", "test_mse_std"]].assign(series=name, value=v.to_numpy()) for name, v in zip(SERIES, values)]
    long = pd.concat(frames, ignore_index=True)
    theory = long["series"] == SERIES[1]
    long["branch"] = np.where(theory & (long["ratio"] < 1), "under", np.where(theory, "over", "all"))
    # zero errors (interpolation; exact recovery without noise) have no place on a log axis
    return long[np.isfinite(long["value"]) & (long["value"] > FLOOR * null)]


def _threshold(curve: pd.DataFrame) -> tuple[alt.Chart, alt.Chart]:
    """The red rule at p = n, labelled at the top."""
    anchor = alt.Chart(curve.head(1))
    rule = anchor.mark_rule(color="#d62728", strokeWidth=1.5).encode(x=alt.datum(1.0))
    label = anchor.mark_text(color="#d62728", align="left", dx=4, fontSize=12).encode(
        x=alt.datum(1.0), y=alt.value(10), text=alt.datum("p = n"))
    return rule, label


def _null_rule(curve: pd.DataFrame, null: float) -> tuple[alt.Chart, alt.Chart]:
    """The error of predicting 0: a bound above it says nothing."""
    anchor = alt.Chart(curve.head(1))
    rule = anchor.mark_rule(color="#7f7f7f", strokeDash=[1, 3]).encode(y=alt.datum(null))
    label = anchor.mark_text(color="#555555", align="right", dy=-7, fontSize=11).encode(
        x=alt.datum(float(curve["ratio"].max())), y=alt.datum(null), text=alt.datum("error of predicting 0"))
    return rule, label


def _norm_chart(curve: pd.DataFrame) -> alt.LayerChart:
    data = curve[np.isfinite(curve["norm"]) & (curve["norm"] > 0)]
    line = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(color="#2ca02c", size=20), color="#2ca02c").encode(
        x=alt.X("ratio:Q", title="p/n"),
        y=alt.Y("norm:Q", title="norm of the fitted weights |w|", scale=alt.Scale(type="log")),
        tooltip=["p", alt.Tooltip("ratio:Q", format=".2f"), alt.Tooltip("norm:Q", format=".3g")],
    )
    return alt.layer(line, *_threshold(curve)).properties(width=260, height=340)


EXPERIMENT = contract.register(contract.Experiment(
    name="double-descent",
    title="Double descent",
    config=Config,
    run=run,
    flops=flops,
    charts=make_charts,
    summary="Test error peaks where the model can just interpolate (p = n) and falls again beyond it.",
))
