"""Benchmark: one small run on one thread and on two, under each way OpenMP threads can wait.

OpenMP reads its wait policy once, when torch loads its runtime, so each case runs in its own
process. Threads that spin are fast on an idle machine and slow on a shared one; ``--busy`` runs
each case beside another process that computes on both cores, as a shared host does. That is why
core/__init__.py sets OMP_WAIT_POLICY=PASSIVE (the middle ground, spinning a while before sleeping,
is timed too), and why the queue runs one single-thread run per core (core/queue.py). Prints the
median and the slowest run per case.
Run: python bench/threads.py [rounds] [--busy]
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The setting timed: a small optimization run, the size of most visitors' runs.
SETTING = {"widths": "10,50", "n": "40", "steps": "800"}
#: How the OpenMP threads wait: GNU OpenMP's settings; libgomp spins 300,000 times by default
#: before it sleeps.
POLICIES = {
    "OMP_WAIT_POLICY=ACTIVE (spin)": {"OMP_WAIT_POLICY": "ACTIVE"},
    "default (300,000 spins, then sleep)": {"OMP_WAIT_POLICY": "", "GOMP_SPINCOUNT": "300000"},
    "GOMP_SPINCOUNT=10000": {"OMP_WAIT_POLICY": "", "GOMP_SPINCOUNT": "10000"},
    "OMP_WAIT_POLICY=PASSIVE (the app)": {"OMP_WAIT_POLICY": "PASSIVE"},
}
CHILD = """
import statistics, sys, time
from core import contract, registry
import torch
torch.set_num_threads(int(sys.argv[1]))
exp = registry.get("optimization")
times = []
for seed in range(int(sys.argv[2])):
    config = contract.make_config(exp.config, {**%r, "seed": str(seed)})
    start = time.perf_counter()
    exp.execute(config, device="cpu")
    times.append(time.perf_counter() - start)
print(f"median {statistics.median(times):5.2f} s, slowest {max(times):5.2f} s")
"""
#: The other process of --busy: matrix products on both cores, with short pauses, until killed.
COMPETITOR = """
import time, torch
torch.set_num_threads(2)
a = torch.randn(300, 300)
while True:
    for _ in range(50):
        a @ a
    time.sleep(0.001)
"""


def timed(threads: int, env: dict[str, str], rounds: int) -> str:
    child_env = {**os.environ, **env}
    if not child_env.get("OMP_WAIT_POLICY"):  # unset: core/__init__.py would set PASSIVE
        child_env["OMP_WAIT_POLICY"] = ""
    done = subprocess.run([sys.executable, "-c", CHILD % SETTING, str(threads), str(rounds)], cwd=ROOT, env=child_env,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def main(rounds: int = 3, busy: bool = False) -> None:
    print(f"optimization {SETTING}, {rounds} runs per case, each case in its own process"
          f"{', beside a process computing on both cores' if busy else ', idle machine'}")
    for name, env in POLICIES.items():
        for threads in (1, 2):
            competitor = subprocess.Popen([sys.executable, "-c", COMPETITOR]) if busy else None
            try:
                print(f"{name:38s} {threads} thread(s): {timed(threads, env, rounds)}")
            finally:
                if competitor is not None:
                    competitor.kill()
                    competitor.wait()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--busy"]
    main(int(args[0]) if args else 3, "--busy" in sys.argv)
