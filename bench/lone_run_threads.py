"""Benchmark: every page's defaults, each run alone, on one thread and on every core.

The server runs each computation on one thread unless LAB_THREADS says otherwise (core/device.py).
With OpenMP threads that wait passively (core/__init__.py), waking the second thread costs more
than these small models gain from it; this prints the evidence: each page's default run on one
thread and on torch's default count (the cores it sees), interleaved, the fastest of the rounds.
Run: python bench/lone_run_threads.py [rounds]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import contract, registry

# isort: split
# core first: torch then loads under the app's OpenMP waiting policy (core/__init__.py)
import torch
from threadpoolctl import threadpool_limits

CORES = torch.get_num_threads()


def seconds(experiment: contract.Experiment, threads: int, seed: int) -> float:
    """One run of the page's defaults (another seed each round, so nothing is reused)."""
    fields = {p.name for p in contract.params(experiment.config)}
    config = contract.make_config(experiment.config, {"seed": str(seed)} if "seed" in fields else {})
    torch.set_num_threads(threads)
    with threadpool_limits(limits=threads):
        start = time.perf_counter()
        experiment.execute(config, device="cpu")
        return time.perf_counter() - start


def main(rounds: int = 2) -> None:
    print(f"every page's defaults, alone, on 1 thread and on {CORES}; fastest of {rounds} interleaved rounds")
    total = {1: 0.0, CORES: 0.0}
    for experiment in registry.experiments():
        times: dict[int, list[float]] = {1: [], CORES: []}
        for seed in range(rounds):
            for threads in times:
                times[threads].append(seconds(experiment, threads, 100 + seed))
        one, many = min(times[1]), min(times[CORES])
        total[1] += one
        total[CORES] += many
        print(f"{experiment.name:20s} 1 thread {one:6.2f} s   {CORES} threads {many:6.2f} s   ratio {many / one:.2f}")
    print(f"{'all pages':20s} 1 thread {total[1]:6.2f} s   {CORES} threads {total[CORES]:6.2f} s   "
          f"ratio {total[CORES] / total[1]:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
