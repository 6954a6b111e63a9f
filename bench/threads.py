"""Benchmark: one small run on one thread and on two, with OpenMP threads that spin or wait passively.

OpenMP reads its wait policy once, when torch loads its runtime, so each case runs in its own
process. Spinning threads are fast on an idle machine and slow on a shared one; run it on a busy
machine too (another process computing) to see why core/__init__.py sets OMP_WAIT_POLICY=PASSIVE,
and why the queue runs one single-thread run per core (core/queue.py). Prints the median per case.
Run: python bench/threads.py [rounds]
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The setting timed: a small optimization run, the size of most visitors' runs.
SETTING = {"widths": "10,50", "n": "40", "steps": "800"}
CHILD = """
import statistics, sys, time, torch
from core import contract, registry
torch.set_num_threads(int(sys.argv[1]))
exp = registry.get("optimization")
times = []
for seed in range(int(sys.argv[2])):
    config = contract.make_config(exp.config, {**%r, "seed": str(seed)})
    start = time.perf_counter()
    exp.execute(config, device="cpu")
    times.append(time.perf_counter() - start)
print(f"{statistics.median(times):.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)})")
"""


def timed(threads: int, policy: str, rounds: int) -> str:
    env = {**os.environ, "OMP_WAIT_POLICY": policy}
    done = subprocess.run([sys.executable, "-c", CHILD % SETTING, str(threads), str(rounds)], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def main(rounds: int = 3) -> None:
    print(f"optimization {SETTING}, median of {rounds} runs per case, each case in its own process")
    for policy in ("ACTIVE", "PASSIVE"):
        for threads in (1, 2):
            print(f"OMP_WAIT_POLICY={policy:7s} {threads} thread(s): {timed(threads, policy, rounds)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
