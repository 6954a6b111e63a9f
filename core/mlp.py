"""Many small ReLU MLPs trained as one batched computation.

Models of identical shape are stacked on a leading model dimension and run with ``bmm``; the
backward pass is written by hand (it is a few lines for a ReLU MLP with MSE loss) because autograd
and ``nn.Module`` dispatch dominate for small widths on CPU, and plain SGD folds each update into
its gradient's matmul. Models of different widths are padded into one stack only while that
adds few FLOPs (``group_widths``): padding everything to the widest is a FLOP trap on CPU (measured
2x slower than a plain loop), while a tiny model padded into a slightly wider stack costs nothing
and saves the ~100 us of dispatch a separate stack costs every step."""

from __future__ import annotations

import itertools
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


def pad_stack(stack: MLPStack, sizes: Sequence[int]) -> MLPStack:
    """The same networks inside wider hidden layers, computing exactly what they did.

    The extra units start with zero weights in and out and zero bias: they output ReLU(0) = 0,
    their gradients are 0 (their out-weights are 0, and their input is 0), so SGD and Adam leave
    them at 0, and the real units only ever add zeros.
    """
    shapes = list(itertools.pairwise(sizes))
    return MLPStack(
        [torch.nn.functional.pad(w, (0, o - w.shape[2], 0, i - w.shape[1])) for w, (i, o) in zip(stack.weights, shapes)],
        [torch.nn.functional.pad(b, (0, o - b.shape[2])) for b, (_, o) in zip(stack.biases, shapes)],
    )


def join(stacks: Sequence[MLPStack]) -> MLPStack:
    """One stack holding the models of several stacks of the same sizes, in order."""
    return MLPStack([torch.cat(ws) for ws in zip(*(s.weights for s in stacks))],
                    [torch.cat(bs) for bs in zip(*(s.biases for s in stacks))])


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
    (each costs ~2 us; a width-10 step is ~100 us in all).
    """

    def __init__(self, stack: MLPStack, x: torch.Tensor, *, batched: bool | None = None):
        self.batched = stack.size > 1 if batched is None else batched
        self.weights = [self.shaped(w) for w in stack.weights]
        self.biases = [self.shaped(b) for b in stack.biases]
        self.masks = [self.shaped(m) for m in stack.masks] if stack.masks else None
        self.transposed = [w.transpose(-2, -1) for w in self.weights]
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
        """Outputs and the post-activation input of every layer (kept for backward)."""
        h = self.x
        inputs = [h]
        last = len(self.weights) - 1
        for layer, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = self.addmm(b, h, w)
            if layer == last:
                return z, inputs
            h = z.relu_()
            inputs.append(h)
        raise AssertionError("unreachable")

    def backprop(self, inputs: list[torch.Tensor], g: torch.Tensor,
                 visit: Callable[[int, torch.Tensor, torch.Tensor], None]) -> None:
        """Walk the layers top-down with g = dL/dz; ``visit(layer, input, g)`` sees each layer's
        gradient before the layer below is reached, and may then update that layer in place."""
        for layer in range(len(self.weights) - 1, -1, -1):
            h = inputs[layer]
            # ReLU's own backward kernel: one fused op instead of a comparison, a cast and a multiply
            below = torch.ops.aten.threshold_backward(self.mm(g, self.transposed[layer]), h, 0) if layer else None
            visit(layer, h, g)
            g = below

    def grads(self, inputs: list[torch.Tensor], g: torch.Tensor) -> list[torch.Tensor]:
        """Gradients in ``params()`` order."""
        grads: list[torch.Tensor] = []

        def collect(layer: int, h: torch.Tensor, g: torch.Tensor) -> None:
            grads[:0] = [self.mm(h.transpose(-2, -1), g), self.mm(self.ones, g)]

        self.backprop(inputs, g, collect)
        return grads

    def descend(self, inputs: list[torch.Tensor], g: torch.Tensor, lr: float) -> None:
        """One SGD step with each update fused into its gradient's matmul (W += -lr h^T g): no
        gradient tensor is written and read back, and one op per tensor instead of two."""

        def update(layer: int, h: torch.Tensor, g: torch.Tensor) -> None:
            self.addmm_(self.weights[layer], h.transpose(-2, -1), g, alpha=-lr)
            self.addmm_(self.biases[layer], self.ones, g, alpha=-lr)

        self.backprop(inputs, g, update)


def forward(stack: MLPStack, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Outputs [M, n, d_out] and the post-activation inputs of every layer (for backward).

    ``x`` is [n, d] (shared by all models) or [M, n, d].
    """
    return StepView(stack, x, batched=True).forward()


def predict(stack: MLPStack, x: torch.Tensor) -> torch.Tensor:
    """Outputs [M, n, d_out] without keeping activations."""
    return forward(stack, x)[0]


def mse_per_model(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each model, [M]."""
    return (out - y).pow(2).flatten(1).mean(1)


def loss_gradient(out: torch.Tensor, y: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
    """dL/d out of each model's own mean squared error; out - y goes into ``residual`` if given
    (the trainer keeps it to reduce the losses later).

    The batch loss is the SUM of the models' mean losses, so every model sees its own gradient
    (a mean over models would silently divide each learning rate by M).
    """
    return torch.sub(out, y, out=residual).mul(2.0 / out.shape[-2:].numel())


def backward(stack: MLPStack, inputs: list[torch.Tensor], out: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    """Gradients of each model's own mean squared error, in ``stack.params()`` order."""
    return StepView(stack, inputs[0], batched=True).grads(inputs, loss_gradient(out, y))


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
        self.view = StepView(stack, x)
        self._adam = Adam(self.view.params(), lr=lr) if optimizer == "adam" else None
        # out - y of the last LOSS_BLOCK steps: the losses are reduced once per block, not per step
        self._residuals = torch.empty(LOSS_BLOCK, stack.size, *y.shape[-2:], dtype=x.dtype, device=x.device)
        self._slots = [self.view.shaped(r) for r in self._residuals]

    @property
    def finished(self) -> bool:
        return self.done >= self.steps or self.diverged_step is not None

    def advance(self, count: int) -> None:
        """Run up to ``count`` more steps, then check for divergence once (one device sync)."""
        start = self.done
        stop = min(self.steps, start + count)
        for block in range(start, stop, LOSS_BLOCK):
            end = min(stop, block + LOSS_BLOCK)
            for slot in self._slots[: end - block]:
                self._step(slot)
            self.losses[block:end] = self._residuals[: end - block].square().flatten(2).mean(2)
        self.done = stop
        self._check_divergence(start)

    def _step(self, residual: torch.Tensor) -> None:
        """One step; leaves out - y in ``residual``."""
        out, inputs = self.view.forward()
        g = loss_gradient(out, self.y, residual)
        if self._adam is None:
            self.view.descend(inputs, g, self.lr)
            self._apply_masks()
        else:
            self._apply(self.view.grads(inputs, g))

    def _apply(self, grads: list[torch.Tensor]) -> None:
        """Update with gradients in ``view.params()`` order."""
        if self._adam is None:
            torch._foreach_add_(self.view.params(), grads, alpha=-self.lr)
        else:
            self._adam.step(grads)
        self._apply_masks()

    def _apply_masks(self) -> None:
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
