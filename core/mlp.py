"""Many small ReLU MLPs trained as one batched computation.

Models of identical shape are stacked on a leading model dimension and run with ``bmm``; the
backward pass is written by hand (it is a few lines for a ReLU MLP with MSE loss) because autograd
and ``nn.Module`` dispatch dominate for small widths on CPU. Models of different widths are NOT
padded to a common width: on CPU that multiplies the FLOPs of the small models (measured 2x
slower than a plain loop), so each distinct shape forms its own group.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

#: A run is declared diverged once a loss is non-finite or this many times its initial value.
DIVERGENCE_FACTOR = 1e4


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


@dataclass
class MLPStack:
    """M ReLU MLPs of the same layer sizes: weights [M, fan_in, fan_out], biases [M, 1, fan_out]."""

    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    masks: list[torch.Tensor] | None = None

    @property
    def size(self) -> int:
        return self.weights[0].shape[0]

    def params(self) -> list[torch.Tensor]:
        return [t for pair in zip(self.weights, self.biases) for t in pair]

    def select(self, index: int) -> MLPStack:
        """Model ``index`` alone, as a stack of one (a copy)."""
        masks = [m[index : index + 1].clone() for m in self.masks] if self.masks else None
        return MLPStack(
            [w[index : index + 1].clone() for w in self.weights],
            [b[index : index + 1].clone() for b in self.biases],
            masks,
        )


def init_stack(
    sizes: Sequence[int],
    seeds: Sequence[int],
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    init_std: float | None = None,
) -> MLPStack:
    """Initialise one model per seed, each from its own generator (PyTorch's nn.Linear default,
    uniform with bound 1/sqrt(fan_in), or normal with ``init_std``), drawn on the CPU so the
    same seed gives the same network on every device."""
    weights: list[list[torch.Tensor]] = [[] for _ in sizes[1:]]
    biases: list[list[torch.Tensor]] = [[] for _ in sizes[1:]]
    for seed in seeds:
        gen = torch.Generator().manual_seed(int(seed))
        for layer, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
            w = torch.empty(fan_in, fan_out, dtype=torch.float64)
            b = torch.empty(1, fan_out, dtype=torch.float64)
            if init_std is None:
                bound = fan_in**-0.5
                w.uniform_(-bound, bound, generator=gen)
                b.uniform_(-bound, bound, generator=gen)
            else:
                w.normal_(0.0, init_std, generator=gen)
                b.normal_(0.0, init_std, generator=gen)
            weights[layer].append(w)
            biases[layer].append(b)
    return MLPStack(
        [torch.stack(ws).to(device=device, dtype=dtype) for ws in weights],
        [torch.stack(bs).to(device=device, dtype=dtype) for bs in biases],
    )


def bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched matmul; a stack of one goes through plain ``mm``, which MKL runs about twice as
    fast as a batch-of-one ``bmm`` (measured here: 343 us against 684 us for 100x500 @ 500x500)."""
    if a.shape[0] == 1:
        return torch.mm(a[0], b[0]).unsqueeze(0)
    return torch.bmm(a, b)


def baddbmm(c: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``c + a @ b`` per model, with the same batch-of-one shortcut as bmm."""
    if a.shape[0] == 1:
        return torch.addmm(c[0], a[0], b[0]).unsqueeze(0)
    return torch.baddbmm(c, a, b)


def forward(stack: MLPStack, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Outputs [M, n, d_out] and the post-activation inputs of every layer (for backward).

    ``x`` is [n, d] (shared by all models) or [M, n, d].
    """
    h = x.expand(stack.size, *x.shape) if x.dim() == 2 else x
    inputs = [h]
    last = len(stack.weights) - 1
    for layer, (w, b) in enumerate(zip(stack.weights, stack.biases)):
        z = baddbmm(b, h, w)
        if layer == last:
            return z, inputs
        h = z.relu_()
        inputs.append(h)
    raise AssertionError("unreachable")


def predict(stack: MLPStack, x: torch.Tensor) -> torch.Tensor:
    """Outputs [M, n, d_out] without keeping activations."""
    return forward(stack, x)[0]


def mse_per_model(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each model, [M]."""
    return (out - y).pow(2).flatten(1).mean(1)


def backward(stack: MLPStack, inputs: list[torch.Tensor], out: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    """Gradients of each model's own mean squared error, in ``stack.params()`` order.

    The batch loss is the SUM of the models' mean losses, so every model sees its own gradient
    (a mean over models would silently divide each learning rate by M).
    """
    g = (out - y).mul_(2.0 / out[0].numel())
    grads: list[torch.Tensor] = []
    for layer in range(len(stack.weights) - 1, -1, -1):
        h = inputs[layer]
        gw = bmm(h.transpose(1, 2), g)
        gb = g.sum(1, keepdim=True)
        grads[:0] = [gw, gb]
        if layer:
            # ReLU's own backward kernel: one fused op instead of a comparison, a cast and a multiply
            g = torch.ops.aten.threshold_backward(bmm(g, stack.weights[layer].transpose(1, 2)), h, 0)
    return grads


@dataclass
class TrainLog:
    """Per-step losses [steps_done, M] and, if the run stopped early, why."""

    losses: torch.Tensor
    diverged_step: int | None = None
    diverged_model: int | None = None


class Trainer:
    """Full-batch training of one MLPStack, advanced chunk by chunk so callers can stream curves."""

    def __init__(self, stack: MLPStack, x: torch.Tensor, y: torch.Tensor, *, lr: float, optimizer: str, steps: int):
        self.stack, self.x, self.y = stack, x, y
        self.lr, self.steps, self.done = lr, steps, 0
        self.losses = torch.empty(steps, stack.size, dtype=x.dtype, device=x.device)
        self.diverged_step: int | None = None
        self.diverged_model: int | None = None
        self._adam = Adam(stack.params(), lr=lr) if optimizer == "adam" else None

    @property
    def finished(self) -> bool:
        return self.done >= self.steps or self.diverged_step is not None

    def advance(self, count: int) -> None:
        """Run up to ``count`` more steps, then check for divergence once (one device sync)."""
        start = self.done
        stop = min(self.steps, start + count)
        for step in range(start, stop):
            out, inputs = forward(self.stack, self.x)
            self.losses[step] = mse_per_model(out, self.y)
            self._update(backward(self.stack, inputs, out, self.y))
        self.done = stop
        self._check_divergence(start)

    def _update(self, grads: list[torch.Tensor]) -> None:
        params = self.stack.params()
        if self._adam is None:
            torch._foreach_add_(params, grads, alpha=-self.lr)
        else:
            self._adam.step(grads)
        if self.stack.masks:
            torch._foreach_mul_(self.stack.weights, self.stack.masks)

    def _check_divergence(self, start: int) -> None:
        window = self.losses[start : self.done]
        limit = DIVERGENCE_FACTOR * torch.clamp(self.losses[0], min=1.0)
        bad = ~torch.isfinite(window) | (window > limit)
        if bool(bad.any()):
            step, model = (int(v) for v in bad.nonzero()[0])
            self.diverged_step, self.diverged_model = start + step, model
            self.done = start + step

    def log(self) -> TrainLog:
        return TrainLog(self.losses[: self.done], self.diverged_step, self.diverged_model)


class Adam:
    """Adam (PyTorch's defaults) over a list of tensors, through the fused kernel itself.

    torch.optim's first step imports torch._dynamo: about 70 MiB and 800 modules in every server
    process (measured here), for nothing we use. ``torch._fused_adam_`` is the kernel that
    ``torch.optim.Adam(fused=True)`` runs; a test checks that the two agree.
    """

    def __init__(self, params: list[torch.Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]
        self.steps = [torch.zeros((), dtype=torch.float32, device=p.device) for p in params]

    def step(self, grads: list[torch.Tensor]) -> None:
        torch._foreach_add_(self.steps, 1)
        torch._fused_adam_(self.params, grads, self.exp_avg, self.exp_avg_sq, [], self.steps,
                           lr=self.lr, beta1=self.betas[0], beta2=self.betas[1], weight_decay=0.0,
                           eps=self.eps, amsgrad=False, maximize=False)


def train_groups(
    trainers: Sequence[Trainer],
    chunk: int,
    on_chunk: Callable[[], None] | None = None,
) -> None:
    """Advance several trainers in interleaved chunks so every model's curve fills in together;
    stops all of them as soon as one diverges."""
    while not all(t.finished for t in trainers):
        for t in trainers:
            if not t.finished:
                t.advance(chunk)
        if on_chunk is not None:
            on_chunk()
        if any(t.diverged_step is not None for t in trainers):
            return
