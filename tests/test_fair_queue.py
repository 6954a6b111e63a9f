"""A lecture hall asking for different things: twelve sessions of one server each ask for their
own setting at the same moment. Under the default queue (one computation at a time on these two
cores) the first visitors get their charts at once and nobody waits much longer than when every
run starts at once and they all share the cores. Each policy runs in the same test, interleaved
with the others, so the ratios compare like with like; the times go to docs/measurements/queue.txt
(the README quotes them).
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import pytest

from core import contract, queue, registry

SESSIONS = 12
ROUNDS = 3
EXPERIMENT = "optimization"
#: Twelve different settings of one page, from about 0.1 s to 0.6 s each alone here.
SETTINGS = [{"widths": "10,50", "n": "40", "steps": str(steps), "seed": str(seed)}
            for seed, steps in enumerate([300, 1200, 500, 900, 400, 1500, 600, 1000, 300, 700, 1100, 800])]
POLICIES = {f"default ({queue.DEFAULT_WORKERS} at a time, {queue.DEFAULT_POLICY} first)": {},
            f"{queue.DEFAULT_WORKERS} at a time, first come first": {"LAB_QUEUE": "fifo"},
            f"one at a time on {queue.DEFAULT_WORKERS} threads, first come first":
                {"LAB_WORKERS": "1", "LAB_QUEUE": "fifo", "LAB_THREADS": str(queue.DEFAULT_WORKERS)},
            f"everyone at once (LAB_WORKERS={SESSIONS})": {"LAB_WORKERS": str(SESSIONS)}}
REPORT = Path(__file__).resolve().parents[1] / "docs" / "measurements" / "queue.txt"


def _times_to_result(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, salt: int) -> list[float]:
    """Each session's seconds from asking to its result, all twelve asking at once. Each session is
    a thread calling what a page's script thread calls (ui.serving.compute: the store, the queue,
    the server's thread policy, the run), without the drawing."""
    from ui import serving

    for key in ("LAB_WORKERS", "LAB_QUEUE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    serving.compute_queue.clear()
    exp = registry.get(EXPERIMENT)
    start, times, errors = threading.Barrier(SESSIONS), [0.0] * SESSIONS, []

    def session(i: int) -> None:
        query = {**SETTINGS[i], "seed": str(int(SETTINGS[i]["seed"]) + 100 * salt)}  # never a stored result
        config = contract.make_config(exp.config, query)
        start.wait()
        begin = time.perf_counter()
        try:
            result, *_ = serving.compute(exp, config, "cpu", f"session-{i}")
            assert result.status.ok, result.status
        except Exception as err:  # every session must report; the test fails below
            errors.append(f"session {i}: {err!r}")
        times[i] = time.perf_counter() - begin

    threads = [threading.Thread(target=session, args=(i,)) for i in range(SESSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return times


def test_the_default_queue_serves_a_diverse_load_sooner_than_everyone_at_once(monkeypatch):
    _times_to_result({"LAB_WORKERS": str(SESSIONS)}, monkeypatch, salt=0)  # warm up: imports, first kernels
    measured: dict[str, list[float]] = {name: [] for name in POLICIES}
    for round_ in range(ROUNDS):  # interleaved, so a burst of machine load hits every policy alike
        for i, (name, env) in enumerate(POLICIES.items()):
            measured[name] += _times_to_result(env, monkeypatch, salt=1 + round_ * len(POLICIES) + i)
    everyone = measured[list(POLICIES)[-1]]
    lines = [f"{SESSIONS} sessions ask for {SESSIONS} different {EXPERIMENT} settings at once, {ROUNDS} rounds, "
             f"{queue.DEFAULT_WORKERS} cores; seconds from asking to the result"]
    for name, times in measured.items():
        lines.append(f"{name}: median {statistics.median(times):.2f} s, max {max(times):.2f} s")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")
    default = measured[next(iter(POLICIES))]
    assert statistics.median(default) <= 0.7 * statistics.median(everyone), lines
    assert max(default) <= 1.2 * max(everyone), lines
