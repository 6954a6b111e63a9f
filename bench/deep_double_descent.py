"""Benchmark: the deep-double-descent page's default run, against the straightforward loop.

The straightforward loop does the same work the way one would write it first: one nn.Sequential
per (width, repeat), torch.optim.Adam, autograd, full-batch steps, evaluated on the training and
test sets at the same steps as the page (``schedule``), then the random-feature read-outs with
numpy's lstsq, one per (width, repeat). The page's run is ``EXPERIMENT.execute`` at the defaults:
every width in the engine (zero-padded stacks, hand-written backward, fused Adam), the random
features through one SVD each. Both run in this process, interleaved; we print the median of the
rounds, the ratio, and the time until the first partial result reaches a page (the first progress
report). Run: python bench/deep_double_descent.py [rounds]   (OMP_NUM_THREADS=1 for one thread)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.device import describe, pick_device
from core.experiments import deep_double_descent as ddd
from core.experiments.deep_double_descent.config import init_seed, rf_widths

# isort: split
# core first: torch then loads under the app's OpenMP waiting policy (core/__init__.py)
import numpy as np
import torch
from torch import nn


def naive(config: ddd.Config) -> tuple[float, float]:
    """Seconds of the straightforward training loop (with its evaluations) and of its random
    features."""
    data = ddd.load(config)
    x, y, x_test, y_test = data.tensors(torch.float32, "cpu")
    labels, test_labels = torch.as_tensor(data.labels), torch.as_tensor(data.test_labels)
    evals, scores = set(ddd.schedule(config.steps)), []
    start = time.perf_counter()
    for width in config.widths:
        for repeat in range(config.repeats):
            torch.manual_seed(init_seed(config, width, repeat))
            model = nn.Sequential(nn.Linear(ddd.N_FEATURES, width), nn.ReLU(), nn.Linear(width, ddd.N_CLASSES))
            opt = torch.optim.Adam(model.parameters(), lr=config.lr)
            for step in range(1, config.steps + 1):
                opt.zero_grad()
                nn.functional.mse_loss(model(x), y).backward()
                opt.step()
                if step in evals:
                    with torch.no_grad():
                        for inputs, targets, truth in ((x, y, labels), (x_test, y_test, test_labels)):
                            out = model(inputs)
                            scores.append(((out.argmax(1) != truth).float().mean().item(),
                                           (out - targets).square().sum(1).mean().item()))
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    onehot = data.onehot()
    for width in rf_widths(config):
        for repeat in range(config.repeats):
            rng = np.random.default_rng([width, repeat])
            w1 = rng.uniform(-1, 1, (ddd.N_FEATURES, width)) / 8
            b1 = rng.uniform(-1, 1, width) / 8
            features = np.hstack([np.maximum(data.x @ w1 + b1, 0), np.ones((len(data.x), 1))])
            readout = np.linalg.lstsq(features, onehot, rcond=None)[0]
            scores.append(np.hstack([np.maximum(data.x_test @ w1 + b1, 0), np.ones((len(data.x_test), 1))]) @ readout)
    return train_s, time.perf_counter() - start


def engine(config: ddd.Config) -> tuple[float, float]:
    """Seconds of the page's run and until its first progress report."""
    first: list[float] = []
    start = time.perf_counter()

    def progress(fraction, message="", tables=None):
        if not first:
            first.append(time.perf_counter() - start)

    ddd.EXPERIMENT.execute(config, progress=progress, device="cpu")
    return time.perf_counter() - start, first[0]


def main(rounds: int = 3) -> None:
    config = ddd.Config()
    engine(config)  # warm-up: first-call overheads are not what we measure
    naive_s, rf_s, core_s, first_s = [], [], [], []
    for _ in range(rounds):
        train, rf = naive(config)
        naive_s.append(train + rf)
        rf_s.append(rf)
        total, first = engine(config)
        core_s.append(total)
        first_s.append(first)
    n, c = statistics.median(naive_s), statistics.median(core_s)
    print(f"machine: {describe(pick_device(force_cpu=True))}, torch {torch.__version__}, median of {rounds}; "
          f"defaults: {len(config.widths)} widths x {config.repeats} repeats, {config.steps} steps, n = {config.n}, "
          f"{ddd.flops(config):.3g} FLOPs")
    print(f"straightforward loop {n:6.2f} s   (runs: {', '.join(f'{v:.2f}' for v in naive_s)}; "
          f"of which lstsq random features {statistics.median(rf_s):.2f} s)")
    print(f"this app (engine)    {c:6.2f} s   (runs: {', '.join(f'{v:.2f}' for v in core_s)})")
    print(f"speed-up             {n / c:6.2f} x   (median of the rounds' own ratios: "
          f"{statistics.median(a / b for a, b in zip(naive_s, core_s)):.2f} x)")
    print(f"first partial curve  {statistics.median(first_s):6.3f} s   (runs: {', '.join(f'{v:.3f}' for v in first_s)})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
