"""Benchmark: the empirical NTK layer by layer (core.ntk.empirical_ntk) vs materialising the
Jacobian with torch.func (vmap over grad, then J J^T), on the lazy-training page's width sweep.

Both run in one process, interleaved; we print the median of several rounds per width, the ratio,
and the time for the kernels of the whole sweep (one kernel per width, as the page computes them
before and after training). Run: python bench/ntk.py [rounds]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import mlp, ntk
from core.device import describe, pick_device
from core.experiments import lazy_training

# isort: split
# core first: torch then loads under the app's OpenMP waiting policy (core/__init__.py)
import torch

CONFIG = lazy_training.Config()


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(rounds: int = 5) -> None:
    x = torch.randn(CONFIG.n, CONFIG.d, generator=torch.Generator().manual_seed(0))
    nets = {w: mlp.init_parameterized(lazy_training.sizes(CONFIG, w), [w]) for w in CONFIG.widths}
    for net in nets.values():  # warm-up: first-call overheads are not what we measure
        ntk.empirical_ntk(net, x)
        ntk.jacobian_ntk(net, x)
    fast = {w: [] for w in nets}
    slow = {w: [] for w in nets}
    sweep = []
    for _ in range(rounds):
        for w, net in nets.items():
            fast[w].append(_timed(lambda net=net: ntk.empirical_ntk(net, x)))
            slow[w].append(_timed(lambda net=net: ntk.jacobian_ntk(net, x)))
        sweep.append(_timed(lambda: [ntk.empirical_ntk(net, x) for net in nets.values()]))
    print(f"machine: {describe(pick_device(force_cpu=True))}, torch {torch.__version__}, median of {rounds}; "
          f"n={CONFIG.n} inputs, d={CONFIG.d}, depth {CONFIG.depth}, float32")
    print(f"{'width':>6} {'layer-wise':>12} {'vmap(grad) J J^T':>18} {'speed-up':>9}")
    for w in nets:
        f, s = statistics.median(fast[w]), statistics.median(slow[w])
        print(f"{w:>6} {f * 1e3:>9.2f} ms {s * 1e3:>15.2f} ms {s / f:>8.0f}x")
    total_slow = sum(statistics.median(v) for v in slow.values())
    print(f"whole sweep ({len(nets)} kernels): layer-wise {statistics.median(sweep) * 1e3:.1f} ms, "
          f"vmap(grad) {total_slow * 1e3:.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
