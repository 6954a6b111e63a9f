"""Measured on the machine running the page: what one training step of the app's own MLP engine
costs, in seconds (timed) and bytes (counted), against its size."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import pandas as pd
import torch

from core import mlp
from core.experiments.scaling.config import Config

# The timed MLPs: the app's own engine (core.mlp), full-batch SGD, WARMUP warm-up steps, then the
# fastest of REPEATS timed steps, on one CPU thread. On a shared 2-core machine two threads wait for
# each other whenever the scheduler parks one, which made single widths 100 times slower than their
# neighbours (and medians of a few repeats did not hide it); one thread and the fastest step measure
# the cost of the arithmetic and the overhead, which is what the chart is about.
D_IN, DEPTH, WARMUP, REPEATS = 32, 2, 2, 7
TIMED_STEPS = WARMUP + REPEATS


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


@contextlib.contextmanager
def _one_cpu_thread(device: torch.device) -> Iterator[None]:
    """Time CPU steps on one thread (see the module's note), restoring the count afterwards."""
    threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def time_step(stack: mlp.MLPStack, x: torch.Tensor, y: torch.Tensor) -> float:
    """Seconds of the fastest of REPEATS full-batch SGD steps of the app's engine, after WARMUP
    steps: interference from other work only ever adds time, so the fastest step is the step's cost."""
    trainer = mlp.Trainer(stack, x, y, lr=1e-4, optimizer="sgd", steps=TIMED_STEPS)
    times = []
    with _one_cpu_thread(x.device):
        trainer.advance(WARMUP)
        for _ in range(REPEATS):
            _sync(x.device)
            start = time.perf_counter()
            trainer.advance(1)
            _sync(x.device)
            times.append(time.perf_counter() - start)
    return min(times)


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
