"""Many small ReLU MLPs trained as one batched computation: the one engine behind every page.

Models of identical shape are stacked on a leading model dimension and run with ``bmm``; the
backward pass is written by hand (it is a few lines for a ReLU MLP with MSE loss) because autograd
and ``nn.Module`` dispatch dominate for small widths on CPU, and plain SGD folds each update into
its gradient's matmul. Models of different widths are padded into one stack only while that
adds few FLOPs (``group_widths``): padding everything to the widest is a FLOP trap on CPU (measured
2x slower than a plain loop), while a tiny model padded into a slightly wider stack costs nothing
and saves the ~100 us of dispatch a separate stack costs every step.

One stack type covers every network the pages train. A *parameterization* is per-layer forward
multipliers and per-tensor learning-rate scales (``init_parameterized``): standard keeps them all 1
and runs exactly the plain ops, NTK and muP move the 1/sqrt(fan_in) from the stored weights into
the multipliers. Residual blocks are a flag of the stack, run by the same forward and backward.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

#: A run is declared diverged once a loss is non-finite or this many times its initial value.
DIVERGENCE_FACTOR = 1e4
#: FLOPs a step that padding may add to save a stack: on CPU about a third of what a stack's
#: ~100 us of dispatch would buy at ~150 GFLOP/s (measured by bench/optimization.py: width 10
#: padded into a width-50 stack, 1.8 MFLOP more, saves ~65 us a step). On CUDA every kernel
#: launch costs more than a small model's FLOPs, so everything goes into one stack there.
PAD_SLACK_FLOPS = {"cpu": 5e6, "cuda": float("inf")}
#: Steps whose residuals are kept before their losses are reduced in one op.
LOSS_BLOCK = 50
#: Initial draws of ``init_stack``: PyTorch's nn.Linear default, or He (Kaiming normal).
INITS = ("pytorch", "he")
#: Where ``init_parameterized`` puts the 1/sqrt(fan_in) (see there).
PARAMETERIZATIONS = ("ntk", "standard", "mup")
#: Weight and bias scales of ``init_parameterized``. sigma_w^2 = 2 keeps a ReLU layer's signal
#: size (He et al. 2015); a small bias scale as in Jacot et al.'s experiments (beta = 0.1).
SIGMA_W = math.sqrt(2.0)
SIGMA_B = 0.1


def derive_seed(*parts: int | str) -> int:
    """A 63-bit seed from a tuple, so every model's draw is independent of how models are grouped."""
    words = [p if isinstance(p, int) else int.from_bytes(p.encode()[:8].ljust(8, b"\0"), "little") for p in parts]
    return int(np.random.SeedSequence([abs(w) for w in words]).generate_state(2, np.uint64)[0] >> 1)


def layer_sizes(d_in: int, width: int, depth: int, d_out: int = 1) -> tuple[int, ...]:
    """Sizes of an MLP with ``depth`` hidden layers of ``width`` units."""
    return (d_in, *([width] * depth), d_out)


def count_params(sizes: Sequence[int]) -> int:
    """Weights plus biases of an MLP with these layer sizes."""
    return sum(i * o + o for i, o in itertools.pairwise(sizes))


def train_flops(sizes: Sequence[int], n: int, steps: int) -> float:
    """Training FLOPs of full-batch steps, counted from the shapes.

    Forward: 2 n i o per layer. Backward: 2 n i o for the weight gradient, plus 2 n i o for the
    gradient into every layer but the first (the input needs none).
    """
    macs = [i * o for i, o in itertools.pairwise(sizes)]
    per_step = 2 * n * (2 * sum(macs) + sum(macs[1:]))
    return float(per_step) * steps


def branch_scale(depth: int) -> float:
    """1/sqrt(number of residual blocks): the sum of the blocks' contributions then stays of the
    same size at any depth, in the forward signal and in the tangent kernel (Hayou et al. 2021,
    "stable ResNet"). With unscaled branches a 12-layer net of width 20 already needs a smaller
    learning rate than shallow nets, and a comparison across depths would not be at equal settings."""
    return 1.0 / math.sqrt(max(depth - 1, 1))


@dataclass
class MLPStack:
    """M ReLU MLPs of the same layer sizes: weights [M, fan_in, fan_out], biases [M, 1, fan_out].

    Layer l computes z = w_mult[l] * h @ W + b_mult[l] * b, and gradient descent moves tensor i of
    ``params()`` by lr * lr_scales[i] times its gradient; left empty they are all 1 (standard
    parameterization). With ``residual``, every hidden layer after the first is a block
    h <- h + a * relu(z), a = branch_scale(hidden layers); the first and the read-out are plain.
    """

    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    masks: list[torch.Tensor] | None = None
    w_mult: tuple[float, ...] = ()
    b_mult: tuple[float, ...] = ()
    lr_scales: tuple[float, ...] = ()
    residual: bool = False

    def __post_init__(self) -> None:
        layers = len(self.weights)
        self.w_mult = tuple(self.w_mult) or (1.0,) * layers
        self.b_mult = tuple(self.b_mult) or (1.0,) * layers
        self.lr_scales = tuple(self.lr_scales) or (1.0,) * (2 * layers)

    @property
    def size(self) -> int:
        return self.weights[0].shape[0]

    def params(self) -> list[torch.Tensor]:
        return [t for pair in zip(self.weights, self.biases) for t in pair]

    @property
    def standard(self) -> bool:
        """Multipliers and rate scales all 1: the plain network."""
        return all(v == 1.0 for v in (*self.w_mult, *self.b_mult, *self.lr_scales))

    def kind(self) -> tuple:
        """Everything but the tensors: stacks of one kind may be joined."""
        return self.w_mult, self.b_mult, self.lr_scales, self.residual

    def select(self, index: int) -> MLPStack:
        """Model ``index`` alone, as a stack of one (a copy)."""
        return dataclasses.replace(
            self,
            weights=[w[index : index + 1].clone() for w in self.weights],
            biases=[b[index : index + 1].clone() for b in self.biases],
            masks=[m[index : index + 1].clone() for m in self.masks] if self.masks else None,
        )


def init_stack(
    sizes: Sequence[int],
    seeds: Sequence[int],
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    init: str = "pytorch",
    init_std: float | None = None,
    residual: bool = False,
) -> MLPStack:
    """Initialise one model per seed, each from its own generator, drawn on the CPU so the same
    seed gives the same network on every device.

    ``init``: "pytorch" is nn.Linear's default, uniform with bound 1/sqrt(fan_in) for weights and
    biases; "he" is Kaiming normal, weights N(0, 2/fan_in) and zero biases, the draw that keeps a
    deep ReLU net's signal size. ``init_std``, if given, draws both from N(0, init_std^2) instead.
    """
    if init not in INITS:
        raise ValueError(f"init: {init!r}; allowed: {', '.join(INITS)}")
    weights: list[list[torch.Tensor]] = [[] for _ in sizes[1:]]
    biases: list[list[torch.Tensor]] = [[] for _ in sizes[1:]]
    for seed in seeds:
        gen = torch.Generator().manual_seed(int(seed))
        for layer, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
            w = torch.empty(fan_in, fan_out, dtype=torch.float64)
            b = torch.empty(1, fan_out, dtype=torch.float64)
            if init_std is not None:
                w.normal_(0.0, init_std, generator=gen)
                b.normal_(0.0, init_std, generator=gen)
            elif init == "he":
                w.normal_(0.0, math.sqrt(2.0 / fan_in), generator=gen)
                b.zero_()
            else:
                bound = fan_in**-0.5
                w.uniform_(-bound, bound, generator=gen)
                b.uniform_(-bound, bound, generator=gen)
            weights[layer].append(w)
            biases[layer].append(b)
    return MLPStack(
        [torch.stack(ws).to(device=device, dtype=dtype) for ws in weights],
        [torch.stack(bs).to(device=device, dtype=dtype) for bs in biases],
        residual=residual,
    )


def init_parameterized(
    sizes: Sequence[int],
    seeds: Sequence[int],
    parameterization: str = "ntk",
    *,
    w_std: float = SIGMA_W,
    b_std: float = SIGMA_B,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> MLPStack:
    """One Gaussian network per seed (weights of size w_std/sqrt(fan_in), biases b_std) in one of
    three parameterizations, which draw the SAME standard normal numbers and differ only in where
    the 1/sqrt(fan_in) sits:

    - ``ntk``: stored weights N(0, 1), multipliers w_std/sqrt(fan_in) (Jacot et al. 2018). The
      tangent kernel has a finite, deterministic limit as the width grows.
    - ``standard``: the scale is in the stored weights (PyTorch's habit), multipliers and rate
      scales 1. Same function at init as ``ntk``, but the tangent kernel grows like the width, so
      the stable learning rate shrinks like 1/width.
    - ``mup``: ``ntk`` with an extra 1/sqrt(width) on the read-out and every tensor but the read-out
      bias stepping width times faster (Yang & Hu 2021, maximal update parameterization in NTK
      form): features move by O(1) at every width.
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
        w_mult, b_mult, lr_scales = [1.0] * len(fans), [1.0] * len(fans), [1.0] * count
    else:
        stored_scale, b_scale = [1.0] * len(fans), [1.0] * len(fans)
        w_mult, b_mult, lr_scales = list(w_scale), [b_std] * len(fans), [1.0] * count
        if parameterization == "mup":
            # every tensor steps width times faster, except the read-out bias: it adds to the
            # output directly, so an O(1) step there already moves f by O(1)
            w_mult[-1] /= math.sqrt(width)
            lr_scales = [float(width)] * (count - 1) + [1.0]
    return MLPStack(
        [(torch.stack(ws) * s).to(device=device, dtype=dtype) for ws, s in zip(raw_w, stored_scale)],
        [(torch.stack(bs) * s).to(device=device, dtype=dtype) for bs, s in zip(raw_b, b_scale)],
        w_mult=tuple(w_mult), b_mult=tuple(b_mult), lr_scales=tuple(lr_scales),
    )


def pad_stack(stack: MLPStack, sizes: Sequence[int]) -> MLPStack:
    """The same networks inside wider hidden layers, computing exactly what they did.

    The extra units start with zero weights in and out and zero bias: they output ReLU(0) = 0,
    their gradients are 0 (their out-weights are 0, and their input is 0), so SGD and Adam leave
    them at 0, and the real units only ever add zeros (in a residual block too: 0 + a relu(0)).
    The multipliers stay the narrow networks' own.
    """
    shapes = list(itertools.pairwise(sizes))

    def wide(ws: list[torch.Tensor]) -> list[torch.Tensor]:
        return [torch.nn.functional.pad(w, (0, o - w.shape[2], 0, i - w.shape[1])) for w, (i, o) in zip(ws, shapes)]

    return dataclasses.replace(
        stack, weights=wide(stack.weights), masks=wide(stack.masks) if stack.masks else None,
        biases=[torch.nn.functional.pad(b, (0, o - b.shape[2])) for b, (_, o) in zip(stack.biases, shapes)])


def join(stacks: Sequence[MLPStack]) -> MLPStack:
    """One stack holding the models of several stacks of the same sizes and kind, in order."""
    if len({s.kind() for s in stacks}) > 1:
        raise ValueError("join: the stacks differ in multipliers, learning-rate scales or residual blocks")
    return dataclasses.replace(
        stacks[0],
        weights=[torch.cat(ws) for ws in zip(*(s.weights for s in stacks))],
        biases=[torch.cat(bs) for bs in zip(*(s.biases for s in stacks))],
        masks=[torch.cat(ms) for ms in zip(*(s.masks for s in stacks))] if all(s.masks for s in stacks) else None,
    )


def group_widths(widths: Sequence[int], step_flops: Callable[[int], float], slack: float) -> list[list[int]]:
    """Widths (ascending) that train as one zero-padded stack: a width joins the group below it
    while padding every member up to it adds at most ``slack`` FLOPs a step.

    On CPU a separate stack costs ~100 us of dispatch a step whatever its size, so padding a
    tiny model into a slightly wider stack is free, while padding to the widest is a FLOP trap
    (the notes measured 2x slower than a loop). See PAD_SLACK_FLOPS.
    """
    groups: list[list[int]] = []
    for width in sorted(widths):
        if groups and sum(step_flops(width) - step_flops(w) for w in groups[-1]) <= slack:
            groups[-1].append(width)
        else:
            groups.append([width])
    return groups


class StepView:
    """A stack's tensors as a training step uses them, made once per trainer.

    A stack of one is viewed as plain matrices: MKL runs ``mm`` about twice as fast as a
    batch-of-one ``bmm`` (343 vs 684 us for 100x500 @ 500x500 here), and a small model's step is
    dispatch-bound, so the views and transposes are taken once here rather than every step
    (each costs ~2 us; a width-10 step is ~100 us in all). For the same reason a multiplier of 1
    costs no op: the plain calls run unless a layer's multiplier differs from 1.

    A parameterized stack sums its bias gradients with ``sum``, which accumulates in double on the
    CPU, instead of the one fused ``ones @ g`` (float accumulation): muP steps biases up to width
    times faster, and in float32 that rounding moved the width-4096 muP net of the lazy-training
    page by 0.02 against float64 (1e-4 with the sum).
    """

    def __init__(self, stack: MLPStack, x: torch.Tensor, *, batched: bool | None = None):
        self.batched = stack.size > 1 if batched is None else batched
        self.weights = [self.shaped(w) for w in stack.weights]
        self.biases = [self.shaped(b) for b in stack.biases]
        self.masks = [self.shaped(m) for m in stack.masks] if stack.masks else None
        self.transposed = [w.transpose(-2, -1) for w in self.weights]
        self.last = len(self.weights) - 1
        self.w_mult, self.b_mult = stack.w_mult, stack.b_mult
        # addmm's scalars, passed only where they are not 1
        self.affine = [{} if (m, mb) == (1.0, 1.0) else {"alpha": m, "beta": mb} for m, mb in zip(self.w_mult, self.b_mult)]
        self.residual, self.branch = stack.residual, branch_scale(self.last)
        self.standard = stack.standard
        # index in forward()'s saved list of the ReLU output that gates dL/dz_{l-1}: layer l's
        # input in a plain net; in a residual net, a block's branch (kept after the layer inputs)
        self.gates = [layer if layer <= 1 or not self.residual else self.last + layer - 1 for layer in range(self.last + 1)]
        if x.dim() == 2:
            self.x = x.expand(stack.size, *x.shape) if self.batched else x
        else:
            self.x = self.shaped(x)
        lead = (stack.size,) if self.batched else ()
        # ones @ g sums g over the samples: the bias gradient as one (fused) matmul
        self.ones = torch.ones(*lead, 1, self.x.shape[-2], dtype=x.dtype, device=x.device)
        self.mm = torch.bmm if self.batched else torch.mm
        self.addmm = torch.baddbmm if self.batched else torch.addmm
        self.addmm_ = torch.Tensor.baddbmm_ if self.batched else torch.Tensor.addmm_

    def shaped(self, t: torch.Tensor) -> torch.Tensor:
        """A [M, ...] tensor as this view holds it."""
        return t if self.batched else t[0]

    def params(self) -> list[torch.Tensor]:
        return [t for pair in zip(self.weights, self.biases) for t in pair]

    def forward(self) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Outputs, and what backprop needs: every layer's input, then (residual nets) every
        block's ReLU output, whose sign is the block's gate (a gate recomputed from h_{l+1} - h_l
        could differ from the true one by rounding)."""
        h = self.x
        saved = [h]
        branches = []
        for layer in range(self.last):
            r = self.addmm(self.biases[layer], h, self.weights[layer], **self.affine[layer]).relu_()
            if self.residual and layer:
                branches.append(r)
                h = h + r * self.branch
            else:
                h = r
            saved.append(h)
        out = self.addmm(self.biases[self.last], h, self.weights[self.last], **self.affine[self.last])
        saved += branches
        return out, saved

    def backprop(self, saved: list[torch.Tensor], g: torch.Tensor,
                 visit: Callable[[int, torch.Tensor, torch.Tensor], None]) -> None:
        """Walk the layers top-down with g = dL/dz; ``visit(layer, input, g)`` sees each layer's
        gradient before the layer below is reached, and may then update that layer in place.

        In a residual net dL/dh_l = m_l (dL/dz_l) W_l^T + dL/dh_{l+1} for every block: the skip
        carries the signal down unattenuated, which is why deep residual nets keep their gradients.
        """
        skip = None
        for layer in range(self.last, -1, -1):
            below = None
            if layer:
                grad_h = self.mm(g, self.transposed[layer])
                if self.w_mult[layer] != 1.0:
                    grad_h.mul_(self.w_mult[layer])
                if skip is not None:
                    grad_h.add_(skip)
                # ReLU's own backward kernel: one fused op instead of a comparison, a cast and a multiply
                below = torch.ops.aten.threshold_backward(grad_h, saved[self.gates[layer]], 0)
                if self.residual and layer > 1:
                    below.mul_(self.branch)
                    skip = grad_h
            visit(layer, saved[layer], g)
            g = below

    def grads(self, saved: list[torch.Tensor], g: torch.Tensor) -> list[torch.Tensor]:
        """Gradients in ``params()`` order."""
        grads: list[torch.Tensor] = []

        def collect(layer: int, h: torch.Tensor, g: torch.Tensor) -> None:
            if self.standard:
                grads[:0] = [self.mm(h.transpose(-2, -1), g), self.mm(self.ones, g)]
            else:
                grads[:0] = [self.mm(h.transpose(-2, -1), g).mul_(self.w_mult[layer]),
                             g.sum(-2, keepdim=True).mul_(self.b_mult[layer])]

        self.backprop(saved, g, collect)
        return grads

    def descend(self, saved: list[torch.Tensor], g: torch.Tensor, alphas: list[tuple[float, float]],
                decay: list[tuple[float | torch.Tensor, float | torch.Tensor]] | None = None) -> None:
        """One SGD step with each update fused into its gradient's matmul (W += alpha h^T g, alpha
        = -lr * rate scale * multiplier per layer's weight and bias): no gradient tensor is written
        and read back, and one op per tensor instead of two.

        ``decay`` (weight decay) gives each layer's weight and bias a factor 1 - lr * rate scale *
        weight_decay to shrink by before the update: a number is folded into the same matmul (its
        beta), a per-model [M, 1, 1] tensor costs one multiply. Each tensor is shrunk only after
        the layer below has taken its gradient through it, so the step is at the current weights."""

        def update(layer: int, h: torch.Tensor, g: torch.Tensor) -> None:
            alpha_w, alpha_b = alphas[layer]
            if decay is not None:
                self._decayed_update(layer, h, g, alpha_w, alpha_b, *decay[layer])
                return
            self.addmm_(self.weights[layer], h.transpose(-2, -1), g, alpha=alpha_w)
            if self.standard:
                self.addmm_(self.biases[layer], self.ones, g, alpha=alpha_b)
            else:
                self.biases[layer].add_(g.sum(-2, keepdim=True), alpha=alpha_b)

        self.backprop(saved, g, update)

    def _decayed_update(self, layer: int, h: torch.Tensor, g: torch.Tensor, alpha_w: float, alpha_b: float,
                        keep_w: float | torch.Tensor, keep_b: float | torch.Tensor) -> None:
        """descend's update with weight decay: t <- keep * t + alpha * gradient."""

        def beta(t: torch.Tensor, keep: float | torch.Tensor) -> dict[str, float]:
            if isinstance(keep, torch.Tensor):
                t.mul_(keep)
                return {}
            return {"beta": keep}

        weight, bias = self.weights[layer], self.biases[layer]
        self.addmm_(weight, h.transpose(-2, -1), g, alpha=alpha_w, **beta(weight, keep_w))
        if self.standard:
            self.addmm_(bias, self.ones, g, alpha=alpha_b, **beta(bias, keep_b))
        else:
            bias.mul_(keep_b).add_(g.sum(-2, keepdim=True), alpha=alpha_b)


def forward(stack: MLPStack, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Outputs [M, n, d_out] and what the backward pass needs (StepView.forward).

    ``x`` is [n, d] (shared by all models) or [M, n, d].
    """
    return StepView(stack, x, batched=True).forward()


def predict(stack: MLPStack, x: torch.Tensor) -> torch.Tensor:
    """Outputs [M, n, d_out] without keeping activations."""
    return forward(stack, x)[0]


def mse_per_model(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each model, [M]: the loss every page trains on."""
    return (out - y).pow(2).flatten(1).mean(1)


def loss_gradient(out: torch.Tensor, y: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
    """dL/d out of ``mse_per_model``; out - y goes into ``residual`` if given (the trainer keeps it
    to reduce the losses later).

    The batch loss is the SUM of the models' mean losses, so every model sees its own gradient
    (a mean over models would silently divide each learning rate by M).
    """
    return torch.sub(out, y, out=residual).mul(2.0 / out.shape[-2:].numel())


def cross_entropy_per_model(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Softmax cross-entropy of each model's logits against target distributions ``y`` (one-hot
    rows), summed over the classes and averaged over the samples, [M]."""
    return _mean_cross_entropy(torch.log_softmax(out, -1) * y)


def cross_entropy_gradient(out: torch.Tensor, y: torch.Tensor, terms: torch.Tensor | None = None) -> torch.Tensor:
    """dL/d out of ``cross_entropy_per_model``: (softmax(out) - y) / n for rows of ``y`` that sum
    to 1; y * log_softmax(out) goes into ``terms`` if given (the trainer reduces the losses from
    it later). As for the MSE, each model sees the gradient of its own loss."""
    log_p = torch.log_softmax(out, -1)
    if terms is not None:
        torch.mul(log_p, y, out=terms)
    return log_p.exp_().sub_(y).mul_(1.0 / out.shape[-2])


def _mean_square(residuals: torch.Tensor) -> torch.Tensor:
    """Mean squared error from residuals out - y [..., M, n, d]: [..., M]."""
    return residuals.square().flatten(-2).mean(-1)


def _mean_cross_entropy(terms: torch.Tensor) -> torch.Tensor:
    """Cross-entropy from y * log-probabilities [..., M, n, K]: [..., M]."""
    return terms.flatten(-2).sum(-1).div_(-terms.shape[-2])


#: The losses the Trainer minimises: (loss per model, its gradient, the loss from what the
#: gradient leaves behind). "mse": mean squared error over every output; "cross-entropy": softmax
#: cross-entropy on the outputs as logits, against one-hot (or any probability) rows.
LOSSES = {
    "mse": (mse_per_model, loss_gradient, _mean_square),
    "cross-entropy": (cross_entropy_per_model, cross_entropy_gradient, _mean_cross_entropy),
}


def backward(stack: MLPStack, saved: list[torch.Tensor], out: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    """Gradients of each model's own mean squared error, in ``stack.params()`` order."""
    return StepView(stack, saved[0], batched=True).grads(saved, loss_gradient(out, y))


@dataclass
class TrainLog:
    """Each model's loss before every step done [steps_done, M], after the last one [M], and, if
    the run stopped early, where."""

    losses: torch.Tensor
    final: torch.Tensor
    diverged_step: int | None = None
    diverged_model: int | None = None


class Minibatches:
    """Which training samples each model of a stack steps on: ``size`` of the ``n`` a step, in order
    from the model's own shuffled epochs (a fresh permutation of the n samples from its own
    generator whenever the last one runs out), so a model's order depends on its seed alone, not on
    the stack it trains in. The Trainer calls ``next`` once per LOSS_BLOCK steps; an experiment may
    override it (e.g. to have some models share another's order for a while)."""

    def __init__(self, n: int, size: int, seeds: Sequence[int]):
        if not 0 < size <= n:
            raise ValueError(f"batch size: {size} of {n} samples; allowed: 1 to {n}")
        self.n, self.size = n, size
        self._gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self._queues = [torch.empty(0, dtype=torch.long) for _ in seeds]

    @property
    def models(self) -> int:
        return len(self._gens)

    def next(self, steps: int) -> torch.Tensor:
        """Sample indices of the next ``steps`` steps, [steps, M, size] (int64, on the CPU)."""
        need = steps * self.size
        orders = []
        for m, gen in enumerate(self._gens):
            queue = self._queues[m]
            if len(queue) < need:
                epochs = -(-(need - len(queue)) // self.n)
                queue = torch.cat([queue, *(torch.randperm(self.n, generator=gen) for _ in range(epochs))])
            orders.append(queue[:need])
            self._queues[m] = queue[need:]
        return torch.stack(orders).view(self.models, steps, self.size).transpose(0, 1)


class Trainer:
    """Training of one MLPStack, full batch (or minibatches, see below), advanced chunk by chunk so
    callers can stream curves.

    ``x`` and ``y`` are [n, d] (shared by all models) or [M, n, d] (one per model). ``lr`` is one
    rate, or one per model. Per-model SGD is exact and costs one multiply a step: backprop is
    linear in dL/d out, so each model's output gradient is scaled by its rate and the updates use
    rate 1. Per-model Adam is exact too (Adam is elementwise): each model's slices of the tensors
    take their own fused call, one more call per distinct rate.

    With ``batches``, every step is a minibatch step: each model's next batch (``Minibatches``) is
    copied into per-model buffers [M, b, d] that the step view holds, so the step itself is the
    full-batch step on b samples. ``losses`` are then each model's loss on its batch; ``log().final``
    is still on all of x.

    ``loss``: "mse" (the default) or "cross-entropy" (the outputs are logits, ``y`` one-hot rows);
    ``losses`` and ``log()`` record the loss trained on. ``weight_decay``: an L2 penalty
    weight_decay/2 |theta|^2 on every weight and bias, as torch.optim's SGD and Adam apply it (SGD:
    folded into the update's matmul as t <- (1 - lr weight_decay) t - lr grad; Adam: the fused
    kernel's L2 term, not AdamW's decoupled decay); it is not in the recorded losses. At their
    defaults neither adds an op to a step.
    """

    def __init__(self, stack: MLPStack, x: torch.Tensor, y: torch.Tensor, *, lr: float | Sequence[float],
                 optimizer: str, steps: int, batches: Minibatches | None = None, loss: str = "mse",
                 weight_decay: float = 0.0):
        self.stack, self.x, self.y = stack, x, y
        if loss not in LOSSES:
            raise ValueError(f"loss: {loss!r}; allowed: {', '.join(LOSSES)}")
        self.loss = loss
        self._per_model, self._gradient, self._reduce = LOSSES[loss]
        self.batches = batches
        if batches is not None:
            x, y = self._batch_buffers(batches)
        self.steps, self.done = steps, 0
        self.losses = torch.empty(steps, stack.size, dtype=x.dtype, device=x.device)
        self.diverged_step: int | None = None
        self.diverged_model: int | None = None
        self.view = StepView(stack, x)
        self._target = self.view.shaped(y) if y.dim() == 3 else y
        rates = _rates(lr, stack.size)
        shared = len(set(rates)) == 1
        self._split = not shared and optimizer == "adam"
        # per-model SGD: each model's output gradient times its rate, then updates at rate 1
        self._g_scale = None if shared or self._split else torch.tensor(rates, dtype=x.dtype, device=x.device).view(-1, 1, 1)
        rate = rates[0] if shared else 1.0
        self._alphas = [(-rate * stack.lr_scales[2 * i] * stack.w_mult[i], -rate * stack.lr_scales[2 * i + 1] * stack.b_mult[i])
                        for i in range(len(stack.weights))]
        self._decay = None  # SGD's shrink factors 1 - lr * rate scale * weight_decay, per (weight, bias)
        if weight_decay and optimizer != "adam":
            keep = [1.0 - rate * c * weight_decay for c in stack.lr_scales] if shared else [
                1.0 - torch.tensor(rates, dtype=x.dtype, device=x.device).view(-1, 1, 1) * (c * weight_decay) for c in stack.lr_scales]
            self._decay = list(zip(keep[0::2], keep[1::2]))
        self._adam = None
        if optimizer == "adam":
            params = self.view.params()
            if self._split:
                self._adam = Adam([p for t in params for p in t.unbind(0)], [r * c for c in stack.lr_scales for r in rates],
                                  weight_decay=weight_decay)
            else:
                self._adam = Adam(params, [rates[0] * c for c in stack.lr_scales], weight_decay=weight_decay)
        # out - y of the last LOSS_BLOCK steps: the losses are reduced once per block, not per step
        self._residuals = torch.empty(LOSS_BLOCK, stack.size, *y.shape[-2:], dtype=x.dtype, device=x.device)
        self._slots = [self.view.shaped(r) for r in self._residuals]

    def _batch_buffers(self, batches: Minibatches) -> tuple[torch.Tensor, torch.Tensor]:
        """The buffers every step's batches are copied into, and the rows they come from (x and y
        flattened to [M n, d] when each model has its own, with each model's offset into them)."""
        models, x, y = self.stack.size, self.x, self.y
        if batches.models != models:
            raise ValueError(f"batches: orders for {batches.models} models; the stack has {models}")
        own = x.dim() == 3
        self._sources = (x.flatten(0, 1), y.flatten(0, 1)) if own else (x, y)
        self._offsets = (torch.arange(models, device=x.device) * x.shape[-2]).view(1, models, 1) if own else None
        self._buffers = (x.new_empty(models, batches.size, x.shape[-1]), y.new_empty(models, batches.size, y.shape[-1]))
        return self._buffers

    def _rows(self, steps: int) -> torch.Tensor:
        """Rows of the sources for the next ``steps`` steps, [steps, M b]."""
        order = self.batches.next(steps).to(self.x.device)
        return (order if self._offsets is None else order + self._offsets).flatten(1)

    def _feed(self, rows: torch.Tensor) -> None:
        for source, buffer in zip(self._sources, self._buffers):
            torch.index_select(source, 0, rows, out=buffer.view(-1, buffer.shape[-1]))

    @property
    def finished(self) -> bool:
        return self.done >= self.steps or self.diverged_step is not None

    def advance(self, count: int) -> None:
        """Run up to ``count`` more steps, then check for divergence once (one device sync)."""
        start = self.done
        stop = min(self.steps, start + count)
        for block in range(start, stop, LOSS_BLOCK):
            end = min(stop, block + LOSS_BLOCK)
            rows = None if self.batches is None else self._rows(end - block)
            for i, slot in enumerate(self._slots[: end - block]):
                if rows is not None:
                    self._feed(rows[i])
                self._step(slot)
            self.losses[block:end] = self._reduce(self._residuals[: end - block])
        self.done = stop
        self._check_divergence(start)

    def _step(self, residual: torch.Tensor) -> None:
        """One step; leaves what the loss is reduced from in ``residual`` (out - y for the MSE)."""
        out, saved = self.view.forward()
        g = self._gradient(out, self._target, residual)
        if self._adam is None:
            if self._g_scale is not None:
                g.mul_(self._g_scale)
            self.view.descend(saved, g, self._alphas, self._decay)
        else:
            grads = self.view.grads(saved, g)
            self._adam.step([s for t in grads for s in t.unbind(0)] if self._split else grads)
        if self.view.masks:
            torch._foreach_mul_(self.view.weights, self.view.masks)

    def _check_divergence(self, start: int) -> None:
        window = self.losses[start : self.done]
        limit = DIVERGENCE_FACTOR * torch.clamp(self.losses[0], min=1.0)
        bad = ~torch.isfinite(window) | (window > limit)
        if bool(bad.any()):
            step, model = (int(v) for v in bad.nonzero()[0])
            self.diverged_step, self.diverged_model = start + step, model
            self.done = start + step

    def log(self) -> TrainLog:
        """The losses so far; ``final`` costs one forward pass."""
        with torch.no_grad():
            final = self._per_model(predict(self.stack, self.x), self.y)
        return TrainLog(self.losses[: self.done], final, self.diverged_step, self.diverged_model)


def _rates(lr: float | Sequence[float], models: int) -> list[float]:
    if isinstance(lr, (int, float)):
        return [float(lr)] * models
    rates = [float(r) for r in lr]
    if len(rates) != models:
        raise ValueError(f"lr: {len(rates)} learning rates for a stack of {models} models; give one, or one per model")
    return rates


class Adam:
    """Adam (PyTorch's defaults) over a list of tensors, through the fused kernel itself.

    torch.optim's first step imports torch._dynamo: about 70 MiB and 800 modules in every server
    process (measured here), for nothing we use. ``torch._fused_adam_`` is the kernel that
    ``torch.optim.Adam(fused=True)`` runs; a test checks that the two agree. ``lr`` is one rate or
    one per tensor; the kernel takes one, so tensors sharing a rate are stepped by one call.
    ``weight_decay`` is the kernel's own: L2, added to the gradient before the moments, as
    torch.optim.Adam's (not AdamW's decoupled decay), so it is the gradient of the same penalty
    weight_decay/2 |theta|^2 that SGD's weight decay descends.
    """

    def __init__(self, params: list[torch.Tensor], lr: float | Sequence[float],
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        self.params, self.betas, self.eps, self.weight_decay = params, betas, eps, weight_decay
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]
        self.steps = [torch.zeros((), dtype=torch.float32, device=p.device) for p in params]
        rates = _rates(lr, len(params))
        self.groups = [(rate, [i for i, r in enumerate(rates) if r == rate]) for rate in dict.fromkeys(rates)]

    def step(self, grads: list[torch.Tensor]) -> None:
        torch._foreach_add_(self.steps, 1)
        if len(self.groups) == 1:  # one rate: the lists as they are
            self._fused(self.groups[0][0], self.params, grads, self.exp_avg, self.exp_avg_sq, self.steps)
            return
        for rate, index in self.groups:
            self._fused(rate, *([tensors[i] for i in index]
                                for tensors in (self.params, grads, self.exp_avg, self.exp_avg_sq, self.steps)))

    def _fused(self, lr: float, params: list[torch.Tensor], grads: list[torch.Tensor], exp_avg: list[torch.Tensor],
               exp_avg_sq: list[torch.Tensor], steps: list[torch.Tensor]) -> None:
        torch._fused_adam_(params, grads, exp_avg, exp_avg_sq, [], steps, lr=lr, beta1=self.betas[0],
                           beta2=self.betas[1], weight_decay=self.weight_decay, eps=self.eps, amsgrad=False, maximize=False)


def train_groups(
    trainers: Sequence[Trainer],
    chunk: int,
    on_chunk: Callable[[], None] | None = None,
) -> None:
    """Advance several trainers in interleaved chunks so every model's curve fills in together,
    each until its last step or its divergence. A stack that blows up stops only itself (its models
    share every step); the others train on, so their results are those of the full run, not of a
    run cut short by another model's learning rate."""
    while not all(t.finished for t in trainers):
        for t in trainers:
            if not t.finished:
                t.advance(chunk)
        if on_chunk is not None:
            on_chunk()
