"""Measured on the machine running the page: what one training step of the app's own MLP engine
costs, in seconds (timed) and bytes (counted), against its size."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import pandas as pd
import torch

from core import mlp
from core.experiments.scaling.config import Config

# The timed MLPs: the app's own engine (core.mlp), full-batch SGD, one warm-up step, then the median
# over REPEATS of the mean step time over STEPS_PER_REPEAT steps.
D_IN, DEPTH, WARMUP, REPEATS, STEPS_PER_REPEAT = 32, 2, 1, 3, 2
TIMED_STEPS = WARMUP + REPEATS * STEPS_PER_REPEAT


def mlp_sizes(width: int) -> tuple[int, ...]:
    """Layer sizes of the timed MLP of one width."""
    return mlp.layer_sizes(D_IN, width, DEPTH)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_bytes(stack: mlp.MLPStack, x: torch.Tensor, y: torch.Tensor) -> int:
    """Bytes a training step holds at the end of its backward pass (weights, activations kept for
    backward, output, gradients, data), counted from the tensors' storages; allocator overhead and
    short-lived temporaries are not included, so this is a slight underestimate of the peak."""
    out, inputs = mlp.forward(stack, x)
    grads = mlp.backward(stack, inputs, out, y)
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes()
                for t in (*stack.params(), *inputs, out, *grads, x, y)}
    return sum(storages.values())


def time_step(stack: mlp.MLPStack, x: torch.Tensor, y: torch.Tensor) -> float:
    """Median seconds per full-batch SGD step of the app's engine, after one warm-up step."""
    trainer = mlp.Trainer(stack, x, y, lr=1e-4, optimizer="sgd", steps=TIMED_STEPS)
    trainer.advance(WARMUP)
    times = []
    for _ in range(REPEATS):
        _sync(x.device)
        start = time.perf_counter()
        trainer.advance(STEPS_PER_REPEAT)
        _sync(x.device)
        times.append((time.perf_counter() - start) / STEPS_PER_REPEAT)
    return statistics.median(times)


def measure(config: Config, device: torch.device,
            report: Callable[[float, pd.DataFrame], None] | None = None) -> pd.DataFrame:
    """Seconds per step (measured) and memory held (counted) of one MLP per width."""
    gen = torch.Generator().manual_seed(mlp.derive_seed("scaling", "timing", config.batch))
    x = torch.randn(config.batch, D_IN, generator=gen).to(device)
    y = torch.randn(config.batch, 1, generator=gen).to(device)
    rows: list[dict] = []
    for i, width in enumerate(config.widths):
        sizes = mlp_sizes(width)
        stack = mlp.init_stack(sizes, [mlp.derive_seed("scaling", width)], device=device)
        rows.append({
            "width": width,
            "params": mlp.count_params(sizes),
            "flops_per_step": mlp.train_flops(sizes, config.batch, 1),
            "seconds_per_step": time_step(stack, x, y),
            "peak_mb": step_bytes(stack, x, y) / 1e6,
        })
        if report is not None:
            report((i + 1) / len(config.widths), pd.DataFrame(rows))
    return pd.DataFrame(rows)
