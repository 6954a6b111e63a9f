"""Synthetic data sets, each drawn from a generator seeded by the caller (never the global RNG)."""

from __future__ import annotations

import torch


def seed_target(x: torch.Tensor) -> torch.Tensor:
    """The seed text's target: sin(sum x[:5]) + 0.5 cos(sum x[5:10]), as a column.

    With fewer than 10 input dimensions the sums run over what exists (an empty sum is 0).
    """
    return (torch.sin(x[:, :5].sum(1)) + 0.5 * torch.cos(x[:, 5:10].sum(1))).unsqueeze(1)


def regression_task(
    n: int, d: int, noise: float, seed: int, n_test: int = 1000, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gaussian inputs and the seed target with Gaussian label noise, for train and held-out test.

    Both sets come from ONE generator and the SAME target function (the seed's benign-overfitting
    script drew its test set from a different one).
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=dtype)
    x_test = torch.randn(n_test, d, generator=gen, dtype=dtype)
    y = seed_target(x) + noise * torch.randn(n, 1, generator=gen, dtype=dtype)
    y_test = seed_target(x_test) + noise * torch.randn(n_test, 1, generator=gen, dtype=dtype)
    return x, y, x_test, y_test
