"""The cores this process may use: what the server's queue and a sweep's pool size themselves by."""

from __future__ import annotations

import os


def usable() -> int:
    """The cores in this process's affinity mask (a container or ``taskset`` may allow fewer than
    the machine has); where the platform has no such mask (macOS), every core."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
