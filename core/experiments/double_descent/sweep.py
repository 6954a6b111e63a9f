"""The whole sweep over model sizes p from one factorization.

Every model here is linear in its features, so each size p is a least-squares problem on the first
p columns of one feature matrix. For ridgeless fits with p <= n one QR of the widest such matrix
serves every p (the leading p x p block of R solves the fit on the first p features); for p > n or
any ridge a running Gram matrix K_p = K_prev + F_new F_new^T gives one Cholesky (or one eigh, to
tune the ridge) per grid point. That is exact, not an approximation: a test checks it against one
lstsq per p, and bench/double_descent.py times both.

Conventions. Features are scaled to unit mean square, ridge is Hastie et al.'s lambda: minimise
(1/n)|y - F w|^2 + lambda |w|^2, i.e. solve (F^T F + n lambda I) w = F^T y.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh, qr, solve_triangular
from scipy.linalg.lapack import dpotrf, dpotrs

#: Candidate ridges when tuning for random features (they have no closed-form optimum).
RIDGE_GRID = np.logspace(-6, 3, 46)
#: A Cholesky pivot this small relative to the largest means the system is singular in float64.
SINGULAR_RCOND = 1e-13


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

    targets[i] is the (n, k) target for ps[i] (the linear model's per-p truth changes with p);
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
