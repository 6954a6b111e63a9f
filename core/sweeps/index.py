"""The sweeps that have been run, with their tables, beside the result store: the Sweeps page lists
and draws any of them without the file the command line wrote (which may be on another machine's
disk). A sweep is keyed by what was asked (experiment, grid, seeds, device, code version), so
rerunning it, to resume or to fill in failed points, replaces its table instead of adding one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import diskcache
import pandas as pd

from core.store import code_version
from core.sweeps.table import FAILED, STATUS

#: Bytes of sweep tables kept before the least recently used are evicted (a table is small:
#: about 1 KiB per point).
SIZE_LIMIT = 64 * 2**20


@dataclass(frozen=True)
class Recorded:
    """A sweep as it was asked for, and the table it produced."""

    experiment: str
    grid: dict[str, list[str]]
    seeds: int
    device: str
    table: pd.DataFrame = field(compare=False)
    finished_at: float = field(default_factory=time.time, compare=False)
    host: str = field(default_factory=socket.gethostname, compare=False)

    def key(self) -> str:
        text = json.dumps({"experiment": self.experiment, "grid": self.grid, "seeds": self.seeds,
                           "device": self.device, "code": code_version()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def title(self) -> str:
        """One line for a menu: what was swept, how many points, when and where."""
        grid = " × ".join(f"{k}={','.join(v)}" if len(v) > 1 else f"{k}={v[0]}" for k, v in self.grid.items())
        seeds = f" × {self.seeds} seeds" if self.seeds > 1 else ""
        failed = int((self.table[STATUS] == FAILED).sum())
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.finished_at))
        return (f"{self.experiment}: {grid or 'defaults'}{seeds} ({len(self.table)} points, {failed} failed; "
                f"{when} on {self.host})")


class SweepIndex:
    """Sweep tables in a diskcache beside the results (its own folder in the store's directory)."""

    def __init__(self, store_directory: str | os.PathLike, size_limit: int = SIZE_LIMIT):
        self._cache = diskcache.Cache(str(Path(store_directory) / "sweeps"), size_limit=size_limit,
                                      eviction_policy="least-recently-used")

    def record(self, sweep: Recorded) -> None:
        self._cache.set(sweep.key(), sweep)

    def sweeps(self) -> list[Recorded]:
        """Every readable sweep, newest first (an unreadable entry is skipped, never raised)."""
        found = []
        for key in list(self._cache):
            with contextlib.suppress(Exception):
                value = self._cache.get(key)
                if isinstance(value, Recorded):
                    found.append(value)
        return sorted(found, key=lambda s: s.finished_at, reverse=True)
