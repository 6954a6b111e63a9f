"""Benchmark: the seed's mode-connectivity script (two nets, width 200, 5000 full Adam steps, then
the loss at 7 points on the straight line between them), naive vs core.

The naive side is the seed's code path: nn.Sequential + autograd + optim.Adam, one net after the
other, then one freshly built nn.Sequential per interpolation point. The core side trains both nets
as one stack of two (bmm, hand-written backward, fused Adam) and evaluates all 7 points as one
stack. Early stopping is off on both sides so both do exactly 5000 steps per net. Both run in one
process, interleaved; we print the median of several rounds and the ratio.
Run: python bench/mode_connectivity.py [rounds] [threads]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.device import describe
from core.experiments import mode_connectivity as mc

# isort: split
# core first: torch then loads under the app's OpenMP waiting policy (core/__init__.py)
import torch
from torch import nn

CONFIG = mc.Config(steps=5000, early_stop=False, sweep_widths=(200,), align=False, curve=False)
ALPHAS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0)


def _net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(10, 200), nn.ReLU(), nn.Linear(200, 200), nn.ReLU(), nn.Linear(200, 1))


def naive(x: torch.Tensor, y: torch.Tensor) -> float:
    start = time.perf_counter()
    nets = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        net = _net()
        for p in net.parameters():
            nn.init.normal_(p, std=0.1)
        opt = torch.optim.Adam(net.parameters(), lr=0.01)
        for _ in range(CONFIG.steps):
            opt.zero_grad()
            loss = nn.functional.mse_loss(net(x), y)
            loss.backward()
            opt.step()
            loss.item()
        nets.append(net)
    for a in ALPHAS:
        mixed = _net()
        with torch.no_grad():
            for p, p1, p2 in zip(mixed.parameters(), nets[0].parameters(), nets[1].parameters()):
                p.copy_(a * p1 + (1 - a) * p2)
            nn.functional.mse_loss(mixed(x), y).item()
    return time.perf_counter() - start


def core_run(x: torch.Tensor, y: torch.Tensor) -> float:
    start = time.perf_counter()
    trainer = mc.train_pairs(CONFIG, x, y, lambda fraction, message: None)[200]
    a, b = mc.unstack(trainer.stack, 0), mc.unstack(trainer.stack, 1)
    mc.losses_along([a, b], mc.line(torch.tensor(ALPHAS)), x, y).tolist()
    return time.perf_counter() - start


def main(rounds: int = 3) -> None:
    x, y, _, _ = mc.task(CONFIG, torch.device("cpu"))
    naive_s, core_s = [], []
    core_run(x, y)  # warm-up: first-call overheads are not what we measure
    for _ in range(rounds):
        naive_s.append(naive(x, y))
        core_s.append(core_run(x, y))
    n, c = statistics.median(naive_s), statistics.median(core_s)
    print(f"machine: {describe(torch.device('cpu'))}, torch {torch.__version__}, median of {rounds}")
    print(f"naive seed loop     {n:6.2f} s   (runs: {', '.join(f'{v:.2f}' for v in naive_s)})")
    print(f"core (batched)      {c:6.2f} s   (runs: {', '.join(f'{v:.2f}' for v in core_s)})")
    print(f"speed-up            {n / c:6.2f} x")


if __name__ == "__main__":
    if len(sys.argv) > 2:
        torch.set_num_threads(int(sys.argv[2]))
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
