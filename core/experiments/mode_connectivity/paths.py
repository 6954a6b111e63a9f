"""Points in weight space and the paths between them: blends of trained nets evaluated as ONE stack
of models through ``core.mlp.predict``, the barrier, weight matching, and the loss plane."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from core import mlp, rebasin
from core.experiments.mode_connectivity.config import EVAL_FLOATS, GRID

Params = list[torch.Tensor]  # one model: [w1, b1, w2, b2, ...], weights [fan_in, fan_out], biases [1, fan_out]


def unstack(stack: mlp.MLPStack, index: int) -> Params:
    return [p[index].clone() for p in stack.params()]


def blend(anchors: list[Params], coeffs: torch.Tensor) -> mlp.MLPStack:
    """One model per row of ``coeffs`` [P, k]: the weighted sum of the k anchor models."""
    mixed = [torch.einsum("pk,k...->p...", coeffs, torch.stack(group)) for group in zip(*anchors)]
    return mlp.MLPStack(mixed[0::2], mixed[1::2])


def losses_along(anchors: list[Params], coeffs: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """MSE of every blended model [P], evaluated in chunks of models as one batched forward each."""
    per_model = sum(p.numel() for p in anchors[0]) + x.shape[0] * sum(p.shape[-1] for p in anchors[0][1::2])
    chunk = max(1, EVAL_FLOATS // per_model)
    coeffs = coeffs.to(device=x.device, dtype=x.dtype)
    with torch.no_grad():
        return torch.cat([mlp.mse_per_model(mlp.predict(blend(anchors, part), x), y) for part in coeffs.split(chunk)])


def line(t: torch.Tensor) -> torch.Tensor:
    return torch.stack([1 - t, t], 1)


def bezier(t: torch.Tensor) -> torch.Tensor:
    """Quadratic Bezier weights of (start, middle, end): theta(t) = (1-t)² a + 2t(1-t) m + t² b."""
    return torch.stack([(1 - t) ** 2, 2 * t * (1 - t), t**2], 1)


def barrier(losses: torch.Tensor, t: torch.Tensor) -> float:
    """Max over the path of the loss minus the straight line between the two end losses."""
    chord = (1 - t) * losses[0] + t * losses[-1]
    return float((losses - chord).max())


def align(a: Params, b: Params) -> Params:
    """Net B with its hidden units permuted to face A's most similar units: the same function."""
    perms = rebasin.weight_matching(a[0::2], a[1::2], b[0::2], b[1::2])
    weights, biases = rebasin.permute(b[0::2], b[1::2], perms)
    return [t for pair in zip(weights, biases) for t in pair]


def path_frame(t: torch.Tensor, method: str, train: torch.Tensor, test: torch.Tensor) -> pd.DataFrame:
    return pd.DataFrame({"t": t.cpu().numpy().round(6), "method": method,
                         "train_loss": train.cpu().numpy(), "test_loss": test.cpu().numpy()})


PATH_COLUMNS = ["t", "method", "train_loss", "test_loss"]


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True)[PATH_COLUMNS] if frames else pd.DataFrame(columns=PATH_COLUMNS)


def _flat(net: Params) -> torch.Tensor:
    return torch.cat([p.flatten() for p in net]).double()


def spans_plane(a: Params, b: Params, mid: Params) -> bool:
    """False when the three points are (nearly) on one line, e.g. the same seed for A and B."""
    u, v = _flat(b) - _flat(a), _flat(mid) - _flat(a)
    return float(u.norm()) > 1e-9 and float((v - (v @ u) / (u @ u) * u).norm()) > 1e-6 * float(u.norm())


def plane(a: Params, b: Params, mid: Params, x: torch.Tensor, y: torch.Tensor) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training loss over the plane through A, B and the curve's middle point (which holds the
    whole curve), in orthonormal coordinates: x along B − A, y toward the middle point."""
    flat = [_flat(net) for net in (a, b, mid)]
    u, v = flat[1] - flat[0], flat[2] - flat[0]
    length = float(u.norm())
    along = float(v @ u) / length
    height = float((v - along * u / length).norm())
    xs = np.linspace(-0.2 * length, 1.2 * length, GRID)
    ys = np.linspace(-0.25 * height, 1.25 * height, GRID)
    gx, gy = (g.ravel() for g in np.meshgrid(xs, ys))
    beta = gy / height
    alpha = gx / length - beta * along / length
    coeffs = torch.as_tensor(np.stack([1 - alpha - beta, alpha, beta], 1))
    loss = losses_along([a, b, mid], coeffs, x, y).cpu().numpy()
    grid = pd.DataFrame({"x": gx, "y": gy, "train_loss": loss})
    points = pd.DataFrame({"point": ["net A", "net B", "curve middle point"], "x": [0.0, length, along],
                           "y": [0.0, 0.0, height]})
    return grid, points
