"""Linear-algebra and closed-form theory for the linear pages (implicit bias, benign overfitting,
double descent). Everything is float64 numpy; nothing here draws random numbers.

Conventions: ``X`` is n x p (rows are samples), ``eigs`` are the eigenvalues of the feature
covariance in decreasing order, ``s2`` is the label-noise variance, ``r2`` the signal energy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from scipy.linalg.lapack import dpocon
from scipy.optimize import brentq
from threadpoolctl import threadpool_limits


def single_threaded_blas() -> threadpool_limits:
    """A context that runs numpy's BLAS on one thread.

    The matrices here are small (n x n with n <= a few hundred, or n x p products), too small for
    threads to pay; on a busy shared server OpenBLAS's spinning threads made a 100 x 100 eigh
    100x slower (measured 0.4 s vs 4 ms with one thread while other jobs loaded the 2 cores)."""
    return threadpool_limits(limits=1, user_api="blas")


def min_norm_solution(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """pinv(X) y: the least-squares solution of smallest norm (the interpolant when n < p).

    lstsq goes through the SVD and drops directions below its rcond, so it stays correct when
    X is rank deficient, where the normal equations X X^T would be singular."""
    return np.linalg.lstsq(X, y, rcond=None)[0]


def row_space_part(X: np.ndarray, v: np.ndarray) -> np.ndarray:
    """pinv(X) X v: the part of v that the data can see. Gradients of any loss of X w live
    in the row space of X, so gradient descent can only move this part of w."""
    return min_norm_solution(X, X @ v)


def gd_least_squares_limit(X: np.ndarray, y: np.ndarray, w0: np.ndarray) -> np.ndarray:
    """Where gradient descent on |Xw - y|^2 from w0 ends (any stable step):
    pinv(X) y + (I - pinv(X) X) w0. The null-space part of w0 is carried along untouched,
    so only from w0 = 0 is the limit the minimum-norm interpolant."""
    return min_norm_solution(X, y) + w0 - row_space_part(X, w0)


def hastie_excess_risk(gamma: np.ndarray | float, r2: float, s2: float) -> np.ndarray:
    """Asymptotic excess risk (test MSE minus s2) of min-norm least squares with isotropic
    features, gamma = p/n (Hastie, Montanari, Rosset, Tibshirani 2019):
    gamma < 1: s2 gamma / (1 - gamma); gamma > 1: r2 (1 - 1/gamma) + s2 / (gamma - 1);
    infinite at gamma = 1, the interpolation threshold."""
    g = np.asarray(gamma, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        under = s2 * g / (1 - g)
        over = r2 * (1 - 1 / g) + s2 / (g - 1)
    return np.where(g < 1, under, np.where(g > 1, over, np.inf))


@dataclass(frozen=True)
class EffectiveRanks:
    """Bartlett, Long, Lugosi, Tsigler (2020) effective ranks of a spectrum for n samples.

    r0 = sum(l) / l_1; k_star = the first k with r_k >= b n (None if no k qualifies: the tail
    is too light to absorb the noise); R_k_star = (sum_{i>k*} l_i)^2 / sum_{i>k*} l_i^2."""

    r0: float
    k_star: int | None
    R_k_star: float  # math.nan when k_star is None


def effective_ranks(eigs: np.ndarray, n: int, b: float = 1.0) -> EffectiveRanks:
    """r_k = sum_{i>k} l_i / l_{k+1} and R_k for a decreasing spectrum, evaluated at k*.

    With 0-based arrays, ``tail[k]`` = sum_{j>=k} eigs[j] is the 1-based sum_{i>k} l_i. Zero
    eigenvalues (a spectrum that underflowed) are directions that do not exist and are dropped."""
    lam = _positive(eigs)
    tail = np.cumsum(lam[::-1])[::-1]
    tail2 = np.cumsum((lam**2)[::-1])[::-1]
    r = tail / lam
    qualifying = np.flatnonzero(r >= b * n)
    if len(qualifying) == 0:
        return EffectiveRanks(float(r[0]), None, math.nan)
    k = int(qualifying[0])
    return EffectiveRanks(float(r[0]), k, float(tail[k] ** 2 / tail2[k]))


@dataclass(frozen=True)
class RiskTerms:
    """Bias and variance of the min-norm (ridgeless) estimator; excess risk is their sum."""

    bias: float
    variance: float

    @property
    def excess_risk(self) -> float:
        return self.bias + self.variance


def ridgeless_equivalent(eigs: np.ndarray, signal: np.ndarray, n: int, s2: float) -> RiskTerms:
    """Deterministic equivalent of min-norm least squares for Gaussian features with covariance
    diag(eigs) and true coefficients ``signal`` (Hastie et al. 2022, Thm 5; Bach 2024).

    For p > n the interpolant acts like ridge with an implicit penalty kappa solving
    sum_i l_i / (l_i + kappa) = n: the weak directions together play the role of a ridge. Then
    with df2 = sum_i l_i^2 / (l_i + kappa)^2,
      bias = kappa^2 sum_i l_i theta_i^2 / (l_i + kappa)^2 / (1 - df2/n),
      variance = s2 df2 / (n - df2).
    For p < n, kappa = 0 (plain least squares: bias 0, variance s2 p / (n - p)). For isotropic
    features this reduces to hastie_excess_risk, which the tests check."""
    lam = _positive(eigs)
    theta2 = np.zeros_like(lam)
    theta2[: len(signal)] = np.asarray(signal, dtype=float) ** 2
    kappa = implicit_ridge(lam, n)
    if kappa == 0.0:
        p = len(lam)
        variance = s2 * p / (n - p) if p < n else math.inf
        return RiskTerms(0.0, variance)
    shrink = lam / (lam + kappa)
    df2 = float(np.sum(shrink**2))
    bias = kappa**2 * float(np.sum(lam * theta2 / (lam + kappa) ** 2)) / (1 - df2 / n)
    return RiskTerms(bias, s2 * df2 / (n - df2))


def _positive(eigs: np.ndarray) -> np.ndarray:
    """The strictly positive eigenvalues (those of a decreasing spectrum come first)."""
    lam = np.asarray(eigs, dtype=float)
    return lam[lam > 0]


def implicit_ridge(eigs: np.ndarray, n: int) -> float:
    """The kappa > 0 with sum l/(l + kappa) = n, or 0 when there are no more than n directions.

    It is the ridge penalty that min-norm interpolation acts like (about sum of the tail
    eigenvalues / n when a few strong directions sit above many weak ones): it shrinks each
    direction's coefficient by l / (l + kappa), so a heavy tail shrinks the signal away."""
    lam = _positive(eigs)
    if len(lam) <= n:
        return 0.0

    def excess(log_kappa: float) -> float:
        return float(np.sum(lam / (lam + math.exp(log_kappa)))) - n

    lo, hi = math.log(lam.min()) - 30.0, math.log(lam.sum()) + 1.0
    return math.exp(brentq(excess, lo, hi, xtol=1e-12, rtol=1e-12))


class GramSolve:
    """G^-1 for a Gram matrix G = X X^T (n x n), factorized once and applied to many right-hand
    sides: the min-norm interpolant is theta_hat = X^T G^-1 y, so everything about it lives in
    n x n algebra even when p is 20000.

    Cholesky when G is numerically positive definite; otherwise (rank-deficient X) an eigh
    pseudo-inverse that drops directions below float64 precision, with condition = inf."""

    def __init__(self, gram: np.ndarray) -> None:
        try:
            self._factor = cho_factor(gram, lower=True, check_finite=False)
        except LinAlgError:
            self._factor = None
            values, basis = np.linalg.eigh(gram)
            keep = values > values[-1] * len(values) * np.finfo(float).eps
            self._basis, self._inverse = basis[:, keep], 1.0 / values[keep]
            self.condition = math.inf
            return
        rcond, _ = dpocon(self._factor[0], np.abs(gram).sum(0).max(), uplo="L")
        self.condition = math.inf if rcond <= 0 else 1.0 / rcond

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """G^-1 rhs (the pseudo-inverse when G is singular)."""
        if self._factor is not None:
            return cho_solve(self._factor, rhs, check_finite=False)
        scale = self._inverse if rhs.ndim == 1 else self._inverse[:, None]
        return self._basis @ (scale * (self._basis.T @ rhs))


def variance_trace(solve: GramSolve, X: np.ndarray, eigs: np.ndarray) -> float:
    """tr(C), C = G^-1 X S X^T G^-1 with S = diag(eigs): the variance of the min-norm interpolant
    per unit of noise variance (Bartlett et al. 2020), = sum_i eigs_i |G^-1 X e_i|^2.

    Summing these positive terms is accurate to ~cond(G) * eps; forming A = X S X^T first and
    taking tr(G^-1 A G^-1) is not: A's large directions cancel against G's and the rounding is
    divided by the square of G's smallest eigenvalue (it gave negative variances for a fast
    decaying spectrum)."""
    W = solve.solve(X)
    return float(np.sum(np.asarray(eigs) * np.einsum("ij,ij->j", W, W)))
