"""Which device runs the networks: CUDA when present, unless the caller forces the CPU."""

from __future__ import annotations

import os

import torch
from threadpoolctl import threadpool_limits

from core.memory import cap_arenas


def pick_device(force_cpu: bool = False) -> torch.device:
    """CUDA if available and not forced off, else the CPU."""
    if not force_cpu and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def serve_threads(default: int = 1) -> int:
    """Intra-op threads (torch and BLAS) for a server process: one by default (LAB_THREADS overrides).

    Streamlit runs every session in its own thread; with torch's default of one OpenMP team per
    calling thread sized to all cores, a few concurrent sessions oversubscribe the cores and small
    operations slow down by orders of magnitude (measured here: 22 s against 6 ms for 1,000 tiny
    bmm calls on a loaded 2-core machine). One thread each lets sessions share the cores instead.
    """
    threads = max(1, int(os.environ.get("LAB_THREADS", default)))
    torch.set_num_threads(threads)
    threadpool_limits(limits=threads)  # numpy/scipy BLAS and OpenMP too, for the linear-algebra pages
    cap_arenas()
    return torch.get_num_threads()


def describe(device: torch.device) -> str:
    """A short human label, e.g. 'cuda (NVIDIA H200)' or 'cpu (2 threads)'."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    threads = torch.get_num_threads()
    return f"cpu ({threads} thread{'s' if threads > 1 else ''})"
