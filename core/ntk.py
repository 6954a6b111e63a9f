"""Tangent kernels of ReLU MLPs: the analytic infinite-width NTK and a fast empirical one.

The networks are the engine's stacks (core/mlp.py), in any parameterization
(``mlp.init_parameterized``): the empirical kernel is built on the engine's own forward and
backward pass, and weights each tensor by its learning-rate scale, so it is the kernel that moves
the function under gradient descent as the engine runs it.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch.func import grad, vmap

from core import mlp
from core.mlp import SIGMA_B, SIGMA_W


def empirical_ntk(stack: mlp.MLPStack, x1: torch.Tensor, x2: torch.Tensor | None = None) -> torch.Tensor:
    """Tangent kernels [M, n1, n2] computed layer by layer, never forming the Jacobian.

    d f/d W_l[i, j] = m_l h_{l-1, i} s_{l, j} with s_l = d f/d z_l, so layer l contributes
    (S_l S_l^T) * (c_w m_l^2 H_{l-1} H_{l-1}^T + c_b mb_l^2): two n x n Gram matrices per layer
    instead of an n x P Jacobian (P = all parameters), which is why it is tens of times faster.
    Each tensor's term is weighted by its learning-rate scale c, so this is the kernel that moves
    the function under gradient descent as run (f <- f - lr K r); in NTK parameterization every
    c is 1 and it is the plain NTK.
    """
    view, h1, s1 = _inputs_and_signals(stack, x1)
    _, h2, s2 = (view, h1, s1) if x2 is None else _inputs_and_signals(stack, x2)
    terms = []
    for layer in range(len(stack.weights)):
        c_w, c_b = stack.lr_scales[2 * layer], stack.lr_scales[2 * layer + 1]
        acts = view.mm(h1[layer], h2[layer].transpose(-2, -1)).mul_(c_w * stack.w_mult[layer] ** 2)
        acts.add_(c_b * stack.b_mult[layer] ** 2)
        terms.append(view.mm(s1[layer], s2[layer].transpose(-2, -1)).mul_(acts))
    theta = functools.reduce(torch.Tensor.add_, terms)
    return theta if view.batched else theta.unsqueeze(0)


def _inputs_and_signals(stack: mlp.MLPStack, x: torch.Tensor) -> tuple[mlp.StepView, list[torch.Tensor], list[torch.Tensor]]:
    """Every layer's input and its signal s_l = d f/d z_l on inputs x, by the engine's own passes."""
    view = mlp.StepView(stack, x)
    out, saved = view.forward()
    signals: list[torch.Tensor] = []
    view.backprop(saved, torch.ones_like(out), lambda layer, h, s: signals.insert(0, s))
    return view, saved, signals


def jacobian_ntk(stack: mlp.MLPStack, x: torch.Tensor, model: int = 0) -> torch.Tensor:
    """The straightforward reference for a plain (not residual) stack: materialise one model's
    per-example gradients with torch.func (vmap over grad), then Theta = J C J^T (C the
    learning-rate scales). Written apart from the engine, to check and benchmark the fast path."""
    params = {f"p{i}": p[model] for i, p in enumerate(stack.params())}
    mults = [m for pair in zip(stack.w_mult, stack.b_mult) for m in pair]

    def f(ps: dict[str, torch.Tensor], xi: torch.Tensor) -> torch.Tensor:
        h = xi.unsqueeze(0)
        tensors = list(ps.values())
        for layer in range(len(stack.weights)):
            w, b = tensors[2 * layer], tensors[2 * layer + 1]
            h = mults[2 * layer] * h @ w + mults[2 * layer + 1] * b
            if layer < len(stack.weights) - 1:
                h = h.relu()
        return h.sum()

    jac = vmap(grad(f), in_dims=(None, 0))(params, x)
    flat = torch.cat([j.reshape(x.shape[0], -1) * c**0.5 for j, c in zip(jac.values(), stack.lr_scales)], dim=1)
    return flat @ flat.T


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
