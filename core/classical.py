"""The classical picture the home page starts from: a VC-style bound against what happens.

The bound test <= train + sqrt(p/n) exceeds 1, and so says nothing, once p > n; the min-norm
least-squares risk (Hastie et al. 2019) peaks at p = n and then comes back down, staying bounded
however large p/n grows. Errors are relative to the variance of y, so 1 is "predict zero".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.linear import hastie_excess_risk

SIGNAL_R2 = 1.0
NOISE_S2 = 0.25


def classical_picture(ratios: np.ndarray | None = None) -> pd.DataFrame:
    """Tidy rows (ratio, curve, error) for the bound and for min-norm least squares."""
    g = np.geomspace(0.05, 100, 241) if ratios is None else np.asarray(ratios, dtype=float)
    g = g[np.abs(g - 1) > 0.03]
    scale = SIGNAL_R2 + NOISE_S2
    train = np.where(g < 1, NOISE_S2 * (1 - g), 0.0) / scale
    test = (hastie_excess_risk(g, SIGNAL_R2, NOISE_S2) + NOISE_S2) / scale
    bound = train + np.sqrt(g)
    frames = [
        pd.DataFrame({"ratio": g, "curve": "classical bound: train + sqrt(p/n)", "error": bound}),
        pd.DataFrame({"ratio": g, "curve": "min-norm least squares: test error (theory)", "error": test}),
        pd.DataFrame({"ratio": g, "curve": "min-norm least squares: train error", "error": train}),
    ]
    return pd.concat(frames, ignore_index=True)
