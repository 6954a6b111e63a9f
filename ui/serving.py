"""What every session of one server shares: the in-memory cache, the result store on disk, the
compute queue, and the warm start that fills the store in the background."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

import streamlit as st

from core import queue
from core.cache import ResultCache
from core.contract import Experiment
from core.device import computing, pick_device
from core.memory import release_freed_memory
from core.store import ResultStore, open_store
from core.warm import warm


@st.cache_resource
def shared_cache() -> ResultCache:
    """One in-memory result cache per server process, in front of the store."""
    return ResultCache(max_entries=64, max_bytes=64 * 2**20)


@st.cache_resource
def shared_store() -> ResultStore | None:
    """The store on disk (LAB_STORE, default the user's cache directory; off disables it)."""
    return open_store(by_default=True)


@st.cache_resource
def compute_queue() -> queue.ComputeQueue:
    """At most LAB_WORKERS computations at once for the whole server."""
    return queue.from_env()


@st.cache_resource
def warm_start() -> threading.Thread | None:
    """Start the warm start once per server process, unless LAB_WARM=0 or the store is off."""
    results = shared_store()
    if results is None or os.environ.get("LAB_WARM", "1") == "0":
        return None
    jobs = compute_queue()
    thread = threading.Thread(target=_warm_in_background, args=(results, jobs), name="lab-warm", daemon=True)
    thread.start()
    return thread


def _warm_in_background(results: ResultStore, jobs: queue.ComputeQueue) -> None:
    @contextlib.contextmanager
    def slot(experiment: Experiment, config: Any) -> Iterator[None]:
        with jobs.slot("warm", experiment.flops(config), background=True), computing():
            try:
                yield
            finally:
                release_freed_memory()

    done = warm(results, pick_device().type, should_pause=lambda: not jobs.idle(), guard=slot,
                report=lambda line: print(f"[lab] warm {line}", file=sys.stderr, flush=True))
    print(f"[lab] warm start done: {done.computed} computed, {done.stored} already stored", file=sys.stderr, flush=True)
