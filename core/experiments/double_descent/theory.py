"""The closed forms drawn beside the linear model's simulation, and the ridge they make optimal.

Both truths reduce to one well-specified problem per p: a model that sees p of the features of
a fixed truth is exact on those p, and the truth's unseen coordinates add an independent Gaussian
term to every label, i.e. they act as extra noise (x is isotropic Gaussian). So every formula takes
(r2, s2) = (the signal energy the model can see, the noise it sees), and ``energies`` says what
those are for each truth.
"""

from __future__ import annotations

import numpy as np

from core.experiments.double_descent.config import SIGNAL_R2, Config


def energies(config: Config, ps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(r2, s2) at every p: the truth's energy on the p features the model sees, and the label
    noise plus the energy on the features it does not.

    per-p: the truth lives on the p features, r2 = |beta|^2, s2 = noise^2. fixed: beta is an
    isotropic direction over D = the largest p's features, so E |beta_seen|^2 = |beta|^2 p / D
    and the rest, |beta|^2 (1 - p/D), joins the noise. The formulas below are linear in (r2, s2)
    at a fixed lambda, so with these expectations they give the expected risk over beta too."""
    ps = np.asarray(ps, dtype=float)
    s2 = config.noise**2
    if config.truth == "per-p":
        return np.full(len(ps), SIGNAL_R2), np.full(len(ps), s2)
    seen = ps / ps[-1]
    return SIGNAL_R2 * seen, s2 + SIGNAL_R2 * (1 - seen)


def belkin_test_mse(p: np.ndarray, n: int, r2: float | np.ndarray, s2: float | np.ndarray) -> np.ndarray:
    """Exact expected test MSE (noise included) of min-norm least squares on p isotropic Gaussian
    features, seeing signal energy r2 and noise s2 (Belkin, Hsu, Xu 2019, Theorem 1, with the
    unseen coordinates in s2): p <= n-2: s2 (1 + p/(n-p-1));  p >= n+2: r2 (1 - n/p) + s2 (1 + n/(p-n-1));
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


def ridge_test_mse(p: np.ndarray, n: int, lam: np.ndarray, r2: float | np.ndarray, s2: float | np.ndarray) -> np.ndarray:
    """Asymptotic test MSE of ridge with isotropic features (Hastie et al. 2019, Thm 5; Dobriban
    and Wager 2018): s2 + r2 lambda^2 m'(-lambda) + s2 gamma (m(-lambda) - lambda m'(-lambda)).
    At lambda* = s2 gamma / r2 it reduces to s2 + s2 gamma m(-lambda*), the smallest possible."""
    gamma = np.asarray(p, dtype=float) / n
    m, dm = mp_stieltjes(gamma, lam)
    return s2 + r2 * lam**2 * dm + s2 * gamma * (m - lam * dm)


def optimal_ridge(p: np.ndarray, n: int, r2: float | np.ndarray, s2: float | np.ndarray) -> np.ndarray:
    """lambda* = s2 (p/n) / r2: with (F^T F + n lambda* I) this is the posterior mean under the
    prior beta ~ N(0, r2/p I), so it minimises the expected risk at every finite n, not only
    asymptotically (Dobriban and Wager 2018; Hastie et al. 2019)."""
    return s2 * np.asarray(p, dtype=float) / (n * r2)


def ridge_values(config: Config, ps: np.ndarray) -> np.ndarray | None:
    """lambda at every p; None means "tune it on validation points" (no formula for random features)."""
    if config.ridge != "optimal":
        return np.full(len(ps), float(config.ridge))
    if config.model == "linear":
        return optimal_ridge(ps, config.n, *energies(config, ps))
    return None


def theory(config: Config, ps: np.ndarray) -> np.ndarray:
    """The closed form beside the simulation: linear model only (NaN elsewhere); exact when
    ridgeless, asymptotic with a ridge."""
    if config.model != "linear":
        return np.full(len(ps), np.nan)
    r2, s2 = energies(config, ps)
    lams = ridge_values(config, ps)
    if not np.any(lams):
        return belkin_test_mse(ps, config.n, r2, s2)
    return ridge_test_mse(ps, config.n, lams, r2, s2)
