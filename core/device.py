"""Which device runs the networks: CUDA when present, unless the caller forces the CPU."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

import torch
from threadpoolctl import threadpool_limits

from core.contract import ConfigError
from core.memory import cap_arenas


def pick_device(force_cpu: bool = False) -> torch.device:
    """CUDA if available and not forced off, else the CPU."""
    if not force_cpu and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def resolve_device(name: str | None) -> torch.device:
    """The device a run asked for, or the best present; asking for CUDA on a machine without it is
    bad input (one line naming what is allowed), not a crash deep inside a run."""
    if name is None:
        return pick_device()
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device: cuda was asked for, but this machine has no CUDA GPU; allowed: cpu")
    if name not in ("cpu", "cuda"):
        raise ConfigError(f"device: {name[:40]!r} is not valid; allowed: cpu, cuda")
    return torch.device(name)


_LOCK = threading.Lock()
_running = 0


def serve_threads() -> int:
    """Intra-op threads (torch and BLAS) for the calling server thread, by how many runs compute.

    Streamlit runs every session in its own thread, and each thread that enters a parallel region
    gets its own OpenMP team: a few concurrent sessions with a team sized to all cores oversubscribe
    them, and small operations slow down by orders of magnitude (measured here: 22 s against 6 ms
    for 1,000 tiny bmm calls on a loaded 2-core machine). So with company every run gets one thread.
    A run alone gets one thread too, unless LAB_THREADS=n gives it n: with OpenMP threads that wait
    passively (core/__init__.py), waking a second thread costs these small models more than it
    gains. Every page's defaults alone took 13.2 s on one thread and 15.0 s on two on this 2-core
    machine (python bench/lone_run_threads.py 3); only lottery tickets ran faster on two (1.14 s
    against 1.66 s), and lazy training ran 1.9x slower.
    """
    cap_arenas()
    return rebalance()


def rebalance() -> int:
    """Apply the policy to the calling thread: torch's thread count is per thread (OpenMP keeps it
    per thread), so a computing thread calls this at every progress report to follow arrivals and
    departures within one chunk of work."""
    with _LOCK:
        return _apply(_running)


@contextlib.contextmanager
def computing() -> Iterator[int]:
    """Count one server computation for its duration; yields the threads it starts with."""
    global _running
    with _LOCK:
        _running += 1
        threads = _apply(_running)
    try:
        yield threads
    finally:
        with _LOCK:
            _running -= 1


def _apply(running: int) -> int:
    alone = os.environ.get("LAB_THREADS")
    threads = max(1, int(alone)) if alone and running <= 1 else 1
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
        threadpool_limits(limits=threads)  # numpy/scipy BLAS and OpenMP too, for the linear-algebra pages
    return threads


def describe(device: torch.device) -> str:
    """A short human label, e.g. 'cuda (NVIDIA H200)' or 'cpu (2 threads)'."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    threads = torch.get_num_threads()
    return f"cpu ({threads} thread{'s' if threads > 1 else ''})"
