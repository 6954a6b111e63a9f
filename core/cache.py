"""A bounded, thread-safe result cache shared by every session of one server.

Why not ``st.cache_data``: a cached function may not write into page elements created outside it
(Streamlit raises CacheReplayClosureError on replay), and the pages stream partial curves while
training. So the page computes outside any Streamlit cache and stores the Result here. Identical
requests arriving together wait for the one computation instead of repeating it; a computation that
is interrupted (a newer slider value reruns the page) stores nothing and lets the next caller start.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from core.contract import Result


def result_bytes(result: Result) -> int:
    """Approximate memory of a Result: its tables' deep memory usage."""
    return sum(int(df.memory_usage(deep=True).sum()) for df in result.tables.values())


class ResultCache:
    """LRU over Results, bounded in entries and in bytes; counts the runs it started."""

    def __init__(self, max_entries: int = 64, max_bytes: int = 64 * 2**20):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._items: OrderedDict[Hashable, tuple[Result, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._inflight: dict[Hashable, threading.Lock] = {}
        self.runs = 0

    def get(self, key: Hashable) -> Result | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def get_or_compute(self, key: Hashable, compute: Callable[[], Result], wait: Callable[[], Any] | None = None) -> tuple[Result, bool]:
        """The cached Result for ``key`` (and True), or compute, store and return it (and False).

        ``wait`` is called about every 0.1 s while another thread computes the same key: pages
        pass a function that touches Streamlit, so a waiting session can still be interrupted.
        """
        while True:
            hit = self.get(key)
            if hit is not None:
                return hit, True
            with self._lock:
                gate = self._inflight.setdefault(key, threading.Lock())
            if gate.acquire(timeout=0.1):
                try:
                    hit = self.get(key)
                    if hit is not None:
                        return hit, True
                    with self._lock:
                        self.runs += 1
                    result = compute()
                    self.put(key, result)
                    return result, False
                finally:
                    gate.release()
                    with self._lock:
                        if self._inflight.get(key) is gate and not gate.locked():
                            del self._inflight[key]
            if wait is not None:
                wait()

    def put(self, key: Hashable, result: Result) -> None:
        size = result_bytes(result)
        if size > self.max_bytes:
            return
        with self._lock:
            self._items[key] = (result, size)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries or self.total_bytes() > self.max_bytes:
                self._items.popitem(last=False)

    def total_bytes(self) -> int:
        return sum(size for _, size in self._items.values())

    def __len__(self) -> int:
        return len(self._items)
