"""Benchmark: the width-500 net's three 100x500x500 products, in each layout and library.

They are 85% of the seed sweep's FLOPs, so their rate is the floor under any engine: this prints
microseconds and GFLOP/s for torch (MKL) in both weight layouts, numpy (OpenBLAS) and oneDNN,
median of interleaved rounds. Run: python bench/matmul.py [rounds]
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
import torch

FLOP = 2 * 100 * 500 * 500


def cases() -> dict[str, object]:
    gen = torch.Generator().manual_seed(0)
    h, g = torch.rand(100, 500, generator=gen), torch.randn(100, 500, generator=gen)
    w, b = torch.randn(500, 500, generator=gen), torch.randn(1, 500, generator=gen)
    wt = w.t().contiguous()
    hn, gn, wn = h.numpy(), g.numpy(), w.numpy()
    hm, wm = h.to_mkldnn(), wt.to_mkldnn()
    return {
        "torch forward h @ W       ": lambda: torch.addmm(b, h, w),
        "torch forward h @ Wt.T    ": lambda: torch.addmm(b, h, wt.t()),
        "torch backward g @ W.T    ": lambda: torch.mm(g, w.t()),
        "torch backward g @ Wt     ": lambda: torch.mm(g, wt),
        "torch update W += h.T @ g ": lambda: w.addmm_(h.t(), g, alpha=-1e-12),
        "torch update Wt += g.T @ h": lambda: wt.addmm_(g.t(), h, alpha=-1e-12),
        "numpy h @ W               ": lambda: hn @ wn,
        "numpy h.T @ g             ": lambda: hn.T @ gn,
        "oneDNN linear             ": lambda: torch._C._nn.mkldnn_linear(hm, wm),
    }


def main(rounds: int = 7) -> None:
    funcs = cases()
    times: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(rounds):
        for name, f in funcs.items():
            for _ in range(5):
                f()
            start = time.perf_counter()
            for _ in range(100):
                f()
            times[name].append((time.perf_counter() - start) / 100)
    print(f"torch {torch.__version__}, numpy {np.__version__}, {torch.get_num_threads()} threads, median of {rounds}")
    for name, t in times.items():
        s = statistics.median(t)
        print(f"{name}  {s * 1e6:7.1f} us  {FLOP / s / 1e9:6.1f} GFLOP/s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
