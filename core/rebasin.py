"""Permutation symmetry of ReLU MLPs: weight matching (Ainsworth, Hayase, Srinivasa 2022, Git Re-Basin).

Swapping two hidden units of a layer (their incoming weights and bias, and their outgoing
weights) leaves the function unchanged, so every trained network has width! equivalent copies
per hidden layer. Two nets trained from different seeds usually land in different copies; before
interpolating between them we permute the second net's units to sit opposite the first net's
most similar units. Weights are [fan_in, fan_out] (``x @ w``), as in ``core.mlp``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

#: Passes over the hidden layers before giving up on a fixed point (it usually takes 2-5).
MAX_PASSES = 100


def weight_matching(
    weights_a: Sequence[torch.Tensor],
    biases_a: Sequence[torch.Tensor],
    weights_b: Sequence[torch.Tensor],
    biases_b: Sequence[torch.Tensor],
) -> list[np.ndarray]:
    """Per hidden layer, the permutation ``perm`` such that net B's unit ``perm[i]`` pairs with A's unit i.

    Each layer's permutation solves a linear assignment maximising the summed similarity of the
    unit's incoming weights, bias and outgoing weights, with the neighbouring layers' permutations
    held fixed; we sweep the layers until a whole pass changes nothing (coordinate ascent on the
    total inner product <W_A, P(W_B)>, which can only increase, so it terminates).
    """
    wa = [w.detach().double().cpu().numpy() for w in weights_a]
    ba = [b.detach().double().cpu().numpy().reshape(-1) for b in biases_a]
    wb = [w.detach().double().cpu().numpy() for w in weights_b]
    bb = [b.detach().double().cpu().numpy().reshape(-1) for b in biases_b]
    perms = [np.arange(w.shape[1]) for w in wa[:-1]]
    for _ in range(MAX_PASSES):
        changed = False
        for layer in range(len(perms)):
            new = _best_permutation(layer, perms, wa, ba, wb, bb)
            if not np.array_equal(new, perms[layer]):
                perms[layer], changed = new, True
        if not changed:
            break
    return perms


def _best_permutation(
    layer: int,
    perms: list[np.ndarray],
    wa: list[np.ndarray],
    ba: list[np.ndarray],
    wb: list[np.ndarray],
    bb: list[np.ndarray],
) -> np.ndarray:
    """One linear assignment: similarity[i, j] of A's unit i and B's unit j in hidden ``layer``."""
    rows = perms[layer - 1] if layer else np.arange(wb[layer].shape[0])
    similarity = wa[layer].T @ wb[layer][rows] + np.outer(ba[layer], bb[layer])
    cols = perms[layer + 1] if layer + 1 < len(perms) else np.arange(wb[layer + 1].shape[1])
    similarity += wa[layer + 1] @ wb[layer + 1][:, cols].T
    _, assignment = linear_sum_assignment(similarity, maximize=True)
    return assignment


def permute(
    weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor], perms: Sequence[np.ndarray]
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The same function with its hidden units reordered: unit i of layer l becomes unit perms[l][i]."""
    index = [None, *(torch.as_tensor(p, device=weights[0].device) for p in perms), None]
    new_w, new_b = [], []
    for layer, (w, b) in enumerate(zip(weights, biases)):
        rows, cols = index[layer], index[layer + 1]
        w = w if rows is None else w.index_select(-2, rows)
        new_w.append(w if cols is None else w.index_select(-1, cols))
        new_b.append(b if cols is None else b.index_select(-1, cols))
    return new_w, new_b
