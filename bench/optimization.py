"""Benchmark: the seed script's width sweep (4 widths, 2000 full-batch SGD steps), naive vs core.

The naive side is the seed's own code path (nn.Sequential + autograd + optim.SGD, one model at a
time). Both run in one process, interleaved, and we print the median of several rounds and the
ratio. Also printed: the time until the first partial curve reaches a page (the first progress
report), and each width's time per step: naive, in the engine alone, and widths 10 and 50 as the
one zero-padded stack the engine makes of them. Run: python bench/optimization.py [rounds]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import mlp
from core.device import describe, pick_device
from core.experiments import optimization

# isort: split
# core first: torch then loads under the app's OpenMP waiting policy (core/__init__.py)
import torch
from torch import nn

WIDTHS = (10, 50, 200, 500)
STEPS = 2000


def naive() -> dict[int, float]:
    """Seconds per width of the seed's loop (their sum is the sweep)."""
    gen = torch.Generator().manual_seed(42)
    x = torch.randn(100, 20, generator=gen)
    y = (torch.sin(x[:, :5].sum(1)) + 0.5 * torch.cos(x[:, 5:10].sum(1))).unsqueeze(1)
    seconds = {}
    for width in WIDTHS:
        start = time.perf_counter()
        torch.manual_seed(width)
        model = nn.Sequential(nn.Linear(20, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1))
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        losses = []
        for _ in range(STEPS):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        seconds[width] = time.perf_counter() - start
    return seconds


def engine_step_us(widths: tuple[int, ...], steps: int = 400) -> float:
    """Microseconds per step of the engine training these widths as one zero-padded stack."""
    x, y = torch.randn(100, 20), torch.randn(100, 1)
    padded = mlp.layer_sizes(20, max(widths), 2)
    stack = mlp.join([mlp.pad_stack(mlp.init_stack(mlp.layer_sizes(20, w, 2), [w]), padded) for w in widths])
    trainer = mlp.Trainer(stack, x, y, lr=1e-3, optimizer="sgd", steps=steps + 50)
    trainer.advance(50)
    start = time.perf_counter()
    trainer.advance(steps)
    return (time.perf_counter() - start) / steps * 1e6


def core_run() -> tuple[float, float]:
    first = []
    start = time.perf_counter()

    def progress(fraction, message="", tables=None):
        if not first:
            first.append(time.perf_counter() - start)

    optimization.EXPERIMENT.execute(optimization.Config(widths=WIDTHS), progress=progress, device="cpu")
    return time.perf_counter() - start, first[0]


def main(rounds: int = 3) -> None:
    naive_s, core_s, first_s, per_width = [], [], [], []
    core_run()  # warm-up: first-call overheads are not what we measure
    for _ in range(rounds):
        per_width.append(naive())
        naive_s.append(sum(per_width[-1].values()))
        total, first = core_run()
        core_s.append(total)
        first_s.append(first)
    n, c = statistics.median(naive_s), statistics.median(core_s)
    print(f"machine: {describe(pick_device(force_cpu=True))}, torch {torch.__version__}, median of {rounds}")
    print(f"naive seed loop     {n:6.2f} s   (runs: {', '.join(f'{v:.2f}' for v in naive_s)})")
    print(f"core (batched)      {c:6.2f} s   (runs: {', '.join(f'{v:.2f}' for v in core_s)})")
    print(f"speed-up            {n / c:6.2f} x   (median of the rounds' own ratios: "
          f"{statistics.median(a / b for a, b in zip(naive_s, core_s)):.2f} x)")
    print(f"first curve ready   {statistics.median(first_s):6.3f} s")
    print("per step, us        " + "  ".join(f"w{w}" for w in WIDTHS))
    print("  naive             " + "  ".join(f"{statistics.median(r[w] for r in per_width) / STEPS * 1e6:.0f}" for w in WIDTHS))
    print("  engine, alone     " + "  ".join(f"{statistics.median(engine_step_us((w,)) for _ in range(rounds)):.0f}"
                                             for w in WIDTHS))
    print(f"  engine, 10+50 padded into one stack: {statistics.median(engine_step_us((10, 50)) for _ in range(rounds)):.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
