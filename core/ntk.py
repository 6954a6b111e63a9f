"""Tangent kernels of ReLU MLPs: the analytic infinite-width NTK and a fast empirical one.

The network here is written in one form that covers three parameterizations: layer ``l`` computes
``z_l = m_l * h_{l-1} @ W_l + mb_l * b_l`` from stored weights ``W_l``, and gradient descent steps
every stored parameter by ``lr * lr_scale``. All three draw the SAME standard normal numbers from a
seed and differ only in where the 1/sqrt(fan_in) sits:

- ``ntk``: stored weights N(0, 1), multipliers ``sigma_w/sqrt(fan_in)`` (Jacot et al. 2018). The
  tangent kernel has a finite, deterministic limit as the width grows.
- ``standard``: the scale is in the stored weights (PyTorch's habit), multipliers 1. Same function
  at init as ``ntk``, but the tangent kernel grows like the width, so the stable learning rate
  shrinks like 1/width; ``lr_scale = 1/width`` keeps the step comparable across widths.
- ``mup``: ``ntk`` with an extra 1/sqrt(width) on the read-out and ``lr_scale = width`` (Yang & Hu
  2021, maximal update parameterization in NTK form): features move by O(1) at every width.

core/mlp.py is the standard-parameterization engine for the other pages; this module exists
because NTK parameterization needs its own multipliers in the forward and backward pass.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import grad, vmap

#: Weight and bias scales of every layer. sigma_w^2 = 2 keeps a ReLU layer's signal size (He
#: et al. 2015); a small bias scale as in Jacot et al.'s experiments (beta = 0.1).
SIGMA_W = math.sqrt(2.0)
SIGMA_B = 0.1
PARAMETERIZATIONS = ("ntk", "standard", "mup")
#: GD is declared diverged once a loss is non-finite or this many times its initial value.
DIVERGENCE_FACTOR = 1e4


@dataclass
class Net:
    """M ReLU MLPs of one shape: stored weights [M, fan_in, fan_out], biases [M, 1, fan_out],
    the per-layer multipliers of the forward pass and each parameter's learning-rate scale."""

    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    w_mult: list[float]
    b_mult: list[float]
    lr_scales: list[float]  # one per tensor of params(): step = lr * scale * gradient

    @property
    def size(self) -> int:
        return self.weights[0].shape[0]

    def params(self) -> list[torch.Tensor]:
        return [t for pair in zip(self.weights, self.biases) for t in pair]

    def clone(self) -> Net:
        return Net([w.clone() for w in self.weights], [b.clone() for b in self.biases],
                   list(self.w_mult), list(self.b_mult), list(self.lr_scales))


def init_net(
    sizes: Sequence[int],
    seeds: Sequence[int],
    parameterization: str = "ntk",
    *,
    w_std: float = SIGMA_W,
    b_std: float = SIGMA_B,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> Net:
    """One network per seed, each from its own CPU generator (same seed, same net on any device).

    The raw draws are standard normal whatever the parameterization, so ``ntk`` and ``standard``
    nets from one seed compute the same function at init: only the training dynamics differ.
    """
    if parameterization not in PARAMETERIZATIONS:
        raise ValueError(f"parameterization: {parameterization!r}; allowed: {', '.join(PARAMETERIZATIONS)}")
    fans = list(itertools.pairwise(sizes))
    raw_w: list[list[torch.Tensor]] = [[] for _ in fans]
    raw_b: list[list[torch.Tensor]] = [[] for _ in fans]
    for seed in seeds:
        gen = torch.Generator().manual_seed(int(seed))
        for layer, (fan_in, fan_out) in enumerate(fans):
            raw_w[layer].append(torch.randn(fan_in, fan_out, generator=gen, dtype=torch.float64))
            raw_b[layer].append(torch.randn(1, fan_out, generator=gen, dtype=torch.float64))
    w_scale = [w_std / math.sqrt(fan_in) for fan_in, _ in fans]
    width, count = sizes[1], 2 * len(fans)
    if parameterization == "standard":
        stored_scale, b_scale = w_scale, [b_std] * len(fans)
        w_mult, b_mult, lr_scales = [1.0] * len(fans), [1.0] * len(fans), [1.0 / width] * count
    else:
        stored_scale, b_scale = [1.0] * len(fans), [1.0] * len(fans)
        w_mult, b_mult, lr_scales = list(w_scale), [b_std] * len(fans), [1.0] * count
        if parameterization == "mup":
            # every tensor steps width times faster, except the read-out bias: it adds to the
            # output directly, so an O(1) step there already moves f by O(1)
            w_mult[-1] /= math.sqrt(width)
            lr_scales = [float(width)] * (count - 1) + [1.0]
    return Net(
        [(torch.stack(ws) * s).to(device=device, dtype=dtype) for ws, s in zip(raw_w, stored_scale)],
        [(torch.stack(bs) * s).to(device=device, dtype=dtype) for bs, s in zip(raw_b, b_scale)],
        w_mult, b_mult, lr_scales,
    )


def forward(net: Net, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Outputs [M, n, 1] and every layer's input (x, then the post-ReLU activations)."""
    h = x.expand(net.size, *x.shape) if x.dim() == 2 else x
    inputs = [h]
    last = len(net.weights) - 1
    for layer, (w, b) in enumerate(zip(net.weights, net.biases)):
        z = torch.baddbmm(b, h, w, beta=net.b_mult[layer], alpha=net.w_mult[layer])
        if layer == last:
            return z, inputs
        h = z.relu_()
        inputs.append(h)
    raise AssertionError("unreachable")


def _backprop(net: Net, inputs: list[torch.Tensor], g: torch.Tensor) -> list[torch.Tensor]:
    """Signals d(.)/dz_l for every layer, from the signal ``g`` at the output (last first)."""
    signals = [g]
    for layer in range(len(net.weights) - 1, 0, -1):
        g = torch.bmm(g, net.weights[layer].transpose(1, 2)).mul_(net.w_mult[layer]).mul_(inputs[layer] > 0)
        signals.append(g)
    return signals[::-1]


def empirical_ntk(net: Net, x1: torch.Tensor, x2: torch.Tensor | None = None) -> torch.Tensor:
    """Tangent kernels [M, n1, n2] computed layer by layer, never forming the Jacobian.

    d f/d W_l[i, j] = m_l h_{l-1, i} s_{l, j} with s_l = d f/d z_l, so layer l contributes
    (S_l S_l^T) * (c_w m_l^2 H_{l-1} H_{l-1}^T + c_b mb_l^2): two n x n Gram matrices per layer
    instead of an n x P Jacobian (P = all parameters), which is why it is tens of times faster.
    Each tensor's term is weighted by its learning-rate scale c, so this is the kernel that moves
    the function under gradient descent as run (f <- f - lr K r); in NTK parameterization every
    c is 1 and it is the plain NTK.
    """
    sides = []
    for x in (x1,) if x2 is None else (x1, x2):
        out, inputs = forward(net, x)
        sides.append((inputs, _backprop(net, inputs, torch.ones_like(out))))
    (h1, s1), (h2, s2) = sides[0], sides[-1]
    theta = torch.zeros(net.size, h1[0].shape[-2], h2[0].shape[-2], dtype=h1[0].dtype, device=h1[0].device)
    for layer in range(len(net.weights)):
        c_w, c_b = net.lr_scales[2 * layer], net.lr_scales[2 * layer + 1]
        acts = torch.bmm(h1[layer], h2[layer].transpose(1, 2)).mul_(c_w * net.w_mult[layer] ** 2).add_(c_b * net.b_mult[layer] ** 2)
        theta.add_(torch.bmm(s1[layer], s2[layer].transpose(1, 2)).mul_(acts))
    return theta


def jacobian_ntk(net: Net, x: torch.Tensor, model: int = 0) -> torch.Tensor:
    """The straightforward reference: materialise one model's per-example gradients with
    torch.func (vmap over grad), then Theta = J C J^T (C the learning-rate scales). Used to check
    and benchmark the fast path."""
    params = {f"p{i}": p[model] for i, p in enumerate(net.params())}
    mults = [m for pair in zip(net.w_mult, net.b_mult) for m in pair]

    def f(ps: dict[str, torch.Tensor], xi: torch.Tensor) -> torch.Tensor:
        h = xi.unsqueeze(0)
        tensors = list(ps.values())
        for layer in range(len(net.weights)):
            w, b = tensors[2 * layer], tensors[2 * layer + 1]
            h = mults[2 * layer] * h @ w + mults[2 * layer + 1] * b
            if layer < len(net.weights) - 1:
                h = h.relu()
        return h.sum()

    jac = vmap(grad(f), in_dims=(None, 0))(params, x)
    flat = torch.cat([j.reshape(x.shape[0], -1) * c**0.5 for j, c in zip(jac.values(), net.lr_scales)], dim=1)
    return flat @ flat.T


def mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each model, [M]."""
    return (out - y).pow(2).flatten(1).mean(1)


def loss_grads(net: Net, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Each model's MSE and its gradient in ``net.params()`` order (the sum over models is the
    batch objective, so every model sees its own gradient)."""
    out, inputs = forward(net, x)
    loss = mse(out, y)
    signals = _backprop(net, inputs, (out - y).mul_(2.0 / out[0].numel()))
    grads = []
    for layer, (h, s) in enumerate(zip(inputs, signals)):
        grads += [torch.bmm(h.transpose(1, 2), s).mul_(net.w_mult[layer]), s.sum(1, keepdim=True).mul_(net.b_mult[layer])]
    return loss, grads


@dataclass
class GDLog:
    """Losses [steps_done + 1, M] (before each step, then the final one) and where it diverged."""

    losses: torch.Tensor
    diverged_step: int | None = None


def train(net: Net, x: torch.Tensor, y: torch.Tensor, lr: float, steps: int,
          on_step: Callable[[int], None] | None = None) -> GDLog:
    """Full-batch gradient descent in place, each tensor stepping ``lr * its scale``; stops at divergence."""
    losses = []
    for step in range(steps):
        loss, grads = loss_grads(net, x, y)
        losses.append(loss)
        if not bool(torch.isfinite(loss).all()) or bool((loss > DIVERGENCE_FACTOR * losses[0].clamp(min=1.0)).any()):
            return GDLog(torch.stack(losses), step)
        torch._foreach_add_(net.params(), torch._foreach_mul(grads, [-lr * s for s in net.lr_scales]))
        if on_step is not None:
            on_step(step)
    losses.append(mse(forward(net, x)[0], y))
    return GDLog(torch.stack(losses))


def analytic_ntk(x1: np.ndarray, x2: np.ndarray, depth: int, w_std: float = SIGMA_W, b_std: float = SIGMA_B) -> np.ndarray:
    """The infinite-width NTK of a ReLU MLP with ``depth`` hidden layers in NTK parameterization.

    The recursion of Jacot et al. (2018) / Arora et al. (2019) as neural-tangents computes it, from
    the input kernel q = x.x'/d: a Dense layer maps nngp -> w^2 nngp + b^2, ntk -> nngp + w^2 ntk;
    a ReLU maps nngp -> (sqrt(q1 q2 - K^2) + (pi - theta) K)/(2 pi) and ntk -> ntk (pi - theta)/(2 pi),
    theta the angle between the two inputs' pre-activations. Float64 throughout.
    """
    x1, x2 = np.asarray(x1, dtype=np.float64), np.asarray(x2, dtype=np.float64)
    d = x1.shape[1]
    k12, k11, k22 = x1 @ x2.T / d, (x1 * x1).sum(1) / d, (x2 * x2).sum(1) / d
    k12, k11, k22 = (w_std**2 * k + b_std**2 for k in (k12, k11, k22))
    ntk = k12.copy()
    for _ in range(depth):
        norms = np.sqrt(np.outer(k11, k22))
        cos = np.clip(np.divide(k12, norms, out=np.zeros_like(k12), where=norms > 0), -1.0, 1.0)
        theta = np.arccos(cos)
        k12 = (norms * np.sin(theta) + (np.pi - theta) * k12) / (2 * np.pi)
        ntk = ntk * (np.pi - theta) / (2 * np.pi)
        k11, k22 = k11 / 2, k22 / 2
        k12, k11, k22 = (w_std**2 * k + b_std**2 for k in (k12, k11, k22))
        ntk = k12 + w_std**2 * ntk
    return ntk


def kernel_regression(theta_train: np.ndarray, theta_test: np.ndarray, y: np.ndarray, lr: float, steps: int) -> np.ndarray:
    """What a linearised network (f - f0 = Theta-model) predicts after ``steps`` full-batch GD steps
    on the mean squared error: the residual on the training set evolves as r <- (I - 2 lr Theta / n) r,
    so f_T(x) = Theta(x, X) Theta^-1 (I - (I - 2 lr Theta/n)^T) y, done in Theta's eigenbasis.
    With steps -> infinity (and a stable lr) this is kernel ridge-less regression."""
    n = len(y)
    evals, evecs = np.linalg.eigh(theta_train)
    evals = np.clip(evals, 1e-12 * evals.max(), None)
    done = 1.0 - np.power(1.0 - 2.0 * lr * evals / n, steps)
    coef = evecs @ ((done / evals) * (evecs.T @ y))
    return theta_test @ coef
